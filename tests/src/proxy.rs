//! A proxy between the functions and moto that records every AWS call by operation, so tests
//! and the benchmark can count calls per tick (and tell mutating calls from reads); that
//! refuses, as IAM would, every call a function's role would not allow (its hub role, or the
//! spoke role whose session it signs with); and that injects the faults of a real network and a
//! busy AWS (throttling, 5xx, lost answers, dropped connections, latency) at a seeded rate per
//! API, or stops a caller dead after its k-th call.

use std::collections::BTreeMap;
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
use crate::pools::Pools;
use crate::{cbor, iam};

pub struct Proxy {
    pub url: String,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct State {
    calls: Vec<String>,
    crash: Option<usize>,
    denied: Vec<String>,
    latency: Duration,
    faults: Option<(Faults, fastrand::Rng)>,
    injected: BTreeMap<Fault, usize>,
    endpoint_changes: EndpointChanges,
    invoker: Option<Invoker>,
    /// Asynchronous invocations: how many still run, and the answers of those that ended.
    queued: Queued,
    pools: Pools,
    /// The role sessions moto gave in `AssumeRole` answers, by access key id.
    sessions: BTreeMap<String, Session>,
}

/// Lambda's asynchronous invocations through the proxy.
#[derive(Default)]
struct Queued {
    running: usize,
    ended: Vec<Invocation>,
}

/// One asynchronous invocation running: counted until it ends, or its task is dropped (a
/// panic), so that [`Proxy::settled`] never waits for one that cannot end.
struct Running(Arc<Mutex<State>>);

impl Running {
    fn start(state: Arc<Mutex<State>>) -> Self {
        state.lock().unwrap().queued.running += 1;
        Self(state)
    }

    fn ended(self, invocation: Invocation) {
        self.0.lock().unwrap().queued.ended.push(invocation);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut state) = self.0.lock() {
            state.queued.running -= 1;
        }
    }
}

/// An asynchronous invocation that ended: the function, its payload and its answer (`Ok`) or
/// error (`Err`), which Lambda itself keeps from the caller.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub function: String,
    pub payload: serde_json::Value,
    pub answer: Result<serde_json::Value, serde_json::Value>,
}

/// A role session AWS gave: the account and name of its role.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Session {
    account: String,
    role: String,
}

/// The access key and the session of a successful `AssumeRole` answer (awsQuery XML): its
/// `<AccessKeyId>`, and its `<AssumedRoleUser>`'s
/// `<Arn>arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION</Arn>`.
fn assumed(body: &[u8]) -> Option<(String, Session)> {
    let answer = std::str::from_utf8(body).ok()?;
    let key = element(answer, "AccessKeyId")?;
    let arn = element(element(answer, "AssumedRoleUser")?, "Arn")?;
    let mut parts = arn.splitn(6, ':');
    let account = parts.nth(4)?;
    let role = parts
        .next()?
        .strip_prefix("assumed-role/")?
        .split('/')
        .next()?;
    Some((
        key.to_owned(),
        Session {
            account: account.to_owned(),
            role: role.to_owned(),
        },
    ))
}

/// The text of the first `<name>` element of `xml` (no attributes, no escapes: enough for
/// keys and ARNs).
fn element<'x>(xml: &'x str, name: &str) -> Option<&'x str> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..end].trim())
}

/// Who signed a request and for where: its SigV4 credential's access key, and the region and
/// service of its scope.
#[derive(Debug, PartialEq, Eq)]
struct Credential<'h> {
    key: &'h str,
    region: &'h str,
    service: &'h str,
}

impl<'h> Credential<'h> {
    /// The credential an `Authorization` header names:
    /// `AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/sagemaker/aws4_request, ...`.
    fn of(authorization: &'h str) -> Option<Self> {
        let (_, rest) = authorization.split_once("Credential=")?;
        let scope = rest.split([',', ' ']).next()?;
        let mut parts = scope.split('/');
        let key = parts.next()?;
        let _date = parts.next()?;
        Some(Self {
            key,
            region: parts.next()?,
            service: parts.next()?,
        })
    }

    /// The credential a request is signed with, if it is signed.
    fn signing(headers: &'h hyper::HeaderMap) -> Option<Self> {
        Self::of(headers.get("authorization")?.to_str().ok()?)
    }
}

/// Where a call made with a session of a role in another account than the hub's acts: that
/// account, the region it is signed for, and the role.
struct Spoke {
    account: String,
    region: String,
    role: String,
}

