//! Which places' events a function acts on: an event from anywhere else (a bus forwarding what
//! it should not, or a hand-made envelope) acts on nothing.

use super::EventError;
use crate::places::{Managed, Place, Spoke};

/// The places whose events a function acts on.
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
            self.account.as_str(),
            self.region.as_str()
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

impl Managed {
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
        let found = self
            .places()
            .find(|p| place == (Some(p.account.as_str()), Some(p.region.as_str())));
        found.cloned().ok_or_else(|| {
            let managed: Vec<String> = self.places().map(Place::to_string).collect();
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
    use crate::permissions::Allowed;

    fn place(account: &str, region: &str) -> Place {
        Place::new(account, region).unwrap()
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
