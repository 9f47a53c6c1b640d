//! The YAML shape of the document and its validation into typed schedules.

use std::collections::{BTreeMap, BTreeSet};

use jiff::SignedDuration;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use serde::Deserialize;

use super::{AlarmPattern, Config, ConfigError, Problem, Remedy, Rule};
use crate::capacity::Capacity;
use crate::names::EndpointName;
use crate::permissions::Allowed;
use crate::places::{AccountId, Place, RegionName, Spoke};
use crate::schedule::{Days, OffHours, Period, Schedule};

/// The longest prewarm: creating an endpoint takes minutes, and the schedule engine looks this
/// far ahead on every question, so a typo such as `30d` for `30m` is refused. The same bound
/// holds for `min_sleep`, which the engine also looks back and ahead by.
const MAX_PREWARM: SignedDuration = SignedDuration::from_hours(24);
/// The shortest sleep worth it unless a schedule says otherwise: an endpoint takes 5–15
/// minutes to create again, and may then not get its instances back; a shorter gap saves
/// little and risks the next period.
pub const DEFAULT_MIN_SLEEP: SignedDuration = SignedDuration::from_hours(1);
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    #[serde(default)]
    schedules: UniqueKeys<RawSchedule>,
    #[serde(default)]
    remediation: Vec<RawRule>,
    #[serde(default)]
    accounts: Vec<RawAccount>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    account: String,
    regions: Vec<String>,
    external_id: String,
    model_roles: String,
    #[serde(default)]
    kms_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    #[serde(default)]
    alarms: Vec<String>,
    #[serde(default)]
    alarm_tags: UniqueKeys<String>,
    endpoint: Option<String>,
    action: String,
    min: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    timezone: String,
    #[serde(default)]
    periods: Vec<RawPeriod>,
    off_hours: RawOffHours,
    #[serde(default)]
    holidays: Vec<String>,
    prewarm: Option<String>,
    min_sleep: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeriod {
    days: String,
    start: String,
    end: String,
    capacity: RawCapacity,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCapacity {
    min: i64,
    max: i64,
}

/// A mapping in which a key written twice is an error naming it: YAML parsers keep the last of
/// two, so a schedule pasted twice under one name would silently replace the first.
struct UniqueKeys<V>(BTreeMap<String, V>);

impl<V> Default for UniqueKeys<V> {
    fn default() -> Self {
        Self(BTreeMap::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for UniqueKeys<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Visitor<V> {
            type Value = UniqueKeys<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    if out.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!(
                            "duplicate key {key:?}: it is written twice, and only one can hold; rename or merge them"
                        )));
                    }
                    let value = map.next_value()?;
                    out.insert(key, value);
                }
                Ok(UniqueKeys(out))
            }
        }
        deserializer.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

enum RawOffHours {
    Keyword(String),
    Capacity(RawCapacity),
}

