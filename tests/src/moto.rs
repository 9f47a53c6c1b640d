//! moto server, started on a free loopback port and stopped when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, workspace_root};

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
        let port = free_port();
        // moto's own server, through a wrapper that fixes one gap (see tests/moto/server.py).
        let child = Command::new(python())
            .arg(workspace_root().join("tests/moto/server.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto should start: run scripts/bootstrap to install it into .venv");
        let moto = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        moto.wait_until_up();
        moto
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

    fn wait_until_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = self.url.trim_start_matches("http://").to_owned();
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(&addr).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server did not answer on {} within 30 s", self.url);
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
