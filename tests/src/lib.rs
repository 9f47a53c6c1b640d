//! The local AWS harness that every integration test and the demo run on: moto server on a free
//! loopback port, a counting proxy in front of it, a Lambda Runtime API emulator that runs the
//! real function binaries, and helpers to seed a fleet.

pub mod accounts;
pub mod cbor;
pub mod crash;
pub mod demo_fleet;
pub mod function;
pub mod iam;
pub mod lifecycle;
pub mod moto;
pub mod pools;
pub mod proxy;
pub mod seed;
pub mod spoke;

mod http;

use std::fmt::Display;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A short lease (`SAGETIDE_LEASE_TTL`) for tests in which a crashed or failed invocation may
/// leave one behind, and how long to wait for such a lease to expire.
pub const LEASE_TTL: &str = "1s";
pub const LEASE_EXPIRED: Duration = Duration::from_millis(1100);

/// How many times Lambda delivers an asynchronous event that keeps failing: the first delivery
/// and its two retries.
pub const DELIVERIES: usize = 3;

/// An asynchronous event as Lambda delivered it: the last answer, after how many deliveries,
/// and the longest of them (Lambda would have stopped it at the function's timeout).
pub struct Delivered {
    pub answer: Result<Value, Value>,
    pub attempts: usize,
    pub longest: Duration,
}

/// `time` (UTC, `HH:MM`) the day after tomorrow, plus `days`: far enough ahead of the real
/// clock, which moto stamps endpoints with, for an endpoint created now to have been idle long
/// enough.
pub fn after_tomorrow(days: i64, time: &str) -> jiff::Timestamp {
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let day = today
        .checked_add(jiff::SignedDuration::from_hours(24 * (2 + days)))
        .expect("a date");
    format!("{day}T{time}:00Z").parse().expect("an instant")
}

/// The workspace root (where `Cargo.toml`, `.venv` and `template.yaml` live).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives inside the workspace")
        .to_path_buf()
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// One moto server, a counting proxy in front of it, and clients to seed and inspect it.
pub struct Harness {
    pub aws: seed::Aws,
    pub proxy: proxy::Proxy,
    pub moto: moto::Moto,
    /// The clock (`SAGETIDE_NOW`, empty: the real one) of the function last started, which the
    /// functions it invokes run on too, as in one account they share the real clock.
    clock: Clock,
    /// The credentials functions start with (see [`accounts`]).
    sessions: accounts::Sessions,
    /// The scheduler's environment beyond the harness's, as the last [`Ticker`] gave it: Lambda
    /// runs the places' ticks it queues with the same.
    scheduler_env: SchedulerEnv,
}

type Clock = std::sync::Arc<std::sync::Mutex<String>>;
type SchedulerEnv = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

impl Harness {
    /// moto with the sagetide table and `config` in the configuration parameter, its endpoints
    /// taking [`moto::TIMING`] to change.
    pub async fn start(config: &str) -> Self {
        let moto = moto::Moto::start();
        moto.set_timing(moto::TIMING).await;
        let proxy = proxy::Proxy::start(&moto.url).await;
        let clock = Clock::default();
        let sessions = accounts::Sessions::default();
        let scheduler_env = SchedulerEnv::default();
        proxy.set_invoker(deployed_functions(
            proxy.url.clone(),
            clock.clone(),
            sessions.clone(),
            scheduler_env.clone(),
        ));
        let aws = seed::Aws::new(&moto.url).await;
        aws.create_table().await;
        aws.put_deployment_marker(seed::DEPLOYMENT).await;
        aws.put_config(config).await;
        Self {
            aws,
            proxy,
            moto,
            clock,
            sessions,
            scheduler_env,
        }
    }

    /// Empties moto and seeds the table and `config` again, for tests that repeat a scenario.
    pub async fn reset(&self, config: &str) {
        self.moto.reset();
        self.aws.create_table().await;
        self.aws.put_deployment_marker(seed::DEPLOYMENT).await;
        self.aws.put_config(config).await;
        self.proxy.take();
    }

