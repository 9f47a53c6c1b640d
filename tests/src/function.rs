//! Runs a real function binary as Lambda would: the process polls a Runtime API emulator of
//! ours for events and posts back responses or errors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::BodyExt;
use hyper::{Method, Request};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::http::{self, Body};

type Reply = oneshot::Sender<Result<Value, Value>>;

struct Invocation {
    id: String,
    event: Value,
    reply: Reply,
}

#[derive(Default)]
struct Pending {
    replies: HashMap<String, Reply>,
}

pub struct Function {
    name: String,
    child: Child,
    queue: mpsc::UnboundedSender<Invocation>,
    logs: Arc<Mutex<Vec<String>>>,
    next_id: AtomicU64,
    server: JoinHandle<()>,
    started: Instant,
    first_poll: Arc<OnceLock<Instant>>,
}

/// The binary `name` built by `cargo build --workspace --bins` next to this test executable.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the current executable");
    let mut dir = exe.parent().expect("an executable's folder").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the functions first with `cargo build --workspace --bins` (scripts/test does)",
        path.display()
    );
    path
}

/// How long one invocation may take before the test gives up on it.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);

impl Function {
    /// Starts the function binary at `path` as function `name`, with the Lambda environment
    /// plus `env`.
    pub async fn start_binary(path: &Path, name: &str, env: &[(&str, String)]) -> Self {
        let (queue, receiver) = mpsc::unbounded_channel::<Invocation>();
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let pending = Arc::new(Mutex::new(Pending::default()));
        let first_poll = Arc::new(OnceLock::new());
        let (addr, server) = {
            let (receiver, pending, first_poll) =
                (receiver.clone(), pending.clone(), first_poll.clone());
            // As Lambda names the function it runs: by the name it is deployed under.
            let deployed = env
                .iter()
                .find(|(key, _)| *key == "AWS_LAMBDA_FUNCTION_NAME")
                .map_or(name, |(_, value)| value.as_str());
            let arn = Arc::new(format!(
                "arn:aws:lambda:us-east-1:123456789012:function:{deployed}"
            ));
            http::serve(move |req| {
                let answer = runtime_api(
                    req,
                    receiver.clone(),
                    pending.clone(),
                    first_poll.clone(),
                    arn.clone(),
                );
                async move { Ok(answer.await) }
            })
            .await
        };

        let started = Instant::now();
        let mut command = Command::new(path);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("the function binary starts");

        let logs = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let sink = logs.clone();
        let echo = std::env::var_os("SAGETIDE_ECHO_LOGS").is_some();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if echo {
                    eprintln!("{line}");
                }
                sink.lock().unwrap().push(line);
            }
        });

        Self {
            name: name.to_owned(),
            child,
            queue,
            logs,
            next_id: AtomicU64::new(1),
            server,
            started,
            first_poll,
        }
    }

    /// When the process was started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// From the process start to its first poll of the Runtime API for an event (its init).
    pub fn start_to_poll(&self) -> Option<Duration> {
        self.first_poll.get().map(|at| *at - self.started)
    }

    /// The process's peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Delivers `event` and waits for the function's response (`Ok`) or error (`Err`).
    pub async fn invoke(&mut self, event: Value) -> Result<Value, Value> {
        let id = format!(
            "{}-{}",
            self.name,
            self.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Invocation { id, event, reply })
            .expect("the emulator is running");
        tokio::select! {
            answer = answer => answer.expect("the emulator keeps the reply channel"),
            status = self.child.wait() => panic!("{} exited before answering: {status:?}", self.name),
            _ = tokio::time::sleep(INVOKE_TIMEOUT) => panic!("{} did not answer within {INVOKE_TIMEOUT:?}", self.name),
        }
    }

    /// The log lines the function printed so far, parsed as JSON, and forgotten.
    pub fn take_logs(&self) -> Vec<Value> {
        std::mem::take(&mut *self.logs.lock().unwrap())
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        self.server.abort();
        let _ = self.child.start_kill();
    }
}

async fn runtime_api(
    req: Request<hyper::body::Incoming>,
    queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>>,
    pending: Arc<Mutex<Pending>>,
    first_poll: Arc<OnceLock<Instant>>,
    arn: Arc<String>,
) -> hyper::Response<Body> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let json = || serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::GET, ["2018-06-01", "runtime", "invocation", "next"]) => {
            first_poll.get_or_init(Instant::now);
            let Some(invocation) = queue.lock().await.recv().await else {
                return http::response(500, "emulator stopped");
            };
            pending
                .lock()
                .unwrap()
                .replies
                .insert(invocation.id.clone(), invocation.reply);
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 300_000;
            hyper::Response::builder()
                .status(200)
                .header("lambda-runtime-aws-request-id", &invocation.id)
                .header("lambda-runtime-deadline-ms", deadline.to_string())
                .header("lambda-runtime-invoked-function-arn", arn.as_str())
                .header(
                    "lambda-runtime-trace-id",
                    "Root=1-00000000-000000000000000000000000",
                )
                .body(http_body_util::Full::new(
                    invocation.event.to_string().into(),
                ))
                .expect("a valid response")
        }
        (Method::POST, ["2018-06-01", "runtime", "invocation", id, outcome]) => {
            let reply = pending.lock().unwrap().replies.remove(*id);
            if let Some(reply) = reply {
                let _ = reply.send(if *outcome == "response" {
                    Ok(json())
                } else {
                    Err(json())
                });
            }
            http::response(202, "")
        }
        (Method::POST, ["2018-06-01", "runtime", "init", "error"]) => {
            eprintln!("function init error: {}", json());
            http::response(202, "")
        }
        _ => http::response(404, "not a Runtime API route"),
    }
}
