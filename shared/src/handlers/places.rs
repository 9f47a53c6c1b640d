//! Where a handler acts: the hub's own place with the hub's executor, or a spoke through the
//! role `spoke.yaml` makes there for the function.

use aws_config::SdkConfig;

use crate::act::Executor;
use crate::aws::table::Table;
use crate::env::{Env, EnvError};
use crate::error::HandlerError;
use crate::lifecycle::Lifecycle;
use crate::permissions::Function;
use crate::places::{Place, Spoke};
use crate::reach::Reach;

/// The hub's executor, and the means to act with it in the spokes.
pub(super) struct Places {
    hub: Executor,
    reach: Reach,
}

/// An executor for the endpoints of one place.
pub(super) struct Reached {
    pub(super) executor: Executor,
    /// `<account>/<region>`, for a spoke.
    pub(super) spoke: Option<String>,
}

impl Places {
    pub(super) fn new(sdk: &SdkConfig, env: &Env, function: Function) -> Result<Self, EnvError> {
        Ok(Self {
            hub: Executor::with_lifecycle(sdk, env)?,
            reach: Reach::new(sdk, function, env),
        })
    }

    /// The hub's own place (`None`), or `spoke` through its role.
    pub(super) async fn at(&self, spoke: Option<&Spoke>) -> Result<Reached, HandlerError> {
        let Some(spoke) = spoke else {
            return Ok(Reached {
                executor: self.hub.clone(),
                spoke: None,
            });
        };
        let config = self.reach.config(&spoke.place, &spoke.external_id).await?;
        Ok(Reached {
            executor: self.hub.in_spoke(&config, spoke),
            spoke: Some(spoke.place.to_string()),
        })
    }

    /// Where a wake or restore at `place` acts, found without the document and without
    /// assuming a role: the hub's own place, or the spoke as the sleep that put something there
    /// to sleep kept it; `None` where this deployment never put anything to sleep (an event
    /// from a place it does not manage).
    pub(super) async fn kept(
        &self,
        place: &Place,
        home: &Place,
    ) -> Result<Option<Kept>, HandlerError> {
        let table = &self
            .hub
            .lifecycle
            .as_ref()
            .expect("a lifecycle function")
            .table;
        if place == home {
            return Ok(Some(Kept {
                spoke: None,
                table: table.clone(),
            }));
        }
        let table = table.at(place);
        Ok(table.reach().await?.map(|spoke| Kept {
            spoke: Some(spoke),
            table,
        }))
    }
}

/// A place where a wake or restore may act, and its items of the table.
pub(super) struct Kept {
    pub(super) spoke: Option<Spoke>,
    pub(super) table: Table,
}

impl Reached {
    pub(super) fn lifecycle(&self) -> &Lifecycle {
        self.executor
            .lifecycle
            .as_ref()
            .expect("a lifecycle function's executor has a lifecycle")
    }
}
