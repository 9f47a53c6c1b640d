//! Which function is running, and the AWS actions it may use. `template.yaml` grants each
//! function's role exactly these (checked by `tests/tests/template.rs`), and the integration
//! tests' proxy refuses, as IAM would, any call a function makes outside its `calls`
//! (`tests/src/proxy.rs`): so the template is proven both sufficient and no broader.

/// The six Lambda functions, by the binary names the contract fixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    Scheduler,
    PoolMetrics,
    Sleeper,
    Waker,
    Restorer,
    Remediator,
}

/// What the deployment may do to bring an endpoint back, which decides which EndpointConfigs'
/// endpoints may sleep: create grants on these KMS keys (by key ARN), and pass roles whose
/// names match this pattern (IAM's `*` and `?`) to SageMaker.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Allowed {
    pub kms_keys: Vec<String>,
    pub model_roles: String,
}

/// What Application Auto Scaling may check of a caller that scales an inference component's
/// copies. AWS documents these two only as what its own service-linked role does to a
/// component (AWSApplicationAutoscalingSageMakerEndpointPolicy); that it checks its caller for
/// them, as it does for an endpoint's, is sagetide's reading. The scheduler and the remediator
/// scale components, and so do the sleeper and the waker (a component's sleep and wake).
const COMPONENT_CHECKS: [&str; 2] = [
    "sagemaker:DescribeInferenceComponent",
    "sagemaker:UpdateInferenceComponentRuntimeConfig",
];

/// What AWS checks that a function could do itself when it makes one of these calls: Application
/// Auto Scaling checks its caller's rights on the SageMaker variant (and on the alarms of target
/// tracking) before its service-linked role acts; SageMaker checks `AddTags` for the tags of a
/// create, `iam:PassRole` for a model's execution role, and, for the targets a DeleteEndpoint
/// drops, `DeregisterScalableTarget` and `DeleteScalingPolicy` ("If you use a custom permission
/// policy that doesn't provide permission for the DeleteScalingPolicy and
/// DeregisterScalableTarget actions, you must delete automatic scaling policies and deregister
/// scalable targets before deleting the endpoint"), which in turn are checked like the calls
/// they stand for. The checks are followed transitively.
const CHECKED_FOR: &[(&str, &[&str])] = &[
    (
        "application-autoscaling:RegisterScalableTarget",
        &[
            "sagemaker:DescribeEndpoint",
            "sagemaker:DescribeEndpointConfig",
            "sagemaker:UpdateEndpointWeightsAndCapacities",
            "iam:CreateServiceLinkedRole",
        ],
    ),
    (
        "application-autoscaling:PutScalingPolicy",
        &[
            "sagemaker:DescribeEndpoint",
            "sagemaker:DescribeEndpointConfig",
            "sagemaker:UpdateEndpointWeightsAndCapacities",
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:DeleteAlarms",
            "cloudwatch:DescribeAlarms",
        ],
    ),
    (
        "application-autoscaling:DeregisterScalableTarget",
        &[
            "sagemaker:DescribeEndpoint",
            "sagemaker:DescribeEndpointConfig",
            "sagemaker:UpdateEndpointWeightsAndCapacities",
        ],
    ),
    (
        "application-autoscaling:DeleteScalingPolicy",
        &["cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"],
    ),
    // Only for an EndpointConfig with a KmsKeyId: "kms:CreateGrant (required only if the
    // associated EndPointConfig has a KmsKeyId specified)". The template grants it on the keys
    // its EndpointKmsKeyArns names, if any.
    (
        "sagemaker:CreateEndpoint",
        &["sagemaker:AddTags", "kms:CreateGrant"],
    ),
    (
        "sagemaker:CreateModel",
        &["sagemaker:AddTags", "iam:PassRole"],
    ),
    ("sagemaker:CreateEndpointConfig", &["sagemaker:AddTags"]),
    (
        "sagemaker:DeleteEndpoint",
        &[
            "application-autoscaling:DeregisterScalableTarget",
            "application-autoscaling:DeleteScalingPolicy",
        ],
    ),
];

