//! The `sagetide check` binary as an operator runs it: exit codes, what it prints, both outputs.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn sagetide(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sagetide"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sagetide binary");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        // A run that reads a file, not standard input, may exit before the write.
        match input.write_all(text.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            written => written.unwrap(),
        }
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const VALID: &str = r#"
schedules:
  office-hours:
    timezone: America/New_York
    periods:
      - { days: mon-fri, start: "09:00", end: "17:00", capacity: { min: 2, max: 6 } }
    off_hours: sleep
    prewarm: 15m
"#;

#[test]
fn a_valid_document_exits_0_with_its_transitions_in_local_time_and_utc() {
    let out = sagetide(
        &[
            "check",
            "-",
            "--from",
            "2026-12-04T00:00:00Z",
            "--days",
            "3",
        ],
        Some(VALID),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // Friday 2026-12-04 in New York: awake from 08:45 (prewarm), asleep at 17:00; then the
    // weekend, and Monday's prewarm is past the window.
    assert!(stdout.contains("2026-12-04 Fri 08:45 EST"), "{stdout}");
    assert!(stdout.contains("2026-12-04 13:45 UTC"), "{stdout}");
    assert!(stdout.contains("prewarm for period"), "{stdout}");
    assert!(stdout.contains("2026-12-04 Fri 17:00 EST"), "{stdout}");
    assert!(stdout.contains("asleep"), "{stdout}");
    assert!(!stdout.contains(" Mon "), "{stdout}");
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
}

#[test]
fn an_invalid_document_exits_1_naming_schedule_and_field_for_every_problem() {
    let dir = std::env::temp_dir().join(format!("sagetide-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.yaml");
    std::fs::write(
        &file,
        r#"
schedules:
  night:
    timezone: Europe/Nowhere
    periods: [{ days: mon, start: "25:00", end: "09:00", capacity: { min: 1, max: 1 } }]
    off_hours: { min: 1, max: 1 }
"#,
    )
    .unwrap();
    let out = sagetide(&["check", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(r#"schedule "night", field timezone"#),
        "{stderr}"
    );
    assert!(
        stderr.contains(r#"schedule "night", field periods[0].start"#),
        "{stderr}"
    );
    assert!(stderr.contains("2 problem(s)"), "{stderr}");
}

#[test]
fn json_output_and_syntax_errors_and_unreadable_files() {
    let out = sagetide(
        &[
            "check",
            "-",
            "--output",
            "json",
            "--from",
            "2026-12-04T00:00:00Z",
        ],
        Some(VALID),
    );
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], true);
    let events = json["week"]["schedules"][0]["events"].as_array().unwrap();
    assert_eq!(events[0]["event"], "transition");
    assert_eq!(events[0]["utc"], "2026-12-04T13:45:00Z");

    let duplicate = "schedules:\n  a: {timezone: UTC, off_hours: sleep}\n  a: {timezone: UTC, off_hours: sleep}\n";
    let out = sagetide(&["check", "-", "--output", "json"], Some(duplicate));
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], false);
    let message = json["problems"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("duplicate") && message.contains("line"),
        "{message}"
    );

    let out = sagetide(&["check", "/nonexistent/sagetide.yaml"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read"));
    let out = sagetide(&["check", "-", "--days", "0"], Some(VALID));
    assert_eq!(out.status.code(), Some(2), "clap's usage error");
}

#[test]
fn the_picture_is_svg_with_a_row_per_schedule_its_holiday_and_its_dst_change() {
    let dir = std::env::temp_dir().join(format!("sagetide-svg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let picture = dir.join("week.svg");
    let document = r#"
schedules:
  office-hours:
    timezone: Europe/Berlin
    periods:
      - { days: mon-fri, start: "08:00", end: "19:00", capacity: { min: 2, max: 10 } }
    off_hours: { min: 1, max: 1 }
    holidays: ["2027-03-29"]
  berlin-desk:
    timezone: Europe/Berlin
    periods:
      - { days: mon-fri, start: "08:00", end: "18:00", capacity: { min: 1, max: 4 } }
    off_hours: sleep
    prewarm: 30m
"#;
    let out = sagetide(
        &[
            "check",
            "-",
            "--from",
            "2027-03-25T00:00:00Z",
            "--svg",
            picture.to_str().unwrap(),
        ],
        Some(document),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let content = std::fs::read_to_string(&picture).unwrap();
    let (mut rows, mut titles) = (Vec::new(), Vec::new());
    let mut in_title = false;
    for event in svg::read(&content).unwrap() {
        use svg::node::element::tag;
        use svg::parser::Event;
        match event {
            Event::Tag(tag::Group, _, attributes) => {
                rows.extend(attributes.get("data-name").map(|n| n.to_string()));
            }
            Event::Tag(tag::Title, kind, _) => in_title = kind == tag::Type::Start,
            Event::Text(text) if in_title => titles.push(text.to_owned()),
            Event::Error(e) => panic!("{e}"),
            _ => {}
        }
    }
    assert_eq!(rows, ["berlin-desk", "office-hours"]);
    let has = |needle: &str| titles.iter().any(|t| t.contains(needle));
    // Thursday's prewarm, the desk's period after it, Monday's holiday, Sunday's DST change.
    assert!(
        has("berlin-desk: 1..4 from 2027-03-25 06:30 UTC (prewarm"),
        "{titles:?}"
    );
    assert!(
        has("berlin-desk: 1..4 from 2027-03-25 07:00 UTC (period"),
        "{titles:?}"
    );
    assert!(
        has("office-hours: 1..1 from 2027-03-28 22:00 UTC (holiday 2027-03-29)"),
        "{titles:?}"
    );
    assert!(has("DST: +01 -&gt; +02"), "{titles:?}");
    assert!(
        has("berlin-desk: asleep from 2027-03-25 17:00 UTC"),
        "{titles:?}"
    );

    // An invalid document draws nothing.
    std::fs::remove_file(&picture).unwrap();
    let out = sagetide(
        &["check", "-", "--svg", picture.to_str().unwrap()],
        Some("schedules: {a: {timezone: Mars/Olympus, off_hours: sleep}}"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!picture.exists());
}
