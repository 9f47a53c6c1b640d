//! "CloudWatch Alarm State Change", as the sleeper, the waker and the remediator take it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sagetide::events::AlarmStateChange;

fuzz_target!(|data: &[u8]| {
    let Ok(payload) = serde_json::from_slice(data) else {
        return;
    };
    let _ = AlarmStateChange::parse(payload, &sagetide_fuzz::home());
});
