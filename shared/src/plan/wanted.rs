//! What an endpoint's schedule, or an override in force, wants at an instant: the one answer
//! the scheduler, the sleeper and the remediator all act on, so they never disagree.

use jiff::Timestamp;

use crate::schedule::{Desired, Schedule, Why};
use crate::tags::{self, Override, Tags};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub desired: Desired,
    pub reason: String,
    /// Inside a period, its prewarm, a gap too short to sleep through, or an `awake-until`
    /// override: the endpoint is wanted awake for its work, not merely at its off-hours
    /// capacity.
    pub in_period: bool,
}

/// `Err` names what is wrong with the override tag; an expired override counts as absent.
pub fn wanted(tags: &Tags, schedule: &Schedule, now: Timestamp) -> Result<Wanted, String> {
    let active = tags
        .get(tags::OVERRIDE)
        .map(|v| Override::parse(v))
        .transpose()
        .map_err(|e| format!("{e}; the endpoint is left as it is until the tag is fixed"))?
        .filter(|o| now < o.until());
    if let Some(o) = active {
        let desired = match o {
            Override::AwakeUntil(_) => schedule.awake_capacity().map(Desired::Awake).ok_or_else(|| {
                format!(
                    "override {o}: schedule {} has no period whose capacity an awake endpoint could take",
                    schedule.name
                )
            })?,
            Override::AsleepUntil(_) => schedule.off_hours_desired(),
        };
        return Ok(Wanted {
            desired,
            reason: format!("override {o}"),
            in_period: matches!(o, Override::AwakeUntil(_)),
        });
    }
    let state = schedule.state_at(now);
    Ok(Wanted {
        in_period: matches!(
            state.why,
            Why::Period(_) | Why::Prewarm(_) | Why::ShortGap { .. }
        ),
        reason: format!("schedule {}: {}", schedule.name, state.why),
        desired: state.desired,
    })
}