/// By hand rather than `untagged`, which would hide a capacity's own errors (a key written
/// twice, an unknown field) behind "did not match any variant".
impl<'de> Deserialize<'de> for RawOffHours {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawOffHours;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`sleep` or a capacity such as { min: 1, max: 1 }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawOffHours::Keyword(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                RawCapacity::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawOffHours::Capacity)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

pub(super) fn parse(yaml: &str) -> Result<Config, ConfigError> {
    let raw: RawDocument =
        serde_yaml_ng::from_str(yaml).map_err(|e| ConfigError::Syntax(e.to_string()))?;
    let mut problems = Vec::new();
    let mut schedules = BTreeMap::new();
    for (name, raw) in raw.schedules.0 {
        let mut check = Checker {
            place: format!("schedule {name:?}"),
            problems: &mut problems,
        };
        if let Some(schedule) = check.schedule(&name, raw) {
            schedules.insert(name, schedule);
        }
    }
    let mut remediation: Vec<Rule> = Vec::new();
    let mut names = BTreeSet::new();
    for (index, raw) in raw.remediation.into_iter().enumerate() {
        let mut check = Checker {
            place: format!("remediation rule {:?} (#{})", raw.name, index + 1),
            problems: &mut problems,
        };
        if !names.insert(raw.name.clone()) {
            check.fail::<()>("name", "another rule has this name; names must be unique");
        }
        if let Some(rule) = check.rule(raw) {
            remediation.push(rule);
        }
    }
    let mut spokes = Vec::new();
    let mut accounts = BTreeSet::new();
    for (index, raw) in raw.accounts.into_iter().enumerate() {
        let mut check = Checker {
            place: format!("account {:?} (#{})", raw.account, index + 1),
            problems: &mut problems,
        };
        if !accounts.insert(raw.account.clone()) {
            check.fail::<()>(
                "account",
                "listed twice; give one entry every region of the account",
            );
        }
        if let Some(found) = check.account(raw) {
            spokes.extend(found);
        }
    }
    if problems.is_empty() {
        Ok(Config {
            schedules,
            remediation,
            spokes,
        })
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

/// A time of day written `HH:MM`.
fn clock(text: &str) -> Option<Time> {
    text.parse::<Time>().ok().filter(|_| text.len() == 5)
}

/// Validates one schedule or rule, recording every problem rather than stopping at the first.
struct Checker<'a> {
    place: String,
    problems: &'a mut Vec<Problem>,
}

impl Checker<'_> {
    fn fail<T>(&mut self, field: impl Into<String>, message: impl Into<String>) -> Option<T> {
        self.problems.push(Problem {
            place: self.place.clone(),
            field: field.into(),
            message: message.into(),
        });
        None
    }

    fn rule(&mut self, raw: RawRule) -> Option<Rule> {
        if raw.name.trim().is_empty() {
            self.fail::<()>("name", "a rule needs a non-empty name");
        }
        if raw.alarms.is_empty() && raw.alarm_tags.0.is_empty() {
            self.fail::<()>(
                "alarms",
                "say which alarms the rule answers: alarm names (a trailing * matches a prefix), alarm_tags, or both",
            );
        }
        let alarms: Vec<Option<AlarmPattern>> = raw
            .alarms
            .iter()
            .enumerate()
            .map(|(i, text)| {
                AlarmPattern::parse(text)
                    .map_err(|why| self.fail::<()>(format!("alarms[{i}]"), why))
                    .ok()
            })
            .collect();
        let endpoint = match raw.endpoint {
            None => Some(None),
            Some(name) => match EndpointName::new(name) {
                Ok(name) => Some(Some(name)),
                Err(e) => self.fail("endpoint", e.to_string()),
            },
        };
        let min = match raw.min {
            None => Some(None),
            Some(n) => match u32::try_from(n) {
                Ok(n) if n > 0 => Some(Some(n)),
                _ => self.fail(
                    "min",
                    format!("{n} is not a whole number of instances from 1 up"),
                ),
            },
        };
        let remedy = match (raw.action.as_str(), min) {
            ("suspend-scale-in", Some(None)) => Some(Remedy::SuspendScaleIn),
            ("raise-min", Some(min)) => Some(Remedy::RaiseMin(min)),
            ("wake", Some(None)) => Some(Remedy::Wake),
            ("suspend-scale-in" | "wake", Some(Some(_))) => {
                self.fail("min", "only raise-min takes a min")
            }
            (_, None) => None,
            (other, _) => self.fail(
                "action",
                format!("{other:?} is none of suspend-scale-in, raise-min, wake"),
            ),
        };
        Some(Rule {
            name: raw.name,
            alarms: alarms.into_iter().collect::<Option<_>>()?,
            alarm_tags: raw.alarm_tags.0,
            endpoint: endpoint?,
            remedy: remedy?,
        })
    }

    /// The spokes of one `accounts` entry, a place per region.
    fn account(&mut self, raw: RawAccount) -> Option<Vec<Spoke>> {
        let account = AccountId::new(&raw.account)
            .map_err(|why| self.fail::<()>("account", why))
            .ok();
        if raw.regions.is_empty() {
            self.fail::<()>(
                "regions",
                "name the regions sagetide manages in this account",
            );
        }
        let mut seen = BTreeSet::new();
        let regions: Vec<Option<RegionName>> = raw
            .regions
            .iter()
            .enumerate()
            .map(|(i, text)| {
                if !seen.insert(text.as_str()) {
                    return self.fail(format!("regions[{i}]"), format!("{text:?} is listed twice"));
                }
                RegionName::new(text)
                    .map_err(|why| self.fail::<()>(format!("regions[{i}]"), why))
                    .ok()
            })
            .collect();
        // The characters and lengths IAM allows (sts:ExternalId, a role name pattern).
        let external_id_ok = (2..=1224).contains(&raw.external_id.len())
            && raw
                .external_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c));
        if !external_id_ok {
            self.fail::<()>(
                "external_id",
                "2 to 1224 of letters, digits and +=,.@:/-_: the spoke stack's ExternalId",
            );
        }
        let model_roles_ok = !raw.model_roles.is_empty()
            && raw
                .model_roles
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_/*?-".contains(c));
        if !model_roles_ok {
            self.fail::<()>(
                "model_roles",
                "a role name or pattern (* and ?): the spoke stack's ModelExecutionRoles",
            );
        }
        let keys: Vec<Option<(String, String)>> = raw
            .kms_keys
            .iter()
            .enumerate()
            .map(|(i, key)| match key.split(':').collect::<Vec<_>>()[..] {
                ["arn", _, "kms", region, owner, id]
                    if owner == raw.account && id.starts_with("key/") =>
                {
                    Some((region.to_owned(), key.clone()))
                }
                _ => self.fail(
                    format!("kms_keys[{i}]"),
                    format!(
                        "{key:?} is not the ARN of a key of account {} (arn:aws:kms:REGION:{}:key/ID)",
                        raw.account, raw.account
                    ),
                ),
            })
            .collect();
        let account = account?;
        let regions: Vec<RegionName> = regions.into_iter().collect::<Option<_>>()?;
        let keys: Vec<(String, String)> = keys.into_iter().collect::<Option<_>>()?;
        if !external_id_ok || !model_roles_ok {
            return None;
        }
        Some(
            regions
                .into_iter()
                .map(|region| Spoke {
                    allowed: Allowed {
                        kms_keys: keys
                            .iter()
                            .filter(|(r, _)| r == region.as_str())
                            .map(|(_, key)| key.clone())
                            .collect(),
                        model_roles: raw.model_roles.clone(),
                    },
                    external_id: raw.external_id.clone(),
                    place: Place {
                        account: account.clone(),
                        region,
                    },
                })
                .collect(),
        )
    }

    fn schedule(&mut self, name: &str, raw: RawSchedule) -> Option<Schedule> {
        if name.trim().is_empty() {
            self.fail::<()>("name", "a schedule needs a non-empty name");
        }
        let timezone = match TimeZone::get(&raw.timezone) {
            Ok(tz) => Some(tz),
            Err(_) => self.fail(
                "timezone",
                format!(
                    "{:?} is not an IANA time zone name (e.g. Europe/Berlin)",
                    raw.timezone
                ),
            ),
        };
        let periods: Vec<Option<Period>> = raw
            .periods
            .into_iter()
            .enumerate()
            .map(|(i, p)| self.period(i, p))
            .collect();
        let off_hours = match raw.off_hours {
            RawOffHours::Keyword(word) if word == "sleep" => Some(OffHours::Sleep),
            RawOffHours::Keyword(word) => self.fail(
                "off_hours",
                format!("{word:?} is neither `sleep` nor a capacity {{ min: N, max: N }}"),
            ),
            RawOffHours::Capacity(c) => self.capacity("off_hours", c).map(OffHours::Capacity),
        };
        let holidays: Vec<Option<Date>> = raw
            .holidays
            .iter()
            .enumerate()
            .map(|(i, day)| match day.parse::<Date>() {
                Ok(date) => Some(date),
                Err(_) => self.fail(
                    format!("holidays[{i}]"),
                    format!("{day:?} is not a date as YYYY-MM-DD"),
                ),
            })
            .collect();
        let prewarm = match raw.prewarm.as_deref() {
            None => Some(SignedDuration::ZERO),
            Some(text) => self.bounded_duration("prewarm", text),
        };
        let min_sleep = match raw.min_sleep.as_deref() {
            None => Some(DEFAULT_MIN_SLEEP),
            Some(text) => self.bounded_duration("min_sleep", text),
        };
        Some(Schedule {
            name: name.to_owned(),
            timezone: timezone?,
            periods: periods.into_iter().collect::<Option<_>>()?,
            off_hours: off_hours?,
            holidays: holidays.into_iter().collect::<Option<BTreeSet<_>>>()?,
            prewarm: prewarm?,
            min_sleep: min_sleep?,
        })
    }

    /// A duration of at most [`MAX_PREWARM`].
    fn bounded_duration(&mut self, field: &str, text: &str) -> Option<SignedDuration> {
        match self.duration(field, text) {
            Some(d) if d > MAX_PREWARM => self.fail(
                field,
                format!(
                    "{text:?} is longer than {MAX_PREWARM:#}: an endpoint takes minutes to create"
                ),
            ),
            other => other,
        }
    }

    fn period(&mut self, index: usize, raw: RawPeriod) -> Option<Period> {
        let field = |name: &str| format!("periods[{index}].{name}");
        let days = Days::parse(&raw.days)
            .map_err(|why| self.fail::<()>(field("days"), why))
            .ok();
        let start = self.time(&field("start"), &raw.start);
        // The same start and end is a whole day, whatever the time.
        let end = if raw.end == raw.start {
            self.time(&field("end"), &raw.end)
        } else {
            self.end_time(&field("end"), &raw.end)
        };
        let capacity = self.capacity(&field("capacity"), raw.capacity);
        Some(Period {
            days: days?,
            start: start?,
            end: end?,
            capacity: capacity?,
            label: format!("{} {}-{}", raw.days, raw.start, raw.end),
        })
    }

    fn time(&mut self, field: &str, text: &str) -> Option<Time> {
        clock(text).or_else(|| {
            self.fail(
                field,
                format!("{text:?} is not a time of day as HH:MM from 00:00 to 23:59"),
            )
        })
    }

    /// A period's end: a time of day, or the end of the day, which people write as `24:00` or
    /// as `23:59` ("until midnight"). The end of the day is midnight, which, not after the
    /// start, ends the period at the next midnight; so `23:59` followed by a period at `00:00`
    /// leaves no off-hours minute between them.
    fn end_time(&mut self, field: &str, text: &str) -> Option<Time> {
        match text {
            "24:00" | "23:59" => Some(Time::midnight()),
            _ => clock(text).or_else(|| {
                self.fail(
                    field,
                    format!("{text:?} is not a time of day as HH:MM from 00:00 to 24:00 (24:00 and 23:59 end the period at midnight)"),
                )
            }),
        }
    }

    fn capacity(&mut self, field: &str, raw: RawCapacity) -> Option<Capacity> {
        let bound = |value: i64| u32::try_from(value).ok();
        match (bound(raw.min), bound(raw.max)) {
            (Some(min), Some(max)) => match Capacity::new(min, max) {
                Ok(c) => Some(c),
                Err(e) => self.fail(field, e.to_string()),
            },
            _ => self.fail(
                field,
                format!(
                    "min ({}) and max ({}) must be whole numbers from 0 up",
                    raw.min, raw.max
                ),
            ),
        }
    }

    fn duration(&mut self, field: &str, text: &str) -> Option<SignedDuration> {
        match crate::tags::parse_duration(text) {
            Ok(d) => Some(d),
            Err(why) => self.fail(field, why),
        }
    }
}
