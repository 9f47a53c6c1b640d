//! `{"action":"sleep"|"wake","endpoint":…}`, as the sleeper and the waker take it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sagetide::events::ManualRequest;

fuzz_target!(|data: &[u8]| {
    let Ok(payload) = serde_json::from_slice(data) else {
        return;
    };
    let _ = ManualRequest::parse(&payload);
});
