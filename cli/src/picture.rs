//! Pictures of schedules and fleets over days, as SVG: a row per schedule (or endpoint), its
//! time split into bands coloured by what was wanted (a period, its prewarm, off-hours at a
//! capacity, asleep, a holiday), each band labelled with its capacity where it fits, and marks
//! for the moments worth pointing at (a DST change, a holiday's start). Drawn with the `svg`
//! crate's elements; `sagetide check --svg` and the demo draw the same way.

use jiff::{SignedDuration, Timestamp};
use sagetide::schedule::{Desired, State, Why};
use svg::Document;
use svg::node::element::{Group, Line, Rectangle, Text, Title};

/// What a band shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shade {
    Period,
    Prewarm,
    OffHours,
    Asleep,
    Holiday,
    /// An endpoint awake without a schedule (held by its autoscaling, or woken by hand).
    Unscheduled,
}

impl Shade {
    /// How a schedule's state is shown.
    pub fn of(state: &State) -> Self {
        match (&state.desired, &state.why) {
            (_, Why::Holiday(_)) => Shade::Holiday,
            (Desired::Asleep, _) => Shade::Asleep,
            (_, Why::Prewarm(_)) => Shade::Prewarm,
            (_, Why::Period(_) | Why::ShortGap { .. }) => Shade::Period,
            (_, Why::OffHours) => Shade::OffHours,
        }
    }

    fn fill(self) -> &'static str {
        match self {
            Shade::Period => "#3b8e5a",
            Shade::Prewarm => "#9fd3ae",
            Shade::OffHours => "#9db4cc",
            Shade::Asleep => "#f2f2f2",
            Shade::Holiday => "#e8a33d",
            Shade::Unscheduled => "#c9b8e0",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Shade::Period => "period",
            Shade::Prewarm => "prewarm",
            Shade::OffHours => "off-hours",
            Shade::Asleep => "asleep",
            Shade::Holiday => "holiday",
            Shade::Unscheduled => "awake, no schedule",
        }
    }

    const ALL: [Shade; 6] = [
        Shade::Period,
        Shade::Prewarm,
        Shade::OffHours,
        Shade::Asleep,
        Shade::Holiday,
        Shade::Unscheduled,
    ];
}

/// What a schedule wants, as a band's label (short, to fit): `2..10` or `asleep`.
pub fn label(desired: &Desired) -> String {
    match desired {
        Desired::Awake(capacity) => capacity.to_string(),
        Desired::Asleep => "asleep".into(),
    }
}

/// A stretch of a row: from `from` until the next band (or the picture's end).
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub from: Timestamp,
    pub shade: Shade,
    /// Shown inside the band where it fits (`2..10`), and in its tooltip with `why`.
    pub label: String,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    /// Shown small under the name (a time zone, a kind of endpoint).
    pub note: String,
    /// In time order.
    pub bands: Vec<Band>,
    /// Moments to mark on the row: `(at, text)`.
    pub marks: Vec<(Timestamp, String)>,
}

const LEFT: f64 = 170.0;
const WIDTH: f64 = 960.0;
const TOP: f64 = 44.0;
const ROW: f64 = 34.0;
const BAR: f64 = 24.0;
/// Roughly the width of a character of the labels' font, to leave out labels that do not fit.
const CHAR: f64 = 6.5;

/// The picture of `rows` from `from` to `until`, titled `title`, with the hours in UTC.
pub fn draw(title: &str, from: Timestamp, until: Timestamp, rows: &[Row]) -> String {
    let span = (until - from).as_secs_f64().max(1.0);
    let x = |at: Timestamp| LEFT + WIDTH * ((at - from).as_secs_f64() / span).clamp(0.0, 1.0);
    let height = TOP + ROW * rows.len() as f64 + 56.0;
    let mut document = Document::new()
        .set("xmlns", "http://www.w3.org/2000/svg")
        .set("viewBox", (0.0, 0.0, LEFT + WIDTH + 20.0, height))
        .set("font-family", "sans-serif")
        .set("font-size", 11)
        .add(
            Rectangle::new()
                .set("width", "100%")
                .set("height", "100%")
                .set("fill", "white"),
        )
        .add(
            Text::new(title)
                .set("x", 10)
                .set("y", 18)
                .set("font-size", 14)
                .set("font-weight", "bold"),
        );
    document = document.add(axis(from, until, &x, height));
    for (i, row) in rows.iter().enumerate() {
        let top = TOP + ROW * i as f64;
        document = document.add(draw_row(row, top, until, &x));
    }
    document.add(legend(height - 22.0)).to_string()
}

/// A line and the date at each UTC midnight, a fainter line every six hours.
fn axis(from: Timestamp, until: Timestamp, x: &impl Fn(Timestamp) -> f64, height: f64) -> Group {
    let mut group = Group::new().set("class", "axis");
    let six_hours = SignedDuration::from_hours(6);
    let first = Timestamp::from_second(from.as_second().div_euclid(6 * 3600) * 6 * 3600)
        .expect("a time within jiff's range");
    let mut at = first;
    while at <= until {
        if at >= from {
            let midnight = at.as_second().rem_euclid(24 * 3600) == 0;
            // Hours are written only where six of them leave room for the text.
            let roomy = x(at + six_hours) - x(at) > 60.0;
            group = group.add(
                Line::new()
                    .set("x1", x(at))
                    .set("x2", x(at))
                    .set("y1", TOP - 8.0)
                    .set("y2", height - 40.0)
                    .set("stroke", if midnight { "#888" } else { "#ddd" }),
            );
            let label = if midnight {
                Some(at.strftime("%a %d %b").to_string())
            } else {
                roomy.then(|| at.strftime("%H:%M").to_string())
            };
            if let Some(label) = label.filter(|_| at < until) {
                group = group.add(
                    Text::new(label)
                        .set("x", x(at) + 3.0)
                        .set("y", TOP - 10.0)
                        .set("fill", if midnight { "#333" } else { "#999" }),
                );
            }
        }
        at += six_hours;
    }
    group.add(
        Text::new("UTC")
            .set("x", LEFT - 40.0)
            .set("y", TOP - 10.0)
            .set("fill", "#999"),
    )
}