/// Every AWS action the `sagetide` command line calls, as IAM names it: the scheduler's reads
/// (its `plan` runs the tick dry), the scheduler's environment, and the manual sleep and wake.
/// `template.yaml`'s `OperatorPolicy` grants exactly these, and the tests' proxy holds the
/// command line to it.
pub const OPERATOR_CALLS: &[&str] = &[
    "ssm:GetParameters",
    "lambda:GetFunctionConfiguration",
    "lambda:InvokeFunction",
    "sagemaker:Search",
    "sagemaker:ListInferenceComponents",
    "sagemaker:DescribeInferenceComponent",
    "tag:GetResources",
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeModel",
    "sagemaker:ListTags",
    "sagemaker:GetEndpointPolicy",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:DescribeScheduledActions",
    "application-autoscaling:ListTagsForResource",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:ListTagsForResource",
    "cloudwatch:GetMetricData",
];

impl Function {
    pub const ALL: [Function; 6] = [
        Function::Scheduler,
        Function::PoolMetrics,
        Function::Sleeper,
        Function::Waker,
        Function::Restorer,
        Function::Remediator,
    ];

    /// The binary's name: `functions/<name>/` and the template's `BuildProperties.Binary`.
    pub fn name(self) -> &'static str {
        match self {
            Function::Scheduler => "scheduler",
            Function::PoolMetrics => "pool-metrics",
            Function::Sleeper => "sleeper",
            Function::Waker => "waker",
            Function::Restorer => "restorer",
            Function::Remediator => "remediator",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The SDK's application name: it goes into every request's user agent, so CloudTrail
    /// (and the tests' proxy) can tell which function made a call.
    pub fn app_name(self) -> String {
        format!("sagetide-{}", self.name())
    }

    /// The function named by a request's user agent, if a sagetide function made it.
    pub fn from_user_agent(user_agent: &str) -> Option<Self> {
        user_agent
            .split(' ')
            .find_map(|part| part.strip_prefix("app/sagetide-"))
            .and_then(Self::from_name)
    }

    /// Every AWS action the function's code calls as deployed, as IAM names it (the scheduler
    /// asks the waker to wake endpoints, `SAGETIDE_WAKER`, rather than creating them).
    pub fn calls(self) -> &'static [&'static str] {
        match self {
            Function::Scheduler => &[
                "sts:AssumeRole",
                "ssm:GetParameters",
                "sagemaker:Search",
                "sagemaker:ListInferenceComponents",
                "sagemaker:DescribeInferenceComponent",
                "sagemaker:UpdateInferenceComponentRuntimeConfig",
                "sagemaker:AddTags",
                "tag:GetResources",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeModel",
                "sagemaker:ListTags",
                "sagemaker:DeleteTags",
                "sagemaker:DeleteEndpoint",
                "sagemaker:GetEndpointPolicy",
                "sagemaker:PutEndpointPolicy",
                "sagemaker:UpdateEndpointWeightsAndCapacities",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:DescribeScalingPolicies",
                "application-autoscaling:DescribeScheduledActions",
                "application-autoscaling:ListTagsForResource",
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:PutScheduledAction",
                "application-autoscaling:TagResource",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:SetAlarmState",
                "cloudwatch:PutMetricData",
                "lambda:InvokeFunction",
                "events:PutEvents",
            ],
            Function::PoolMetrics => &[
                "sts:AssumeRole",
                "ssm:GetParameters",
                "lambda:InvokeFunction",
                "sagemaker:Search",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "cloudwatch:GetMetricData",
                "cloudwatch:PutMetricData",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "application-autoscaling:DescribeScalingPolicies",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:DeleteScalingPolicy",
                "events:PutEvents",
            ],
            Function::Sleeper => &[
                "sts:AssumeRole",
                "ssm:GetParameters",
                "sagemaker:DescribeInferenceComponent",
                "sagemaker:UpdateInferenceComponentRuntimeConfig",
                "sagemaker:AddTags",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeModel",
                "sagemaker:GetEndpointPolicy",
                "sagemaker:ListTags",
                "sagemaker:DeleteEndpoint",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "cloudwatch:GetMetricData",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:SetAlarmState",
                "cloudwatch:PutMetricData",
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:DescribeScalingPolicies",
                "application-autoscaling:DescribeScheduledActions",
                "application-autoscaling:ListTagsForResource",
                "application-autoscaling:RegisterScalableTarget",
                "events:PutEvents",
            ],
            Function::Waker => &[
                "sts:AssumeRole",
                "ssm:GetParameters",
                "sagemaker:DescribeInferenceComponent",
                "sagemaker:UpdateInferenceComponentRuntimeConfig",
                "sagemaker:AddTags",
                "application-autoscaling:RegisterScalableTarget",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeModel",
                "sagemaker:ListTags",
                "sagemaker:CreateEndpoint",
                "sagemaker:CreateEndpointConfig",
                "sagemaker:CreateModel",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:PutMetricData",
                "events:PutEvents",
            ],
            Function::Restorer => &[
                "sts:AssumeRole",
                "ssm:GetParameters",
                "sagemaker:DescribeEndpoint",
                "sagemaker:ListTags",
                "sagemaker:PutEndpointPolicy",
                "sagemaker:UpdateEndpointWeightsAndCapacities",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:PutScheduledAction",
                "application-autoscaling:TagResource",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:PutMetricData",
                "events:PutEvents",
            ],
            Function::Remediator => &[
                "sts:AssumeRole",
                "ssm:GetParameters",
                "sagemaker:DescribeEndpoint",
                "sagemaker:ListInferenceComponents",
                "sagemaker:DescribeInferenceComponent",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeModel",
                "sagemaker:ListTags",
                "sagemaker:CreateEndpoint",
                "sagemaker:CreateEndpointConfig",
                "sagemaker:CreateModel",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:PutMetricData",
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:RegisterScalableTarget",
                "events:PutEvents",
            ],
        }
    }

