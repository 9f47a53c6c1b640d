//! `waker`: creates a sleeping endpoint again from its snapshot, by hand, on its wake alarm, or
//! (through the scheduler) before its next period.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use sagetide::env::Env;
use sagetide::handlers::lifecycle::Waker;
use sagetide::permissions::Function;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    sagetide::telemetry::init();
    let env = Env::load()?;
    let sdk = sagetide::aws::load_config(Function::Waker).await;
    let waker = Waker::new(&sdk, &env)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        waker.handle(event)
    }))
    .await
}
