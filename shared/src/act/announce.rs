//! Every applied or failed action, announced as a `sagetide` event on the deployment's bus
//! (`SAGETIDE_EVENT_BUS`), so that users route it to chat, tickets or their own automation
//! without reading logs. At most once: an event that cannot be put is logged, and the action
//! it tells of stands.

use aws_config::SdkConfig;
use serde::Serialize;

use crate::aws;
use crate::env::Env;
use crate::lifecycle::Actor;
use crate::outcome::{Outcome, Report};
use crate::places::{Place, PlaceStep};

/// The `detail-type` of an action's event.
pub const DETAIL_TYPE: &str = "sagetide action";

#[derive(Clone)]
pub struct Announcer {
    client: aws_sdk_eventbridge::Client,
    bus: String,
    deployment: Option<String>,
    /// `<account>/<region>` of the endpoints acted on, when they are a spoke's.
    place: Option<String>,
}

/// An event's `detail`.
#[derive(Debug, Serialize)]
struct Detail<'a> {
    /// None for a failure of a whole place (its tick).
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<&'a str>,
    action: &'static str,
    /// `applied` or `failed`.
    outcome: &'static str,
    reason: &'a str,
    /// What was done, or the error.
    detail: &'a str,
    /// The function and invocation (or tick) that acted, as the history names it.
    by: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    deployment: Option<&'a str>,
    /// `<account>/<region>` of an endpoint in another account or region than the hub's.
    #[serde(skip_serializing_if = "Option::is_none")]
    place: Option<&'a str>,
}

impl Announcer {
    /// The deployment's announcer, if it has a bus.
    pub fn new(sdk: &SdkConfig, env: &Env) -> Option<Self> {
        env.event_bus.as_ref().map(|bus| Self {
            client: aws_sdk_eventbridge::Client::new(sdk),
            bus: bus.clone(),
            deployment: env.deployment.clone(),
            place: None,
        })
    }

    /// This announcer, for the endpoints of `place`.
    pub fn at(&self, place: &Place) -> Self {
        Self {
            place: Some(place.to_string()),
            ..self.clone()
        }
    }

    /// One event for each of `reports` that was applied or failed.
    pub async fn announce<'a>(
        &self,
        reports: impl IntoIterator<Item = &'a Report>,
        actor: Actor<'_>,
    ) {
        let details: Vec<serde_json::Value> = reports
            .into_iter()
            .filter(|r| matches!(r.outcome, Outcome::Applied | Outcome::Failed(_)))
            .map(|r| {
                serde_json::to_value(Detail {
                    endpoint: Some(&r.endpoint),
                    action: r.action,
                    outcome: r.outcome.label(),
                    reason: &r.reason,
                    detail: &r.detail,
                    by: actor.who,
                    deployment: self.deployment.as_deref(),
                    place: self.place.as_deref(),
                })
                .expect("JSON of plain data")
            })
            .collect();
        self.put(&details, actor).await;
    }

    /// The failure of a tick at this announcer's place as a whole, at `step` (a call made there
    /// that failed the tick, not one endpoint's action).
    pub async fn place_failed(&self, step: PlaceStep, error: &str, actor: Actor<'_>) {
        let detail = Detail {
            endpoint: None,
            action: step.as_str(),
            outcome: "failed",
            reason: "the place's tick",
            detail: error,
            by: actor.who,
            deployment: self.deployment.as_deref(),
            place: self.place.as_deref(),
        };
        let detail = serde_json::to_value(detail).expect("JSON of plain data");
        self.put(&[detail], actor).await;
    }

    async fn put(&self, details: &[serde_json::Value], actor: Actor<'_>) {
        if details.is_empty() {
            return;
        }
        if let Err(e) =
            aws::events::put(&self.client, &self.bus, DETAIL_TYPE, actor.now, details).await
        {
            tracing::error!(bus = %self.bus, error = %e, "action events not all announced; the actions stand");
        }
    }
}
