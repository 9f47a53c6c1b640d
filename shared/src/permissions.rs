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

/// What AWS checks that a function could do itself when it makes one of these calls: Application
/// Auto Scaling checks its caller's rights on the SageMaker variant (and on the alarms of target
/// tracking) before its service-linked role acts; SageMaker checks `AddTags` for the tags of a
/// CreateEndpoint and `DeregisterScalableTarget` for the targets a DeleteEndpoint drops.
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
    ("sagemaker:CreateEndpoint", &["sagemaker:AddTags"]),
    (
        "sagemaker:DeleteEndpoint",
        &["application-autoscaling:DeregisterScalableTarget"],
    ),
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

    /// Every AWS action the function's code calls, as IAM names it.
    pub fn calls(self) -> &'static [&'static str] {
        match self {
            Function::Scheduler => &[
                "ssm:GetParameter",
                "sagemaker:Search",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:ListTags",
                "sagemaker:DeleteTags",
                "sagemaker:DeleteEndpoint",
                "sagemaker:CreateEndpoint",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:DescribeScalingPolicies",
                "application-autoscaling:DescribeScheduledActions",
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:PutScheduledAction",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
            ],
            Function::PoolMetrics => &[
                "sagemaker:Search",
                "sagemaker:DescribeEndpointConfig",
                "cloudwatch:GetMetricData",
                "cloudwatch:PutMetricData",
                "application-autoscaling:DescribeScalingPolicies",
                "application-autoscaling:PutScalingPolicy",
            ],
            Function::Sleeper => &[
                "ssm:GetParameter",
                "sagemaker:DescribeEndpoint",
                "sagemaker:ListTags",
                "sagemaker:DeleteEndpoint",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "cloudwatch:GetMetricData",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:SetAlarmState",
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:DescribeScalingPolicies",
                "application-autoscaling:DescribeScheduledActions",
            ],
            Function::Waker => &[
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:ListTags",
                "sagemaker:CreateEndpoint",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
            ],
            Function::Restorer => &[
                "sagemaker:DescribeEndpoint",
                "sagemaker:ListTags",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:PutScheduledAction",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:PutMetricAlarm",
            ],
            Function::Remediator => &[
                "ssm:GetParameter",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:ListTags",
                "sagemaker:CreateEndpoint",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "cloudwatch:ListTagsForResource",
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:RegisterScalableTarget",
            ],
        }
    }

    /// Actions the function never calls but AWS checks it could, because of the calls it makes
    /// (see `CHECKED_FOR`); the scheduler also creates its idle alarms with tags, which
    /// CloudWatch checks as `TagResource`.
    pub fn checked_on_its_behalf(self) -> Vec<&'static str> {
        let calls = self.calls();
        let mut checked: Vec<&str> = CHECKED_FOR
            .iter()
            .filter(|(call, _)| calls.contains(call))
            .flat_map(|(_, implied)| implied.iter().copied())
            .collect();
        if self == Function::Scheduler {
            checked.push("cloudwatch:TagResource");
        }
        checked.retain(|c| !calls.contains(c));
        checked.sort_unstable();
        checked.dedup();
        checked
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
    fn no_action_is_both_called_and_only_checked() {
        for f in Function::ALL {
            let calls = f.calls();
            assert!(f.checked_on_its_behalf().iter().all(|c| !calls.contains(c)));
        }
    }
}
