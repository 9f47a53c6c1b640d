//! Loads the document from SSM and keeps it for a short while in a warm container, so that a
//! tick every minute does not read SSM every minute, and an edit still takes effect soon.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::{Config, ConfigError};
use crate::aws;
use crate::env::Env;

/// How long a warm container trusts the document it read.
const FRESH_FOR: Duration = Duration::from_secs(60);
/// The parameter that names the one sagetide deployment of an account and region. Its name is
/// fixed, so a second stack fails to create it; the functions of a deployment it does not name
/// change nothing, so that two deployments cannot both act on every tagged endpoint.
pub const DEPLOYMENT_MARKER: &str = "/sagetide/deployment";

pub struct ConfigSource {
    client: aws_sdk_ssm::Client,
    parameter: String,
    /// `SAGETIDE_DEPLOYMENT`: this deployment's name, which [`DEPLOYMENT_MARKER`] must hold.
    deployment: Option<String>,
    cached: Mutex<Option<(Instant, Arc<Config>)>>,
}

impl ConfigSource {
    pub fn new(client: aws_sdk_ssm::Client, env: &Env) -> Self {
        Self {
            client,
            parameter: env.config_parameter.clone(),
            deployment: env.deployment.clone(),
            cached: Mutex::new(None),
        }
    }

    /// The current document; a read or validation failure is returned, never cached, so the
    /// next invocation tries again.
    pub async fn get(&self) -> Result<Arc<Config>, ConfigError> {
        let mut cached = self.cached.lock().await;
        if let Some((read_at, config)) = cached.as_ref()
            && read_at.elapsed() < FRESH_FOR
        {
            return Ok(config.clone());
        }
        let mut names = vec![self.parameter.as_str()];
        names.extend(self.deployment.as_ref().map(|_| DEPLOYMENT_MARKER));
        let unavailable = |message: String| ConfigError::Unavailable {
            parameter: self.parameter.clone(),
            message,
        };
        let mut values = aws::ssm::parameters(&self.client, &names)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if let Some(deployment) = &self.deployment {
            owned(deployment, values.remove(DEPLOYMENT_MARKER))?;
        }
        let text = values
            .remove(&self.parameter)
            .ok_or_else(|| unavailable("no such parameter".into()))?;
        let config = Arc::new(Config::parse(&text)?);
        *cached = Some((Instant::now(), config.clone()));
        Ok(config)
    }
}

/// The deployment marker alone, for the functions that read no document (the waker and the
/// restorer act on their own table's snapshots, but must not act beside another deployment).
pub struct Ownership {
    client: aws_sdk_ssm::Client,
    deployment: Option<String>,
}

impl Ownership {
    pub fn new(client: aws_sdk_ssm::Client, env: &Env) -> Self {
        Self {
            client,
            deployment: env.deployment.clone(),
        }
    }

    /// Whether the account and region's marker names this deployment (always, without
    /// `SAGETIDE_DEPLOYMENT`).
    pub async fn check(&self) -> Result<(), ConfigError> {
        let Some(deployment) = &self.deployment else {
            return Ok(());
        };
        let mut values = aws::ssm::parameters(&self.client, &[DEPLOYMENT_MARKER])
            .await
            .map_err(|e| ConfigError::Unavailable {
                parameter: DEPLOYMENT_MARKER.to_owned(),
                message: e.to_string(),
            })?;
        owned(deployment, values.remove(DEPLOYMENT_MARKER))
    }
}

fn owned(deployment: &str, owner: Option<String>) -> Result<(), ConfigError> {
    if owner.as_deref() == Some(deployment) {
        return Ok(());
    }
    Err(ConfigError::NotOwner {
        deployment: deployment.to_owned(),
        owner,
    })
}