/// Runs a deployed function for a `lambda:InvokeFunction` call (moto runs no functions): the
/// function's name and payload in, its answer (`Ok`) or the error it ended with (`Err`) out.
pub type Invoker = Arc<
    dyn Fn(
            String,
            serde_json::Value,
        )
            -> futures::future::BoxFuture<'static, Result<serde_json::Value, serde_json::Value>>
        + Send
        + Sync,
>;

/// The function Lambda's Invoke names in its path: `/2015-03-31/functions/{name}/invocations`.
fn invoked_function(path: &str) -> Option<String> {
    let name = path
        .strip_prefix("/2015-03-31/functions/")?
        .strip_suffix("/invocations")?;
    Some(name.replace("%3A", ":").replace("%3a", ":"))
}

/// How many times moto created and deleted each endpoint: `(endpoint, operation) → count`.
pub type EndpointChanges = BTreeMap<(String, String), usize>;

const ENDPOINT_CHANGES: [&str; 2] = ["sagemaker:CreateEndpoint", "sagemaker:DeleteEndpoint"];

/// What the proxy can do to a call instead of passing it through untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// HTTP 400 `ThrottlingException`; the call never reaches AWS.
    Throttled,
    /// HTTP 503; the call never reaches AWS.
    Unavailable,
    /// The call reaches AWS and takes effect, but the caller gets HTTP 500: it cannot tell.
    LostAnswer,
    /// The connection closes without an answer, before the call reached AWS or after.
    Dropped,
    /// The answer comes, but 50–500 ms late.
    Slow,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::Throttled,
        Fault::Unavailable,
        Fault::LostAnswer,
        Fault::Dropped,
        Fault::Slow,
    ];
}

/// Which calls get a fault: each call independently, with the rate of its API (or the default
/// rate), the kind drawn evenly from [`Fault`]. The same seed draws the same sequence, so calls
/// that come one at a time get the same faults every run (concurrent ones may swap theirs).
#[derive(Debug, Clone)]
pub struct Faults {
    seed: u64,
    rate: f64,
    per_api: BTreeMap<String, f64>,
    /// The kinds drawn from (all by default).
    kinds: Vec<Fault>,
}

impl Faults {
    /// A fault in `rate` (0–1) of all calls.
    pub fn new(seed: u64, rate: f64) -> Self {
        Self {
            seed,
            rate,
            per_api: BTreeMap::new(),
            kinds: Fault::ALL.to_vec(),
        }
    }

    /// Only faults of `kind`: with a rate of 1, an outage of the API that outlasts every retry.
    pub fn only(mut self, kind: Fault) -> Self {
        self.kinds = vec![kind];
        self
    }

    /// A fault in `rate` of the calls to `api` (`service:Operation`).
    pub fn with_rate(mut self, api: &str, rate: f64) -> Self {
        self.per_api.insert(api.to_owned(), rate);
        self
    }

    fn rate(&self, call: &str) -> f64 {
        self.per_api.get(call).copied().unwrap_or(self.rate)
    }
}

/// An AWS error response: RPC v2 CBOR for CloudWatch, XML for awsQuery (STS), JSON for the
/// protocols that send `X-Amz-Target` and for Lambda's REST-JSON.
fn error(
    headers: &hyper::HeaderMap,
    status: u16,
    code: &str,
    message: &str,
) -> hyper::Response<Full<Bytes>> {
    let response = hyper::Response::builder().status(status);
    let fault = if status < 500 { "Sender" } else { "Receiver" };
    let response = if cbor::is_cbor(headers) {
        response
            .header("smithy-protocol", "rpc-v2-cbor")
            .header("content-type", "application/cbor")
            // CloudWatch is query-compatible: its clients take the code from this header.
            .header("x-amzn-query-error", format!("{code};{fault}"))
            .body(Full::new(Bytes::from(cbor::error_body(code, message))))
    } else if iam::is_query(headers) {
        // Its clients read the code from this body only: JSON would reach them as an
        // unhandled error, neither retried nor named.
        let body = format!(
            "<ErrorResponse><Error><Type>{fault}</Type><Code>{code}</Code><Message>{}</Message></Error></ErrorResponse>",
            xml_escaped(message)
        );
        response
            .header("content-type", "text/xml")
            .body(Full::new(Bytes::from(body)))
    } else {
        response
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amzn-errortype", code)
            .body(Full::new(Bytes::from(
                serde_json::json!({"__type": code, "message": message}).to_string(),
            )))
    };
    response.expect("a valid response")
}

