//! `pool-metrics`: publishes the capacity-weighted `FleetUtilization` every minute.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use sagetide::env::Env;
use sagetide::handlers::pool_metrics::PoolMetrics;
use sagetide::permissions::Function;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    sagetide::telemetry::init();
    let env = Env::load()?;
    let sdk = sagetide::aws::load_config(Function::PoolMetrics).await;
    let pool_metrics = PoolMetrics::new(&sdk, &env);
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        pool_metrics.handle(event)
    }))
    .await
}
