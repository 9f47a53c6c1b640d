//! "SageMaker Endpoint State Change", as the restorer takes it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sagetide::events::EndpointStateChange;

fuzz_target!(|data: &[u8]| {
    let Ok(payload) = serde_json::from_slice(data) else {
        return;
    };
    if let Ok(change) = EndpointStateChange::parse(payload, &sagetide_fuzz::home()) {
        let _ = change.is_in_service();
    }
});
