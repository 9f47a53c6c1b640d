//! `sleeper`: deletes an idle endpoint after storing and verifying everything needed to bring
//! it back; triggered by its idle alarm or by hand.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use sagetide::env::Env;
use sagetide::handlers::lifecycle::Sleeper;
use sagetide::permissions::Function;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    sagetide::telemetry::init();
    let env = Env::load()?;
    let sdk = sagetide::aws::load_config(Function::Sleeper).await;
    let sleeper = Sleeper::new(&sdk, &env)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        sleeper.handle(event)
    }))
    .await
}
