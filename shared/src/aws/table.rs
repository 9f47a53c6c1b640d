//! sagetide's DynamoDB table: snapshots, leases and history, every write conditional where two
//! writers could meet.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | snapshot of an endpoint | `snapshot` | endpoint name |
//! | lease on an endpoint (expiry in epoch milliseconds) | `lease` | endpoint name |
//! | history entry | `history#<endpoint>` | `<at>#<who>#<action>` |
//! | remediation record of an endpoint | `remediation` | endpoint name |
//!
//! Snapshots share one partition so that a single Query lists every sleeping endpoint.
//! Expressions name attributes through `#placeholders`, so that none of our attribute names can
//! collide with DynamoDB's long list of reserved words.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use jiff::{SignedDuration, Timestamp};

use super::AwsError;
use crate::names::EndpointName;
use crate::remediation::{Record, StoredRecord};
use crate::snapshot::{Phase, Snapshot, Stored};

const SNAPSHOT: &str = "snapshot";
const LEASE: &str = "lease";
const REMEDIATION: &str = "remediation";
const GET: &str = "dynamodb:GetItem";
const PUT: &str = "dynamodb:PutItem";
const QUERY: &str = "dynamodb:Query";

type Item = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct Table {
    client: Client,
    name: String,
}

/// One line of an endpoint's history: who did what, why and when.
#[derive(Debug, Clone)]
pub struct HistoryEntry<'a> {
    pub endpoint: &'a EndpointName,
    pub at: Timestamp,
    pub who: &'a str,
    pub action: &'a str,
    pub outcome: &'a str,
    pub reason: &'a str,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key(pk: &str, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
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
        }
    }

    /// An item, read consistently.
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, AwsError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
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
        })?;
        let mut item = key(SNAPSHOT, snapshot.endpoint.as_str());
        item.extend([
            ("phase".to_owned(), s(Phase::Sleeping.as_str())),
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
        let result = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key(SNAPSHOT, endpoint.as_str())))
            .update_expression("SET #phase = :to, #version = :next")
            .condition_expression("#version = :v AND #phase = :from")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#phase", "phase")
            .expression_attribute_values(":v", n(version))
            .expression_attribute_values(":next", n(version + 1))
            .expression_attribute_values(":from", s(from.as_str()))
            .expression_attribute_values(":to", s(to.as_str()))
            .send()
            .await;
        condition_held("dynamodb:UpdateItem", result)
    }

    /// Every item of partition `pk` that passes `filter` (which names one attribute as `#a`
    /// and one value as `:v`), in one paginated Query.
    async fn query(
        &self,
        pk: &str,
        filter: &str,
        attribute: &str,
        value: AttributeValue,
    ) -> Result<Vec<Item>, AwsError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("pk = :pk")
            .filter_expression(filter)
            .expression_attribute_names("#a", attribute)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":v", value)
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            out.extend(
                page.map_err(|e| AwsError::new(QUERY, e))?
                    .items
                    .unwrap_or_default(),
            );
        }
        Ok(out)
    }

    /// Every snapshot not yet restored.
    pub async fn unrestored(&self) -> Result<Vec<Stored>, AwsError> {
        let restored = s(Phase::Restored.as_str());
        let items = self.query(SNAPSHOT, "#a <> :v", "phase", restored).await?;
        items.iter().map(|item| stored(QUERY, item)).collect()
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
    ) -> Result<Option<u64>, AwsError> {
        let body = serde_json::to_string(record).map_err(|e| AwsError {
            operation: PUT,
            message: format!("remediation record of {endpoint} cannot be encoded: {e}"),
        })?;
        let mut item = key(REMEDIATION, endpoint.as_str());
        item.extend([
            ("body".to_owned(), s(body)),
            (
                "active".to_owned(),
                AttributeValue::Bool(record.baseline.is_some()),
            ),
        ]);
        self.put_versioned(item, previous, None).await
    }

    /// Every remediation record with a remedy in force.
    pub async fn active_remediations(&self) -> Result<Vec<StoredRecord>, AwsError> {
        let active = AttributeValue::Bool(true);
        let items = self.query(REMEDIATION, "#a = :v", "active", active).await?;
        items
            .iter()
            .map(|item| stored_record(QUERY, item))
            .collect()
    }

    /// Takes the endpoint's lease for `holder` until `now + ttl`, unless someone else holds an
    /// unexpired one. Returns whether `holder` has it.
    pub async fn acquire(
        &self,
        endpoint: &EndpointName,
        holder: &str,
        now: Timestamp,
        ttl: SignedDuration,
    ) -> Result<bool, AwsError> {
        let mut item = key(LEASE, endpoint.as_str());
        item.extend([
            ("holder".to_owned(), s(holder)),
            ("expires".to_owned(), n((now + ttl).as_millisecond())),
        ]);
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #expires < :now OR #holder = :me")
            .expression_attribute_names("#expires", "expires")
            .expression_attribute_names("#holder", "holder")
            .expression_attribute_values(":now", n(now.as_millisecond()))
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
            .set_key(Some(key(LEASE, endpoint.as_str())))
            .condition_expression("#holder = :me")
            .expression_attribute_names("#holder", "holder")
            .expression_attribute_values(":me", s(holder))
            .send()
            .await;
        condition_held("dynamodb:DeleteItem", result).map(drop)
    }

    pub async fn record(&self, entry: &HistoryEntry<'_>) -> Result<(), AwsError> {
        let mut item = key(
            &format!("history#{}", entry.endpoint),
            &format!("{}#{}#{}", entry.at, entry.who, entry.action),
        );
        item.extend([
            ("at".to_owned(), s(entry.at.to_string())),
            ("who".to_owned(), s(entry.who)),
            ("action".to_owned(), s(entry.action)),
            ("outcome".to_owned(), s(entry.outcome)),
            ("reason".to_owned(), s(entry.reason)),
        ]);
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| AwsError::new("dynamodb:PutItem", e))?;
        Ok(())
    }
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
        })?;
    Ok(Stored {
        snapshot,
        phase,
        version,
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
        })?;
    Ok(StoredRecord {
        endpoint,
        record,
        version,
    })
}
