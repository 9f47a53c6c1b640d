//! Names of the AWS objects sagetide works on, checked once at the edge so the rest of the
//! code cannot confuse an endpoint with a variant or build a malformed resource id.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("{kind} name {value:?} is invalid: {why}")]
pub struct NameError {
    kind: &'static str,
    value: String,
    why: &'static str,
}

/// SageMaker endpoint, variant and inference component names: 1–63 characters of
/// `[a-zA-Z0-9-]`, starting with an alphanumeric character (the same rule for all three).
fn check_sagemaker_name(kind: &'static str, value: &str) -> Result<(), NameError> {
    let fail = |why| {
        Err(NameError {
            kind,
            value: value.to_owned(),
            why,
        })
    };
    if value.is_empty() || value.len() > 63 {
        return fail("it must have 1 to 63 characters");
    }
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return fail("it must start with a letter or a digit");
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return fail("only letters, digits and '-' are allowed");
    }
    Ok(())
}

macro_rules! sagemaker_name {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl TryFrom<String> for $name {
            type Error = NameError;

            fn try_from(value: String) -> Result<Self, NameError> {
                Self::new(value)
            }
        }

        impl std::str::FromStr for $name {
            type Err = NameError;

            fn from_str(value: &str) -> Result<Self, NameError> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0
            }
        }

        impl $name {
            pub fn new(value: impl Into<String>) -> Result<Self, NameError> {
                let value = value.into();
                check_sagemaker_name($kind, &value)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

sagemaker_name!(
    /// The name of a SageMaker real-time endpoint.
    EndpointName,
    "endpoint"
);
sagemaker_name!(
    /// The name of a production variant of an endpoint.
    VariantName,
    "variant"
);
sagemaker_name!(
    /// The name of an inference component.
    ComponentName,
    "inference component"
);

/// One production variant of one endpoint: the unit Application Auto Scaling scales.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VariantRef {
    pub endpoint: EndpointName,
    pub variant: VariantName,
}

impl fmt::Display for VariantRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.endpoint, self.variant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_names_follow_sagemaker_rules() {
        assert!(EndpointName::new("fraud-detector-1").is_ok());
        assert!(EndpointName::new("").is_err());
        assert!(EndpointName::new("-leading-dash").is_err());
        assert!(EndpointName::new("under_score").is_err());
        assert!(EndpointName::new("a".repeat(64)).is_err());
    }
}
