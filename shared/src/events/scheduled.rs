use aws_lambda_events::eventbridge::EventBridgeEvent;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::Value;

use super::{CLOCK_SKEW, EventError};
use crate::places::Place;

const DETAIL_TYPE: &str = "Scheduled Event";
const SOURCES: [&str; 2] = ["aws.events", "aws.scheduler"];
/// How late a tick can be: Lambda keeps an asynchronous event in its queue for six hours at
/// most (it queues while the scheduler's reserved concurrency is taken by other ticks).
pub const TICK_LATENESS: SignedDuration = SignedDuration::from_hours(6);

/// An EventBridge "Scheduled Event" (from a rule or from EventBridge Scheduler); its `time` is
/// the tick's *now*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledEvent {
    pub time: Timestamp,
}

impl ScheduledEvent {
    pub fn parse(payload: Value, home: &Place) -> Result<Self, EventError> {
        let event: EventBridgeEvent<Value> = serde_json::from_value(payload).map_err(|e| {
            EventError(format!(
                "expected an EventBridge \"{DETAIL_TYPE}\" with detail-type, source, time and detail: {e}"
            ))
        })?;
        if event.detail_type != DETAIL_TYPE {
            return Err(EventError(format!(
                "detail-type is {:?}, expected {DETAIL_TYPE:?}",
                event.detail_type
            )));
        }
        if !SOURCES.contains(&event.source.as_str()) {
            return Err(EventError(format!(
                "source is {:?}, expected one of {SOURCES:?}",
                event.source
            )));
        }
        super::admitted(&event, home)?;
        let time = event
            .time
            .ok_or_else(|| EventError("a Scheduled Event needs its `time`".into()))?;
        let time = Timestamp::new(time.timestamp(), time.timestamp_subsec_nanos() as i32)
            .map_err(|e| e.to_string())
            .and_then(crate::schedule::supported)
            .map_err(|e| EventError(format!("time {time} is out of range: {e}")))?;
        Ok(Self { time })
    }

    /// The tick, if its time is one EventBridge could have stamped by `clock` (the real clock,
    /// or `SAGETIDE_NOW` in a simulation): not ahead of it by more than [`CLOCK_SKEW`], nor
    /// older than [`TICK_LATENESS`]. Anyone allowed to invoke the function can send a tick;
    /// one with a time of their choosing would otherwise apply that instant's schedule to the
    /// whole fleet and make every real tick until then "late".
    pub fn sent_by(self, clock: Timestamp) -> Result<Self, EventError> {
        let tick = self.not_ahead_of(clock)?;
        if tick.time < clock - TICK_LATENESS {
            return Err(EventError(format!(
                "tick time {} is more than {TICK_LATENESS:#} before the clock ({clock}): older than Lambda keeps an event; nothing changed",
                tick.time
            )));
        }
        Ok(tick)
    }

    /// The event, if its time is not ahead of `clock` by more than [`CLOCK_SKEW`]: one for an
    /// instant not yet come is no run EventBridge or a hub's tick sent (pool-metrics would
    /// take the buckets before it as landed, and publish zeros for them).
    pub fn not_ahead_of(self, clock: Timestamp) -> Result<Self, EventError> {
        if self.time > clock + CLOCK_SKEW {
            return Err(EventError(format!(
                "tick time {} is more than {CLOCK_SKEW:#} ahead of the clock ({clock}): not a tick EventBridge sent; nothing changed",
                self.time
            )));
        }
        Ok(self)
    }
}

/// `{"action":"tick","account":ID,"region":NAME,"time":TIME}`: the tick of one managed place
/// other than the hub's, which the scheduler's own EventBridge tick queues for it (one
/// asynchronous invocation per place), with that tick's `time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceTick {
    pub place: Place,
    pub tick: ScheduledEvent,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlaceTick {
    action: String,
    account: String,
    region: String,
    time: Timestamp,
}

impl PlaceTick {
    /// `None` when the payload is not a place's tick (it has no `action`), so the caller can
    /// take it as EventBridge's.
    pub fn parse(payload: &Value) -> Option<Result<Self, EventError>> {
        payload.get("action")?;
        Some(
            serde_json::from_value::<RawPlaceTick>(payload.clone())
                .map_err(|e| {
                    EventError(format!(
                        "a place's tick is {{\"action\": \"tick\", \"account\": ID, \"region\": NAME, \"time\": RFC 3339}}: {e}"
                    ))
                })
                .and_then(|raw| {
                    if raw.action != "tick" {
                        return Err(EventError(format!(
                            "this function takes EventBridge's Scheduled Event or {{\"action\": \"tick\"}}, not {:?}",
                            raw.action
                        )));
                    }
                    let place = Place::new(&raw.account, &raw.region).map_err(EventError)?;
                    let time = crate::schedule::supported(raw.time).map_err(|e| {
                        EventError(format!("time {} is out of range: {e}", raw.time))
                    })?;
                    Ok(Self {
                        place,
                        tick: ScheduledEvent { time },
                    })
                }),
        )
    }

