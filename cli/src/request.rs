//! `sagetide sleep` and `sagetide wake`: a person's request, sent to the deployed sleeper or
//! waker as the contract's manual event, and the function's answer.

use aws_config::SdkConfig;
use serde_json::{Value, json};

use sagetide::aws::{self, AwsError};
use sagetide::events::Subject;
use sagetide::places::{AccountId, RegionName};

/// A request for an endpoint or an inference component, and the function that takes it.
pub enum Request {
    Sleep { subject: Subject, force: bool },
    Wake { subject: Subject },
}

/// Where a request's endpoint is, if not in the hub's own account or region (each defaults
/// to the hub's).
#[derive(Default)]
pub struct Spoke {
    pub account: Option<AccountId>,
    pub region: Option<RegionName>,
}

impl Request {
    /// The function (`sleeper`, `waker`) that takes it.
    pub fn function(&self) -> &'static str {
        match self {
            Request::Sleep { .. } => "sleeper",
            Request::Wake { .. } => "waker",
        }
    }

    fn payload(&self, spoke: &Spoke) -> Value {
        let (action, subject, force) = match self {
            Request::Sleep { subject, force } => ("sleep", subject, *force),
            Request::Wake { subject } => ("wake", subject, false),
        };
        let mut payload = match subject {
            Subject::Endpoint(name) => json!({"action": action, "endpoint": name}),
            Subject::Component(name) => json!({"action": action, "component": name}),
        };
        if force {
            payload["force"] = json!(true);
        }
        if let Some(account) = &spoke.account {
            payload["account"] = json!(account.as_str());
        }
        if let Some(region) = &spoke.region {
            payload["region"] = json!(region.as_str());
        }
        payload
    }
}

/// The function's answer (`Ok`) or the error it ended with (`Err`).
pub async fn send(
    sdk: &SdkConfig,
    function: &str,
    request: &Request,
    spoke: &Spoke,
) -> Result<Result<Value, Value>, AwsError> {
    let client = aws_sdk_lambda::Client::new(sdk);
    aws::lambda::invoke(&client, function, &request.payload(spoke)).await
}

/// Whether the answer says the request was carried out: every report applied or already
/// done, and none ignored.
pub fn done(answer: &Value) -> bool {
    let reports = answer["reports"].as_array();
    answer.get("ignored").is_none_or(Value::is_null)
        && reports.is_some_and(|r| !r.is_empty())
        && reports
            .into_iter()
            .flatten()
            .all(|r| matches!(r["outcome"].as_str(), Some("applied" | "already-done")))
}

/// One line per report, or why the function did nothing.
pub fn table(function: &str, answer: &Result<Value, Value>) -> String {
    match answer {
        Err(error) if error["errorType"] == "Deferred" => format!(
            "{function} could not do it now: {}; ask again in a minute\n",
            error["errorMessage"].as_str().unwrap_or("no message")
        ),
        Err(error) => format!(
            "{function} failed: {}: {}\n",
            error["errorType"].as_str().unwrap_or("error"),
            error["errorMessage"].as_str().unwrap_or("no message")
        ),
        Ok(answer) => {
            let mut out = String::new();
            if let Some(why) = answer["ignored"].as_str() {
                out.push_str(&format!("{function} ignored the request: {why}\n"));
            }
            if let Some(place) = answer["place"].as_str() {
                out.push_str(&format!("in account/region {place}:\n"));
            }
            for r in answer["reports"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "{} {}: {}: {} ({})\n",
                    r["endpoint"].as_str().unwrap_or("?"),
                    r["action"].as_str().unwrap_or("?"),
                    r["outcome"].as_str().unwrap_or("?"),
                    r["detail"].as_str().unwrap_or_default(),
                    r["reason"].as_str().unwrap_or_default(),
                ));
            }
            out
        }
    }
}
