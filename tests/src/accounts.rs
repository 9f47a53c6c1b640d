//! Several accounts in the harness's local AWS, as a hub deployment and its spokes have them.
//! The hub functions that act in spokes start with sessions of their own roles, at the paths
//! `template.yaml` gives them, as Lambda starts them: the spoke roles' trust (`spoke.yaml`,
//! which the local AWS judges: tests/moto/truer/sts.py) sees who they are. Each spoke has the
//! roles its stack makes; the tests reach a spoke's fleet with [`seed::Aws::in_account`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use sagetide::permissions::Function;
use serde_json::json;

use crate::{Harness, iam, seed, spoke, workspace_root};

/// moto's account for the static test credentials: the hub's.
pub const HUB: &str = "123456789012";
/// The harness hub's region.
pub const HUB_REGION: &str = "us-east-1";
/// The external id the spokes' stacks and the hub's document agree on.
pub const EXTERNAL_ID: &str = "sagetide-test-external-id";
/// The functions that act in spokes.
pub const IN_SPOKES: [Function; 6] = [
    Function::Scheduler,
    Function::PoolMetrics,
    Function::Sleeper,
    Function::Waker,
    Function::Restorer,
    Function::Remediator,
];

/// The credentials each function binary starts with, where they are not the static ones.
#[derive(Clone, Default)]
pub struct Sessions(Arc<Mutex<BTreeMap<String, Credentials>>>);

impl Sessions {
    /// The environment that gives function `binary` its session, if it has one.
    pub fn env(&self, binary: &str) -> Vec<(&'static str, String)> {
        let sessions = self.0.lock().unwrap();
        let Some(credentials) = sessions.get(binary) else {
            return Vec::new();
        };
        vec![
            ("AWS_ACCESS_KEY_ID", credentials.access_key_id().to_owned()),
            (
                "AWS_SECRET_ACCESS_KEY",
                credentials.secret_access_key().to_owned(),
            ),
            (
                "AWS_SESSION_TOKEN",
                credentials.session_token().unwrap_or_default().to_owned(),
            ),
        ]
    }
}

/// The hub account's static credentials against moto at `url`, in `region`.
async fn hub_config(url: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .load()
        .await
}

/// A session of `role`, assumed with `base`'s credentials, straight from moto (not through the
/// proxy, which would take it for a function's).
async fn session(base: &SdkConfig, role: &str) -> SharedCredentialsProvider {
    let provider = AssumeRoleProvider::builder(role)
        .session_name("sagetide-test")
        .configure(base)
        .build()
        .await;
    SharedCredentialsProvider::new(provider)
}

fn yaml(path: &str) -> serde_yaml_ng::Value {
    let text = std::fs::read_to_string(workspace_root().join(path)).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

/// A trust that lets the hub account's own credentials in: the harness stands for Lambda.
fn hub_trust() -> serde_json::Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{HUB}:root")}, "Action": "sts:AssumeRole"}]})
}

impl Harness {
    /// Makes the harness's deployment a hub of `spokes` (account, region): the functions that
    /// act in spokes get their roles and start with sessions of them, and every spoke gets the
    /// roles `spoke.yaml` makes there, trusting this hub with [`EXTERNAL_ID`]. The document
    /// must still name the spokes (`accounts:`).
    pub async fn manage_spokes(&self, spokes: &[(&str, &str)]) {
        let (hub_template, spoke_template) = (yaml("template.yaml"), yaml("spoke.yaml"));
        let hub = hub_config(&self.moto.url, HUB_REGION).await;
        for function in IN_SPOKES {
            let (path, name) =
                spoke::hub_role(&hub_template, &iam::Deployment::harness(), function);
            self.aws.create_role(HUB, &path, &name, &hub_trust()).await;
            let provider = session(&hub, &format!("arn:aws:iam::{HUB}:role{path}{name}")).await;
            let credentials = provider
                .provide_credentials()
                .await
                .expect("the hub function's own role");
            self.sessions
                .0
                .lock()
                .unwrap()
                .insert(function.name().to_owned(), credentials);
        }
        for &(account, region) in spokes {
            let deployment = spoke::deployment(
                (account, region),
                (HUB, HUB_REGION, seed::DEPLOYMENT),
                EXTERNAL_ID,
            );
            for function in IN_SPOKES {
                let role = &spoke_template["Resources"]
                    [format!("{}Role", spoke::camel(function)).as_str()]["Properties"];
                let name = deployment
                    .strings(&spoke_template, &role["RoleName"])
                    .concat();
                let trust = deployment.json(&spoke_template, &role["AssumeRolePolicyDocument"]);
                self.aws.create_role(account, "/", &name, &trust).await;
            }
        }
    }
}
