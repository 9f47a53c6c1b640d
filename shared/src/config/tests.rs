use super::*;

fn problems(yaml: &str) -> Vec<Problem> {
    match Config::parse(yaml) {
        Err(ConfigError::Invalid(problems)) => problems,
        other => panic!("expected an invalid document, got {other:?}"),
    }
}

fn fields(yaml: &str) -> Vec<(String, String)> {
    problems(yaml)
        .into_iter()
        .map(|p| (p.place, p.field))
        .collect()
}

fn pair(schedule: &str, field: &str) -> (String, String) {
    (format!("schedule {schedule:?}"), field.to_owned())
}

#[test]
fn the_contract_example_parses() {
    let config = Config::parse(
        r#"
schedules:
  office-hours:
    timezone: Europe/Berlin          # IANA name; DST handled
    periods:                         # when the endpoint is "on"
      - days: mon-fri                # mon..sun, ranges and lists: "mon,wed,fri"
        start: "08:00"
        end: "19:00"
        capacity: { min: 2, max: 10 }
    off_hours: { min: 1, max: 1 }    # or: off_hours: sleep
    holidays: ["2026-12-24", "2026-12-25"]   # whole local days treated as off-hours
    prewarm: 15m                     # with sleep: recreate this long before a period starts
"#,
    )
    .unwrap();
    let s = config.schedule("office-hours").unwrap();
    assert_eq!(s.periods.len(), 1);
    assert_eq!(s.holidays.len(), 2);
    assert_eq!(s.prewarm, jiff::SignedDuration::from_mins(15));
}

#[test]
fn every_problem_is_reported_with_its_schedule_and_field() {
    let found = fields(
        r#"
schedules:
  a:
    timezone: Mars/Olympus
    periods:
      - { days: mon-fry, start: "25:00", end: "8:00", capacity: { min: 3, max: 2 } }
    off_hours: { min: -1, max: 1 }
    holidays: ["2026-02-30"]
    prewarm: soon
  b:
    timezone: UTC
    off_hours: hibernate
"#,
    );
    assert_eq!(
        found,
        [
            pair("a", "timezone"),
            pair("a", "periods[0].days"),
            pair("a", "periods[0].start"),
            pair("a", "periods[0].end"),
            pair("a", "periods[0].capacity"),
            pair("a", "off_hours"),
            pair("a", "holidays[0]"),
            pair("a", "prewarm"),
            pair("b", "off_hours"),
        ]
    );
}

#[test]
fn min_above_max_names_both_numbers() {
    let p = problems("schedules:\n  s:\n    timezone: UTC\n    off_hours: { min: 5, max: 2 }\n");
    assert_eq!(p[0].message, "min (5) is greater than max (2)");
    assert_eq!(
        ConfigError::Invalid(p).to_string(),
        "the configuration document is invalid: schedule \"s\", field off_hours: min (5) is greater than max (2)"
    );
}

#[test]
fn documents_that_do_not_parse_are_rejected() {
    for bad in [
        "schedules: [",
        "not-schedules: {}",
        "schedules:\n  s:\n    timezone: UTC\n",
        "schedules:\n  s:\n    timezone: UTC\n    off_hours: sleep\n    typo_field: 1\n",
    ] {
        assert!(
            matches!(Config::parse(bad), Err(ConfigError::Syntax(_))),
            "{bad:?} should not parse"
        );
    }
}

#[test]
fn sleep_is_an_off_hours_keyword() {
    let config =
        Config::parse("schedules:\n  s:\n    timezone: UTC\n    off_hours: sleep\n").unwrap();
    assert_eq!(
        config.schedule("s").unwrap().off_hours,
        crate::schedule::OffHours::Sleep
    );
}

#[test]
fn remediation_rules_are_validated_with_the_rest() {
    let config = Config::parse(
        r#"
remediation:
  - name: hold-on-5xx
    alarms: ["sagetide-remediate-*"]
    action: suspend-scale-in
  - name: keep
    alarm_tags: { team: search }
    endpoint: chat
    action: raise-min
    min: 3
"#,
    )
    .unwrap();
    assert_eq!(config.rules().len(), 2);
    assert_eq!(
        config.rule("keep").unwrap().remedy,
        crate::config::Remedy::RaiseMin(Some(3))
    );
    let bad = problems(
        r#"
remediation:
  - { name: a, alarms: ["x"], action: reboot }
  - { name: b, action: wake }
  - { name: c, alarms: ["x"], action: suspend-scale-in, min: 2 }
  - { name: c, alarms: ["x"], endpoint: "not a name", action: raise-min, min: 0 }
"#,
    );
    let fields: Vec<(String, String)> = bad.into_iter().map(|p| (p.place, p.field)).collect();
    assert_eq!(
        fields,
        [
            (
                "remediation rule \"a\" (#1)".to_owned(),
                "action".to_owned()
            ),
            (
                "remediation rule \"b\" (#2)".to_owned(),
                "alarms".to_owned()
            ),
            ("remediation rule \"c\" (#3)".to_owned(), "min".to_owned()),
            ("remediation rule \"c\" (#4)".to_owned(), "name".to_owned()),
            (
                "remediation rule \"c\" (#4)".to_owned(),
                "endpoint".to_owned()
            ),
            ("remediation rule \"c\" (#4)".to_owned(), "min".to_owned()),
        ]
    );
}

