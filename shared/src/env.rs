//! The environment every function reads once at start-up.

use jiff::{SignedDuration, Timestamp};
use thiserror::Error;

use crate::permissions::Allowed;

#[derive(Debug, Error)]
#[error("environment variable {name} = {value:?}: {why}")]
pub struct EnvError {
    name: &'static str,
    value: String,
    why: &'static str,
}

#[derive(Debug, Clone)]
pub struct Env {
    /// `SAGETIDE_CONFIG_PARAMETER`: the SSM parameter with the configuration document.
    pub config_parameter: String,
    /// `SAGETIDE_DEPLOYMENT`: the deployment's name (the template's stack name); when set, the
    /// functions act only if the account and region's deployment marker names it.
    pub deployment: Option<String>,
    /// `SAGETIDE_DRY_RUN=true`: decide and log, mutate nothing.
    pub dry_run: bool,
    /// `SAGETIDE_NOW`: a fixed *now* for simulations; unset in production.
    pub now: Option<Timestamp>,
    /// `SAGETIDE_TABLE`: the DynamoDB table of snapshots, leases and history.
    pub table: Option<String>,
    /// `SAGETIDE_LEASE_TTL` (default 2m): how long an endpoint's lease holds, on the real clock.
    pub lease_ttl: SignedDuration,
    /// What the deployment may do to bring an endpoint back: `SAGETIDE_KMS_KEYS`, the
    /// comma-separated ARNs of the KMS keys it may create grants on, and `SAGETIDE_MODEL_ROLES`
    /// (default `*`), the name pattern of the roles it may pass to SageMaker.
    pub allowed: Allowed,
    /// How many endpoints may be put to sleep without a person: `SAGETIDE_MAX_SLEEPS_PER_TICK`
    /// and `SAGETIDE_MAX_SLEEPS_PER_HOUR`.
    pub sleep_limits: SleepLimits,
    /// `SAGETIDE_WAKER`: the waker function (name or ARN) the scheduler asks to wake the
    /// endpoints it finds due, so that its own role never creates one (see template.yaml);
    /// unset, the scheduler wakes them itself.
    pub waker: Option<String>,
    /// `SAGETIDE_EVENT_BUS`: the EventBridge bus (name or ARN) that every applied or failed
    /// action is announced on as a `sagetide` event; unset, none is.
    pub event_bus: Option<String>,
    /// `SAGETIDE_SPOKE_ROLE_PREFIX` (default `sagetide-spoke`): the `RoleNamePrefix` of the
    /// spoke stacks, whose roles are `<prefix>-<region>-<function>` in every managed account.
    pub spoke_role_prefix: String,
}

/// The blast-radius limit: a document edit or a tag change that would delete many endpoints
/// at once is far more likely a mistake than an intention, so automatic sleeps beyond these
/// are not done and are reported; sleeps asked by hand are a person's decision and not limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SleepLimits {
    /// Sleeps one scheduler tick may start.
    pub per_tick: usize,
    /// Sleeps (scheduled and idle) all functions together may start in one UTC clock hour.
    pub per_hour: usize,
}

impl Default for SleepLimits {
    fn default() -> Self {
        Self {
            per_tick: 10,
            per_hour: 30,
        }
    }
}

pub const DEFAULT_CONFIG_PARAMETER: &str = "/sagetide/config";
pub const DEFAULT_SPOKE_ROLE_PREFIX: &str = "sagetide-spoke";
/// Longer than any function runs (their timeout is 60 s), so a live holder never loses its
/// lease; short enough that a crashed one blocks the endpoint only briefly.
pub const DEFAULT_LEASE_TTL: SignedDuration = SignedDuration::from_secs(120);
/// The shortest lease outside a simulation: the functions' timeout (60 s, template.yaml) and a
/// margin for the clocks of two holders, so that a live holder's lease cannot run out under it.
pub const MIN_LEASE_TTL: SignedDuration = SignedDuration::from_secs(90);
/// The longest lease: a crashed holder blocks its endpoint this long at most, and a lease that
/// expires further ahead than this was not written by a sagetide function and is taken over.
pub const MAX_LEASE_TTL: SignedDuration = SignedDuration::from_hours(1);