/// `text` as XML character data.
fn xml_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The command line's app name in the user agent (`sagetide-cli`).
const OPERATOR: &str = "app/sagetide-cli";

/// Why IAM refuses a call.
enum Refusal {
    /// The function's role does not allow it: a defect of the template or the code.
    Role(String),
    /// A tag condition of the role is not met because the resource the call names is gone, so
    /// it has no tags: what AWS answers the SDK's retry of a delete that took effect before
    /// its answer was lost (AccessDenied, not "not found"); the caller must take it so.
    Gone(String),
    /// The operator's policy does not allow what a person asked for.
    Person(String),
}

/// Why `call` would be refused by the calling function's role, if it would: an action outside
/// the function's `sagetide::permissions`, or IAM's decision on any authorization the call needs
/// under the role `template.yaml` gives the function (or, made with a session in a `spoke`, the
/// role `spoke.yaml` gives it there), with the resource's tags as moto holds them.
async fn refusal(
    tags: &ResourceTags,
    headers: &hyper::HeaderMap,
    spoke: Option<&Spoke>,
    call: &str,
    parsed: &iam::Call,
) -> Option<Refusal> {
    let user_agent = ["x-amz-user-agent", "user-agent"]
        .iter()
        .filter_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .collect::<Vec<_>>()
        .join(" ");
    // The command line runs under the operator's credentials, with the template's
    // OperatorPolicy.
    if user_agent.contains(OPERATOR) {
        if !sagetide::permissions::OPERATOR_CALLS.contains(&call) {
            return Some(Refusal::Role(format!(
                "the operator is not authorized to perform {call} (not in sagetide::permissions::OPERATOR_CALLS)"
            )));
        }
        let refusal = denied(
            tags,
            headers,
            &Policy::hub(iam::harness_roles().operator()),
            call,
            parsed,
            "the operator",
        )
        .await;
        // A person may name what is not the deployment's (another stack's function, another
        // parameter): refused, as IAM would, and no defect of the template.
        return match refusal {
            Some(Refusal::Role(why)) if !of_the_deployment(parsed) => Some(Refusal::Person(why)),
            refusal => refusal,
        };
    }
    let function = match Function::from_user_agent(&user_agent) {
        Some(f) if f.calls().contains(&call) => f,
        Some(f) => {
            return Some(Refusal::Role(format!(
                "{} is not authorized to perform {call} (not in sagetide::permissions for it)",
                f.name()
            )));
        }
        None => {
            return Some(Refusal::Role(format!(
                "{call} by an unknown caller ({user_agent})"
            )));
        }
    };
    match spoke {
        Some(spoke) => in_spoke(tags, headers, spoke, function, call, parsed).await,
        None => {
            let policy = Policy::hub(iam::harness_roles().of(function));
            denied(tags, headers, &policy, call, parsed, function.name()).await
        }
    }
}

/// IAM's refusal of `call` by `function` with a session in `spoke`, if it refuses: the role
/// must be the function's own there (`spoke.yaml` names it `<prefix>-<region>-<function>`), and
/// its statements in `spoke.yaml` must allow the call on the spoke's resources.
async fn in_spoke(
    tags: &ResourceTags,
    headers: &hyper::HeaderMap,
    spoke: &Spoke,
    function: Function,
    call: &str,
    parsed: &iam::Call,
) -> Option<Refusal> {
    let own = format!("-{}-{}", spoke.region, function.name());
    if spoke.role.strip_suffix(&own).is_none_or(str::is_empty) {
        return Some(Refusal::Role(format!(
            "{} made {call} in {} ({}) as the role {}, not its own there (<prefix>{own} in spoke.yaml)",
            function.name(),
            spoke.account,
            spoke.region,
            spoke.role
        )));
    }
    let roles = iam::harness_spoke_roles(&spoke.account, &spoke.region);
    let policy = Policy {
        deployment: iam::Deployment::harness_spoke(&spoke.account, &spoke.region),
        statements: &roles[function.name()].statements,
        file: "spoke.yaml",
    };
    denied(tags, headers, &policy, call, parsed, function.name()).await
}

