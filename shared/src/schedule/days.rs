//! Sets of weekdays written as `mon-fri`, `mon,wed,fri`, `sat-sun` or a mix (`mon,wed-fri`).

use jiff::civil::Weekday;

/// A non-empty set of weekdays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days(u8);

const NAMES: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

fn bit(day: Weekday) -> u8 {
    1 << day.to_monday_zero_offset()
}

fn weekday(name: &str) -> Result<Weekday, String> {
    let lower = name.trim().to_ascii_lowercase();
    NAMES
        .iter()
        .find(|(n, _)| *n == lower)
        .map(|(_, d)| *d)
        .ok_or_else(|| format!("{name:?} is not a day (use mon, tue, wed, thu, fri, sat, sun)"))
}

impl Days {
    /// Parses a comma list of days and day ranges; a range may wrap the week (`fri-mon`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut set = 0u8;
        for item in text.split(',') {
            match item.split_once('-') {
                Some((from, to)) => {
                    let (mut day, last) = (weekday(from)?, weekday(to)?);
                    set |= bit(day);
                    while day != last {
                        day = day.next();
                        set |= bit(day);
                    }
                }
                None => set |= bit(weekday(item)?),
            }
        }
        Ok(Self(set))
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & bit(day) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Weekday::*;

    fn days(text: &str) -> Vec<Weekday> {
        let set = Days::parse(text).unwrap();
        NAMES
            .iter()
            .map(|(_, d)| *d)
            .filter(|d| set.contains(*d))
            .collect()
    }

    #[test]
    fn ranges_lists_and_wrapping_ranges() {
        assert_eq!(
            days("mon-fri"),
            [Monday, Tuesday, Wednesday, Thursday, Friday]
        );
        assert_eq!(days("mon,wed,fri"), [Monday, Wednesday, Friday]);
        assert_eq!(days("Sat-Sun"), [Saturday, Sunday]);
        assert_eq!(days("mon,wed-thu"), [Monday, Wednesday, Thursday]);
        assert_eq!(days("fri-mon"), [Monday, Friday, Saturday, Sunday]);
        assert_eq!(days("sun-sun"), [Sunday]);
    }

    #[test]
    fn unknown_days_are_named_in_the_error() {
        let err = Days::parse("mon-fry").unwrap_err();
        assert!(err.contains("\"fry\""), "{err}");
        assert!(Days::parse("").is_err());
        assert!(Days::parse("mon,").is_err());
    }
}
