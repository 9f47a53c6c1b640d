//! The configuration document: any text either parses into schedules that answer every question
//! at every instant, or is rejected with a message; it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sagetide::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::parse(text) else {
        return;
    };
    for schedule in config.schedules() {
        for now in sagetide_fuzz::instants() {
            sagetide_fuzz::ask(schedule, now);
        }
    }
    let _ = config.rules();
});
