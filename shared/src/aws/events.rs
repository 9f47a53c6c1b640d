//! EventBridge: sagetide's own events, put on the deployment's bus for users' rules.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;

use super::{AwsError, CONCURRENCY, to_smithy};

/// The `source` of every sagetide event.
pub const SOURCE: &str = "sagetide";
/// PutEvents takes at most this many entries.
const PER_CALL: usize = 10;
const OP: &str = "events:PutEvents";

/// Puts each of `details` (JSON objects) on `bus` as a `source: sagetide` event of
/// `detail_type` at `time`, ten to a call, a few calls at once. `Err` names the first entry
/// EventBridge did not take, or the first call that failed.
pub async fn put(
    client: &Client,
    bus: &str,
    detail_type: &str,
    time: Timestamp,
    details: &[serde_json::Value],
) -> Result<(), AwsError> {
    futures::stream::iter(details.chunks(PER_CALL))
        .map(|chunk| async move {
            let entries = chunk
                .iter()
                .map(|detail| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(bus)
                        .source(SOURCE)
                        .detail_type(detail_type)
                        .time(to_smithy(time))
                        .detail(detail.to_string())
                        .build()
                })
                .collect();
            let answer = client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| AwsError::new(OP, e))?;
            match answer
                .entries()
                .iter()
                .find(|entry| entry.error_code().is_some())
            {
                None => Ok(()),
                Some(failed) => Err(AwsError {
                    operation: OP,
                    message: format!(
                        "{} of {} events not put on {bus}; the first: {}: {}",
                        answer.failed_entry_count(),
                        chunk.len(),
                        failed.error_code().unwrap_or_default(),
                        failed.error_message().unwrap_or_default()
                    ),
                    refused: false,
                }),
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await
}
