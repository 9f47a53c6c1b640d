//! A proxy between the functions and moto that records every AWS call by operation, so tests
//! and the benchmark can count calls per tick (and tell mutating calls from reads), and that
//! refuses, as IAM would, every call a function's role would not allow.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::task::JoinHandle;

use sagetide::permissions::Function;

use crate::http::{self, Body};

pub struct Proxy {
    pub url: String,
    calls: Arc<Mutex<Vec<String>>>,
    crash: Arc<Mutex<Option<usize>>>,
    denied: Arc<Mutex<Vec<String>>>,
    latency: Arc<Mutex<Duration>>,
    task: JoinHandle<()>,
}

/// An AWS error response: JSON for the protocols that send `X-Amz-Target`, XML for the query
/// protocol.
fn error(
    headers: &hyper::HeaderMap,
    status: u16,
    code: &str,
    message: &str,
) -> hyper::Response<Full<Bytes>> {
    let (content_type, body) = if headers.contains_key("x-amz-target") {
        (
            "application/x-amz-json-1.1",
            serde_json::json!({"__type": code, "message": message}).to_string(),
        )
    } else {
        (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>\
                 <Message>{message}</Message></Error></ErrorResponse>"
            ),
        )
    };
    hyper::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

/// Why `call` would be refused by the calling function's role, if it would.
fn refusal(headers: &hyper::HeaderMap, call: &str) -> Option<String> {
    let user_agent = ["x-amz-user-agent", "user-agent"]
        .iter()
        .filter_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .collect::<Vec<_>>()
        .join(" ");
    match Function::from_user_agent(&user_agent) {
        Some(f) if f.calls().contains(&call) => None,
        Some(f) => Some(format!(
            "{} is not authorized to perform {call} (not in sagetide::permissions for it)",
            f.name()
        )),
        None => Some(format!("{call} by an unknown caller ({user_agent})")),
    }
}

/// The answer to every call after a simulated crash: a client error that the SDK does not
/// retry, so the function stops at that call as if its process had died there.
fn crashed(headers: &hyper::HeaderMap) -> hyper::Response<Full<Bytes>> {
    error(
        headers,
        400,
        "InjectedCrash",
        "the process stopped here (test)",
    )
}

impl Proxy {
    pub async fn start(upstream: &str) -> Self {
        let upstream = upstream.to_owned();
        let client: Client<HttpConnector, Body> =
            Client::builder(TokioExecutor::new()).build_http();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let crash: Arc<Mutex<Option<usize>>> = Arc::new(Mutex::new(None));
        let denied = Arc::new(Mutex::new(Vec::new()));
        let latency = Arc::new(Mutex::new(Duration::ZERO));
        let delay = latency.clone();
        let recorded = calls.clone();
        let budget = crash.clone();
        let refused = denied.clone();
        let (addr, task) = http::serve(move |req: Request<hyper::body::Incoming>| {
            let (client, upstream, recorded, budget, refused, delay) = (
                client.clone(),
                upstream.clone(),
                recorded.clone(),
                budget.clone(),
                refused.clone(),
                delay.clone(),
            );
            async move {
                let (parts, body) = req.into_parts();
                let body = body
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                {
                    let mut budget = budget.lock().unwrap();
                    match budget.as_mut() {
                        Some(0) => return crashed(&parts.headers),
                        Some(left) => *left -= 1,
                        None => {}
                    }
                }
                let call = operation(&parts.headers, &body);
                if let Some(reason) = refusal(&parts.headers, &call) {
                    refused.lock().unwrap().push(reason.clone());
                    return error(&parts.headers, 403, "AccessDeniedException", &reason);
                }
                recorded.lock().unwrap().push(call);
                let delay = *delay.lock().unwrap();
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let uri = format!(
                    "{upstream}{}",
                    parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str())
                        .unwrap_or("/")
                );
                let mut forward = Request::builder().method(parts.method).uri(uri);
                for (name, value) in &parts.headers {
                    forward = forward.header(name, value);
                }
                let forward = forward.body(Full::new(body)).expect("a valid request");
                match client.request(forward).await {
                    Ok(resp) => {
                        let (parts, body) = resp.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        hyper::Response::from_parts(parts, Full::new(body))
                    }
                    Err(e) => http::response(502, format!("proxy: {e}")),
                }
            }
        })
        .await;
        Self {
            url: format!("http://{addr}"),
            calls,
            crash,
            denied,
            latency,
            task,
        }
    }

    /// Lets the next `calls` calls through and refuses every one after them, as if the caller
    /// had crashed there; `None` lets everything through again.
    pub fn crash_after(&self, calls: Option<usize>) {
        *self.crash.lock().unwrap() = calls;
    }

    /// Adds `latency` to every call from now on, as a distant AWS region would.
    pub fn set_latency(&self, latency: Duration) {
        *self.latency.lock().unwrap() = latency;
    }

    /// Every call since the last `take` that reached moto, as `service:Operation`, in order.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        let denied = self.denied.lock().unwrap();
        if !denied.is_empty() && !std::thread::panicking() {
            panic!("calls a deployed role would refuse:\n{}", denied.join("\n"));
        }
    }
}

/// Calls that change nothing: everything else counts as mutating.
pub fn is_read(call: &str) -> bool {
    let op = call.split_once(':').map_or(call, |(_, op)| op);
    [
        "Describe", "List", "Get", "Search", "BatchGet", "Query", "Scan",
    ]
    .iter()
    .any(|prefix| op.starts_with(prefix))
}

pub fn mutating(calls: &[String]) -> Vec<String> {
    calls.iter().filter(|c| !is_read(c)).cloned().collect()
}

/// The operation of a request: from `X-Amz-Target` (JSON protocols) or the `Action` form field
/// (the query protocol CloudWatch speaks here).
fn operation(headers: &hyper::HeaderMap, body: &Bytes) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (service, op) = target.split_once('.').unwrap_or(("unknown", target));
        let service = match service {
            "SageMaker" => "sagemaker",
            "AnyScaleFrontendService" => "application-autoscaling",
            "AmazonSSM" => "ssm",
            s if s.starts_with("DynamoDB") => "dynamodb",
            s if s.starts_with("ResourceGroupsTaggingAPI") => "tag",
            s if s.starts_with("GraniteServiceVersion") => "cloudwatch",
            other => other,
        };
        return format!("{service}:{op}");
    }
    // The SDK gzips large query-protocol bodies (PutMetricData).
    let gzipped = headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let body = if gzipped {
        let mut text = String::new();
        let _ =
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut text);
        text
    } else {
        String::from_utf8_lossy(body).into_owned()
    };
    let action = body
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or("unknown");
    format!("cloudwatch:{action}")
}
