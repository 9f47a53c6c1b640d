//! Loads the document from SSM and keeps it for a short while in a warm container, so that a
//! tick every minute does not read SSM every minute, and an edit still takes effect soon.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::{Config, ConfigError};
use crate::aws;

/// How long a warm container trusts the document it read.
const FRESH_FOR: Duration = Duration::from_secs(60);

pub struct ConfigSource {
    client: aws_sdk_ssm::Client,
    parameter: String,
    cached: Mutex<Option<(Instant, Arc<Config>)>>,
}

impl ConfigSource {
    pub fn new(client: aws_sdk_ssm::Client, parameter: impl Into<String>) -> Self {
        Self {
            client,
            parameter: parameter.into(),
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
        let text = aws::ssm::parameter(&self.client, &self.parameter)
            .await
            .map_err(|e| ConfigError::Unavailable {
                parameter: self.parameter.clone(),
                message: e.to_string(),
            })?;
        let config = Arc::new(Config::parse(&text)?);
        *cached = Some((Instant::now(), config.clone()));
        Ok(config)
    }
}
