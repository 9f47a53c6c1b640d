//! EventBridge: sagetide's own events, put on the deployment's bus for users' rules.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use futures::StreamExt;
use jiff::Timestamp;

use super::{AwsError, CONCURRENCY, to_smithy};

/// The `source` of every sagetide event.
pub const SOURCE: &str = "sagetide";
/// PutEvents takes at most this many entries.
const PER_CALL: usize = 10;
const OP: &str = "events:PutEvents";

/// Puts each of `details` (JSON objects) on `bus` as a `source: sagetide` event of
/// `detail_type` at `time`, ten to a call, a few calls at once, every call whatever became of
/// the others. `Err` says how many EventBridge did not take, and the first reason.
pub async fn put(
    client: &Client,
    bus: &str,
    detail_type: &str,
    time: Timestamp,
    details: &[serde_json::Value],
) -> Result<(), AwsError> {
    let failed: Vec<(usize, String)> = futures::stream::iter(details.chunks(PER_CALL))
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
            match client.put_events().set_entries(Some(entries)).send().await {
                Err(e) => Some((chunk.len(), AwsError::new(OP, e).to_string())),
                Ok(answer) => answer
                    .entries()
                    .iter()
                    .find(|entry| entry.error_code().is_some())
                    .map(|first| {
                        (
                            usize::try_from(answer.failed_entry_count()).unwrap_or(chunk.len()),
                            format!(
                                "{}: {}",
                                first.error_code().unwrap_or_default(),
                                first.error_message().unwrap_or_default()
                            ),
                        )
                    }),
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|failed| async move { failed })
        .collect()
        .await;
    match failed.first() {
        None => Ok(()),
        Some((_, first)) => Err(AwsError {
            operation: OP,
            message: format!(
                "{} of {} events not put on {bus}; the first: {first}",
                failed.iter().map(|(n, _)| n).sum::<usize>(),
                details.len()
            ),
            refused: false,
        }),
    }
}
