//! IAM's decision on one request, for the statements `template.yaml` gives each function's role:
//! the action, the resource ARN and the condition keys are evaluated with IAM's semantics, so
//! the tests' proxy refuses what AWS would refuse, not only actions a role lacks.
//!
//! Written here rather than taken from the registry: the one Rust evaluator there (`iam-rs`
//! 0.8) calls itself unverified against AWS, and sagetide's template uses four operators and the two set qualifiers, each
//! tested below against the rule in AWS's documentation.

mod calls;
mod template;

pub use calls::{Call, authorizations, form, is_query};
pub use template::{
    Deployment, Roles, SpokeRole, harness_roles, harness_spoke_roles, roles, spoke_roles,
};

use std::collections::BTreeMap;

/// A statement of an identity policy. `NotAction`, `NotResource` and `Principal` are absent
/// from sagetide's roles (the template test checks it), so they are not modelled.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sid: String,
    pub allow: bool,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub conditions: Vec<Condition>,
}

/// One key under one operator of a statement's `Condition` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub operator: Operator,
    pub set: Option<Set>,
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    StringEquals,
    StringLike,
    ArnLike,
    Bool,
    Null,
}

/// The set qualifiers for multivalued keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    ForAnyValue,
    ForAllValues,
}

/// What a call asks IAM: one action on one resource, with the request's condition keys. A key
/// absent from `context` is absent from the request (which `Null` and the set operators tell
/// apart from an empty value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub action: String,
    pub resource: String,
    pub context: BTreeMap<String, Vec<String>>,
}

impl Request {
    pub fn new(action: &str, resource: impl Into<String>) -> Self {
        Self {
            action: action.to_owned(),
            resource: resource.into(),
            context: BTreeMap::new(),
        }
    }

    pub fn with(mut self, key: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.context
            .insert(key.to_owned(), values.into_iter().map(Into::into).collect());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by the statement with this Sid, and denied by none.
    Allow(String),
    /// No statement allows it.
    ImplicitDeny,
    /// A `Deny` statement (this Sid) matches: nothing can allow it.
    ExplicitDeny(String),
}

impl Decision {
    pub fn allowed(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }
}

/// IAM's decision for `request` under `statements`: an explicit deny wins, then any allow;
/// otherwise the request is denied implicitly.
pub fn decide(statements: &[Statement], request: &Request) -> Decision {
    let matching = || statements.iter().filter(|s| s.matches(request));
    if let Some(deny) = matching().find(|s| !s.allow) {
        return Decision::ExplicitDeny(deny.sid.clone());
    }
    match matching().find(|s| s.allow) {
        Some(allow) => Decision::Allow(allow.sid.clone()),
        None => Decision::ImplicitDeny,
    }
}

/// Whether deciding `request` would read one of the resource's tags: only then does the proxy
/// ask moto for them.
pub fn reads_resource_tags(statements: &[Statement], request: &Request) -> bool {
    statements.iter().any(|s| {
        s.covers(request)
            && s.conditions
                .iter()
                .any(|c| c.key.starts_with("aws:ResourceTag/"))
    })
}

impl Statement {
    /// Action and resource match, whatever the conditions say.
    fn covers(&self, request: &Request) -> bool {
        // Action names are case-insensitive; ARNs are not.
        let action = request.action.to_ascii_lowercase();
        self.actions
            .iter()
            .any(|a| glob(&a.to_ascii_lowercase(), &action))
            && self.resources.iter().any(|r| glob(r, &request.resource))
    }