/// Whether the functions and parameters a call names are the harness deployment's own.
fn of_the_deployment(call: &iam::Call) -> bool {
    let own_function = call.0["FunctionName"]
        .as_str()
        .is_none_or(|f| f.contains(&format!("{}-", crate::seed::DEPLOYMENT)));
    let own_parameters = call.0["Names"].as_array().into_iter().flatten().all(|n| {
        [
            crate::seed::CONFIG_PARAMETER,
            sagetide::config::DEPLOYMENT_MARKER,
        ]
        .contains(&n.as_str().unwrap_or_default())
    });
    own_function && own_parameters
}

/// The policy IAM judges a call under: a role's statements as a template file gives them, and
/// the deployment whose resources the call names.
struct Policy<'s> {
    deployment: iam::Deployment,
    statements: &'s [iam::Statement],
    file: &'static str,
}

impl<'s> Policy<'s> {
    /// `statements` of `template.yaml`, in the harness's (the hub's) deployment.
    fn hub(statements: &'s [iam::Statement]) -> Self {
        Self {
            deployment: iam::Deployment::harness(),
            statements,
            file: "template.yaml",
        }
    }
}

/// IAM's refusal of `call` by `who` under `policy`, if it refuses: each authorization the call
/// needs, with the resource's tags as moto holds them where a statement reads them.
async fn denied(
    tags: &ResourceTags,
    headers: &hyper::HeaderMap,
    policy: &Policy<'_>,
    call: &str,
    parsed: &iam::Call,
    who: &str,
) -> Option<Refusal> {
    for mut request in iam::authorizations(&policy.deployment, call, parsed) {
        let mut gone = false;
        if iam::reads_resource_tags(policy.statements, &request) {
            match tags.of(headers, &request.resource).await {
                Some(found) => {
                    for (key, value) in found {
                        request
                            .context
                            .insert(format!("aws:ResourceTag/{key}"), vec![value]);
                    }
                }
                None => gone = true,
            }
        }
        let decision = iam::decide(policy.statements, &request);
        if !decision.allowed() {
            let why = format!(
                "{who} is not authorized to perform {} on {} with {:?} ({decision:?} by its policy in {}, for {call})",
                request.action, request.resource, request.context, policy.file
            );
            return Some(if gone {
                Refusal::Gone(why)
            } else {
                Refusal::Role(why)
            });
        }
    }
    None
}

/// Reads a resource's tags from moto, past the proxy (the read is IAM's, not the caller's).
#[derive(Clone)]
struct ResourceTags {
    client: Client<HttpConnector, Body>,
    upstream: String,
}

impl ResourceTags {
    /// The tags of a SageMaker resource or a CloudWatch alarm (asked in each service's JSON
    /// protocol, which moto speaks); none for any other resource; `None` for one that does not
    /// exist.
    async fn of(&self, headers: &hyper::HeaderMap, arn: &str) -> Option<Vec<(String, String)>> {
        let (target, content_type, body) = if arn.starts_with("arn:aws:sagemaker:") {
            (
                "SageMaker.ListTags",
                "application/x-amz-json-1.1",
                serde_json::json!({"ResourceArn": arn}),
            )
        } else if arn.starts_with("arn:aws:cloudwatch:") {
            (
                "GraniteServiceVersion20100801.ListTagsForResource",
                "application/x-amz-json-1.0",
                serde_json::json!({"ResourceARN": arn}),
            )
        } else {
            return Some(Vec::new());
        };
        let mut request = Request::builder()
            .method("POST")
            .uri(format!("{}/", self.upstream))
            .header("x-amz-target", target)
            .header("content-type", content_type);
        // moto takes the account from the caller's access key (a session's too) and the
        // region from its credential scope. It needs no session token; a session's goes along
        // as AWS would want it.
        for name in ["authorization", "x-amz-security-token"] {
            if let Some(value) = headers.get(name) {
                request = request.header(name, value);
            }
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("a valid request");
        let Ok(response) = self.client.request(request).await else {
            return Some(Vec::new());
        };
        let gone = response.status().is_client_error();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        // Only "not found" says it is gone; any other refusal is not IAM's to read as that.
        if gone {
            let said = String::from_utf8_lossy(&body);
            return if ["Could not find", "ResourceNotFound", "does not exist"]
                .iter()
                .any(|s| said.contains(s))
            {
                None
            } else {
                Some(Vec::new())
            };
        }
        let tags: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let tags = tags["Tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some((
                    t["Key"].as_str()?.to_owned(),
                    t["Value"].as_str()?.to_owned(),
                ))
            })
            .collect();
        Some(tags)
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

