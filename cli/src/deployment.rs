//! The deployment the command line works with: its stack name from the account and region's
//! deployment marker (or `--stack`), its functions named as the template names them, and the
//! deployed scheduler's own environment, so that `plan` and `status` read the table and the
//! document that the functions read, and decide under the same limits.

use std::collections::HashMap;

use aws_config::SdkConfig;
use thiserror::Error;

use sagetide::aws::{self, AwsError};
use sagetide::config::DEPLOYMENT_MARKER;
use sagetide::env::{Env, EnvError};
use sagetide::places::Place;

pub struct Deployment {
    /// The stack's name, which prefixes its functions' names (template.yaml).
    pub stack: String,
    /// The scheduler's environment as deployed.
    pub env: Env,
    /// The account and region it is deployed in: the hub's own place.
    pub home: Place,
}

#[derive(Debug, Error)]
pub enum DeploymentError {
    #[error(
        "no sagetide deployment found in this account and region: the parameter {DEPLOYMENT_MARKER} is missing; deploy the stack, check AWS_REGION, or name the stack with --stack"
    )]
    NoMarker,
    #[error(
        "the parameter {DEPLOYMENT_MARKER} cannot be read ({0}); are these the right credentials, with the stack's OperatorPolicy (output OperatorPolicyArn)? Or name the stack with --stack"
    )]
    MarkerUnreadable(String),
    #[error(
        "the scheduler function {function} of stack {stack} cannot be read: {message}; is the stack deployed here, and do these credentials have its OperatorPolicy (output OperatorPolicyArn)?"
    )]
    NoScheduler {
        stack: String,
        function: String,
        message: String,
    },
    #[error("the scheduler function {function}'s environment is invalid: {error}")]
    BadEnvironment { function: String, error: EnvError },
}

impl Deployment {
    /// The deployment named `stack`, or the one the marker names.
    pub async fn find(sdk: &SdkConfig, stack: Option<String>) -> Result<Self, DeploymentError> {
        let stack = match stack {
            Some(stack) => stack,
            None => {
                let ssm = aws_sdk_ssm::Client::new(sdk);
                aws::ssm::parameters(&ssm, &[DEPLOYMENT_MARKER])
                    .await
                    .map_err(|e| DeploymentError::MarkerUnreadable(e.to_string()))?
                    .remove(DEPLOYMENT_MARKER)
                    .ok_or(DeploymentError::NoMarker)?
            }
        };
        let function = function_name(&stack, "scheduler");
        let no_scheduler = |message: String| DeploymentError::NoScheduler {
            stack: stack.clone(),
            function: function.clone(),
            message,
        };
        let (variables, arn) = scheduler(sdk, &function)
            .await
            .map_err(|e| no_scheduler(e.message))?;
        let home = Place::of_function(&arn).map_err(no_scheduler)?;
        let env = Env::from_lookup(|name| variables.get(name).cloned())
            .map_err(|error| DeploymentError::BadEnvironment { function, error })?;
        Ok(Self { stack, env, home })
    }

    /// The deployed function `name` (`sleeper`, `waker`, …).
    pub fn function(&self, name: &str) -> String {
        function_name(&self.stack, name)
    }
}

fn function_name(stack: &str, function: &str) -> String {
    format!("{stack}-{function}")
}

/// The deployed scheduler's environment and ARN.
async fn scheduler(
    sdk: &SdkConfig,
    function: &str,
) -> Result<(HashMap<String, String>, String), AwsError> {
    let configuration = aws_sdk_lambda::Client::new(sdk)
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(|e| AwsError::new("lambda:GetFunctionConfiguration", e))?;
    let variables = configuration
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    Ok((
        variables,
        configuration.function_arn().unwrap_or_default().to_owned(),
    ))
}
