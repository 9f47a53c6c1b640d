//! `scheduler`: applies scheduled off-hours scaling on every EventBridge tick.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use sagetide::env::Env;
use sagetide::handlers::scheduler::Scheduler;
use sagetide::permissions::Function;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    sagetide::telemetry::init();
    let env = Env::load()?;
    let sdk = sagetide::aws::load_config(Function::Scheduler).await;
    let scheduler = Scheduler::new(&sdk, &env)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        scheduler.handle(event)
    }))
    .await
}
