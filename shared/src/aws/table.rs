//! sagetide's DynamoDB table: snapshots, leases and history, every write conditional where two
//! writers could meet.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | snapshot of an endpoint | `snapshot` | endpoint name |
//! | lease on an endpoint (expiry in epoch milliseconds) | `lease` | endpoint name |
//! | history entry | `history#<endpoint>` | `<at, fixed width>#<who>#<the action in full>#<outcome>` |
//! | remediation record of an endpoint | `remediation` | endpoint name |
//! | what a sleeping inference component ran | `component-sleep` | component name |
//! | marker: idle alarms have been made here | `idle-alarms` | `marker` |
//! | the time of the latest scheduler tick that acted | `ticks` | `latest-acting` |
//! | how the hub reaches a spoke (its external id and allowances) | `reach` | `spoke` |
//! | the sleeps of one UTC hour, of every place | `sleeps` | `<hour>` |
//!
//! The items of a spoke (another account or region the document names) have keys of their
//! own: `<pk>@<account>/<region>` ([`Table::at`]); the hub's own keep the plain ones. The sleeps
//! of an hour are counted for the whole deployment, a spoke's endpoint as `<name>@<place>`.
//! Snapshots share one partition so that a single Query lists every sleeping endpoint. The
//! items a scheduler tick must see (snapshots not yet restored, remediation records with a
//! remedy in force, the idle-alarm marker) carry the attribute `open`, and the sparse index of
//! that name holds only them: one Query per tick finds all three.
//! Expressions name attributes through `#placeholders`, so that none of our attribute names can
//! collide with DynamoDB's long list of reserved words.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use jiff::{SignedDuration, Timestamp};

use super::AwsError;
use crate::component_sleep::{ComponentSleep, StoredSleep};
use crate::env::MAX_LEASE_TTL;
use crate::events::CLOCK_SKEW;
use crate::names::{ComponentName, EndpointName};
use crate::permissions::Allowed;
use crate::places::{Place, Spoke};
use crate::remediation::{Record, StoredRecord};
use crate::snapshot::{Phase, Snapshot, Stored, WakeAttempt};

const SNAPSHOT: &str = "snapshot";
/// A history entry's [`Held`], as JSON.
const HELD: &str = "held";
/// When a history entry was written, in epoch milliseconds of the real clock.
const WRITTEN: &str = "written";
const LEASE: &str = "lease";
const REMEDIATION: &str = "remediation";
const COMPONENT_SLEEP: &str = "component-sleep";
const IDLE_ALARMS: &str = "idle-alarms";
const TICKS: &str = "ticks";
const REACH: &str = "reach";
/// The endpoints put to sleep in one clock hour (the blast-radius limit).
const SLEEPS: &str = "sleeps";
/// The snapshot item's attribute with its latest wake (see [`WakeAttempt`]).
const WAKE: &str = "wake";
/// The attribute DynamoDB's time to live reads (template.yaml), in epoch seconds: history
/// entries and remediation records with no remedy in force are deleted [`KEPT`] after their
/// last write, the hourly sleep counts two days after their hour, so the table does not grow
/// with every action.
pub const EXPIRES_AT: &str = "expires_at";
/// A year and a month: long enough to compare a month with the same month a year before.
pub const KEPT: SignedDuration = SignedDuration::from_hours(400 * 24);
/// An hour's sleep count matters only during its hour.
const SLEEPS_KEPT: SignedDuration = SignedDuration::from_hours(48);
/// The sparse index of open items, and its key attribute ([`OPEN_VALUE`] for the hub's own
/// place, `<account>/<region>` for a spoke's).
const OPEN: &str = "open";
const OPEN_VALUE: &str = "1";
const GET: &str = "dynamodb:GetItem";
const PUT: &str = "dynamodb:PutItem";
const QUERY: &str = "dynamodb:Query";

type Item = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct Table {
    client: Client,
    name: String,
    /// The spoke whose items these are; `None` for the hub's own, whose keys stay as they
    /// were before sagetide managed other places, so that an upgrade finds them.
    place: Option<Place>,
}

