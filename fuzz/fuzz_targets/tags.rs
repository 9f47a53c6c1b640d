//! Tag values, as anyone with `sagemaker:AddTags` may write them: every parser and every
//! decision that reads tags (what the schedule wants, whether to sleep) answers or declines.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sagetide::fleet::{Endpoint, Status};
use sagetide::lifecycle::decide;
use sagetide::plan::sleepable::SleepTrigger;
use sagetide::names::EndpointName;
use sagetide::plan::wanted::wanted;
use sagetide::pool::{POOL_CAPACITY_TAG, PoolCapacity, TARGET_UTILIZATION_TAG, TargetUtilization};
use sagetide::tags;

const KEYS: [&str; 8] = [
    tags::SCHEDULE,
    tags::OVERRIDE,
    tags::IDLE_AFTER,
    tags::WAKE_ON,
    tags::WAKE_ALARM,
    POOL_CAPACITY_TAG,
    TARGET_UTILIZATION_TAG,
    "team",
];

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    tags: Vec<(u8, &'a str)>,
    now: i64,
    created: i64,
}

fuzz_target!(|input: Input<'_>| {
    let config = sagetide_fuzz::config();
    let now = sagetide_fuzz::instant(input.now);
    let tags: tags::Tags = input
        .tags
        .iter()
        .map(|(key, value)| {
            (
                KEYS[usize::from(*key) % KEYS.len()].to_owned(),
                (*value).to_owned(),
            )
        })
        .collect();
    for value in tags.values() {
        let _ = tags::Override::parse(value);
        let _ = tags::idle_after(value);
        let _ = tags::wake_on(Some(value));
        let _ = TargetUtilization::parse(value);
        if let Ok(pools) = PoolCapacity::parse(value) {
            let _ = pools.single_type();
        }
    }
    let _ = tags::opted_in(&tags);
    for schedule in config.schedules() {
        let _ = wanted(&tags, schedule, now);
    }
    let endpoint = Endpoint {
        name: EndpointName::new("fuzz").expect("a valid name"),
        arn: None,
        status: Status::InService,
        failure_reason: None,
        config_name: Some("fuzz-config".into()),
        created: Some(sagetide_fuzz::instant(input.created)),
        variants: Vec::new(),
        shadow_variants: Vec::new(),
        tags,
    };
    for trigger in [
        SleepTrigger::IdleAlarm(&config),
        SleepTrigger::Manual {
            force: false,
            config: &config,
        },
        SleepTrigger::Manual {
            force: true,
            config: &config,
        },
        SleepTrigger::Schedule(&config),
    ] {
        let _ = decide::sleep(Some(&endpoint), None, trigger, now);
    }
});
