//! `remediator`: answers alarm state changes with the remedies the configuration maps them to
//! (suspend scale-in, raise the minimum, wake), and undoes them exactly when the alarms clear.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use sagetide::env::Env;
use sagetide::handlers::remediator::Remediator;
use sagetide::permissions::Function;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    sagetide::telemetry::init();
    let env = Env::load()?;
    let sdk = sagetide::aws::load_config(Function::Remediator).await;
    let remediator = Remediator::new(&sdk, &env)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        remediator.handle(event)
    }))
    .await
}
