//! The accounts and regions a deployment manages: its own (the hub's, through its own roles),
//! and the places its document names (the spokes, through the roles `spoke.yaml` makes there).

use std::collections::BTreeMap;
use std::fmt;

use crate::permissions::Allowed;

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(String);

impl AccountId {
    pub fn new(value: &str) -> Result<Self, String> {
        if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(value.to_owned()))
        } else {
            Err(format!("{value:?} is not an AWS account id (12 digits)"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An AWS region's name, as `eu-west-1`: letters, then words, then a number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionName(String);

impl RegionName {
    pub fn new(value: &str) -> Result<Self, String> {
        let parts: Vec<&str> = value.split('-').collect();
        let word = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
        let valid = parts.len() >= 3
            && parts[..parts.len() - 1].iter().all(word)
            && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
            && !parts[parts.len() - 1].is_empty();
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(format!(
                "{value:?} is not an AWS region name (e.g. eu-west-1)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The partition the region is in, for the ARNs of its resources.
    pub fn partition(&self) -> &'static str {
        match self.0.split('-').next() {
            Some("cn") => "aws-cn",
            Some("eusc") => "aws-eusc",
            _ if self.0.starts_with("us-gov-") => "aws-us-gov",
            _ if self.0.starts_with("us-isob-") => "aws-iso-b",
            _ if self.0.starts_with("us-isof-") => "aws-iso-f",
            _ if self.0.starts_with("eu-isoe-") => "aws-iso-e",
            _ if self.0.starts_with("us-iso-") => "aws-iso",
            _ => "aws",
        }
    }
}

/// One account in one region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Place {
    pub account: AccountId,
    pub region: RegionName,
}

impl Place {
    pub fn new(account: &str, region: &str) -> Result<Self, String> {
        Ok(Self {
            account: AccountId::new(account)?,
            region: RegionName::new(region)?,
        })
    }

    /// The place of the function Lambda invoked (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`),
    /// which every invocation carries, so knowing it costs no call.
    pub fn of_function(arn: &str) -> Result<Self, String> {
        match arn.split(':').collect::<Vec<_>>()[..] {
            ["arn", _, "lambda", region, account, "function", ..] => Self::new(account, region)
                .map_err(|why| format!("the invoked function ARN {arn:?}: {why}")),
            _ => Err(format!(
                "the invoked function ARN {arn:?} names no account and region"
            )),
        }
    }
}

impl Place {
    /// `account <id> (<region>)`, as the errors name a place.
    pub fn described(&self) -> String {
        format!("account {} ({})", self.account.0, self.region.0)
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.account.0, self.region.0)
    }
}

/// A managed place other than the hub's: how its roles are assumed, and what its spoke stack
/// lets the hub do to bring an endpoint back there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spoke {
    pub place: Place,
    /// The spoke stack's `ExternalId`.
    pub external_id: String,
    /// The spoke stack's `ModelExecutionRoles` and `EndpointKmsKeyArns`.
    pub allowed: Allowed,
}

/// Every place a deployment acts in.
#[derive(Debug, Clone)]
pub struct Managed {
    home: Place,
    spokes: BTreeMap<Place, Spoke>,
}

impl Managed {
    /// The hub's own place, and the `spokes` its document names. The hub's own place is
    /// always its own, reached through its own roles, even where the document lists it.
    pub fn new(home: Place, spokes: impl IntoIterator<Item = Spoke>) -> Self {
        let spokes = spokes
            .into_iter()
            .filter(|s| s.place != home)
            .map(|s| (s.place.clone(), s))
            .collect();
        Self { home, spokes }
    }

    /// The spoke at `place`; `None` for the hub's own.
    pub fn spoke(&self, place: &Place) -> Option<&Spoke> {
        self.spokes.get(place)
    }

    /// The places it manages other than its own.
    pub fn spokes(&self) -> impl Iterator<Item = &Spoke> {
        self.spokes.values()
    }

    /// Every place it manages: its own first, then the spokes.
    pub fn places(&self) -> impl Iterator<Item = &Place> {
        std::iter::once(&self.home).chain(self.spokes.keys())
    }
}

/// Where a spoke's tick failed as a whole (not one endpoint's action).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlaceStep {
    /// The function's role there could not be assumed.
    AssumeRole,
    /// A call made there failed the tick: its fleet, or its policies, could not be read.
    Observe,
    /// The hub could not queue the place's tick.
    Invoke,
}

impl PlaceStep {
    pub const ALL: [PlaceStep; 3] = [PlaceStep::AssumeRole, PlaceStep::Observe, PlaceStep::Invoke];

    /// As the action events, the metric's `Step` dimension and the errors name it.
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceStep::AssumeRole => "assume-role",
            PlaceStep::Observe => "observe",
            PlaceStep::Invoke => "invoke",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_place_is_the_invoked_functions_account_and_region() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:sagetide-waker:live";
        assert_eq!(
            Place::of_function(arn),
            Place::new("123456789012", "us-east-1")
        );
        for bad in [
            "",
            "arn:aws:lambda:us-east-1:1234:function:f",
            "arn:aws:s3:::bucket",
        ] {
            assert!(Place::of_function(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn account_ids_and_region_names_are_checked_once() {
        assert!(AccountId::new("123456789012").is_ok());
        for bad in ["12345678901", "1234567890123", "12345678901a", ""] {
            assert!(AccountId::new(bad).is_err(), "{bad}");
        }
        for good in [
            "eu-west-1",
            "us-gov-west-1",
            "ap-southeast-4",
            "eusc-de-east-1",
        ] {
            assert!(RegionName::new(good).is_ok(), "{good}");
        }
        for bad in ["eu-west", "EU-west-1", "euwest1", "eu--1", "eu-west-1a", ""] {
            assert!(RegionName::new(bad).is_err(), "{bad}");
        }
    }
}
