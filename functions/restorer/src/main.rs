//! `restorer`: once a woken endpoint is InService, brings back its scalable targets, scaling
//! policies and scheduled actions exactly as they were when it went to sleep.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use sagetide::env::Env;
use sagetide::handlers::lifecycle::Restorer;
use sagetide::permissions::Function;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    sagetide::telemetry::init();
    let env = Env::load()?;
    let sdk = sagetide::aws::load_config(Function::Restorer).await;
    let restorer = Restorer::new(&sdk, &env)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        restorer.handle(event)
    }))
    .await
}