/// What the caller gets for a call that took effect: AWS's `response`, or what `after` injects
/// instead (an error status, or `None`: the connection drops).
fn delivered(
    headers: &hyper::HeaderMap,
    response: hyper::Response<Full<Bytes>>,
    after: Option<Option<u16>>,
) -> Result<hyper::Response<Full<Bytes>>, http::Dropped> {
    match after {
        None => Ok(response),
        Some(Some(status)) => Ok(error(
            headers,
            status,
            "InternalFailure",
            "the request took effect, but the answer was lost (injected)",
        )),
        Some(None) => Err(http::Dropped),
    }
}

/// What happens to one call, decided when it arrives.
enum Plan {
    Answer(hyper::Response<Full<Bytes>>),
    Drop,
    Forward {
        delay: Duration,
        /// Injected after AWS answered: the caller gets this instead (`None`: the connection
        /// drops).
        after: Option<Option<u16>>,
    },
}

impl State {
    /// The spoke a call acts in, if it is signed with the key of a session of a role in another
    /// account than the hub's.
    fn spoke(&self, headers: &hyper::HeaderMap) -> Option<Spoke> {
        let credential = Credential::signing(headers)?;
        let session = self.sessions.get(credential.key)?;
        (session.account != iam::Deployment::harness().account).then(|| Spoke {
            account: session.account.clone(),
            region: credential.region.to_owned(),
            role: session.role.clone(),
        })
    }

    fn plan(&mut self, headers: &hyper::HeaderMap, call: &str, refusal: Option<Refusal>) -> Plan {
        match self.crash.as_mut() {
            Some(0) => return Plan::Answer(crashed(headers)),
            Some(left) => *left -= 1,
            None => {}
        }
        match refusal {
            Some(Refusal::Role(reason)) => {
                self.denied.push(reason.clone());
                return Plan::Answer(error(headers, 403, "AccessDeniedException", &reason));
            }
            Some(Refusal::Gone(reason) | Refusal::Person(reason)) => {
                return Plan::Answer(error(headers, 403, "AccessDeniedException", &reason));
            }
            None => {}
        }
        self.calls.push(call.to_owned());
        let mut delay = self.latency;
        let Some((faults, rng)) = self.faults.as_mut() else {
            return Plan::Forward { delay, after: None };
        };
        // Calls to APIs without faults draw nothing, so faults on one API follow the seed
        // whatever runs beside them.
        let rate = faults.rate(call);
        if rate <= 0.0 || rng.f64() >= rate {
            return Plan::Forward { delay, after: None };
        }
        let fault = faults.kinds[rng.usize(..faults.kinds.len())];
        *self.injected.entry(fault).or_default() += 1;
        match fault {
            Fault::Throttled => Plan::Answer(error(
                headers,
                400,
                "ThrottlingException",
                "Rate exceeded (injected)",
            )),
            Fault::Unavailable => Plan::Answer(error(
                headers,
                503,
                "ServiceUnavailable",
                "Service unavailable (injected)",
            )),
            Fault::LostAnswer => Plan::Forward {
                delay,
                after: Some(Some(500)),
            },
            Fault::Dropped if rng.bool() => Plan::Drop,
            Fault::Dropped => Plan::Forward {
                delay,
                after: Some(None),
            },
            Fault::Slow => {
                delay += Duration::from_millis(rng.u64(50..=500));
                Plan::Forward { delay, after: None }
            }
        }
    }
}