    /// Starts function `name` against this harness, through the counting proxy.
    pub async fn function(&self, name: &str, extra_env: &[(&str, &str)]) -> function::Function {
        self.function_binary(&function::binary(name), name, extra_env)
            .await
    }

    /// `event` to a fresh process of `function` acting at `now`, with the short test lease: as
    /// Lambda may answer any event from a new container, and as after a crash.
    pub async fn invoke(
        &self,
        function: &str,
        event: Value,
        now: impl Display,
    ) -> Result<Value, Value> {
        let now = now.to_string();
        now.clone_into(&mut self.clock.lock().unwrap());
        let env = [
            ("SAGETIDE_NOW", now.as_str()),
            ("SAGETIDE_LEASE_TTL", LEASE_TTL),
        ];
        self.function(function, &env).await.invoke(event).await
    }

    /// `event` as Lambda delivers an asynchronous event (see [`Harness::invoke`]): again while
    /// it fails, [`DELIVERIES`] times at most, each after a lease the failed attempt may have
    /// held has expired.
    pub async fn deliver(&self, function: &str, event: Value, now: impl Display) -> Delivered {
        let now = now.to_string();
        let (mut attempts, mut longest) = (0, Duration::ZERO);
        loop {
            attempts += 1;
            let started = Instant::now();
            let answer = self.invoke(function, event.clone(), &now).await;
            longest = longest.max(started.elapsed());
            if answer.is_ok() || attempts == DELIVERIES {
                return Delivered {
                    answer,
                    attempts,
                    longest,
                };
            }
            tokio::time::sleep(LEASE_EXPIRED).await;
        }
    }

    /// Waits until AWS has finished changing endpoints, then delivers the events it sent as the
    /// template's EventBridge rules route them (see [`route`]), each as Lambda delivers an
    /// asynchronous event, acting at `now`. Returns each event with its delivery.
    pub async fn deliver_events(&self, now: impl Display) -> Vec<(Value, &'static str, Delivered)> {
        let now = now.to_string();
        let mut deliveries = Vec::new();
        for event in self.moto.settle().await {
            if let Some(function) = route(&event) {
                let delivered = self.deliver(function, event.clone(), &now).await;
                deliveries.push((event, function, delivered));
            }
        }
        deliveries
    }