    /// Its calls that act on inference components' scalable targets only: AWS checks the
    /// component's actions for them (`COMPONENT_CHECKS`), not an endpoint's. The waker
    /// registers a target only to give a woken component its bounds back.
    fn on_components_only(self) -> &'static [&'static str] {
        match self {
            Function::Waker => &["application-autoscaling:RegisterScalableTarget"],
            _ => &[],
        }
    }

    /// Actions the function never calls but AWS checks it could, because of the calls it makes
    /// (see `CHECKED_FOR`); the scheduler (idle alarms, scale-from-zero alarms) and
    /// pool-metrics (scale-out alarms) also create alarms with tags, which CloudWatch checks as
    /// `TagResource`.
    pub fn checked_on_its_behalf(self) -> Vec<&'static str> {
        let calls = self.calls();
        let mut checked: Vec<&str> = Vec::new();
        let components_only = self.on_components_only();
        let mut asked: Vec<&str> = calls
            .iter()
            .filter(|c| !components_only.contains(c))
            .copied()
            .collect();
        while let Some(call) = asked.pop() {
            for (_, implied) in CHECKED_FOR.iter().filter(|(c, _)| *c == call) {
                for action in *implied {
                    if !checked.contains(action) {
                        checked.push(action);
                        asked.push(action);
                    }
                }
            }
        }
        if matches!(self, Function::Scheduler | Function::PoolMetrics) {
            checked.push("cloudwatch:TagResource");
        }
        if matches!(
            self,
            Function::Scheduler | Function::Remediator | Function::Sleeper | Function::Waker
        ) {
            checked.extend(COMPONENT_CHECKS);
        }
        if !components_only.is_empty() {
            // A component's target needs Application Auto Scaling's service-linked role too.
            checked.push("iam:CreateServiceLinkedRole");
        }
        checked.retain(|c| !calls.contains(c));
        checked.sort_unstable();
        checked.dedup();
        checked
    }
}