/// Found by fuzzing: a prewarm of 99999 days made every question to the schedule take
/// seconds (and one of 9999 years would overflow the instant arithmetic).
#[test]
fn a_prewarm_longer_than_a_day_is_refused() {
    let doc = |prewarm: &str| {
        format!(
            "schedules:\n  a:\n    timezone: UTC\n    periods:\n      - {{ days: mon, start: \"08:00\", end: \"09:00\", capacity: {{ min: 1, max: 1 }} }}\n    off_hours: sleep\n    prewarm: {prewarm}\n"
        )
    };
    assert!(Config::parse(&doc("1d")).is_ok());
    for bad in ["30m99999d", "25h", "9999y"] {
        assert_eq!(fields(&doc(bad)), [pair("a", "prewarm")], "{bad}");
    }
}

#[test]
fn an_end_may_be_24_00_and_min_sleep_is_bounded_like_prewarm() {
    let doc = |end: &str, min_sleep: &str| {
        format!(
            "schedules:\n  a:\n    timezone: UTC\n    periods:\n      - {{ days: mon, start: \"08:00\", end: \"{end}\", capacity: {{ min: 1, max: 1 }} }}\n    off_hours: sleep\n    min_sleep: {min_sleep}\n"
        )
    };
    assert!(Config::parse(&doc("24:00", "30m")).is_ok());
    assert!(Config::parse(&doc("23:59", "0m")).is_ok());
    assert_eq!(fields(&doc("24:01", "30m")), [pair("a", "periods[0].end")]);
    assert_eq!(fields(&doc("12:00", "2d")), [pair("a", "min_sleep")]);
    assert_eq!(fields(&doc("12:00", "soon")), [pair("a", "min_sleep")]);
    let default = Config::parse(&doc("12:00", "1h")).unwrap();
    assert_eq!(
        default.schedule("a").unwrap().min_sleep,
        jiff::SignedDuration::from_hours(1)
    );
}

#[test]
fn a_key_written_twice_is_an_error_naming_it() {
    let twice = [
        (
            "office",
            r#"
schedules:
  office:
    timezone: UTC
    off_hours: sleep
  office:
    timezone: Europe/Berlin
    off_hours: { min: 1, max: 1 }
"#,
        ),
        (
            "min",
            r#"
schedules:
  office:
    timezone: UTC
    off_hours: { min: 1, min: 0, max: 1 }
"#,
        ),
        (
            "timezone",
            r#"
schedules:
  office:
    timezone: UTC
    timezone: Europe/Berlin
    off_hours: sleep
"#,
        ),
        (
            "team",
            r#"
remediation:
  - name: hold
    alarm_tags: { team: search, team: ads }
    action: suspend-scale-in
"#,
        ),
    ];
    for (key, yaml) in twice {
        match Config::parse(yaml) {
            Err(ConfigError::Syntax(why)) => {
                assert!(
                    why.contains(&format!("`{key}`")) || why.contains(&format!("{key:?}")),
                    "{why}"
                );
                assert!(why.contains("duplicate"), "{why}");
                assert!(why.contains("line"), "{why}");
            }
            other => panic!("{key} twice: {other:?}"),
        }
    }
}

#[test]
fn accounts_become_a_spoke_per_region_with_their_own_keys() {
    let config = Config::parse(
        r#"
accounts:
  - account: "222222222222"
    regions: [eu-west-1, us-east-1]
    external_id: team-a-7f3a
    model_roles: "sagemaker-*"
    kms_keys: ["arn:aws:kms:eu-west-1:222222222222:key/1234abcd"]
"#,
    )
    .unwrap();
    let spokes: Vec<(String, Vec<String>)> = config
        .spokes()
        .iter()
        .map(|s| (s.place.to_string(), s.allowed.kms_keys.clone()))
        .collect();
    assert_eq!(
        spokes,
        [
            (
                "222222222222/eu-west-1".to_owned(),
                vec!["arn:aws:kms:eu-west-1:222222222222:key/1234abcd".to_owned()]
            ),
            ("222222222222/us-east-1".to_owned(), vec![]),
        ]
    );
    assert!(
        config
            .spokes()
            .iter()
            .all(|s| s.external_id == "team-a-7f3a" && s.allowed.model_roles == "sagemaker-*")
    );
    assert!(Config::parse("schedules: {}").unwrap().spokes().is_empty());
}

#[test]
fn every_mistake_in_an_account_is_named_with_its_field() {
    let yaml = r#"
accounts:
  - account: "22222222222"
    regions: [eu-west-1, eu-west-1, Mars]
    external_id: "x"
    model_roles: "role with spaces"
    kms_keys: ["arn:aws:kms:eu-west-1:333333333333:key/1", "alias/mine"]
  - account: "444444444444"
    regions: []
    external_id: team-b
    model_roles: "*"
  - account: "444444444444"
    regions: [us-east-1]
    external_id: team-b
    model_roles: "*"
"#;
    let found: Vec<(String, String)> = problems(yaml)
        .into_iter()
        .map(|p| (p.place, p.field))
        .collect();
    let first = r#"account "22222222222" (#1)"#;
    let second = r#"account "444444444444" (#2)"#;
    let third = r#"account "444444444444" (#3)"#;
    for expected in [
        (first, "account"),
        (first, "regions[1]"),
        (first, "regions[2]"),
        (first, "external_id"),
        (first, "model_roles"),
        (first, "kms_keys[0]"),
        (first, "kms_keys[1]"),
        (second, "regions"),
        (third, "account"),
    ] {
        assert!(
            found.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} not in {found:?}"
        );
    }
    assert_eq!(found.len(), 9, "{found:?}");
}
