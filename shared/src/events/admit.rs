//! Which places' events a function acts on: an event from anywhere else (a bus forwarding what
//! it should not, or a hand-made envelope) acts on nothing.

use super::EventError;
use crate::places::{Managed, Place, Spoke};

/// The places whose events a function acts on.
pub trait Admit {
    /// Whether an event of `place` is admitted; `what` names the event in the refusal.
    fn admit(&self, what: &str, place: &Place) -> Result<(), EventError>;
}

/// A place admits its own events only.
impl Admit for Place {
    fn admit(&self, what: &str, place: &Place) -> Result<(), EventError> {
        if place == self {
            return Ok(());
        }
        Err(EventError(format!(
            "{what} from account {} in {}: this deployment acts on account {} in {} only; nothing changed",
            place.account.as_str(),
            place.region.as_str(),
            self.account.as_str(),
            self.region.as_str()
        )))
    }
}

/// Any place: for the waker and the restorer, which read no document (a broken one must never
/// block a wake) and act only where the table says they put something to sleep.
pub struct AnyPlace;

impl Admit for AnyPlace {
    fn admit(&self, _: &str, _: &Place) -> Result<(), EventError> {
        Ok(())
    }
}

impl Managed {
    /// Where `what` acts, if this deployment manages `place`: `None` for the hub's own place,
    /// the spoke's otherwise.
    pub fn at(&self, what: &str, place: &Place) -> Result<Option<&Spoke>, EventError> {
        self.admit(what, place)?;
        Ok(self.spoke(place))
    }
}

/// The hub's own place and the document's.
impl Admit for Managed {
    fn admit(&self, what: &str, place: &Place) -> Result<(), EventError> {
        if self.places().any(|p| p == place) {
            return Ok(());
        }
        let managed: Vec<String> = self.places().map(Place::to_string).collect();
        Err(EventError(format!(
            "{what} from account {} in {}: this deployment acts in {} only (its own, and the \
             accounts its document names); nothing changed",
            place.account.as_str(),
            place.region.as_str(),
            managed.join(", ")
        )))
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
        assert_eq!(managed.at("x", &home), Ok(None));
        assert_eq!(managed.at("x", &spoke.place), Ok(Some(&spoke)));
        for (account, region) in [("222222222222", "us-east-1"), ("333333333333", "eu-west-1")] {
            let refused = managed.admit("alarm", &place(account, region)).unwrap_err();
            assert!(
                refused
                    .0
                    .contains("111111111111/us-east-1, 222222222222/eu-west-1"),
                "{refused}"
            );
        }
    }
}