impl Proxy {
    pub async fn start(upstream: &str) -> Self {
        let upstream = upstream.to_owned();
        let client: Client<HttpConnector, Body> =
            Client::builder(TokioExecutor::new()).build_http();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let tags = ResourceTags {
            client: client.clone(),
            upstream: upstream.clone(),
        };
        let (addr, task) = http::serve(move |req: Request<hyper::body::Incoming>| {
            let (client, upstream, state) = (client.clone(), upstream.clone(), shared.clone());
            let tags = tags.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = body
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let decoded = decoded(&parts.headers, &body);
                let invoked = invoked_function(parts.uri.path());
                // Lambda's Invoke names its function in the path; its body is the payload.
                let configured = configured_function(parts.uri.path());
                let (call, params) = match (&invoked, configured) {
                    (Some(function), _) => (
                        "lambda:InvokeFunction".to_owned(),
                        iam::Call(serde_json::json!({"FunctionName": function})),
                    ),
                    (None, Some(function)) => (
                        "lambda:GetFunctionConfiguration".to_owned(),
                        iam::Call(serde_json::json!({"FunctionName": function})),
                    ),
                    (None, None) => (
                        operation(&parts.headers, parts.uri.path(), &decoded),
                        iam::Call::parse(&parts.headers, &decoded),
                    ),
                };
                let spoke = state.lock().unwrap().spoke(&parts.headers);
                let refusal = refusal(&tags, &parts.headers, spoke.as_ref(), &call, &params).await;
                let plan = state.lock().unwrap().plan(&parts.headers, &call, refusal);
                let (delay, after) = match plan {
                    Plan::Answer(response) => return Ok(response),
                    Plan::Drop => return Err(http::Dropped),
                    Plan::Forward { delay, after } => (delay, after),
                };
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                if let Some(function) = invoked {
                    let invoker = state.lock().unwrap().invoker.clone();
                    let Some(invoker) = invoker else {
                        return Ok(http::response(502, "proxy: no function runs here"));
                    };
                    let payload: serde_json::Value =
                        serde_json::from_slice(&decoded).unwrap_or_default();
                    // `Event`: Lambda queues the payload and answers 202 at once.
                    let queued = parts
                        .headers
                        .get("x-amz-invocation-type")
                        .is_some_and(|t| t == "Event");
                    if queued {
                        // Started now, with the caller's clock and environment, run beside.
                        let run = invoker(function.clone(), payload.clone());
                        let running = Running::start(state.clone());
                        tokio::spawn(async move {
                            let answer = run.await;
                            running.ended(Invocation {
                                function,
                                payload,
                                answer,
                            });
                        });
                        let response = hyper::Response::builder()
                            .status(202)
                            .body(Full::new(Bytes::new()))
                            .expect("a valid response");
                        return delivered(&parts.headers, response, after);
                    }
                    let (answer, failed) = match invoker(function, payload).await {
                        Ok(answer) => (answer, false),
                        Err(error) => (error, true),
                    };
                    let mut response = hyper::Response::builder()
                        .status(200)
                        .header("content-type", "application/json");
                    if failed {
                        response = response.header("x-amz-function-error", "Unhandled");
                    }
                    let response = response
                        .body(Full::new(Bytes::from(answer.to_string())))
                        .expect("a valid response");
                    return delivered(&parts.headers, response, after);
                }
                let uri = format!(
                    "{upstream}{}",
                    parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str())
                        .unwrap_or("/")
                );
                // The endpoint a create or delete names; no other body is parsed.
                let changes = ENDPOINT_CHANGES
                    .contains(&call.as_str())
                    .then(|| endpoint_named(&body).unwrap_or_default());
                let mut forward = Request::builder().method(parts.method).uri(uri);
                for (name, value) in &parts.headers {
                    forward = forward.header(name, value);
                }
                let forward = forward.body(Full::new(body)).expect("a valid request");
                let response = match client.request(forward).await {
                    Ok(resp) => {
                        let (mut parts, body) = resp.into_parts();
                        let mut body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        // A session the caller may sign with from now on.
                        if parts.status.is_success()
                            && call == "sts:AssumeRole"
                            && let Some((key, session)) = assumed(&body)
                        {
                            state.lock().unwrap().sessions.insert(key, session);
                        }
                        let rewritten = parts
                            .status
                            .is_success()
                            .then(|| state.lock().unwrap().pools.rewrite(&call, &body))
                            .flatten();
                        if let Some(rewritten) = rewritten {
                            parts.headers.remove(hyper::header::CONTENT_LENGTH);
                            body = Bytes::from(rewritten);
                        }
                        hyper::Response::from_parts(parts, Full::new(body))
                    }
                    Err(e) => return Ok(http::response(502, format!("proxy: {e}"))),
                };
                if let Some(endpoint) = changes.filter(|_| response.status().is_success()) {
                    let changed = (endpoint, call);
                    *state
                        .lock()
                        .unwrap()
                        .endpoint_changes
                        .entry(changed)
                        .or_default() += 1;
                }
                delivered(&parts.headers, response, after)
            }
        })
        .await;
        Self {
            url: format!("http://{addr}"),
            state,
            task,
        }
    }

    /// Gives `variant` of `endpoint` (on EndpointConfig `config`) these instance pools in every
    /// answer, as AWS would (see [`crate::pools`]).
    pub fn set_pools(&self, endpoint: &str, config: &str, variant: &str, pools: &[(&str, u32)]) {
        self.state
            .lock()
            .unwrap()
            .pools
            .set(endpoint, config, variant, pools);
    }

    /// Lets the next `calls` calls through and refuses every one after them, as if the caller
    /// had crashed there; `None` lets everything through again.
    pub fn crash_after(&self, calls: Option<usize>) {
        self.state.lock().unwrap().crash = calls;
    }

    /// Runs functions for `lambda:InvokeFunction` calls from now on.
    pub fn set_invoker(&self, invoker: Invoker) {
        self.state.lock().unwrap().invoker = Some(invoker);
    }

    /// The asynchronous invocations that ended since the last look, once none runs any more
    /// (each function's own timeout bounds the wait).
    pub async fn settled(&self) -> Vec<Invocation> {
        loop {
            {
                let mut state = self.state.lock().unwrap();
                if state.queued.running == 0 {
                    return std::mem::take(&mut state.queued.ended);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Adds `latency` to every call from now on, as a distant AWS region would.
    pub fn set_latency(&self, latency: Duration) {
        self.state.lock().unwrap().latency = latency;
    }

    /// Injects `faults` into the calls from now on (`None`: no more).
    pub fn set_faults(&self, faults: Option<Faults>) {
        self.state.lock().unwrap().faults = faults.map(|f| {
            let rng = fastrand::Rng::with_seed(f.seed);
            (f, rng)
        });
    }

    /// How many faults of each kind were injected so far.
    pub fn injected(&self) -> BTreeMap<Fault, usize> {
        self.state.lock().unwrap().injected.clone()
    }

    /// Every call since the last `take` that reached moto, as `service:Operation`, in order.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.state.lock().unwrap().calls)
    }

    /// The endpoints moto created and deleted (answering 2xx) since the last look: what a
    /// duplicate create or a stray delete would show in.
    pub fn take_endpoint_changes(&self) -> EndpointChanges {
        std::mem::take(&mut self.state.lock().unwrap().endpoint_changes)
    }
}

/// The `EndpointName` a JSON request names, if it names one.
fn endpoint_named(body: &Bytes) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value["EndpointName"].as_str().map(str::to_owned)
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        let denied = &self.state.lock().unwrap().denied;
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

/// A request's body as the service reads it: the SDK gzips large PutMetricData bodies
/// (CloudWatch's `requestCompression`).
fn decoded(headers: &hyper::HeaderMap, body: &Bytes) -> Bytes {
    let gzipped = headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    if !gzipped {
        return body.clone();
    }
    let mut bytes = Vec::new();
    let _ = std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut bytes);
    Bytes::from(bytes)
}

/// The operation of a request: from `X-Amz-Target` (JSON protocols), the path (CloudWatch's
/// RPC v2 CBOR), or the form's `Action` (awsQuery: STS), of the service its signature names.
fn operation(headers: &hyper::HeaderMap, path: &str, body: &[u8]) -> String {
    if iam::is_query(headers) {
        let action = iam::form(body)
            .into_iter()
            .find_map(|(key, value)| (key == "Action").then_some(value));
        let service = Credential::signing(headers).map_or("unknown", |c| c.service);
        return format!("{service}:{}", action.as_deref().unwrap_or("unknown"));
    }
    let (service, op) = match headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        Some(target) => target.split_once('.').unwrap_or(("unknown", target)),
        None => cbor::operation(path)
            .or_else(|| configured_function(path).map(|_| ("lambda", "GetFunctionConfiguration")))
            .unwrap_or(("unknown", "unknown")),
    };
    let service = match service {
        "SageMaker" => "sagemaker",
        "AnyScaleFrontendService" => "application-autoscaling",
        "AmazonSSM" => "ssm",
        "AWSEvents" => "events",
        s if s.starts_with("DynamoDB") => "dynamodb",
        s if s.starts_with("ResourceGroupsTaggingAPI") => "tag",
        s if s.starts_with("GraniteServiceVersion") => "cloudwatch",
        other => other,
    };
    format!("{service}:{op}")
}