    fn matches(&self, request: &Request) -> bool {
        self.covers(request) && self.conditions.iter().all(|c| c.holds(&request.context))
    }
}

impl Condition {
    /// AWS: the values of one key are ORed; a key absent from the request makes every operator
    /// false but `Null` (which tests exactly that) and `ForAllValues` (vacuously true over no
    /// values).
    fn holds(&self, context: &BTreeMap<String, Vec<String>>) -> bool {
        // Condition key names, tag keys in them included, are case-insensitive.
        let present = context
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(&self.key))
            .map(|(_, values)| values)
            .filter(|v| !v.is_empty());
        if self.operator == Operator::Null {
            let wants_absent = self.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
            return wants_absent == present.is_none();
        }
        let matches_any =
            |value: &String| self.values.iter().any(|p| self.operator.matches(p, value));
        match (self.set, present) {
            (Some(Set::ForAllValues), None) => true,
            (_, None) => false,
            (Some(Set::ForAllValues), Some(values)) => values.iter().all(matches_any),
            (Some(Set::ForAnyValue), Some(values)) => values.iter().any(matches_any),
            (None, Some(values)) => match values.as_slice() {
                [value] => matches_any(value),
                // AWS asks for a set operator on a multivalued key; its result without one is
                // not modelled here.
                _ => panic!(
                    "{:?} on the multivalued key {}: not modelled",
                    self.operator, self.key
                ),
            },
        }
    }
}

impl Operator {
    pub fn parse(name: &str) -> Option<(Self, Option<Set>)> {
        let (set, name) = match name.split_once(':') {
            Some(("ForAnyValue", rest)) => (Some(Set::ForAnyValue), rest),
            Some(("ForAllValues", rest)) => (Some(Set::ForAllValues), rest),
            Some(_) => return None,
            None => (None, name),
        };
        let operator = match name {
            "StringEquals" => Operator::StringEquals,
            "StringLike" => Operator::StringLike,
            "ArnLike" => Operator::ArnLike,
            "Bool" => Operator::Bool,
            "Null" => Operator::Null,
            _ => return None,
        };
        Some((operator, set))
    }

    fn matches(self, policy: &str, value: &str) -> bool {
        match self {
            Operator::StringEquals => policy == value,
            Operator::StringLike => glob(policy, value),
            // AWS: "Each of the six colon-delimited components of the ARN is checked
            // separately", so a wildcard does not reach across a colon.
            Operator::ArnLike => {
                let (p, v): (Vec<&str>, Vec<&str>) = (
                    policy.splitn(6, ':').collect(),
                    value.splitn(6, ':').collect(),
                );
                p.len() == 6 && v.len() == 6 && p.iter().zip(&v).all(|(p, v)| glob(p, v))
            }
            Operator::Bool => policy.eq_ignore_ascii_case(value),
            Operator::Null => unreachable!("Null tests presence, not values"),
        }
    }
}