/// What a scheduler tick must see of the table (eventually consistent: the index lags its
/// table by a moment, which a level-triggered tick makes up for at the next one).
#[derive(Debug, Default)]
pub struct Open {
    /// Snapshots not yet restored.
    pub sleeping: Vec<Stored>,
    /// Remediation records with a remedy in force.
    pub remediations: Vec<StoredRecord>,
    /// Whether idle alarms have ever been made here, so that there may be some to look after.
    pub idle_alarms_made: bool,
}

/// A spoke's [`Table::put_reach`] item.
#[derive(serde::Serialize, serde::Deserialize)]
struct ReachItem {
    external_id: String,
    allowed: Allowed,
}

/// One line of an endpoint's history: who did what, why and when.
#[derive(Debug, Clone)]
pub struct HistoryEntry<'a> {
    pub endpoint: &'a EndpointName,
    pub at: Timestamp,
    pub who: &'a str,
    pub action: &'a str,
    /// The planned action in full (`set-capacity AllTraffic 1..1 -> 2..10`): one invocation's
    /// actions on one endpoint each get an entry of their own; a tick delivered again writes
    /// the same entries again, and its failure and a later success of the same action are two.
    pub what: &'a str,
    pub outcome: &'a str,
    pub reason: &'a str,
    /// What the endpoint holds from this entry on, for an applied change of its instances.
    pub held: Option<&'a Held>,
}

/// What an applied action leaves an endpoint holding, kept with its history entry: the
/// instance-hours it saved are counted from these (`sagetide savings`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Held {
    /// The variant's scalable target keeps at least `min` instances.
    Floor {
        variant: crate::names::VariantName,
        min: u32,
    },
    /// Deleted: no instances.
    Asleep,
    /// Created again from its snapshot.
    Awake,
}

/// A history entry as read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Recorded {
    pub endpoint: EndpointName,
    pub at: Timestamp,
    pub who: String,
    pub action: String,
    pub outcome: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<Held>,
    /// When it was written (the real clock), which orders entries of one instant.
    #[serde(skip)]
    pub written: Option<Timestamp>,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The key of the item that counts the sleeps of `now`'s UTC clock hour: the same for every
/// place, since the limit is the deployment's.
fn sleeps_of(now: Timestamp) -> Item {
    let hour = now.strftime("%Y-%m-%dT%H").to_string();
    HashMap::from([("pk".to_owned(), s(SLEEPS)), ("sk".to_owned(), s(hour))])
}

/// `Ok(false)` when the write's condition did not hold, the error otherwise.
fn condition_held<E, R>(
    operation: &'static str,
    result: Result<R, SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>>,
) -> Result<bool, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
        Err(e) => Err(AwsError::new(operation, e)),
    }
}