    /// The `sagetide` command line run with `args` against this harness (through the counting
    /// proxy) at the simulated `now`, which the functions it invokes run on too; its exit code,
    /// standard output and standard error.
    pub async fn sagetide(&self, args: &[&str], now: impl Display) -> (i32, String, String) {
        let now = now.to_string();
        now.clone_into(&mut self.clock.lock().unwrap());
        let out = tokio::process::Command::new(function::binary("sagetide"))
            .args(args)
            .env_clear()
            .env("AWS_ENDPOINT_URL", &self.proxy.url)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("SAGETIDE_NOW", &now)
            .output()
            .await
            .expect("the sagetide binary runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The scheduler as EventBridge ticks it (see [`Ticker`]), with `extra_env`.
    pub fn scheduler(&self, extra_env: &[(&str, &str)]) -> Ticker<'_> {
        Ticker {
            h: self,
            env: extra_env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            last: None,
            logs: Vec::new(),
        }
    }

    /// Like [`Harness::function`], with the binary at `path` (a release build, say).
    pub async fn function_binary(
        &self,
        path: &std::path::Path,
        name: &str,
        extra_env: &[(&str, &str)],
    ) -> function::Function {
        let mut env = vec![
            ("AWS_ENDPOINT_URL", self.proxy.url.clone()),
            ("SAGETIDE_TABLE", seed::TABLE.to_owned()),
            (
                "SAGETIDE_CONFIG_PARAMETER",
                seed::CONFIG_PARAMETER.to_owned(),
            ),
            ("SAGETIDE_DEPLOYMENT", seed::DEPLOYMENT.to_owned()),
            ("SAGETIDE_WAKER", deployed_name("waker")),
            ("AWS_LAMBDA_FUNCTION_NAME", deployed_name(name)),
        ];
        env.extend(self.sessions.env(name));
        env.extend(extra_env.iter().map(|(k, v)| (*k, (*v).to_owned())));
        function::Function::start_binary(path, name, &env).await
    }
}

/// A function's name as the template deploys it in the harness's stack.
fn deployed_name(binary: &str) -> String {
    format!("{}-{binary}", seed::DEPLOYMENT)
}

/// What answers a `lambda:InvokeFunction` through the proxy at `proxy_url`: a fresh process of
/// the named function, with the harness's table, parameter and deployment, as Lambda runs one,
/// on `clock` (the invoking function's).
fn deployed_functions(
    proxy_url: String,
    clock: Clock,
    sessions: accounts::Sessions,
    scheduler_env: SchedulerEnv,
) -> proxy::Invoker {
    std::sync::Arc::new(move |name: String, payload: Value| {
        let proxy_url = proxy_url.clone();
        let now = clock.lock().unwrap().clone();
        let sessions = sessions.clone();
        let scheduler_env = scheduler_env.lock().unwrap().clone();
        Box::pin(async move {
            let binary = name
                .rsplit(':')
                .next()
                .and_then(|n| n.strip_prefix(&format!("{}-", seed::DEPLOYMENT)))
                .map(str::to_owned)
                .ok_or_else(|| serde_json::json!({"errorType": "ResourceNotFoundException", "errorMessage": format!("no function {name}")}))?;
            let mut env = vec![
                ("AWS_ENDPOINT_URL", proxy_url),
                ("SAGETIDE_TABLE", seed::TABLE.to_owned()),
                (
                    "SAGETIDE_CONFIG_PARAMETER",
                    seed::CONFIG_PARAMETER.to_owned(),
                ),
                ("SAGETIDE_DEPLOYMENT", seed::DEPLOYMENT.to_owned()),
                ("SAGETIDE_WAKER", deployed_name("waker")),
                (
                    "AWS_LAMBDA_FUNCTION_NAME",
                    name.rsplit(':').next().unwrap_or(&name).to_owned(),
                ),
            ];
            env.extend(sessions.env(&binary));
            if binary == "scheduler" {
                env.extend(scheduler_env.iter().map(|(k, v)| (k.as_str(), v.clone())));
            }
            // A simulated clock may take the tests' short lease; the real one may not.
            if !now.is_empty() {
                env.push(("SAGETIDE_NOW", now));
                env.push(("SAGETIDE_LEASE_TTL", LEASE_TTL.to_owned()));
            }
            function::Function::start_binary(&function::binary(&binary), &binary, &env)
                .await
                .invoke(payload)
                .await
        })
    })
}

/// The scheduler as EventBridge ticks it: every tick reaches a process whose clock
/// (`SAGETIDE_NOW`) is the tick's own time, as a tick delivered on time finds the real clock (the
/// scheduler refuses ticks far from its clock). A tick without a readable time reaches a
/// process on the real clock.
pub struct Ticker<'h> {
    h: &'h Harness,
    env: Vec<(String, String)>,
    last: Option<(String, function::Function)>,
    logs: Vec<Value>,
}

impl Ticker<'_> {
    /// Delivers `event` at the clock of its own `time`.
    pub async fn invoke(&mut self, event: Value) -> Result<Value, Value> {
        let clock = event["time"].as_str().unwrap_or_default().to_owned();
        self.invoke_at(event, &clock).await
    }

    /// Delivers `event` to a process whose clock is `clock` (empty: the real clock); one
    /// process answers the ticks of one clock, as one container does.
    pub async fn invoke_at(&mut self, event: Value, clock: &str) -> Result<Value, Value> {
        clock.clone_into(&mut self.h.clock.lock().unwrap());
        self.env
            .clone_into(&mut self.h.scheduler_env.lock().unwrap());
        if self.last.as_ref().is_none_or(|(at, _)| at != clock) {
            let mut env: Vec<(&str, &str)> = vec![("SAGETIDE_NOW", clock)];
            env.extend(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let process = self.h.function("scheduler", &env).await;
            if let Some((_, old)) = self.last.replace((clock.to_owned(), process)) {
                self.logs.extend(old.take_logs());
            }
        }
        let (_, process) = self.last.as_mut().expect("a process was started");
        process.invoke(event).await
    }

    /// The log lines the processes printed so far, parsed as JSON, and forgotten.
    pub fn take_logs(&mut self) -> Vec<Value> {
        let mut logs = std::mem::take(&mut self.logs);
        if let Some((_, process)) = &self.last {
            logs.extend(process.take_logs());
        }
        logs
    }
}