/// IAM's wildcard match: `*` any run of characters (also none, also across `:` and `/`), `?`
/// any one character.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(sid: &str, action: &str, resource: &str, conditions: Vec<Condition>) -> Statement {
        Statement {
            sid: sid.into(),
            allow: true,
            actions: vec![action.into()],
            resources: vec![resource.into()],
            conditions,
        }
    }

    fn condition(operator: &str, key: &str, values: &[&str]) -> Condition {
        let (operator, set) = Operator::parse(operator).unwrap();
        Condition {
            operator,
            set,
            key: key.into(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    const ENDPOINT: &str = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/chat";

    #[test]
    fn wildcards_span_separators_and_match_nothing_else() {
        assert!(glob("arn:aws:sagemaker:*:*:endpoint/*", ENDPOINT));
        assert!(glob("arn:aws:*", ENDPOINT));
        assert!(glob("*", ""));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(!glob("arn:aws:sagemaker:*:*:model/*", ENDPOINT));
        assert!(!glob(
            "arn:aws:sagemaker:*:*:endpoint/chat",
            &format!("{ENDPOINT}-2")
        ));
        assert!(glob(
            "TargetTracking-*",
            "TargetTracking-endpoint/x-AlarmHigh-1"
        ));
        assert!(!glob("TargetTracking-*", "sagetide-idle-x"));
        assert!(glob("*", "**"));
        assert!(glob("*b", "*xb"));
    }

    #[test]
    fn action_names_ignore_case_resources_do_not() {
        let s = [allow("A", "sagemaker:DeleteEndpoint", ENDPOINT, vec![])];
        assert!(decide(&s, &Request::new("SageMaker:deleteendpoint", ENDPOINT)).allowed());
        assert!(
            !decide(
                &s,
                &Request::new("sagemaker:DeleteEndpoint", ENDPOINT.to_uppercase())
            )
            .allowed()
        );
        assert_eq!(
            decide(&s, &Request::new("sagemaker:CreateEndpoint", ENDPOINT)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn null_false_needs_the_key_and_null_true_its_absence() {
        let tagged = [allow(
            "Tagged",
            "sagemaker:DeleteEndpoint",
            "*",
            vec![condition(
                "Null",
                "aws:ResourceTag/sagetide:schedule",
                &["false"],
            )],
        )];
        let delete = Request::new("sagemaker:DeleteEndpoint", ENDPOINT);
        assert!(!decide(&tagged, &delete).allowed());
        assert!(
            !decide(
                &tagged,
                &delete.clone().with("aws:ResourceTag/other", ["x"])
            )
            .allowed()
        );
        let with_tag = delete
            .clone()
            .with("aws:ResourceTag/sagetide:schedule", ["office"]);
        assert!(decide(&tagged, &with_tag).allowed());
        let untagged = [allow(
            "Untagged",
            "sagemaker:DeleteEndpoint",
            "*",
            vec![condition(
                "Null",
                "aws:ResourceTag/sagetide:schedule",
                &["true"],
            )],
        )];
        assert!(decide(&untagged, &delete).allowed());
        assert!(!decide(&untagged, &with_tag).allowed());
    }

    #[test]
    fn string_operators_need_the_key_and_or_their_values() {
        let s = [allow(
            "Pass",
            "iam:PassRole",
            "*",
            vec![condition(
                "StringEquals",
                "iam:PassedToService",
                &["sagemaker.amazonaws.com", "x"],
            )],
        )];
        let pass = Request::new("iam:PassRole", "arn:aws:iam::1:role/r");
        assert!(
            !decide(&s, &pass).allowed(),
            "an absent key matches nothing"
        );
        assert!(
            decide(
                &s,
                &pass
                    .clone()
                    .with("iam:PassedToService", ["sagemaker.amazonaws.com"])
            )
            .allowed()
        );
        assert!(
            !decide(
                &s,
                &pass
                    .clone()
                    .with("iam:PassedToService", ["SageMaker.amazonaws.com"])
            )
            .allowed()
        );
        assert!(
            decide(&s, &pass.clone().with("IAM:passedToService", ["x"])).allowed(),
            "key names ignore case"
        );
        let like = [allow(
            "Like",
            "iam:PassRole",
            "*",
            vec![condition(
                "StringLike",
                "iam:PassedToService",
                &["sage*.com"],
            )],
        )];
        assert!(
            decide(
                &like,
                &pass.with("iam:PassedToService", ["sagemaker.amazonaws.com"])
            )
            .allowed()
        );
    }

    #[test]
    fn for_any_value_needs_one_match_and_for_all_values_holds_over_no_values() {
        let any = [allow(
            "Any",
            "cloudwatch:PutMetricAlarm",
            "*",
            vec![condition(
                "ForAnyValue:StringLike",
                "cloudwatch:AlarmActions",
                &["arn:aws:autoscaling:*"],
            )],
        )];
        let put = Request::new(
            "cloudwatch:PutMetricAlarm",
            "arn:aws:cloudwatch:us-east-1:1:alarm:a",
        );
        assert!(!decide(&any, &put).allowed());
        assert!(
            !decide(
                &any,
                &put.clone()
                    .with("cloudwatch:AlarmActions", ["arn:aws:sns:x"])
            )
            .allowed()
        );
        assert!(
            decide(
                &any,
                &put.clone().with(
                    "cloudwatch:AlarmActions",
                    ["arn:aws:sns:x", "arn:aws:autoscaling:p"]
                )
            )
            .allowed()
        );
        let all = [allow(
            "All",
            "sagemaker:DeleteTags",
            "*",
            vec![condition(
                "ForAllValues:StringEquals",
                "aws:TagKeys",
                &["sagetide:override"],
            )],
        )];
        let untag = Request::new("sagemaker:DeleteTags", ENDPOINT);
        assert!(
            decide(&all, &untag).allowed(),
            "vacuously true without the key"
        );
        assert!(
            decide(
                &all,
                &untag.clone().with("aws:TagKeys", ["sagetide:override"])
            )
            .allowed()
        );
        assert!(
            !decide(
                &all,
                &untag.with("aws:TagKeys", ["sagetide:override", "sagetide:schedule"])
            )
            .allowed()
        );
    }

    #[test]
    fn bool_ignores_case_and_every_condition_must_hold() {
        let s = [allow(
            "Grant",
            "kms:CreateGrant",
            "*",
            vec![
                condition("Bool", "kms:GrantIsForAWSResource", &["true"]),
                condition(
                    "StringEquals",
                    "kms:ViaService",
                    &["sagemaker.us-east-1.amazonaws.com"],
                ),
            ],
        )];
        let grant = Request::new("kms:CreateGrant", "arn:aws:kms:us-east-1:1:key/k")
            .with("kms:GrantIsForAWSResource", ["TRUE"]);
        assert!(!decide(&s, &grant).allowed());
        assert!(
            decide(
                &s,
                &grant.with("kms:ViaService", ["sagemaker.us-east-1.amazonaws.com"])
            )
            .allowed()
        );
    }

    #[test]
    fn an_explicit_deny_wins_over_any_allow() {
        let mut deny = allow("NoDeletes", "sagemaker:*", "*", vec![]);
        deny.allow = false;
        let s = [allow("All", "*", "*", vec![]), deny];
        assert_eq!(
            decide(&s, &Request::new("sagemaker:DeleteEndpoint", ENDPOINT)),
            Decision::ExplicitDeny("NoDeletes".into())
        );
        assert_eq!(
            decide(
                &s,
                &Request::new("dynamodb:GetItem", "arn:aws:dynamodb:::table/t")
            ),
            Decision::Allow("All".into())
        );
    }

    #[test]
    fn arn_like_matches_each_of_the_six_parts_on_its_own() {
        let hub = |pattern: &str, arn: &str| Operator::ArnLike.matches(pattern, arn);
        let pattern = "arn:aws:iam::111111111111:role/sagetide/scheduler/*";
        assert!(hub(
            pattern,
            "arn:aws:iam::111111111111:role/sagetide/scheduler/hub-SchedulerRole-X"
        ));
        assert!(!hub(
            pattern,
            "arn:aws:iam::111111111111:role/sagetide/waker/hub-WakerRole-X"
        ));
        assert!(!hub(
            pattern,
            "arn:aws:iam::222222222222:role/sagetide/scheduler/x"
        ));
        // StringLike's * would reach across the colons; ArnLike's stays in its part.
        assert!(Operator::StringLike.matches("arn:aws:*:role/x", "arn:aws:iam::1:role/x"));
        assert!(!hub("arn:aws:*:role/x", "arn:aws:iam::1:role/x"));
        assert!(hub("arn:aws:*:*:*:role/x", "arn:aws:iam::1:role/x"));
        assert!(!hub("arn:aws:iam::1:role/x", "not an arn"));
    }

    #[test]
    fn only_unknown_operators_fail_to_parse() {
        assert_eq!(Operator::parse("Null"), Some((Operator::Null, None)));
        assert_eq!(
            Operator::parse("ForAllValues:StringEquals"),
            Some((Operator::StringEquals, Some(Set::ForAllValues)))
        );
        assert_eq!(Operator::parse("StringNotEquals"), None);
        assert_eq!(Operator::parse("IfExists:StringEquals"), None);
    }
}
