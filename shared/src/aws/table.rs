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

    /// The endpoint's snapshot, read consistently.
    pub async fn snapshot(&self, endpoint: &EndpointName) -> Result<Option<Stored>, AwsError> {
        const OP: &str = "dynamodb:GetItem";
        let item = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key(SNAPSHOT, endpoint.as_str())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::new(OP, e))?
            .item;
        item.map(|item| stored(OP, &item)).transpose()
    }

    /// Writes `snapshot` in phase `sleeping` as the next version after `previous` (`None`: no
    /// snapshot may exist yet). Returns the new version, or `None` if someone else wrote first.
    pub async fn put_snapshot(
        &self,
        snapshot: &Snapshot,
        previous: Option<u64>,
    ) -> Result<Option<u64>, AwsError> {
        const OP: &str = "dynamodb:PutItem";
        let body = serde_json::to_string(snapshot).map_err(|e| AwsError {
            operation: OP,
            message: format!("snapshot of {} cannot be encoded: {e}", snapshot.endpoint),
        })?;
        let version = previous.map_or(1, |v| v + 1);
        let mut item = key(SNAPSHOT, snapshot.endpoint.as_str());
        item.extend([
            ("phase".to_owned(), s(Phase::Sleeping.as_str())),
            ("version".to_owned(), n(version)),
            ("body".to_owned(), s(body)),
            ("taken_at".to_owned(), s(snapshot.taken_at.to_string())),
        ]);
        if let Some(alarm) = snapshot.wake_alarm() {
            item.insert("wake_alarm".to_owned(), s(alarm));
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item));
        let put = match previous {
            None => put.condition_expression("attribute_not_exists(pk)"),
            // Never over a snapshot whose endpoint was deleted: that one must come back first.
            Some(v) => put
                .condition_expression("#version = :v AND #phase <> :asleep")
                .expression_attribute_names("#version", "version")
                .expression_attribute_names("#phase", "phase")
                .expression_attribute_values(":v", n(v))
                .expression_attribute_values(":asleep", s(Phase::Asleep.as_str())),
        };
        Ok(condition_held(OP, put.send().await)?.then_some(version))
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

    /// Every snapshot not yet restored, in one paginated Query.
    pub async fn unrestored(&self) -> Result<Vec<Stored>, AwsError> {
        const OP: &str = "dynamodb:Query";
        let mut pages = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("pk = :pk")
            .filter_expression("#phase <> :restored")
            .expression_attribute_names("#phase", "phase")
            .expression_attribute_values(":pk", s(SNAPSHOT))
            .expression_attribute_values(":restored", s(Phase::Restored.as_str()))
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::new(OP, e))?;
            for item in page.items.unwrap_or_default() {
                out.push(stored(OP, &item)?);
            }
        }
        Ok(out)
    }

    /// The endpoint's remediation record, read consistently.
    pub async fn remediation(
        &self,
        endpoint: &EndpointName,
    ) -> Result<Option<StoredRecord>, AwsError> {
        const OP: &str = "dynamodb:GetItem";
        let item = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key(REMEDIATION, endpoint.as_str())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::new(OP, e))?
            .item;
        item.map(|item| stored_record(OP, &item)).transpose()
    }

    /// Writes the endpoint's remediation record as the version after `previous` (`None`: none
    /// may exist yet). Returns the new version, or `None` if someone else wrote first.
    pub async fn put_remediation(
        &self,
        endpoint: &EndpointName,
        record: &Record,
        previous: Option<u64>,
    ) -> Result<Option<u64>, AwsError> {
        const OP: &str = "dynamodb:PutItem";
        let body = serde_json::to_string(record).map_err(|e| AwsError {
            operation: OP,
            message: format!("remediation record of {endpoint} cannot be encoded: {e}"),
        })?;
        let version = previous.map_or(1, |v| v + 1);
        let mut item = key(REMEDIATION, endpoint.as_str());
        item.extend([
            ("version".to_owned(), n(version)),
            ("body".to_owned(), s(body)),
            (
                "active".to_owned(),
                AttributeValue::Bool(record.baseline.is_some()),
            ),
        ]);
        let put = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item));
        let put = match previous {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(v) => put
                .condition_expression("#version = :v")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":v", n(v)),
        };
        Ok(condition_held(OP, put.send().await)?.then_some(version))
    }

    /// Every remediation record with a remedy in force, in one paginated Query.
    pub async fn active_remediations(&self) -> Result<Vec<StoredRecord>, AwsError> {
        const OP: &str = "dynamodb:Query";
        let mut pages = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("pk = :pk")
            .filter_expression("#active = :yes")
            .expression_attribute_names("#active", "active")
            .expression_attribute_values(":pk", s(REMEDIATION))
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::new(OP, e))?;
            for item in page.items.unwrap_or_default() {
                out.push(stored_record(OP, &item)?);
            }
        }
        Ok(out)
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

fn stored(operation: &'static str, item: &Item) -> Result<Stored, AwsError> {
    let bad = |what: &str| AwsError {
        operation,
        message: format!("snapshot item {:?} has {what}", item.get("sk")),
    };
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    let phase = text("phase")
        .and_then(|p| Phase::parse(p))
        .ok_or_else(|| bad("no valid phase"))?;
    let version = item
        .get("version")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("no valid version"))?;
    let snapshot = text("body")
        .and_then(|b| serde_json::from_str(b).ok())
        .ok_or_else(|| bad("a body that is not a snapshot"))?;
    Ok(Stored {
        snapshot,
        phase,
        version,
    })
}

fn stored_record(operation: &'static str, item: &Item) -> Result<StoredRecord, AwsError> {
    let bad = |what: &str| AwsError {
        operation,
        message: format!("remediation item {:?} has {what}", item.get("sk")),
    };
    let endpoint = item
        .get("sk")
        .and_then(|v| v.as_s().ok())
        .and_then(|name| EndpointName::new(name.as_str()).ok())
        .ok_or_else(|| bad("no valid endpoint name"))?;
    let version = item
        .get("version")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("no valid version"))?;
    let record = item
        .get("body")
        .and_then(|v| v.as_s().ok())
        .and_then(|b| serde_json::from_str(b).ok())
        .ok_or_else(|| bad("a body that is not a remediation record"))?;
    Ok(StoredRecord {
        endpoint,
        record,
        version,
    })
}