impl Table {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
            place: None,
        }
    }

    /// The same table, holding the items of `place` (a spoke's): every partition key carries
    /// the place, and so does the open index's key, so that each place's tick reads its own.
    pub fn at(&self, place: &Place) -> Self {
        Self {
            place: Some(place.clone()),
            ..self.clone()
        }
    }

    /// `name` here: a spoke's carries its place (a partition key, an endpoint counted among
    /// an hour's sleeps).
    fn scoped(&self, name: &str) -> String {
        match &self.place {
            Some(place) => format!("{name}@{place}"),
            None => name.to_owned(),
        }
    }

    fn key(&self, kind: &str, sk: &str) -> Item {
        HashMap::from([
            ("pk".to_owned(), s(self.scoped(kind))),
            ("sk".to_owned(), s(sk)),
        ])
    }

    /// The open index's key of this place's open items.
    fn open_value(&self) -> AttributeValue {
        match &self.place {
            Some(place) => s(place.to_string()),
            None => s(OPEN_VALUE),
        }
    }

    /// An item, read consistently.
    async fn get(&self, kind: &str, sk: &str) -> Result<Option<Item>, AwsError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(self.key(kind, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::new(GET, e))?
            .item)
    }

    /// Puts `item` as the version after `previous` (`None`: the item may not exist yet), if
    /// `condition` also holds. Returns the new version, or `None` if someone else wrote first.
    async fn put_versioned(
        &self,
        mut item: Item,
        previous: Option<u64>,
        condition: Option<(&str, &str, AttributeValue)>,
    ) -> Result<Option<u64>, AwsError> {
        let version = previous.map_or(1, |v| v + 1);
        item.insert("version".to_owned(), n(version));
        let put = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item));
        let put = match previous {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(v) => {
                let put = put
                    .expression_attribute_names("#version", "version")
                    .expression_attribute_values(":v", n(v));
                match condition {
                    None => put.condition_expression("#version = :v"),
                    Some((extra, name, value)) => put
                        .condition_expression(format!("#version = :v AND {extra}"))
                        .expression_attribute_names(format!("#{name}"), name)
                        .expression_attribute_values(format!(":{name}"), value),
                }
            }
        };
        Ok(condition_held(PUT, put.send().await)?.then_some(version))
    }

    /// The endpoint's snapshot, read consistently.
    pub async fn snapshot(&self, endpoint: &EndpointName) -> Result<Option<Stored>, AwsError> {
        let item = self.get(SNAPSHOT, endpoint.as_str()).await?;
        item.map(|item| stored(GET, &item)).transpose()
    }

    /// Writes `snapshot` in phase `sleeping` as the next version after `previous` (`None`: no
    /// snapshot may exist yet). Returns the new version, or `None` if someone else wrote first.
    pub async fn put_snapshot(
        &self,
        snapshot: &Snapshot,
        previous: Option<u64>,
    ) -> Result<Option<u64>, AwsError> {
        let body = serde_json::to_string(snapshot).map_err(|e| AwsError {
            operation: PUT,
            message: format!("snapshot of {} cannot be encoded: {e}", snapshot.endpoint),
            refused: false,
        })?;
        let mut item = self.key(SNAPSHOT, snapshot.endpoint.as_str());
        item.extend([
            ("phase".to_owned(), s(Phase::Sleeping.as_str())),
            (OPEN.to_owned(), self.open_value()),
            ("body".to_owned(), s(body)),
            ("taken_at".to_owned(), s(snapshot.taken_at.to_string())),
        ]);
        if let Some(alarm) = snapshot.wake_alarm() {
            item.insert("wake_alarm".to_owned(), s(alarm));
        }
        // Never over a snapshot whose endpoint was deleted: that one must come back first.
        let not_asleep = ("#phase <> :phase", "phase", s(Phase::Asleep.as_str()));
        self.put_versioned(item, previous, Some(not_asleep)).await
    }

    /// Moves the snapshot from phase `from` to `to`, if it is still that version in that phase;
    /// the move makes a new version, so that no writer who read the old one can overwrite it.
    pub async fn set_phase(
        &self,
        endpoint: &EndpointName,
        version: u64,
        from: Phase,
        to: Phase,
    ) -> Result<bool, AwsError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(self.key(SNAPSHOT, endpoint.as_str())))
            .condition_expression("#version = :v AND #phase = :from")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#phase", "phase")
            .expression_attribute_names("#open", OPEN)
            .expression_attribute_values(":v", n(version))
            .expression_attribute_values(":next", n(version + 1))
            .expression_attribute_values(":from", s(from.as_str()))
            .expression_attribute_values(":to", s(to.as_str()));
        // A restored snapshot is the record of the last sleep, no longer open work, and its
        // wake is over.
        let update = if to == Phase::Restored {
            update
                .expression_attribute_names("#wake", WAKE)
                .update_expression("SET #phase = :to, #version = :next REMOVE #open, #wake")
        } else {
            update
                .update_expression("SET #phase = :to, #version = :next, #open = :open")
                .expression_attribute_values(":open", self.open_value())
        };
        let result = update.send().await;
        condition_held("dynamodb:UpdateItem", result)
    }

    /// Records `attempt` as the endpoint's latest wake, and the snapshot as `asleep` (it may have
    /// been `sleeping`: a sleep cut short after its delete), if it is still that version in
    /// phase `from`. A new version, like every phase change.
    pub async fn set_wake(
        &self,
        endpoint: &EndpointName,
        version: u64,
        from: Phase,
        attempt: &WakeAttempt,
    ) -> Result<bool, AwsError> {
        let body = serde_json::to_string(attempt).map_err(|e| AwsError {
            operation: "dynamodb:UpdateItem",
            message: format!("the wake of {endpoint} cannot be encoded: {e}"),
            refused: false,
        })?;
        let result = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(self.key(SNAPSHOT, endpoint.as_str())))
            .condition_expression("#version = :v AND #phase = :from")
            .update_expression("SET #phase = :asleep, #version = :next, #wake = :wake")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#phase", "phase")
            .expression_attribute_names("#wake", WAKE)
            .expression_attribute_values(":v", n(version))
            .expression_attribute_values(":next", n(version + 1))
            .expression_attribute_values(":from", s(from.as_str()))
            .expression_attribute_values(":asleep", s(Phase::Asleep.as_str()))
            .expression_attribute_values(":wake", s(body))
            .send()
            .await;
        condition_held("dynamodb:UpdateItem", result)
    }

    /// Every snapshot not yet restored, read consistently from the table (the waker's view,
    /// which must see a sleep that just happened).
    pub async fn unrestored(&self) -> Result<Vec<Stored>, AwsError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("pk = :pk")
            .filter_expression("#phase <> :restored")
            .expression_attribute_names("#phase", "phase")
            .expression_attribute_values(":pk", s(self.scoped(SNAPSHOT)))
            .expression_attribute_values(":restored", s(Phase::Restored.as_str()))
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut sleeping = Vec::new();
        while let Some(page) = pages.next().await {
            for item in page.map_err(|e| AwsError::new(QUERY, e))?.items() {
                sleeping.push(stored(QUERY, item)?);
            }
        }
        Ok(sleeping)
    }

    /// The endpoint's remediation record, read consistently.
    pub async fn remediation(
        &self,
        endpoint: &EndpointName,
    ) -> Result<Option<StoredRecord>, AwsError> {
        let item = self.get(REMEDIATION, endpoint.as_str()).await?;
        item.map(|item| stored_record(GET, &item)).transpose()
    }

    /// Writes the endpoint's remediation record as the version after `previous` (`None`: none
    /// may exist yet). Returns the new version, or `None` if someone else wrote first.
    pub async fn put_remediation(
        &self,
        endpoint: &EndpointName,
        record: &Record,
        previous: Option<u64>,
        now: Timestamp,
    ) -> Result<Option<u64>, AwsError> {
        let body = serde_json::to_string(record).map_err(|e| AwsError {
            operation: PUT,
            message: format!("remediation record of {endpoint} cannot be encoded: {e}"),
            refused: false,
        })?;
        let mut item = self.key(REMEDIATION, endpoint.as_str());
        item.insert("body".to_owned(), s(body));
        if record.baseline.is_some() {
            item.insert(OPEN.to_owned(), self.open_value());
        } else {
            item.insert(EXPIRES_AT.to_owned(), n((now + KEPT).as_second()));
        }
        self.put_versioned(item, previous, None).await
    }

    /// The record of the component's latest sleep, read consistently.
    pub async fn component_sleep(
        &self,
        component: &ComponentName,
    ) -> Result<Option<StoredSleep>, AwsError> {
        let item = self.get(COMPONENT_SLEEP, component.as_str()).await?;
        item.map(|item| {
            let (version, record) = versioned(GET, "component sleep record", &item)?;
            Ok(StoredSleep { record, version })
        })
        .transpose()
    }

    /// Writes the component's sleep record as the version after `previous` (`None`: none may
    /// exist yet). Returns the new version, or `None` if someone else wrote first. A woken
    /// record is kept as long as history.
    pub async fn put_component_sleep(
        &self,
        record: &ComponentSleep,
        previous: Option<u64>,
    ) -> Result<Option<u64>, AwsError> {
        let body = serde_json::to_string(record).map_err(|e| AwsError {
            operation: PUT,
            message: format!(
                "the sleep record of component {} cannot be encoded: {e}",
                record.component
            ),
            refused: false,
        })?;
        let mut item = self.key(COMPONENT_SLEEP, record.component.as_str());
        item.insert("body".to_owned(), s(body));
        if let Some(woken) = record.woken {
            item.insert(EXPIRES_AT.to_owned(), n((woken + KEPT).as_second()));
        }
        self.put_versioned(item, previous, None).await
    }

    /// Every open item, from the sparse index, in one paginated Query.
    pub async fn open(&self) -> Result<Open, AwsError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.name)
            .index_name(OPEN)
            .key_condition_expression("#open = :open")
            .expression_attribute_names("#open", OPEN)
            .expression_attribute_values(":open", self.open_value())
            .into_paginator()
            .send();
        let mut open = Open::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::new(QUERY, e))?;
            for item in page.items() {
                let pk = item.get("pk").and_then(|v| v.as_s().ok());
                match pk.map(|pk| pk.split_once('@').map_or(pk.as_str(), |(kind, _)| kind)) {
                    Some(SNAPSHOT) => open.sleeping.push(stored(QUERY, item)?),
                    Some(REMEDIATION) => open.remediations.push(stored_record(QUERY, item)?),
                    Some(IDLE_ALARMS) => open.idle_alarms_made = true,
                    _ => {}
                }
            }
        }
        Ok(open)
    }

    /// Keeps how the hub reaches `spoke` (this table's place), before anything of it is put
    /// to sleep: its wake and restore must not depend on the document, which may have changed
    /// or broken since.
    pub async fn put_reach(&self, spoke: &Spoke) -> Result<(), AwsError> {
        let reached = ReachItem {
            external_id: spoke.external_id.clone(),
            allowed: spoke.allowed.clone(),
        };
        let mut item = self.key(REACH, "spoke");
        let body = serde_json::to_string(&reached).expect("JSON of plain data");
        item.insert("body".to_owned(), s(body));
        self.put(item).await
    }

    /// The spoke of this table's place as [`Table::put_reach`] kept it: `None` for the hub's
    /// own place, and where nothing was ever put to sleep.
    pub async fn reach(&self) -> Result<Option<Spoke>, AwsError> {
        let Some(place) = &self.place else {
            return Ok(None);
        };
        let Some(item) = self.get(REACH, "spoke").await? else {
            return Ok(None);
        };
        let reached: ReachItem = item
            .get("body")
            .and_then(|b| b.as_s().ok())
            .and_then(|b| serde_json::from_str(b).ok())
            .ok_or_else(|| AwsError {
                operation: GET,
                message: format!("the reach item of {place} has no valid body"),
                refused: false,
            })?;
        Ok(Some(Spoke {
            place: place.clone(),
            external_id: reached.external_id,
            allowed: reached.allowed,
        }))
    }

    /// Notes that idle alarms are made here, so that every later tick looks after them.
    pub async fn mark_idle_alarms(&self) -> Result<(), AwsError> {
        let mut item = self.key(IDLE_ALARMS, "marker");
        item.insert(OPEN.to_owned(), self.open_value());
        self.put(item).await
    }

    /// Claims `now` as the time of the latest tick that changes something: `false` if a tick
    /// after `now` already did, so this one is late and must change nothing. Ticks of the same
    /// instant may both act, so that a tick cut short can be delivered again. A claim more than
    /// [`CLOCK_SKEW`] ahead of `clock` was not made by a real tick (say, one an earlier version
    /// accepted from someone's hand) and is taken over, so it cannot stop the schedule.
    pub async fn claim_tick(&self, now: Timestamp, clock: Timestamp) -> Result<bool, AwsError> {
        let mut item = self.key(TICKS, "latest-acting");
        item.insert("at".to_owned(), n(now.as_millisecond()));
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #at <= :at OR #at > :bogus")
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":at", n(now.as_millisecond()))
            .expression_attribute_values(":bogus", n((clock + CLOCK_SKEW).as_millisecond()))
            .send()
            .await;
        condition_held(PUT, result)
    }

    /// Counts `endpoint` among the sleeps of `now`'s UTC clock hour, if fewer than `limit`
    /// endpoints are counted there already (one already counted stays counted, so that a sleep
    /// tried again is not counted twice). Returns whether it is counted.
    pub async fn count_sleep(
        &self,
        endpoint: &EndpointName,
        now: Timestamp,
        limit: usize,
    ) -> Result<bool, AwsError> {
        // A missing item admits the first sleep, so a limit of none is kept here.
        if limit == 0 {
            return Ok(false);
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(sleeps_of(now)))
            .update_expression("SET #expires = :expires ADD #endpoints :me")
            .condition_expression(
                "attribute_not_exists(#endpoints) OR size(#endpoints) < :limit OR contains(#endpoints, :name)",
            )
            .expression_attribute_names("#endpoints", "endpoints")
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_values(":me", AttributeValue::Ss(vec![self.scoped(endpoint.as_str())]))
            .expression_attribute_values(":name", s(self.scoped(endpoint.as_str())))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":expires", n((now + SLEEPS_KEPT).as_second()))
            .send()
            .await;
        condition_held("dynamodb:UpdateItem", result)
    }

    /// Takes `endpoint` out of `now`'s hour again, after its delete failed.
    pub async fn uncount_sleep(
        &self,
        endpoint: &EndpointName,
        now: Timestamp,
    ) -> Result<(), AwsError> {
        self.client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(sleeps_of(now)))
            .update_expression("DELETE #endpoints :me")
            .expression_attribute_names("#endpoints", "endpoints")
            .expression_attribute_values(
                ":me",
                AttributeValue::Ss(vec![self.scoped(endpoint.as_str())]),
            )
            .send()
            .await
            .map_err(|e| AwsError::new("dynamodb:UpdateItem", e))?;
        Ok(())
    }

    /// Takes the endpoint's lease for `holder` until `now + ttl`, unless someone else holds an
    /// unexpired one. Returns whether `holder` has it. A lease expiring more than
    /// [`MAX_LEASE_TTL`] ahead was not written by a function (each writes `now + ttl`, and
    /// `ttl` is at most that) and would block the endpoint for good: it is taken over.
    pub async fn acquire(
        &self,
        endpoint: &EndpointName,
        holder: &str,
        now: Timestamp,
        ttl: SignedDuration,
    ) -> Result<bool, AwsError> {
        let mut item = self.key(LEASE, endpoint.as_str());
        item.extend([
            ("holder".to_owned(), s(holder)),
            ("expires".to_owned(), n((now + ttl).as_millisecond())),
        ]);
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR #expires < :now OR #holder = :me OR #expires > :implausible",
            )
            .expression_attribute_names("#expires", "expires")
            .expression_attribute_names("#holder", "holder")
            .expression_attribute_values(":now", n(now.as_millisecond()))
            .expression_attribute_values(
                ":implausible",
                n((now + MAX_LEASE_TTL + CLOCK_SKEW).as_millisecond()),
            )
            .expression_attribute_values(":me", s(holder))
            .send()
            .await;
        condition_held("dynamodb:PutItem", result)
    }

    /// Gives the lease back, if `holder` still has it.
    pub async fn release(&self, endpoint: &EndpointName, holder: &str) -> Result<(), AwsError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(self.key(LEASE, endpoint.as_str())))
            .condition_expression("#holder = :me")
            .expression_attribute_names("#holder", "holder")
            .expression_attribute_values(":me", s(holder))
            .send()
            .await;
        condition_held("dynamodb:DeleteItem", result).map(drop)
    }

    pub async fn record(&self, entry: &HistoryEntry<'_>) -> Result<(), AwsError> {
        let mut item = self.key(
            &format!("history#{}", entry.endpoint),
            &format!(
                "{}#{}#{}#{}",
                sortable(entry.at),
                entry.who,
                entry.what,
                entry.outcome
            ),
        );
        item.extend([
            ("at".to_owned(), s(entry.at.to_string())),
            ("who".to_owned(), s(entry.who)),
            ("action".to_owned(), s(entry.action)),
            ("outcome".to_owned(), s(entry.outcome)),
            ("reason".to_owned(), s(entry.reason)),
            (EXPIRES_AT.to_owned(), n((entry.at + KEPT).as_second())),
        ]);
        if let Some(held) = entry.held {
            let json = serde_json::to_string(held).expect("JSON of plain data");
            item.insert(HELD.to_owned(), s(json));
        }
        // The real clock, to order entries of one simulated or one tick's instant as written.
        item.insert(WRITTEN.to_owned(), n(Timestamp::now().as_millisecond()));
        self.put(item).await
    }

    /// The latest `count` entries of `endpoint`'s history, latest first (one Query: the sort
    /// key begins with the entry's time).
    pub async fn history(
        &self,
        endpoint: &EndpointName,
        count: i32,
    ) -> Result<Vec<Recorded>, AwsError> {
        let page = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_values(":pk", s(self.scoped(&format!("history#{endpoint}"))))
            .scan_index_forward(false)
            .limit(count)
            .send()
            .await
            .map_err(|e| AwsError::new(QUERY, e))?;
        page.items()
            .iter()
            .map(|item| recorded(endpoint, item))
            .collect()
    }

    /// Every entry of `endpoint`'s history from `since` on, oldest first, those of one instant
    /// in the order they were written; read consistently, so that a change being measured sees
    /// the entries written just before its own.
    pub async fn history_since(
        &self,
        endpoint: &EndpointName,
        since: Timestamp,
    ) -> Result<Vec<Recorded>, AwsError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.name)
            .consistent_read(true)
            .key_condition_expression("#pk = :pk AND #sk >= :since")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#sk", "sk")
            .expression_attribute_values(":pk", s(self.scoped(&format!("history#{endpoint}"))))
            .expression_attribute_values(":since", s(sortable(since)))
            .into_paginator()
            .send();
        let mut entries = Vec::new();
        while let Some(page) = pages.next().await {
            for item in page.map_err(|e| AwsError::new(QUERY, e))?.items() {
                entries.push(recorded(endpoint, item)?);
            }
        }
        // Keys of one instant sort by who and what, not by when they were written.
        entries.sort_by_key(|e| (e.at, e.written));
        Ok(entries)
    }

    /// Every snapshot, restored ones too (each endpoint's latest).
    pub async fn snapshots(&self) -> Result<Vec<Stored>, AwsError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(self.scoped(SNAPSHOT)))
            .into_paginator()
            .send();
        let mut snapshots = Vec::new();
        while let Some(page) = pages.next().await {
            for item in page.map_err(|e| AwsError::new(QUERY, e))?.items() {
                snapshots.push(stored(QUERY, item)?);
            }
        }
        Ok(snapshots)
    }

    /// Writes `item` whatever was there: for items only ever written whole, by anyone.
    async fn put(&self, item: Item) -> Result<(), AwsError> {
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| AwsError::new(PUT, e))?;
        Ok(())
    }
}

