//! moto server, started on a free loopback port and stopped when dropped, through the wrapper
//! that makes it answer as AWS does (tests/moto/truer/), and the wrapper's control API: how long
//! endpoints take to create, update and delete, which instance types have no capacity, which
//! metrics CloudWatch cannot answer in full, and the EventBridge events AWS sent.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{free_port, workspace_root};

/// How long (real seconds) the local AWS takes to create, update and delete an endpoint unless
/// a test says otherwise: every function that acts right after a change meets the endpoint
/// `Creating`, `Updating` or `Deleting`, as in AWS, and hundreds of cycles stay short in CI. A
/// test that looks at the transitional states itself slows them down.
pub const TIMING: Timing = Timing {
    creating: 0.1,
    updating: 0.1,
    deleting: 0.1,
};

/// Seconds of real time an endpoint spends in each transitional status.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub creating: f64,
    pub updating: f64,
    pub deleting: f64,
}

pub struct Moto {
    child: Child,
    pub url: String,
}

/// The Python of the project's virtualenv (`scripts/bootstrap` makes it), else from PATH.
fn python() -> PathBuf {
    let venv = workspace_root().join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

impl Moto {
    pub fn start() -> Self {
        // The free port may be taken by another server of a test running beside this one
        // before moto binds it; moto then exits, and it starts again on another.
        for _ in 0..5 {
            let port = free_port();
            // moto's own server, through a wrapper that fixes one gap (see tests/moto/server.py).
            let child = Command::new(python())
                .arg(workspace_root().join("tests/moto/server.py"))
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("moto should start: run scripts/bootstrap to install it into .venv");
            let mut moto = Self {
                child,
                url: format!("http://127.0.0.1:{port}"),
            };
            if moto.wait_until_up() {
                return moto;
            }
        }
        panic!("moto_server could not bind a free port five times");
    }

    /// Empties every service, as if moto had just started.
    pub fn reset(&self) {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).expect("moto is up");
        write!(
            stream,
            "POST /moto-api/reset HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .expect("send reset");
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .expect("read reset answer");
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "moto reset failed: {answer}"
        );
    }

    /// Sets how long endpoints take to change; all zeros is moto's own instant mode (every
    /// transition at the next request), for a test that needs it.
    pub async fn set_timing(&self, timing: Timing) {
        let body = json!({
            "creating": timing.creating,
            "updating": timing.updating,
            "deleting": timing.deleting,
        });
        self.control("POST", "timing", body).await;
    }

    /// Makes SageMaker unable (or able again) to provision `instance_type`: an endpoint created
    /// on it fails with InsufficientInstanceCapacity.
    pub async fn set_capacity(&self, instance_type: &str, available: bool) {
        let body = json!({"instance_type": instance_type, "available": available});
        self.control("POST", "capacity", body).await;
    }

    /// Makes GetMetricData answer `status` (`PartialData`, `InternalError`; `None`: complete)
    /// for every query on the metric `name`.
    pub async fn set_metric_status(&self, name: &str, status: Option<&str>) {
        let body = json!({"metric": name, "status": status});
        self.control("POST", "metric-status", body).await;
    }

    /// Waits until no endpoint is creating, updating or deleting any more, then returns the
    /// EventBridge events AWS sent meanwhile (and before), oldest first.
    pub async fn settle(&self) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let pending = self.control("GET", "pending", json!({})).await;
            if pending["pending"].as_array().is_none_or(Vec::is_empty) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "endpoints still changing after 60 s: {pending}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let taken = self.control("POST", "events/take", json!({})).await;
        taken["events"].as_array().cloned().unwrap_or_default()
    }

    /// One call of the wrapper's control API (`/_sagetide/<path>`), answered in JSON.
    async fn control(&self, method: &str, path: &str, body: Value) -> Value {
        let headers = [("Content-Type", "application/json")];
        let path = format!("/_sagetide/{path}");
        let (status, answer) =
            crate::http::send(&self.url, method, &path, &headers, &body.to_string()).await;
        assert_eq!(status, 200, "control {method} {path} failed: {answer}");
        serde_json::from_str(&answer).expect("the control API answers JSON")
    }

    /// Waits until this moto answers its control API; `false` if it exited first.
    fn wait_until_up(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            if self.answers() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server did not answer on {} within 30 s", self.url);
    }

    /// Whether the wrapper's control API answers on this moto's port: a server of another test
    /// that took the port does not.
    fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://");
        let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
            return false;
        };
        // Another server may keep the connection open.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let request = "GET /_sagetide/pending HTTP/1.1\r\nHost: moto\r\nConnection: close\r\n\r\n";
        let mut answer = String::new();
        stream.write_all(request.as_bytes()).is_ok()
            && stream.read_to_string(&mut answer).is_ok()
            && answer.starts_with("HTTP/1.")
            && answer.contains(" 200 ")
            && answer.contains("\"pending\"")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