/// The services whose calls act on a managed account's own resources: in a spoke account (see
/// `spoke.yaml`) they go through the role the spoke gives the function there. The table, the
/// configuration, the waker and the action events stay the hub's.
const SPOKE_SERVICES: [&str; 6] = [
    "sagemaker",
    "application-autoscaling",
    "cloudwatch",
    "tag",
    "iam",
    "kms",
];

impl Function {
    /// Whether `action` (as IAM names it) is made in the account and region of the endpoint
    /// acted on rather than the hub's. Of the metrics, only pool-metrics' (`FleetUtilization`,
    /// `BacklogPerCapacity`) belong beside their endpoint, whose scaling policies track them;
    /// what the functions did is published where the dashboard is, in the hub.
    pub fn acts_in_spoke(self, action: &str) -> bool {
        let service = action
            .split_once(':')
            .map_or(action, |(service, _)| service);
        SPOKE_SERVICES.contains(&service)
            && (action != "cloudwatch:PutMetricData" || self == Function::PoolMetrics)
    }

    /// What the function's role in a spoke account must allow: its calls and the checks AWS
    /// makes on its behalf that [`Self::acts_in_spoke`].
    pub fn spoke_actions(self) -> Vec<&'static str> {
        let mut actions: Vec<&str> = self
            .calls()
            .iter()
            .copied()
            .chain(self.checked_on_its_behalf())
            .filter(|action| self.acts_in_spoke(action))
            .collect();
        actions.sort_unstable();
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_user_agent_names_the_function() {
        for f in Function::ALL {
            assert_eq!(Function::from_name(f.name()), Some(f));
            let ua = format!(
                "aws-sdk-rust/1.3 os/linux lang/rust/1.95 app/{}",
                f.app_name()
            );
            assert_eq!(Function::from_user_agent(&ua), Some(f));
        }
        assert_eq!(
            Function::from_user_agent("aws-sdk-rust/1.3 app/other"),
            None
        );
        assert_eq!(Function::from_user_agent("aws-sdk-rust/1.3"), None);
    }

    #[test]
    fn what_a_delete_asks_of_application_auto_scaling_is_checked_transitively() {
        let checked = Function::Sleeper.checked_on_its_behalf();
        for action in [
            "application-autoscaling:DeregisterScalableTarget",
            "application-autoscaling:DeleteScalingPolicy",
            "cloudwatch:DeleteAlarms",
            "sagemaker:UpdateEndpointWeightsAndCapacities",
        ] {
            assert!(checked.contains(&action), "{action} in {checked:?}");
        }
        assert!(
            Function::Waker
                .checked_on_its_behalf()
                .contains(&"iam:PassRole")
        );
    }

    #[test]
    fn a_spoke_role_holds_the_endpoint_side_and_nothing_of_the_hubs() {
        let scheduler = Function::Scheduler.spoke_actions();
        for hub in [
            "dynamodb:Query",
            "ssm:GetParameters",
            "lambda:InvokeFunction",
            "events:PutEvents",
            "cloudwatch:PutMetricData",
        ] {
            assert!(!scheduler.contains(&hub), "{hub} in {scheduler:?}");
        }
        for spoke in [
            "sagemaker:Search",
            "application-autoscaling:RegisterScalableTarget",
            "iam:CreateServiceLinkedRole",
        ] {
            assert!(scheduler.contains(&spoke), "{spoke} not in {scheduler:?}");
        }
        assert!(
            Function::PoolMetrics
                .spoke_actions()
                .contains(&"cloudwatch:PutMetricData")
        );
    }

    #[test]
    fn no_action_is_both_called_and_only_checked() {
        for f in Function::ALL {
            let calls = f.calls();
            assert!(f.checked_on_its_behalf().iter().all(|c| !calls.contains(c)));
        }
    }
}
