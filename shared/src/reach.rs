//! How a hub function reaches a spoke: an SDK configuration in the spoke's region whose
//! credentials are those of the function's role there (`spoke.yaml`), assumed with the spoke's
//! external id. Made once per place and container; the SDK's identity cache renews the session
//! before it expires, so a warm function assumes each role about once an hour.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::aws::AwsError;
use crate::env::Env;
use crate::permissions::Function;
use crate::places::Place;

pub struct Reach {
    hub: SdkConfig,
    function: Function,
    prefix: String,
    made: Mutex<HashMap<(Place, String), SdkConfig>>,
}

impl Reach {
    pub fn new(hub: &SdkConfig, function: Function, env: &Env) -> Self {
        Self {
            hub: hub.clone(),
            function,
            prefix: env.spoke_role_prefix.clone(),
            made: Mutex::default(),
        }
    }

    /// The role the function assumes at `place`, as `spoke.yaml` names it.
    fn role(&self, place: &Place) -> String {
        format!(
            "arn:{}:iam::{}:role/{}-{}-{}",
            place.region.partition(),
            place.account.as_str(),
            self.prefix,
            place.region.as_str(),
            self.function.name()
        )
    }

    /// The configuration to act at `place` with. The role is assumed once when it is made, so
    /// that a spoke that cannot be reached is named as such, not as the failure of whatever
    /// call came first.
    pub async fn config(&self, place: &Place, external_id: &str) -> Result<SdkConfig, AwsError> {
        let key = (place.clone(), external_id.to_owned());
        if let Some(made) = self.made.lock().expect("not poisoned").get(&key) {
            return Ok(made.clone());
        }
        let role = self.role(place);
        // STS of the hub's region: a region the spoke has not enabled fails at its first call
        // there instead, which names the region.
        let provider = AssumeRoleProvider::builder(&role)
            .external_id(external_id)
            .session_name(format!("sagetide-{}", self.function.name()))
            .configure(&self.hub)
            .build()
            .await;
        let first = provider.provide_credentials().await.map_err(|e| {
            let why = DisplayErrorContext(e).to_string();
            AwsError {
                operation: "sts:AssumeRole",
                message: format!(
                    "cannot act in {}: assuming {role} failed; check that the spoke stack (spoke.yaml) is deployed there with this hub's account, stack name and the document's external_id: {why}",
                    place.described(),
                ),
                // Throttled or unanswered, the same call may pass.
                refused: why.contains("AccessDenied"),
            }
        })?;
        let config = self
            .hub
            .to_builder()
            .region(Region::new(place.region.as_str().to_owned()))
            .credentials_provider(SharedCredentialsProvider::new(Assumed {
                first: Mutex::new(Some(first)),
                provider,
            }))
            .build();
        self.made
            .lock()
            .expect("not poisoned")
            .insert(key, config.clone());
        Ok(config)
    }
}

/// How long the first credentials must still be good for when the SDK first asks for them
/// (more than the SDK's own refresh margin of a few minutes, and than a function's run).
const FIRST_USE_MARGIN: Duration = Duration::from_secs(10 * 60);

/// A spoke role's credentials: those assumed to check the role first, so that checking costs
/// no second `AssumeRole`, then fresh ones whenever the SDK's cache finds them expiring.
#[derive(Debug)]
struct Assumed {
    first: Mutex<Option<Credentials>>,
    provider: AssumeRoleProvider,
}

impl ProvideCredentials for Assumed {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        // The first credentials may wait long in a warm container before their first use:
        // handed to the cache only while they are good for a while yet.
        let fresh = self.first.lock().expect("not poisoned").take().filter(|c| {
            c.expiry()
                .is_none_or(|at| at > SystemTime::now() + FIRST_USE_MARGIN)
        });
        match fresh {
            Some(first) => provider::future::ProvideCredentials::ready(Ok(first)),
            None => self.provider.provide_credentials(),
        }
    }
}
