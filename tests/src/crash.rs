//! Crash at every step: a scenario's event is handled once to count its AWS calls, then, for
//! every k, handled again from the same start with the process stopped dead after its k-th
//! call, delivered again once the lease it may have left has expired, and followed by the next
//! event. The end must look exactly as at the end of the run without a crash. (Right after the
//! event again it may be further along: a tick that finds an endpoint woken by its crashed
//! self restores it at once, where the crash-free run left that to the restorer.)

use std::fmt::Debug;

use serde_json::Value;

use crate::{Harness, LEASE_EXPIRED};

/// Runs the scenario for every k and returns how many calls the crash-free run made.
///
/// `prepare` brings the world to just before the event; `event` and `next` deliver the event
/// and the one after it (each to a fresh process, as Lambda would after a crash) and play what
/// AWS does in answer; `observe` is everything the scenario is judged by.
pub async fn at_every_call<S: PartialEq + Debug>(
    h: &Harness,
    mut prepare: impl AsyncFnMut(),
    mut event: impl AsyncFnMut() -> Result<Value, Value>,
    mut next: impl AsyncFnMut() -> Result<Value, Value>,
    mut observe: impl AsyncFnMut() -> S,
) -> usize {
    prepare().await;
    h.proxy.take();
    event().await.expect("the event, without a crash");
    let calls = h.proxy.take().len();
    next().await.expect("the next event, without a crash");
    let end = observe().await;
    for k in 0..calls {
        prepare().await;
        h.proxy.take();
        h.proxy.crash_after(Some(k));
        let _ = event().await;
        h.proxy.crash_after(None);
        let crashed = h.proxy.take();
        let context = format!("crash after call {k} of {calls} ({crashed:?})");
        tokio::time::sleep(LEASE_EXPIRED).await;
        let again = event().await;
        assert!(again.is_ok(), "{context}: the same event again: {again:?}");
        let after = next().await;
        assert!(after.is_ok(), "{context}: the next event: {after:?}");
        assert_eq!(observe().await, end, "{context}");
    }
    calls
}