    /// This tick, if its time is one the hub's tick could have sent by `clock`
    /// ([`ScheduledEvent::sent_by`]).
    pub fn sent_by(self, clock: Timestamp) -> Result<Self, EventError> {
        Ok(Self {
            tick: self.tick.sent_by(clock)?,
            ..self
        })
    }

    /// This tick, if its time is not ahead of `clock` ([`ScheduledEvent::not_ahead_of`]).
    pub fn not_ahead_of(self, clock: Timestamp) -> Result<Self, EventError> {
        Ok(Self {
            tick: self.tick.not_ahead_of(clock)?,
            ..self
        })
    }

    /// The payload that asks for this tick.
    pub fn payload(&self) -> Value {
        serde_json::json!({
            "action": "tick",
            "account": self.place.account.as_str(),
            "region": self.place.region.as_str(),
            "time": self.tick.time,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(detail_type: &str, source: &str, time: Value) -> Value {
        json!({
            "version": "0", "id": "1", "detail-type": detail_type, "source": source,
            "account": "123456789012", "time": time, "region": "us-east-1",
            "resources": [], "detail": {}
        })
    }

    #[test]
    fn rule_and_scheduler_events_give_their_time() {
        for source in SOURCES {
            let parsed = ScheduledEvent::parse(
                event(DETAIL_TYPE, source, json!("2026-11-23T07:00:00Z")),
                &super::super::home(),
            )
            .unwrap();
            assert_eq!(parsed.time, "2026-11-23T07:00:00Z".parse().unwrap());
        }
    }

    #[test]
    fn a_tick_counts_only_near_the_clock() {
        let clock: Timestamp = "2026-11-23T07:00:30Z".parse().unwrap();
        let tick = |time: &str| ScheduledEvent {
            time: time.parse().unwrap(),
        };
        for fine in [
            "2026-11-23T07:00:00Z",
            "2026-11-23T07:05:30Z",
            "2026-11-23T01:00:30Z",
        ] {
            assert_eq!(tick(fine).sent_by(clock), Ok(tick(fine)), "{fine}");
        }
        for forged in [
            "2026-11-23T07:05:31Z",
            "2026-11-23T12:59:00Z",
            "2026-11-23T01:00:29Z",
            "2025-11-23T07:00:00Z",
        ] {
            let error = tick(forged).sent_by(clock).unwrap_err();
            assert!(error.0.contains(forged), "{error}");
        }
    }

    #[test]
    fn anything_else_is_rejected() {
        let bad = [
            json!({}),
            json!("tick"),
            event("Object Created", "aws.s3", json!("2026-11-23T07:00:00Z")),
            event(DETAIL_TYPE, "my.app", json!("2026-11-23T07:00:00Z")),
            event(DETAIL_TYPE, "aws.events", json!("yesterday")),
            event(DETAIL_TYPE, "aws.events", Value::Null),
            // Found by fuzzing: ticks at the ends of the representable range panicked in the
            // schedule engine.
            event(DETAIL_TYPE, "aws.events", json!("9999-12-31T23:59:59Z")),
            event(DETAIL_TYPE, "aws.events", json!("1969-12-31T23:59:59Z")),
            event(DETAIL_TYPE, "aws.events", json!("+262143-12-31T23:59:59Z")),
        ];
        for payload in bad {
            assert!(
                ScheduledEvent::parse(payload.clone(), &super::super::home()).is_err(),
                "{payload}"
            );
        }
    }

    #[test]
    fn a_place_tick_round_trips_and_anything_else_with_an_action_is_rejected() {
        let tick = PlaceTick {
            place: Place::new("222222222222", "eu-west-1").unwrap(),
            tick: ScheduledEvent {
                time: "2026-11-23T07:00:00Z".parse().unwrap(),
            },
        };
        assert_eq!(PlaceTick::parse(&tick.payload()), Some(Ok(tick.clone())));
        let clock: Timestamp = "2026-11-23T06:59:00Z".parse().unwrap();
        assert_eq!(tick.clone().not_ahead_of(clock), Ok(tick.clone()));
        let early: Timestamp = "2026-11-23T06:50:00Z".parse().unwrap();
        assert!(tick.clone().not_ahead_of(early).is_err());
        assert!(tick.clone().sent_by(early).is_err());
        assert_eq!(
            PlaceTick::parse(&event(
                DETAIL_TYPE,
                "aws.events",
                json!("2026-11-23T07:00:00Z")
            )),
            None
        );
        let mut bad = Vec::new();
        for (field, value) in [
            ("action", json!("sleep")),
            ("account", json!("2222")),
            ("region", json!("Europe")),
            ("time", json!("9999-12-31T23:59:59Z")),
            ("extra", json!(1)),
        ] {
            let mut payload = tick.payload();
            payload[field] = value;
            bad.push(payload);
        }
        for payload in bad {
            assert!(
                matches!(PlaceTick::parse(&payload), Some(Err(_))),
                "{payload}"
            );
        }
    }
}
