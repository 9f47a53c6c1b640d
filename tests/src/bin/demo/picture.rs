//! The picture of the demo's days: a row per endpoint, its capacity as the demo observed it at
//! each tick, coloured by what its schedule wanted then; drawn as `sagetide check --svg` draws.

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::Timestamp;
use sagetide::config::Config;
use sagetide_cli::picture::{self, Band, Row, Shade};
use sagetide_tests::demo_fleet::{CONFIG, FLEET};
use sagetide_tests::workspace_root;

/// Writes the picture of `observed` (each tick's cells by endpoint) up to `until`, and returns
/// where.
pub fn write(
    observed: &[(Timestamp, BTreeMap<&'static str, String>)],
    until: Timestamp,
) -> PathBuf {
    let config = Config::parse(CONFIG).expect("the demo's document");
    let rows: Vec<Row> = FLEET
        .iter()
        .map(|e| {
            let schedule = e.schedule().and_then(|name| config.schedule(name));
            let mut bands: Vec<Band> = Vec::new();
            for (at, cells) in observed {
                let cell = &cells[e.name];
                let state = schedule.map(|s| s.state_at(*at));
                let shade = match (cell.as_str(), &state) {
                    ("asleep", _) => Shade::Asleep,
                    (_, Some(state)) => Shade::of(state),
                    (_, None) => Shade::Unscheduled,
                };
                if bands
                    .last()
                    .is_none_or(|b| (b.shade, &b.label) != (shade, cell))
                {
                    bands.push(Band {
                        from: *at,
                        shade,
                        label: cell.clone(),
                        why: state.map_or_else(|| "no schedule".into(), |s| s.why.to_string()),
                    });
                }
            }
            let note = e
                .tags
                .iter()
                .map(|(k, v)| format!("{}={v}", k.trim_start_matches("sagetide:")))
                .collect::<Vec<_>>()
                .join(" ");
            Row {
                name: e.name.to_owned(),
                note,
                bands,
                marks: Vec::new(),
            }
        })
        .collect();
    let from = observed.first().map_or(until, |(at, _)| *at);
    let title = format!(
        "sagetide demo: each endpoint's MinCapacity..MaxCapacity from {} to {} (UTC)",
        from.strftime("%a %Y-%m-%d %H:%M"),
        until.strftime("%a %Y-%m-%d %H:%M")
    );
    let path = workspace_root().join("target/demo/days.svg");
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("target/demo");
    std::fs::write(&path, picture::draw(&title, from, until, &rows)).expect("the picture");
    path
}