/// `at` as a history key begins: fixed width, so that keys sort as their times do (RFC 3339's
/// shortest form puts `08:00:00.5Z` before `08:00:00Z`).
fn sortable(at: Timestamp) -> String {
    // The civil time's fraction is never negative, as an instant's before 1970 is.
    let utc = jiff::tz::TimeZone::UTC.to_datetime(at);
    format!(
        "{}.{:09}Z",
        utc.strftime("%Y-%m-%dT%H:%M:%S"),
        utc.subsec_nanosecond()
    )
}

/// A history item of `endpoint` as read back.
fn recorded(endpoint: &EndpointName, item: &Item) -> Result<Recorded, AwsError> {
    let bad = |what: String| AwsError {
        operation: QUERY,
        message: format!("history entry {:?} of {endpoint}: {what}", item.get("sk")),
        refused: false,
    };
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or_else(|| bad(format!("no {name}")))
    };
    Ok(Recorded {
        endpoint: endpoint.clone(),
        at: text("at")?
            .parse()
            .map_err(|e| bad(format!("its time: {e}")))?,
        who: text("who")?,
        action: text("action")?,
        outcome: text("outcome")?,
        reason: text("reason")?,
        written: item
            .get(WRITTEN)
            .and_then(|v| v.as_n().ok())
            .and_then(|ms| ms.parse().ok())
            .and_then(|ms| Timestamp::from_millisecond(ms).ok()),
        // One this build cannot read (a later version's) is left out, not the whole history.
        held: item
            .get(HELD)
            .and_then(|v| v.as_s().ok())
            .and_then(|json| {
                serde_json::from_str(json)
                    .inspect_err(|e| tracing::warn!(endpoint = %endpoint, error = %e, "a history entry's held not read"))
                    .ok()
            }),
    })
}