/// The function whose configuration Lambda's REST path names
/// (`/2015-03-31/functions/{name}/configuration`, which the command line reads).
fn configured_function(path: &str) -> Option<&str> {
    path.strip_prefix("/2015-03-31/functions/")?
        .strip_suffix("/configuration")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_sdk_cloudwatch::config::retry::RetryConfig;
    use aws_sdk_cloudwatch::config::{BehaviorVersion, Credentials, Region};

    use super::*;

    /// A CloudWatch client of the current SDK, against `url`, retrying at once.
    fn cloudwatch(url: &str) -> aws_sdk_cloudwatch::Client {
        let config = aws_sdk_cloudwatch::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(url)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
            .build();
        aws_sdk_cloudwatch::Client::from_conf(config)
    }

    const SPOKE_SLEEPER: &str = "arn:aws:iam::222222222222:role/sagetide-spoke-us-east-1-sleeper";

    #[test]
    fn an_sts_form_names_its_action_and_gives_its_fields_decoded_and_the_role_as_resource() {
        let mut headers = hyper::HeaderMap::new();
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=ASIAHUB/20261207/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0"
                .parse()
                .unwrap(),
        );
        let body = Bytes::from_static(
            b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Fsagetide-spoke-us-east-1-sleeper&RoleSessionName=sagetide-sleeper&ExternalId=team-a%2B7f%3a+x%2",
        );
        assert_eq!(operation(&headers, "/", &body), "sts:AssumeRole");
        let call = iam::Call::parse(&headers, &body);
        assert_eq!(
            call.0,
            serde_json::json!({
                "RoleArn": SPOKE_SLEEPER,
                "RoleSessionName": "sagetide-sleeper",
                "ExternalId": "team-a+7f: x%2",
            })
        );
        assert_eq!(
            iam::authorizations(&iam::Deployment::harness(), "sts:AssumeRole", &call),
            [iam::Request::new("sts:AssumeRole", SPOKE_SLEEPER)]
        );
    }

    #[test]
    fn a_signature_names_its_access_key_and_its_scopes_region_and_service() {
        let signed = "AWS4-HMAC-SHA256 Credential=ASIASPOKE/20261207/eu-west-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=0";
        assert_eq!(
            Credential::of(signed),
            Some(Credential {
                key: "ASIASPOKE",
                region: "eu-west-1",
                service: "sagemaker",
            })
        );
        assert_eq!(
            Credential::of("AWS4-HMAC-SHA256 Credential=ASIASPOKE"),
            None
        );
    }

    #[test]
    fn an_assume_role_answer_gives_the_sessions_key_account_and_role() {
        let answer = format!(
            r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>ASIASPOKE</AccessKeyId>
      <SecretAccessKey>secret</SecretAccessKey>
      <SessionToken>token</SessionToken>
      <Expiration>2026-12-07T13:00:00Z</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <AssumedRoleId>AROAEXAMPLE:sagetide-sleeper</AssumedRoleId>
      <Arn>arn:aws:sts::222222222222:assumed-role/{}/sagetide-sleeper</Arn>
    </AssumedRoleUser>
  </AssumeRoleResult>
</AssumeRoleResponse>"#,
            SPOKE_SLEEPER.rsplit('/').next().unwrap()
        );
        assert_eq!(
            assumed(answer.as_bytes()),
            Some((
                "ASIASPOKE".to_owned(),
                Session {
                    account: "222222222222".into(),
                    role: "sagetide-spoke-us-east-1-sleeper".into(),
                }
            ))
        );
        assert_eq!(
            assumed(b"<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>"),
            None
        );
    }

    #[tokio::test]
    async fn the_sdk_retries_an_injected_cbor_throttle_and_reads_its_code() {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        // Throttled twice, then an empty DescribeAlarms answer; later, throttled for good.
        let (addr, task) = http::serve(move |request| {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let headers = request.headers().clone();
            async move {
                if n == 2 {
                    return Ok(hyper::Response::builder()
                        .header("smithy-protocol", "rpc-v2-cbor")
                        .header("content-type", "application/cbor")
                        .body(Full::new(Bytes::from_static(&[0xa0])))
                        .expect("a valid response"));
                }
                Ok(error(&headers, 400, "ThrottlingException", "Rate exceeded"))
            }
        })
        .await;
        let client = cloudwatch(&format!("http://{addr}"));

        let answered = client.describe_alarms().send().await;
        assert!(answered.is_ok(), "{answered:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 3, "two throttles retried");

        let refused = client.describe_alarms().send().await.unwrap_err();
        assert_eq!(
            aws_sdk_cloudwatch::error::ProvideErrorMetadata::code(&refused),
            Some("ThrottlingException"),
            "{refused:?}"
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            6,
            "three attempts, all throttled"
        );
        task.abort();
    }
}
