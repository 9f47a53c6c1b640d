//! The accounts and regions a deployment manages: its own (the hub's, through its own roles),
//! and the places its document names (the spokes, through the roles `spoke.yaml` makes there).

use std::collections::BTreeMap;
use std::fmt;

use crate::events::EventError;
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
    pub fn of_function(arn: &str) -> Result<Self, EventError> {
        match arn.split(':').collect::<Vec<_>>()[..] {
            ["arn", _, "lambda", region, account, "function", ..] => Self::new(account, region)
                .map_err(|why| EventError(format!("the invoked function ARN {arn:?}: {why}"))),
            _ => Err(EventError(format!(
                "the invoked function ARN {arn:?} names no account and region"
            ))),
        }
    }
}

/// The places whose events a function acts on: an event from anywhere else (a bus forwarding
/// what it should not, or a hand-made envelope) acts on nothing.
pub trait Admit {
    /// The place of an event of `account` in `region`, if it is admitted; `what` names the
    /// event in the refusal.
    fn admit(
        &self,
        what: &str,
        account: Option<&str>,
        region: Option<&str>,
    ) -> Result<Place, EventError>;
}

/// A place admits its own events only.
impl Admit for Place {
    fn admit(
        &self,
        what: &str,
        account: Option<&str>,
        region: Option<&str>,
    ) -> Result<Place, EventError> {
        if (account, region) == (Some(self.account.as_str()), Some(self.region.as_str())) {
            return Ok(self.clone());
        }
        Err(EventError(format!(
            "{what} from account {} in {}: this deployment acts on account {} in {} only; nothing changed",
            account.unwrap_or("(none)"),
            region.unwrap_or("(none)"),
            self.account.0,
            self.region.0
        )))
    }
}

/// Any well-formed place: for the waker and the restorer, which read no document (a broken one
/// must never block a wake) and act only where the table says they put something to sleep.
pub struct AnyPlace;

impl Admit for AnyPlace {
    fn admit(
        &self,
        what: &str,
        account: Option<&str>,
        region: Option<&str>,
    ) -> Result<Place, EventError> {
        Place::new(account.unwrap_or_default(), region.unwrap_or_default())
            .map_err(|why| EventError(format!("{what}: {why}; nothing changed")))
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

    /// Where `what` acts, if this deployment manages `place`: `None` for the hub's own place,
    /// the spoke's otherwise.
    pub fn at(&self, what: &str, place: &Place) -> Result<Option<&Spoke>, EventError> {
        self.admit(
            what,
            Some(place.account.as_str()),
            Some(place.region.as_str()),
        )?;
        Ok(self.spoke(place))
    }
}

/// The hub's own place and the document's.
impl Admit for Managed {
    fn admit(
        &self,
        what: &str,
        account: Option<&str>,
        region: Option<&str>,
    ) -> Result<Place, EventError> {
        let place = (account, region);
        let found = std::iter::once(&self.home)
            .chain(self.spokes.keys())
            .find(|p| place == (Some(p.account.as_str()), Some(p.region.as_str())));
        found.cloned().ok_or_else(|| {
            let managed: Vec<String> = std::iter::once(&self.home)
                .chain(self.spokes.keys())
                .map(Place::to_string)
                .collect();
            EventError(format!(
                "{what} from account {} in {}: this deployment acts in {} only (its own, and the \
                 accounts its document names); nothing changed",
                account.unwrap_or("(none)"),
                region.unwrap_or("(none)"),
                managed.join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(account: &str, region: &str) -> Place {
        Place {
            account: AccountId::new(account).unwrap(),
            region: RegionName::new(region).unwrap(),
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

    #[test]
    fn an_event_is_admitted_from_the_hub_and_the_named_places_only() {
        let spoke = Spoke {
            place: place("222222222222", "eu-west-1"),
            external_id: "team-a".into(),
            allowed: Allowed {
                kms_keys: Vec::new(),
                model_roles: "sagemaker-*".into(),
            },
        };
        let home = place("111111111111", "us-east-1");
        // Listing the hub's own place changes nothing: it stays the hub's.
        let listed_home = Spoke {
            place: home.clone(),
            ..spoke.clone()
        };
        let managed = Managed::new(home.clone(), [spoke.clone(), listed_home]);
        assert!(managed.spoke(&home).is_none());
        assert_eq!(
            managed.admit("x", Some("111111111111"), Some("us-east-1")),
            Ok(home)
        );
        assert_eq!(
            managed.admit("x", Some("222222222222"), Some("eu-west-1")),
            Ok(spoke.place.clone())
        );
        for (account, region) in [
            (Some("222222222222"), Some("us-east-1")),
            (Some("333333333333"), Some("eu-west-1")),
            (None, Some("eu-west-1")),
        ] {
            let refused = managed.admit("alarm", account, region).unwrap_err();
            assert!(
                refused
                    .0
                    .contains("111111111111/us-east-1, 222222222222/eu-west-1"),
                "{refused}"
            );
        }
    }
}