/// The function an EventBridge event reaches by the template's rules, among those the local AWS
/// sends: "SageMaker Endpoint State Change" to `IN_SERVICE` reaches the restorer.
pub fn route(event: &Value) -> Option<&'static str> {
    let state_change = event["detail-type"] == "SageMaker Endpoint State Change"
        && event["source"] == "aws.sagemaker";
    (state_change && event["detail"]["EndpointStatus"] == "IN_SERVICE").then_some("restorer")
}

/// The endpoint and status an endpoint state-change event reports.
pub fn state_change(event: &Value) -> (&str, &str) {
    (
        event["detail"]["EndpointName"].as_str().unwrap_or_default(),
        event["detail"]["EndpointStatus"]
            .as_str()
            .unwrap_or_default(),
    )
}

/// An EventBridge "CloudWatch Alarm State Change" of `alarm` to `state`, on a metric of
/// `endpoint` (`None`: a metric without the EndpointName dimension).
pub fn alarm_event(alarm: &str, state: &str, endpoint: Option<&str>) -> serde_json::Value {
    alarm_change(alarm, state, endpoint, "2026-11-24T02:00:00Z")
}

/// Like [`alarm_event`], with the state's timestamp `at` (RFC 3339).
pub fn alarm_change(
    alarm: &str,
    state: &str,
    endpoint: Option<&str>,
    at: &str,
) -> serde_json::Value {
    let dimensions = match endpoint {
        Some(name) => serde_json::json!({"EndpointName": name, "VariantName": "AllTraffic"}),
        None => serde_json::json!({"QueueName": "requests"}),
    };
    serde_json::json!({
        "version": "0",
        "id": format!("alarm-{alarm}-{state}-{at}"),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": "2026-11-24T02:00:00Z",
        "region": "us-east-1",
        "resources": [format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}")],
        "detail": {
            "alarmName": alarm,
            "state": {"value": state, "reason": "test", "timestamp": at},
            "previousState": {"value": "OK", "reason": "test", "timestamp": "2026-11-24T01:00:00.000+0000"},
            "configuration": {"metrics": [{
                "id": "m0",
                "metricStat": {
                    "metric": {"namespace": "AWS/SageMaker", "name": "Invocations", "dimensions": dimensions},
                    "period": 300,
                    "stat": "Sum"
                },
                "returnData": true
            }]}
        }
    })
}

/// An EventBridge "SageMaker Endpoint State Change" of `endpoint` to `status` (`IN_SERVICE`…).
pub fn endpoint_state_event(endpoint: &str, status: &str) -> serde_json::Value {
    serde_json::json!({
        "version": "0",
        "id": format!("state-{endpoint}-{status}"),
        "detail-type": "SageMaker Endpoint State Change",
        "source": "aws.sagemaker",
        "account": "123456789012",
        "time": "2026-11-24T06:50:00Z",
        "region": "us-east-1",
        "resources": [format!("arn:aws:sagemaker:us-east-1:123456789012:endpoint/{endpoint}")],
        "detail": {"EndpointName": endpoint, "EndpointStatus": status}
    })
}

/// `endpoint action outcome` of each action a scheduler tick's report names, in order.
pub fn tick_actions(report: &Value) -> Vec<String> {
    report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{} {} {}",
                a["endpoint"].as_str().unwrap(),
                a["action"].as_str().unwrap(),
                a["outcome"].as_str().unwrap()
            )
        })
        .collect()
}

/// An EventBridge "Scheduled Event" whose `time` is `time` (RFC 3339).
pub fn scheduled_event(time: &str) -> serde_json::Value {
    serde_json::json!({
        "version": "0",
        "id": format!("tick-{time}"),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time,
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/sagetide-scheduler"],
        "detail": {}
    })
}
