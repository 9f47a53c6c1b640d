//! The scheduler's "Scheduled Event": any JSON is a tick whose time every schedule can be asked
//! about, or is rejected.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sagetide::events::ScheduledEvent;

fuzz_target!(|data: &[u8]| {
    let Ok(payload) = serde_json::from_slice(data) else {
        return;
    };
    let Ok(tick) = ScheduledEvent::parse(payload, &sagetide_fuzz::home()) else {
        return;
    };
    for schedule in sagetide_fuzz::config().schedules() {
        sagetide_fuzz::ask(schedule, tick.time);
    }
});