impl Env {
    pub fn load() -> Result<Self, EnvError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The environment `get` answers: a deployed function's variables, read by the command
    /// line to act as that function decides.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        let dry_run = match get("SAGETIDE_DRY_RUN").as_deref().map(str::trim) {
            None | Some("") => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                return Err(EnvError {
                    name: "SAGETIDE_DRY_RUN",
                    value: v.to_owned(),
                    why: "expected true or false",
                });
            }
        };
        let now = match get("SAGETIDE_NOW").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(v) => Some(
                v.trim()
                    .parse()
                    .ok()
                    .and_then(|t| crate::schedule::supported(t).ok())
                    .ok_or_else(|| EnvError {
                        name: "SAGETIDE_NOW",
                        value: v.clone(),
                        why: "expected an RFC 3339 instant from 1970 to 8999, such as 2026-11-23T08:00:00Z",
                    })?,
            ),
        };
        let lease_ttl = match get("SAGETIDE_LEASE_TTL").filter(|v| !v.trim().is_empty()) {
            None => DEFAULT_LEASE_TTL,
            Some(v) => {
                let ttl = crate::tags::parse_duration(&v).map_err(|_| EnvError {
                    name: "SAGETIDE_LEASE_TTL",
                    value: v.clone(),
                    why: "expected a duration such as 2m or 90s",
                })?;
                // A simulation's invocations are driven by its harness, not cut off by Lambda's
                // timeout, so it may use short leases to heal crashes quickly.
                let shortest = if now.is_some() {
                    SignedDuration::from_secs(1)
                } else {
                    MIN_LEASE_TTL
                };
                if ttl < shortest || ttl > MAX_LEASE_TTL {
                    return Err(EnvError {
                        name: "SAGETIDE_LEASE_TTL",
                        value: v,
                        why: if now.is_some() {
                            "expected 1s to 1h in a simulation (SAGETIDE_NOW set)"
                        } else {
                            "expected 90s to 1h: longer than the functions' 60 s timeout with a margin, so a running function keeps its lease, and at most an hour"
                        },
                    });
                }
                ttl
            }
        };
        let (kms_keys, not_arns): (Vec<String>, Vec<String>) = get("SAGETIDE_KMS_KEYS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .partition(|k| k.starts_with("arn:") && k.contains(":key/"));
        // IAM grants on key ARNs: an alias or a key id would allow a sleep whose wake IAM
        // refuses. Left out (only sleeps are declined for it), not fatal: a function that
        // fails to start would wake nothing either.
        if !not_arns.is_empty() {
            tracing::error!(
                ignored = ?not_arns,
                "SAGETIDE_KMS_KEYS: not key ARNs (arn:aws:kms:REGION:ACCOUNT:key/ID); endpoints encrypted with them are not put to sleep"
            );
        }
        let limit =
            |name: &'static str, default: usize| match get(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(default),
                Some(v) => v.trim().parse::<usize>().map_err(|_| EnvError {
                    name,
                    value: v.clone(),
                    why: "expected a whole number of endpoints, 0 or more",
                }),
            };
        let defaults = SleepLimits::default();
        let sleep_limits = SleepLimits {
            per_tick: limit("SAGETIDE_MAX_SLEEPS_PER_TICK", defaults.per_tick)?,
            per_hour: limit("SAGETIDE_MAX_SLEEPS_PER_HOUR", defaults.per_hour)?,
        };
        let model_roles = get("SAGETIDE_MODEL_ROLES")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "*".to_owned());
        let spoke_role_prefix = match get("SAGETIDE_SPOKE_ROLE_PREFIX").map(|v| v.trim().to_owned())
        {
            None => DEFAULT_SPOKE_ROLE_PREFIX.to_owned(),
            Some(v) if v.is_empty() => DEFAULT_SPOKE_ROLE_PREFIX.to_owned(),
            // spoke.yaml's RoleNamePrefix pattern.
            Some(v)
                if v.len() <= 32
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)) =>
            {
                v
            }
            Some(v) => {
                return Err(EnvError {
                    name: "SAGETIDE_SPOKE_ROLE_PREFIX",
                    value: v,
                    why: "expected the spoke stacks' RoleNamePrefix: 1 to 32 of letters, digits and +=,.@_-",
                });
            }
        };
        Ok(Self {
            spoke_role_prefix,
            lease_ttl,
            sleep_limits,
            allowed: Allowed {
                kms_keys,
                model_roles,
            },
            config_parameter: get("SAGETIDE_CONFIG_PARAMETER")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_CONFIG_PARAMETER.to_owned()),
            deployment: get("SAGETIDE_DEPLOYMENT")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
            dry_run,
            now,
            table: get("SAGETIDE_TABLE").filter(|v| !v.trim().is_empty()),
            waker: get("SAGETIDE_WAKER")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
            event_bus: get("SAGETIDE_EVENT_BUS")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
        })
    }

    /// The table, for the functions that cannot work without one.
    pub fn require_table(&self) -> Result<&str, EnvError> {
        self.table.as_deref().ok_or(EnvError {
            name: "SAGETIDE_TABLE",
            value: String::new(),
            why: "this function keeps snapshots and leases in it; set it to the table's name",
        })
    }

    /// *Now*: `SAGETIDE_NOW` if set, else the clock.
    pub fn now(&self) -> Timestamp {
        self.now.unwrap_or_else(Timestamp::now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Env, EnvError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let env = load(&[]).unwrap();
        assert_eq!(env.config_parameter, "/sagetide/config");
        assert!(!env.dry_run);
        assert_eq!(env.now, None);
        assert!(env.require_table().is_err());
        assert_eq!(
            load(&[("SAGETIDE_TABLE", "t")])
                .unwrap()
                .require_table()
                .unwrap(),
            "t"
        );
    }

    #[test]
    fn dry_run_and_now_are_parsed_strictly() {
        let env = load(&[
            ("SAGETIDE_DRY_RUN", "TRUE"),
            ("SAGETIDE_NOW", "2026-11-23T08:00:00Z"),
        ])
        .unwrap();
        assert!(env.dry_run);
        assert_eq!(env.now, Some("2026-11-23T08:00:00Z".parse().unwrap()));
        assert!(load(&[("SAGETIDE_DRY_RUN", "yes please")]).is_err());
        assert!(load(&[("SAGETIDE_NOW", "tomorrow")]).is_err());
        assert!(load(&[("SAGETIDE_NOW", "9999-12-31T00:00:00Z")]).is_err());
    }

    #[test]
    fn a_lease_outlasts_the_timeout_but_not_an_hour_unless_simulated() {
        let ttl = |v: &str| load(&[("SAGETIDE_LEASE_TTL", v)]).map(|e| e.lease_ttl);
        assert_eq!(ttl("90s").unwrap(), MIN_LEASE_TTL);
        assert_eq!(ttl("1h").unwrap(), MAX_LEASE_TTL);
        for bad in ["1s", "60s", "89s", "61m", "1d", "soon"] {
            let error = ttl(bad).unwrap_err().to_string();
            assert!(error.contains("SAGETIDE_LEASE_TTL"), "{error}");
        }
        let simulated = load(&[
            ("SAGETIDE_LEASE_TTL", "1s"),
            ("SAGETIDE_NOW", "2026-11-23T08:00:00Z"),
        ]);
        assert_eq!(simulated.unwrap().lease_ttl, SignedDuration::from_secs(1));
    }

    #[test]
    fn sleep_limits_are_whole_numbers() {
        assert_eq!(load(&[]).unwrap().sleep_limits, SleepLimits::default());
        let limits = load(&[
            ("SAGETIDE_MAX_SLEEPS_PER_TICK", "0"),
            ("SAGETIDE_MAX_SLEEPS_PER_HOUR", " 7 "),
        ])
        .unwrap()
        .sleep_limits;
        assert_eq!((limits.per_tick, limits.per_hour), (0, 7));
        for bad in ["-1", "ten", "1.5"] {
            let error = load(&[("SAGETIDE_MAX_SLEEPS_PER_HOUR", bad)]).unwrap_err();
            assert!(
                error.to_string().contains("SAGETIDE_MAX_SLEEPS_PER_HOUR"),
                "{error}"
            );
        }
    }

    #[test]
    fn the_spoke_role_prefix_is_one_spoke_yaml_accepts() {
        assert_eq!(load(&[]).unwrap().spoke_role_prefix, "sagetide-spoke");
        let team = load(&[("SAGETIDE_SPOKE_ROLE_PREFIX", " team-a ")]).unwrap();
        assert_eq!(team.spoke_role_prefix, "team-a");
        for bad in ["team a", "a/b", &"x".repeat(33)] {
            assert!(
                load(&[("SAGETIDE_SPOKE_ROLE_PREFIX", bad)]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn kms_keys_are_a_comma_list_of_key_arns() {
        let nothing = load(&[]).unwrap().allowed;
        assert_eq!(
            (nothing.kms_keys, nothing.model_roles.as_str()),
            (Vec::new(), "*")
        );
        let keys = "arn:aws:kms:eu-west-1:1:key/a, arn:aws:kms:eu-west-1:1:key/b ,";
        let env = load(&[
            ("SAGETIDE_KMS_KEYS", keys),
            ("SAGETIDE_MODEL_ROLES", "ml-*"),
        ]);
        let allowed = env.unwrap().allowed;
        assert_eq!(
            allowed.kms_keys,
            [
                "arn:aws:kms:eu-west-1:1:key/a",
                "arn:aws:kms:eu-west-1:1:key/b"
            ]
        );
        assert_eq!(allowed.model_roles, "ml-*");
        let alias = load(&[("SAGETIDE_KMS_KEYS", "alias/models")]).unwrap();
        assert_eq!(alias.allowed.kms_keys, Vec::<String>::new());
    }
}