fn draw_row(row: &Row, top: f64, until: Timestamp, x: &impl Fn(Timestamp) -> f64) -> Group {
    let mut group = Group::new()
        .set("class", "row")
        .set("data-name", row.name.as_str())
        .add(
            Text::new(row.name.as_str())
                .set("x", 10)
                .set("y", top + BAR * 0.45)
                .set("font-weight", "bold"),
        )
        .add(
            Text::new(row.note.as_str())
                .set("x", 10)
                .set("y", top + BAR * 0.45 + 12.0)
                .set("font-size", 9)
                .set("fill", "#777"),
        );
    for (i, band) in row.bands.iter().enumerate() {
        let end = row.bands.get(i + 1).map_or(until, |next| next.from);
        let (left, right) = (x(band.from), x(end));
        if right <= left {
            continue;
        }
        let mut rect = Rectangle::new()
            .set("x", left)
            .set("y", top)
            .set("width", right - left)
            .set("height", BAR)
            .set("fill", band.shade.fill())
            .add(Title::new(format!(
                "{}: {} from {} ({})",
                row.name,
                band.label,
                band.from.strftime("%Y-%m-%d %H:%M UTC"),
                band.why
            )));
        if band.shade == Shade::Asleep {
            rect = rect.set("stroke", "#bbb").set("stroke-dasharray", "3 2");
        }
        group = group.add(rect);
        if (right - left) > CHAR * band.label.len() as f64 + 4.0 {
            let ink = match band.shade {
                Shade::Period => "white",
                _ => "#222",
            };
            group = group.add(
                Text::new(band.label.as_str())
                    .set("x", left + 3.0)
                    .set("y", top + BAR * 0.68)
                    .set("fill", ink),
            );
        }
    }
    for (at, text) in &row.marks {
        group = group.add(
            Line::new()
                .set("x1", x(*at))
                .set("x2", x(*at))
                .set("y1", top - 3.0)
                .set("y2", top + BAR + 3.0)
                .set("stroke", "#c0392b")
                .set("stroke-width", 2)
                .add(Title::new(text.as_str())),
        );
    }
    group
}

fn legend(y: f64) -> Group {
    let mut group = Group::new().set("class", "legend");
    for (i, shade) in Shade::ALL.iter().enumerate() {
        let left = LEFT + 100.0 * i as f64;
        group = group
            .add(
                Rectangle::new()
                    .set("x", left)
                    .set("y", y - 10.0)
                    .set("width", 14)
                    .set("height", 12)
                    .set("fill", shade.fill())
                    .set("stroke", "#bbb"),
            )
            .add(Text::new(shade.name()).set("x", left + 18.0).set("y", y));
    }
    let left = LEFT + 100.0 * Shade::ALL.len() as f64 + 30.0;
    group
        .add(
            Line::new()
                .set("x1", left + 7.0)
                .set("x2", left + 7.0)
                .set("y1", y - 11.0)
                .set("y2", y + 2.0)
                .set("stroke", "#c0392b")
                .set("stroke-width", 2),
        )
        .add(
            Text::new("DST change, holiday")
                .set("x", left + 14.0)
                .set("y", y),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use svg::node::element::tag;
    use svg::parser::Event;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn each_row_and_band_is_an_element_of_a_well_formed_document() {
        let rows = vec![Row {
            name: "office <hours> & co".into(),
            note: "UTC".into(),
            bands: vec![
                Band {
                    from: at("2026-11-23T00:00:00Z"),
                    shade: Shade::OffHours,
                    label: "1..1".into(),
                    why: "off-hours".into(),
                },
                Band {
                    from: at("2026-11-23T07:00:00Z"),
                    shade: Shade::Period,
                    label: "2..10".into(),
                    why: "period mon-fri 08:00-19:00".into(),
                },
            ],
            marks: vec![(at("2026-11-23T12:00:00Z"), "DST".into())],
        }];
        let text = draw(
            "a day",
            at("2026-11-23T00:00:00Z"),
            at("2026-11-24T00:00:00Z"),
            &rows,
        );
        let mut names = Vec::new();
        let mut rects = 0;
        for event in svg::read(&text).unwrap() {
            match event {
                Event::Tag(tag::Group, _, attributes) => {
                    if let Some(name) = attributes.get("data-name") {
                        names.push(name.to_string());
                    }
                }
                Event::Tag(tag::Rectangle, _, _) => rects += 1,
                Event::Error(e) => panic!("{e}"),
                _ => {}
            }
        }
        assert_eq!(names, ["office &lt;hours&gt; &amp; co"]);
        // The background, two bands (each opened and closed around its tooltip) and six
        // legend swatches.
        assert_eq!(rects, 1 + 2 * 2 + 6);
        // 07:00 of 24 hours: the period starts 7/24 of the way along.
        let period_x = LEFT + WIDTH * 7.0 / 24.0;
        assert!(text.contains(&format!("x=\"{period_x}\"")), "{text}");
    }
}
