//! The local AWS harness that every integration test and the demo run on: moto server on a free
//! loopback port, a counting proxy in front of it, a Lambda Runtime API emulator that runs the
//! real function binaries, and helpers to seed a fleet.

pub mod function;
pub mod moto;
pub mod proxy;
pub mod seed;

mod http;

use std::path::PathBuf;

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
}

impl Harness {
    /// moto with the sagetide table and `config` in the configuration parameter.
    pub async fn start(config: &str) -> Self {
        let moto = moto::Moto::start();
        let proxy = proxy::Proxy::start(&moto.url).await;
        let aws = seed::Aws::new(&moto.url).await;
        aws.create_table().await;
        aws.put_config(config).await;
        Self { aws, proxy, moto }
    }

    /// Starts function `name` against this harness, through the counting proxy.
    pub async fn function(&self, name: &str, extra_env: &[(&str, &str)]) -> function::Function {
        let mut env = vec![
            ("AWS_ENDPOINT_URL", self.proxy.url.clone()),
            ("SAGETIDE_TABLE", seed::TABLE.to_owned()),
            (
                "SAGETIDE_CONFIG_PARAMETER",
                seed::CONFIG_PARAMETER.to_owned(),
            ),
        ];
        env.extend(extra_env.iter().map(|(k, v)| (*k, (*v).to_owned())));
        function::Function::start(name, &env).await
    }
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