/// The version and the JSON body of a versioned item.
fn versioned<T: serde::de::DeserializeOwned>(
    operation: &'static str,
    kind: &str,
    item: &Item,
) -> Result<(u64, T), AwsError> {
    let bad = |what: &str| AwsError {
        operation,
        message: format!("{kind} item {:?} has {what}", item.get("sk")),
        refused: false,
    };
    let version = item
        .get("version")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("no valid version"))?;
    let body = item
        .get("body")
        .and_then(|v| v.as_s().ok())
        .and_then(|b| serde_json::from_str(b).ok())
        .ok_or_else(|| bad(&format!("a body that is not a {kind}")))?;
    Ok((version, body))
}

fn stored(operation: &'static str, item: &Item) -> Result<Stored, AwsError> {
    let (version, snapshot) = versioned(operation, "snapshot", item)?;
    let phase = item
        .get("phase")
        .and_then(|v| v.as_s().ok())
        .and_then(|p| Phase::parse(p))
        .ok_or_else(|| AwsError {
            operation,
            message: format!("snapshot item {:?} has no valid phase", item.get("sk")),
            refused: false,
        })?;
    let wake = match item.get(WAKE).and_then(|v| v.as_s().ok()) {
        None => None,
        Some(text) => Some(serde_json::from_str(text).map_err(|e| AwsError {
            operation,
            message: format!(
                "snapshot item {:?} has a wake that does not parse: {e}",
                item.get("sk")
            ),
            refused: false,
        })?),
    };
    Ok(Stored {
        snapshot,
        phase,
        version,
        wake,
    })
}

fn stored_record(operation: &'static str, item: &Item) -> Result<StoredRecord, AwsError> {
    let (version, record) = versioned(operation, "remediation record", item)?;
    let endpoint = item
        .get("sk")
        .and_then(|v| v.as_s().ok())
        .and_then(|name| EndpointName::new(name.as_str()).ok())
        .ok_or_else(|| AwsError {
            operation,
            message: format!(
                "remediation item {:?} has no valid endpoint name",
                item.get("sk")
            ),
            refused: false,
        })?;
    Ok(StoredRecord {
        endpoint,
        record,
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keys_sort_as_their_times_do() {
        let times = [
            "1969-12-31T23:59:58.5Z",
            "1969-12-31T23:59:59Z",
            "2026-11-23T08:00:00Z",
            "2026-11-23T08:00:00.5Z",
            "2026-11-23T08:00:01Z",
        ];
        let keys: Vec<String> = times.iter().map(|t| sortable(t.parse().unwrap())).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys[0], "1969-12-31T23:59:58.500000000Z");
        assert_eq!(keys[2], "2026-11-23T08:00:00.000000000Z");
    }
}
