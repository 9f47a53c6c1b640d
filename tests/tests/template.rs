//! template.yaml: cfn-lint clean, its example configuration valid, and every function's role
//! exactly as broad as the function needs.

use std::collections::BTreeSet;
use std::process::Command;

use sagetide::config::Config;
use sagetide::permissions::Function;
use sagetide_tests::{iam, proxy, spoke, workspace_root};
use serde_yaml_ng::Value;

fn template() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

#[test]
fn cfn_lint_finds_nothing() {
    let root = workspace_root();
    let cfn_lint = root.join(".venv/bin/cfn-lint");
    assert!(
        cfn_lint.exists(),
        "{} is missing: run scripts/bootstrap",
        cfn_lint.display()
    );
    for file in ["template.yaml", "spoke.yaml"] {
        let out = Command::new(&cfn_lint)
            .arg(file)
            .current_dir(&root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cfn-lint {file}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_default_configuration_document_is_valid() {
    let template = template();
    let document = template["Parameters"]["ConfigDocument"]["Default"]
        .as_str()
        .expect("a default configuration document");
    let config = Config::parse(document).unwrap();
    assert!(config.schedule("office-hours").is_some());
    assert!(config.rule("hold-on-5xx").is_some());
}

#[test]
fn every_function_is_an_arm64_cargo_lambda_build_of_a_workspace_binary() {
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    let functions: Vec<&Value> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::Serverless::Function")
        .collect();
    assert!(!functions.is_empty());
    for f in functions {
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda");
        let binary = f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        assert!(
            workspace_root()
                .join("functions")
                .join(binary)
                .join("Cargo.toml")
                .exists(),
            "no functions/{binary}"
        );
    }
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"][0], "arm64");
}

#[test]
fn every_function_binary_is_deployed() {
    let template = template();
    let deployed: Vec<String> = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter_map(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str())
        .map(str::to_owned)
        .collect();
    for entry in std::fs::read_dir(workspace_root().join("functions")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            deployed.contains(&name),
            "functions/{name} is not in template.yaml"
        );
    }
}

/// A statement's actions, whether written as one string or a list.
fn actions(statement: &Value) -> Vec<&str> {
    match &statement["Action"] {
        Value::String(one) => vec![one.as_str()],
        Value::Sequence(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Mutating SageMaker actions that cannot carry a tag condition: Application Auto Scaling
/// checks them on the function's behalf against the variant or component it scales, where only
/// the caller's rights count (the restorer also calls the first, on an endpoint it has just
/// woken; the sleeper, waker and scheduler the second, on a component without a target).
const UNCONDITIONED_SAGEMAKER_WRITES: [&str; 2] = [
    "sagemaker:UpdateEndpointWeightsAndCapacities",
    "sagemaker:UpdateInferenceComponentRuntimeConfig",
];

/// The tags that opt a SageMaker resource in: the endpoint's two, the mark on models and
/// EndpointConfigs that a wake created again, and the sleep mark sagetide puts on inference
/// components that opted in.
const OPT_IN: [&str; 4] = [
    "sagetide:schedule",
    "sagetide:idle-after",
    sagetide::aws::definitions::RECREATED_FOR,
    sagetide::tags::SLEEP,
];

/// Every authorization a mutating SageMaker call on the endpoint `chat` (its config `chat-1`,
/// its model `chat-model`) needs, the endpoint and its definitions carrying `tag` (if any) and a
/// create setting it (if any), beside the owner's `team` tag. With `component`, the call is on
/// the inference component `llama` instead, and sets (or removes) the one tag sagetide writes
/// on a component.
fn sagemaker_write(action: &str, tag: Option<&str>, component: bool) -> Vec<iam::Request> {
    let deployment = iam::Deployment::harness();
    let (resource, own_tags) = if component {
        let asleep = serde_json::json!([{"Key": sagetide::tags::SLEEP, "Value": "x"}]);
        (
            deployment.arn("sagemaker", "inference-component/llama"),
            asleep,
        )
    } else {
        let mut tags = vec![serde_json::json!({"Key": "team", "Value": "ml"})];
        tags.extend(tag.map(|t| serde_json::json!({"Key": t, "Value": "x"})));
        (deployment.arn("sagemaker", "endpoint/chat"), tags.into())
    };
    let tag_keys = if component {
        sagetide::tags::SLEEP
    } else {
        "sagetide:override"
    };
    let call = iam::Call(serde_json::json!({
        "EndpointName": "chat", "EndpointConfigName": "chat-1", "ModelName": "chat-model",
        "InferenceComponentName": "llama",
        "ResourceArn": resource, "TagKeys": [tag_keys], "Tags": own_tags,
        "ExecutionRoleArn": deployment.arn("iam", "role/chat").replace(":us-east-1:", "::"),
        "Policy": "{}", "DesiredWeightsAndCapacities": [],
    }));
    let mut requests = iam::authorizations(&deployment, action, &call);
    for request in &mut requests {
        if let Some(tag) = tag.filter(|_| request.resource.starts_with("arn:aws:sagemaker:")) {
            request
                .context
                .insert(format!("aws:ResourceTag/{tag}"), vec!["x".into()]);
        }
    }
    requests
}

#[test]
fn iam_itself_denies_every_mutating_sagemaker_call_on_an_endpoint_without_an_opt_in_tag() {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let roles = iam::roles(&text, &iam::Deployment::harness());
    let mut checked = Vec::new();
    for function in Function::ALL {
        let statements = roles.of(function);
        let writes = function.calls().iter().filter(|a| {
            a.starts_with("sagemaker:")
                && !proxy::is_read(a)
                && !UNCONDITIONED_SAGEMAKER_WRITES.contains(a)
        });
        for action in writes {
            // On an endpoint, and on an inference component: both opt in by their own tags.
            for component in [false, true] {
                let denied: Vec<_> = sagemaker_write(action, None, component)
                    .into_iter()
                    .filter(|r| !iam::decide(statements, r).allowed())
                    .collect();
                assert!(
                    !denied.is_empty(),
                    "{}: IAM allows {action} on an endpoint (or component: {component}) without an opt-in tag",
                    function.name()
                );
            }
            // The same call with the opt-in tag is allowed: the denial is the tag's doing.
            let allowed_by = OPT_IN.iter().find(|tag| {
                [false, true].iter().any(|component| {
                    sagemaker_write(action, Some(tag), *component)
                        .iter()
                        .all(|r| iam::decide(statements, r).allowed())
                })
            });
            assert!(
                allowed_by.is_some(),
                "{}: {action} is denied even with an opt-in tag: {:?}",
                function.name(),
                sagemaker_write(action, Some(OPT_IN[0]), false)
                    .iter()
                    .map(|r| (r.action.as_str(), iam::decide(statements, r)))
                    .collect::<Vec<_>>()
            );
            checked.push(format!("{} {action}", function.name()));
        }
    }
    assert!(checked.len() >= 11, "only {checked:?}");
}

#[test]
fn no_role_can_both_opt_an_endpoint_in_and_delete_one() {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let deployment = iam::Deployment::harness();
    let roles = iam::roles(&text, &deployment);
    let endpoint = deployment.arn("sagemaker", "endpoint/someone-elses");
    let mut deleters = Vec::new();
    for function in Function::ALL {
        let statements = roles.of(function);
        let allowed = |request: &iam::Request| iam::decide(statements, request).allowed();
        // An existing endpoint that did not opt in, given an opt-in tag; an opted-in one deleted.
        let tags = OPT_IN[..2].iter().any(|tag| {
            allowed(
                &iam::Request::new("sagemaker:AddTags", endpoint.clone())
                    .with(&format!("aws:RequestTag/{tag}"), ["x"])
                    .with("aws:TagKeys", [*tag]),
            )
        });
        let deletes = OPT_IN[..2].iter().any(|tag| {
            allowed(
                &iam::Request::new("sagemaker:DeleteEndpoint", endpoint.clone())
                    .with(&format!("aws:ResourceTag/{tag}"), ["x"]),
            )
        });
        assert!(
            !(tags && deletes),
            "{} may put an opt-in tag on an endpoint and then delete it",
            function.name()
        );
        if deletes {
            deleters.push(function.name());
        }
    }
    assert_eq!(deleters, ["scheduler", "sleeper"], "the roles that delete");
}

#[test]
fn the_only_alarms_not_sagetides_own_that_a_role_may_rewrite_are_those_tagged_for_it() {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let deployment = iam::Deployment::harness();
    let roles = iam::roles(&text, &deployment);
    let alarm = deployment.arn("cloudwatch", "alarm:owners-latency-alarm");
    let policy = deployment.arn(
        "autoscaling",
        "scalingPolicy:0f:resource/sagemaker/endpoint/chat/variant/AllTraffic:policyName/step-out",
    );
    // What a restore sends: the alarm's own actions, the re-created policy's among them.
    let repoint = |tag: Option<&str>| {
        let mut request = iam::Request::new("cloudwatch:PutMetricAlarm", alarm.clone()).with(
            "cloudwatch:AlarmActions",
            ["arn:aws:sns:us-east-1:123456789012:pager", &policy],
        );
        if let Some(value) = tag {
            request = request.with("aws:ResourceTag/sagetide:repoint", [value]);
        }
        request
    };
    let mut writers = Vec::new();
    for function in Function::ALL {
        let statements = roles.of(function);
        let allowed = |request: &iam::Request| iam::decide(statements, request).allowed();
        for untagged in [repoint(None), repoint(Some("false"))] {
            assert!(
                !allowed(&untagged),
                "{} may rewrite an alarm its owner did not tag sagetide:repoint=true: {:?}",
                function.name(),
                untagged.context
            );
        }
        // Its SNS actions or threshold, without a scaling action: not even a tagged one.
        let no_scaling = iam::Request::new("cloudwatch:PutMetricAlarm", alarm.clone())
            .with(
                "cloudwatch:AlarmActions",
                ["arn:aws:sns:us-east-1:123456789012:other"],
            )
            .with("aws:ResourceTag/sagetide:repoint", ["true"]);
        assert!(
            !allowed(&no_scaling),
            "{}: {:?}",
            function.name(),
            no_scaling
        );
        // Target tracking's alarms of other services (a DynamoDB table's, say): Application
        // Auto Scaling keeps a SageMaker variant's as TargetTracking-endpoint/….
        for name in [
            "TargetTracking-table/orders-AlarmHigh-1",
            "TargetTracking-anything",
        ] {
            let other = deployment.arn("cloudwatch", &format!("alarm:{name}"));
            for action in ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"] {
                let request = iam::Request::new(action, other.clone());
                assert!(
                    !allowed(&request),
                    "{} may {action} {name}",
                    function.name()
                );
            }
        }
        if allowed(&repoint(Some("true"))) {
            writers.push(function.name());
        }
    }
    assert_eq!(
        writers,
        ["scheduler", "restorer"],
        "the roles that re-point alarms"
    );
}

/// A function's IAM statements, by the binary it deploys. A statement under `Fn::If` counts as
/// granted: the deployment may switch it on.
fn statements(template: &Value) -> Vec<(Function, Vec<&Value>)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Serverless::Function")
        .map(|r| {
            let binary = r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
            let function = Function::from_name(binary).expect("a sagetide function");
            let statements = r["Properties"]["Policies"]
                .as_sequence()
                .into_iter()
                .flatten()
                .flat_map(|p| p["Statement"].as_sequence().into_iter().flatten())
                .map(|s| match s {
                    Value::Tagged(t) if t.tag == "If" => &t.value[1],
                    other => other,
                })
                .collect();
            (function, statements)
        })
        .collect()
}

#[test]
fn every_role_grants_exactly_what_its_function_calls_and_what_aws_checks_for_it() {
    let template = template();
    let roles = statements(&template);
    assert_eq!(roles.len(), Function::ALL.len());
    for (function, statements) in roles {
        let granted: BTreeSet<&str> = statements.iter().flat_map(|s| actions(s)).collect();
        for action in &granted {
            assert!(
                !action.contains('*'),
                "{}: wildcard action {action}",
                function.name()
            );
        }
        for statement in &statements {
            assert_eq!(statement["Effect"], "Allow");
            assert!(statement["NotAction"].is_null() && statement["NotResource"].is_null());
        }
        let needed: BTreeSet<&str> = function
            .calls()
            .iter()
            .copied()
            .chain(function.checked_on_its_behalf())
            .collect();
        let broader: Vec<_> = granted.difference(&needed).collect();
        let missing: Vec<_> = needed.difference(&granted).collect();
        assert!(
            broader.is_empty() && missing.is_empty(),
            "{}: granted but not needed {broader:?}; needed but not granted {missing:?}",
            function.name()
        );
    }
}

/// Actions that take no resource-level permissions, so `Resource: "*"` is the narrowest grant.
const ONLY_ON_EVERY_RESOURCE: [&str; 9] = [
    "sagemaker:Search",
    "sagemaker:ListInferenceComponents",
    "tag:GetResources",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:DescribeScheduledActions",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:GetMetricData",
    "cloudwatch:PutMetricData",
];

#[test]
fn resources_are_named_wherever_the_action_allows() {
    let template = template();
    for (function, statements) in statements(&template) {
        for statement in statements {
            let every = match &statement["Resource"] {
                Value::String(one) => one == "*",
                Value::Sequence(many) => many.iter().any(|r| r == "*"),
                _ => false,
            };
            if !every {
                continue;
            }
            for action in actions(statement) {
                assert!(
                    ONLY_ON_EVERY_RESOURCE.contains(&action),
                    "{}: {action} on every resource (statement {:?})",
                    function.name(),
                    statement["Sid"]
                );
            }
        }
    }
}

/// Every EventBridge rule of every function, as (binary, rule name, pattern).
fn rules(template: &Value) -> Vec<(String, String, &Value)> {
    let mut rules = Vec::new();
    for resource in template["Resources"].as_mapping().unwrap().values() {
        let Some(binary) = resource["Metadata"]["BuildProperties"]["Binary"].as_str() else {
            continue;
        };
        for (name, event) in resource["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            if event["Type"] == "EventBridgeRule" {
                let name = name.as_str().unwrap().to_owned();
                rules.push((binary.to_owned(), name, &event["Properties"]["Pattern"]));
            }
        }
    }
    rules
}

#[test]
fn the_rules_take_the_deployments_own_account_and_region_and_the_managed_ones() {
    let template = template();
    let rules = rules(&template);
    assert_eq!(rules.len(), 4, "{rules:?}");
    let single = iam::Deployment::harness();
    let mut hub = iam::Deployment::harness();
    hub.parameters.extend([
        (
            "ManagedAccountIds".to_owned(),
            "222222222222,333333333333".to_owned(),
        ),
        ("ManagedRegions".to_owned(), "eu-west-1".to_owned()),
    ]);
    for (function, rule, pattern) in &rules {
        let taken = |d: &iam::Deployment| {
            let pattern = d.json(&template, pattern);
            (pattern["account"].clone(), pattern["region"].clone())
        };
        assert_eq!(
            taken(&single),
            (
                serde_json::json!(["123456789012"]),
                serde_json::json!(["us-east-1"])
            ),
            "{function} rule {rule}, one account"
        );
        let expected = (
            serde_json::json!(["123456789012", "222222222222", "333333333333"]),
            serde_json::json!(["us-east-1", "eu-west-1"]),
        );
        assert_eq!(taken(&hub), expected, "{function} rule {rule}, a hub");
    }
    let spoke_events = &template["Resources"]["SpokeEvents"];
    assert_eq!(spoke_events["Condition"], "HasManagedAccounts");
    let statement = hub.json(&template, &spoke_events["Properties"]["Statement"]);
    assert_eq!(
        statement["Principal"]["AWS"],
        serde_json::json!(["222222222222", "333333333333"])
    );
    assert_eq!(statement["Action"], "events:PutEvents");
    assert_eq!(
        statement["Resource"],
        "arn:aws:events:us-east-1:123456789012:event-bus/default"
    );
}

#[test]
fn target_tracking_flips_do_not_reach_the_waker_and_a_storm_cannot_take_the_accounts_concurrency() {
    let template = template();
    let waker = &template["Resources"]["WakerFunction"]["Properties"];
    let pattern = &waker["Events"]["WakeAlarm"]["Properties"]["Pattern"];
    assert_eq!(
        pattern["detail"]["alarmName"][0]["anything-but"]["prefix"],
        "TargetTracking-"
    );
    // Small, but above the wakes a tick asks of it at once.
    let reserved = waker["ReservedConcurrentExecutions"].as_u64();
    assert!(
        reserved.is_some_and(|n| (sagetide::aws::CONCURRENCY as u64 + 1..=10).contains(&n)),
        "{reserved:?}"
    );
}

#[test]
fn the_table_expires_what_the_functions_mark_to_expire() {
    let template = template();
    let ttl = &template["Resources"]["Table"]["Properties"]["TimeToLiveSpecification"];
    assert_eq!(ttl["AttributeName"], sagetide::aws::table::EXPIRES_AT);
    assert_eq!(ttl["Enabled"], true);
}

#[test]
fn one_deployment_per_account_and_region_is_enforced_by_a_fixed_name() {
    let template = template();
    let marker = &template["Resources"]["DeploymentMarker"];
    assert_eq!(marker["Type"], "AWS::SSM::Parameter");
    assert_eq!(
        marker["Properties"]["Name"],
        sagetide::config::DEPLOYMENT_MARKER
    );
    let deployment =
        &template["Globals"]["Function"]["Environment"]["Variables"]["SAGETIDE_DEPLOYMENT"];
    let stack =
        |v: &Value| matches!(v, Value::Tagged(t) if t.tag == "Ref" && t.value == "AWS::StackName");
    assert!(stack(deployment), "{deployment:?}");
    assert!(stack(&marker["Properties"]["Value"]));
}

#[test]
fn actions_are_announced_on_the_configured_bus_and_the_example_rule_takes_only_this_deployments_failures()
 {
    let template = template();
    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    let reference = |value: &Value| match value {
        Value::Tagged(t) if t.tag == "Ref" => t.value.as_str().map(str::to_owned),
        _ => None,
    };
    assert_eq!(
        reference(&variables["SAGETIDE_EVENT_BUS"]).as_deref(),
        Some("EventBusName")
    );
    let rule = &template["Resources"]["FailedActionsRule"]["Properties"];
    assert_eq!(
        reference(&rule["EventBusName"]).as_deref(),
        Some("EventBusName")
    );
    let pattern = &rule["EventPattern"];
    let only = |value: &Value| match value {
        Value::Sequence(one) if one.len() == 1 => {
            reference(&one[0]).or_else(|| one[0].as_str().map(str::to_owned))
        }
        _ => None,
    };
    assert_eq!(
        only(&pattern["source"]).as_deref(),
        Some(sagetide::aws::events::SOURCE)
    );
    assert_eq!(
        only(&pattern["detail-type"]).as_deref(),
        Some(sagetide::act::DETAIL_TYPE)
    );
    assert_eq!(
        only(&pattern["detail"]["outcome"]).as_deref(),
        Some("failed")
    );
    assert_eq!(only(&pattern["account"]).as_deref(), Some("AWS::AccountId"));
    assert_eq!(only(&pattern["region"]).as_deref(), Some("AWS::Region"));
}

#[test]
fn the_operator_policy_grants_exactly_what_the_command_line_calls_and_writes_nothing_but_two_requests()
 {
    let template = template();
    let statements =
        template["Resources"]["OperatorPolicy"]["Properties"]["PolicyDocument"]["Statement"]
            .as_sequence()
            .unwrap();
    let granted: BTreeSet<&str> = statements.iter().flat_map(actions).collect();
    let needed: BTreeSet<&str> = sagetide::permissions::OPERATOR_CALLS
        .iter()
        .copied()
        .collect();
    assert_eq!(granted, needed);
    for statement in statements {
        assert_eq!(statement["Effect"], "Allow");
    }
    let writes: Vec<&str> = granted
        .iter()
        .copied()
        .filter(|a| !proxy::is_read(a))
        .collect();
    assert_eq!(writes, ["lambda:InvokeFunction"]);
    // It invokes the sleeper and the waker, and no other function.
    let roles = iam::roles(
        &std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap(),
        &iam::Deployment::harness(),
    );
    let deployment = iam::Deployment::harness();
    for (function, allowed) in [
        ("sleeper", true),
        ("waker", true),
        ("scheduler", false),
        ("restorer", false),
        ("remediator", false),
    ] {
        let request = iam::Request::new(
            "lambda:InvokeFunction",
            deployment.arn(
                "lambda",
                &format!("function:{}-{function}", sagetide_tests::seed::DEPLOYMENT),
            ),
        );
        assert_eq!(
            iam::decide(roles.operator(), &request).allowed(),
            allowed,
            "{function}"
        );
    }
}

#[test]
fn the_scheduler_and_pool_metrics_queue_the_places_runs_on_themselves_and_nothing_else() {
    let template = template();
    let scheduler = &template["Resources"]["SchedulerFunction"]["Properties"];
    assert_eq!(
        scheduler["ReservedConcurrentExecutions"],
        serde_yaml_ng::from_str::<Value>("!Ref MaxParallelPlaces").unwrap()
    );
    let roles = iam::harness_roles();
    let deployment = iam::Deployment::harness();
    let function = |name: &str| {
        deployment.arn(
            "lambda",
            &format!("function:{}-{name}", sagetide_tests::seed::DEPLOYMENT),
        )
    };
    for (invoked, by_scheduler, by_pool_metrics) in [
        (function("scheduler"), true, false),
        (format!("{}:live", function("scheduler")), true, false),
        (function("waker"), true, false),
        (function("pool-metrics"), false, true),
        (format!("{}:live", function("pool-metrics")), false, true),
        (function("sleeper"), false, false),
        (function("restorer"), false, false),
        (function("schedulerx"), false, false),
    ] {
        let request = iam::Request::new("lambda:InvokeFunction", invoked.as_str());
        for (caller, allowed) in [
            (Function::Scheduler, by_scheduler),
            (Function::PoolMetrics, by_pool_metrics),
        ] {
            assert_eq!(
                iam::decide(roles.of(caller), &request).allowed(),
                allowed,
                "{} invoking {invoked}",
                caller.name()
            );
        }
    }
}

#[test]
fn the_dashboard_graphs_every_metric_of_what_the_functions_did_and_every_functions_errors() {
    let template = template();
    let body = match &template["Resources"]["Dashboard"]["Properties"]["DashboardBody"] {
        Value::Tagged(t) if t.tag == "Sub" => t.value.as_str().unwrap().to_owned(),
        other => panic!("DashboardBody is a !Sub string, not {other:?}"),
    };
    // What CloudFormation substitutes, stood in for: the body must then be JSON.
    let mut substituted = String::new();
    let mut rest = body.as_str();
    while let Some(start) = rest.find("${") {
        let end = start + rest[start..].find('}').unwrap();
        substituted.push_str(&rest[..start]);
        substituted.push_str(match &rest[start + 2..end] {
            "AWS::StackName" => "stack",
            _ => "x",
        });
        rest = &rest[end + 1..];
    }
    substituted.push_str(rest);
    let dashboard: serde_json::Value = serde_json::from_str(&substituted).expect("JSON");
    let mut sagetide_metrics = BTreeSet::new();
    let mut functions = BTreeSet::new();
    for widget in dashboard["widgets"].as_array().unwrap() {
        for line in widget["properties"]["metrics"].as_array().unwrap() {
            let line = line.as_array().unwrap();
            match (line[0].as_str(), line.get(1).and_then(|m| m.as_str())) {
                (Some("Sagetide"), Some(metric)) => {
                    sagetide_metrics.insert(metric.to_owned());
                }
                (Some("AWS/Lambda"), Some("Errors")) => {
                    let name = line[3].as_str().unwrap();
                    functions.insert(name.strip_prefix("stack-").unwrap().to_owned());
                }
                _ => {}
            }
            let Some(expression) = line[0]["expression"].as_str() else {
                continue;
            };
            if expression.contains("{Sagetide,") {
                let named = expression.split("MetricName=\"").nth(1).unwrap();
                sagetide_metrics.insert(named.split('"').next().unwrap().to_owned());
            }
        }
    }
    // pool-metrics' own series (FleetUtilization, BacklogPerCapacity) are scaling signals, not
    // part of what sagetide did.
    let published = [
        sagetide::act::ACTIONS,
        sagetide::act::MINIMUM_HELD,
        sagetide::act::INSTANCE_HOURS_BELOW_BASELINE,
        sagetide::aws::cloudwatch::WAKE_FAILURES,
        sagetide::aws::cloudwatch::PLACE_FAILURES,
    ];
    assert_eq!(
        sagetide_metrics,
        published.iter().map(|m| m.to_string()).collect()
    );
    assert_eq!(
        functions,
        Function::ALL.iter().map(|f| f.name().to_owned()).collect()
    );
}

const HUB: &str = "111111111111";
const SPOKE: &str = "222222222222";
const EXTERNAL_ID: &str = "sagetide-hub-7f3a";

fn spoke_text() -> String {
    std::fs::read_to_string(workspace_root().join("spoke.yaml")).unwrap()
}

/// A spoke stack in account `SPOKE`, region eu-west-1, for the hub in `HUB`, us-east-1.
fn spoke_deployment() -> iam::Deployment {
    spoke::deployment(
        (SPOKE, "eu-west-1"),
        (HUB, "us-east-1", "sagetide"),
        EXTERNAL_ID,
    )
}

#[test]
fn spoke_yaml_is_what_the_hubs_template_makes_of_it() {
    let hub = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    assert!(
        spoke_text() == spoke::template(&hub),
        "spoke.yaml is stale: run `cargo run -p sagetide-tests --bin spoke-template`"
    );
}

#[test]
fn every_spoke_role_grants_exactly_its_functions_calls_on_the_managed_accounts_own_resources() {
    let roles = iam::spoke_roles(&spoke_text(), &spoke_deployment());
    assert_eq!(roles.len(), Function::ALL.len());
    for function in Function::ALL {
        let role = &roles[function.name()];
        assert_eq!(
            role.name,
            format!("sagetide-spoke-eu-west-1-{}", function.name())
        );
        let granted: BTreeSet<&str> = role
            .statements
            .iter()
            .flat_map(|s| s.actions.iter().map(String::as_str))
            .collect();
        let needed: BTreeSet<&str> = function.spoke_actions().into_iter().collect();
        assert_eq!(granted, needed, "{}", function.name());
        for statement in &role.statements {
            for resource in &statement.resources {
                assert!(
                    resource == "*" || resource.contains(&format!(":{SPOKE}:")),
                    "{}: {} grants {resource}, outside the managed account",
                    function.name(),
                    statement.sid
                );
                assert!(
                    resource == "*"
                        || resource.starts_with("arn:aws:iam::")
                        || resource.contains(":eu-west-1:"),
                    "{}: {} grants {resource}, outside the spoke's region",
                    function.name(),
                    statement.sid
                );
            }
        }
    }
}

#[test]
fn a_spoke_role_trusts_only_the_hubs_function_of_its_name_presenting_the_external_id() {
    let roles = iam::spoke_roles(&spoke_text(), &spoke_deployment());
    let assume = |role: &iam::SpokeRole, account: &str, principal: &str, external: Option<&str>| {
        let mut request = iam::Request::new("sts:AssumeRole", "*")
            .with("aws:PrincipalArn", [principal.to_owned()]);
        if let Some(id) = external {
            request = request.with("sts:ExternalId", [id.to_owned()]);
        }
        role.trust.iter().any(|(principals, statement)| {
            principals.contains(&format!("arn:aws:iam::{account}:root"))
                && iam::decide(std::slice::from_ref(statement), &request).allowed()
        })
    };
    // A role as SAM names it in a hub stack `stack` of `account`, at the path template.yaml
    // gives it.
    let hub_template = template();
    let hub_role = |account: &str, stack: &str, function: Function| {
        let hub = iam::Deployment {
            account: account.into(),
            stack: stack.into(),
            ..iam::Deployment::harness()
        };
        let (path, name) = spoke::hub_role(&hub_template, &hub, function);
        format!("arn:aws:iam::{account}:role{path}{name}")
    };
    for function in Function::ALL {
        let role = &roles[function.name()];
        for caller in Function::ALL {
            assert_eq!(
                assume(
                    role,
                    HUB,
                    &hub_role(HUB, "sagetide", caller),
                    Some(EXTERNAL_ID)
                ),
                caller == function,
                "the hub's {} assuming the spoke's {} role",
                caller.name(),
                function.name()
            );
        }
        let own = hub_role(HUB, "sagetide", function);
        assert!(!assume(role, HUB, &own, None), "without the external id");
        assert!(!assume(role, HUB, &own, Some("guessed")), "with another");
        assert!(
            !assume(
                role,
                HUB,
                &format!("arn:aws:iam::{HUB}:role/admin"),
                Some(EXTERNAL_ID)
            ),
            "another role of the hub account"
        );
        assert!(
            !assume(
                role,
                HUB,
                &hub_role(HUB, "sagetide-staging", function),
                Some(EXTERNAL_ID)
            ),
            "another sagetide stack of the hub account"
        );
        let elsewhere = hub_role("333333333333", "sagetide", function);
        assert!(
            !assume(role, "333333333333", &elsewhere, Some(EXTERNAL_ID)),
            "the same role path in another account"
        );
    }
}

/// EventBridge's matching for the parts of patterns the templates use: exact values, `prefix`
/// and `anything-but` a prefix, nested objects.
fn event_matches(pattern: &serde_json::Value, event: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    pattern.as_object().unwrap().iter().all(|(key, wanted)| {
        let value = &event[key];
        match wanted {
            J::Object(_) => event_matches(wanted, value),
            J::Array(alternatives) => alternatives.iter().any(|alternative| match alternative {
                J::String(_) => alternative == value,
                J::Object(rule) => {
                    let text = value.as_str().unwrap_or_default();
                    match (rule.get("prefix"), rule.get("anything-but")) {
                        (Some(prefix), None) => text.starts_with(prefix.as_str().unwrap()),
                        (None, Some(but)) => !text.starts_with(but["prefix"].as_str().unwrap()),
                        _ => panic!("{rule:?}: not modelled"),
                    }
                }
                other => panic!("{other:?}: not modelled"),
            }),
            other => panic!("{other:?}: not modelled"),
        }
    })
}

/// Every event `pattern` takes, one per combination of its lists' values: a prefix's value
/// the prefix and more, an `anything-but` one a name of the owner's.
fn examples(pattern: &serde_json::Value) -> Vec<serde_json::Value> {
    use serde_json::Value as J;
    match pattern {
        J::Object(map) => map.iter().fold(
            vec![J::Object(Default::default())],
            |events, (key, value)| {
                let values = examples(value);
                events
                    .iter()
                    .flat_map(|event| {
                        values.iter().map(move |v| {
                            let mut event = event.clone();
                            event[key] = v.clone();
                            event
                        })
                    })
                    .collect()
            },
        ),
        J::Array(alternatives) => alternatives
            .iter()
            .map(|alternative| match alternative {
                J::Object(rule) => match rule.get("prefix") {
                    Some(prefix) => format!("{}x", prefix.as_str().unwrap()).into(),
                    None => "an-alarm-of-the-owners".into(),
                },
                value => value.clone(),
            })
            .collect(),
        other => vec![other.clone()],
    }
}

#[test]
fn the_spoke_forwards_every_event_the_hubs_functions_take_and_no_target_tracking_flips() {
    let hub_template = template();
    let hub = iam::Deployment::harness();
    let spoke_template: Value = serde_yaml_ng::from_str(&spoke_text()).unwrap();
    let spoke = spoke_deployment();
    let forwards: Vec<(serde_json::Value, &Value)> = spoke_template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Events::Rule")
        .map(|r| {
            (
                spoke.json(&spoke_template, &r["Properties"]["EventPattern"]),
                &r["Properties"]["Targets"],
            )
        })
        .collect();
    assert_eq!(forwards.len(), 2);
    let resources = spoke_template["Resources"].as_mapping().unwrap();
    for (id, resource) in resources {
        if resource["Type"] == "AWS::Events::Rule" || id == "ForwardingRole" {
            assert_eq!(resource["Condition"], "ForwardsElsewhere", "{id:?}");
        }
    }
    let forwarding = &spoke_template["Resources"]["ForwardingRole"]["Properties"];
    assert_eq!(
        forwarding["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "events.amazonaws.com"
    );
    let statements = &forwarding["Policies"][0]["PolicyDocument"]["Statement"];
    assert_eq!(statements.as_sequence().unwrap().len(), 1);
    assert_eq!(statements[0]["Action"], "events:PutEvents");
    assert_eq!(
        spoke.strings(&spoke_template, &statements[0]["Resource"]),
        [format!("arn:aws:events:us-east-1:{HUB}:event-bus/default")]
    );
    for (_, targets) in &forwards {
        let target = &targets[0];
        assert_eq!(
            spoke.strings(&spoke_template, &target["Arn"]),
            [format!("arn:aws:events:us-east-1:{HUB}:event-bus/default")]
        );
        assert!(
            !target["RoleArn"].is_null(),
            "a cross-account target needs a role"
        );
    }
    let forwarded = |event: &serde_json::Value| {
        forwards
            .iter()
            .any(|(pattern, _)| event_matches(pattern, event))
    };
    let mut taken = 0;
    for (function, rule, pattern) in rules(&hub_template) {
        for mut event in examples(&hub.json(&hub_template, pattern)) {
            // As the spoke's own bus sees it: this checks the spoke's half (the hub's rules, with
            // the managed accounts and regions, are checked on their own).
            event["account"] = SPOKE.into();
            event["region"] = "eu-west-1".into();
            assert!(forwarded(&event), "{function}'s {rule}: {event}");
            taken += 1;
        }
    }
    // The remediator's OK as well as every ALARM.
    assert_eq!(taken, 5);
    let flip = serde_json::json!({
        "source": "aws.cloudwatch", "account": SPOKE,
        "detail-type": "CloudWatch Alarm State Change",
        "detail": {"alarmName": "TargetTracking-endpoint/chat-AlarmHigh-1", "state": {"value": "ALARM"}}
    });
    assert!(!forwarded(&flip));
}

#[test]
fn a_hub_function_may_assume_its_own_spoke_roles_and_no_other_role() {
    let roles = iam::harness_roles();
    let spoke_role = |prefix: &str, region: &str, function: Function| {
        format!(
            "arn:aws:iam::222222222222:role/{prefix}-{region}-{}",
            function.name()
        )
    };
    for caller in Function::ALL {
        let acts_in_spokes = caller.calls().contains(&"sts:AssumeRole");
        for role_of in Function::ALL {
            for region in ["us-east-1", "eu-west-1"] {
                let role = spoke_role("sagetide-spoke", region, role_of);
                let request = iam::Request::new("sts:AssumeRole", role.as_str());
                assert_eq!(
                    iam::decide(roles.of(caller), &request).allowed(),
                    acts_in_spokes && caller == role_of,
                    "{} assuming {role}",
                    caller.name()
                );
            }
        }
        let other = [
            spoke_role("another-prefix", "eu-west-1", caller),
            "arn:aws:iam::222222222222:role/Administrator".to_owned(),
        ];
        for role in other {
            let request = iam::Request::new("sts:AssumeRole", role.as_str());
            assert!(
                !iam::decide(roles.of(caller), &request).allowed(),
                "{} assuming {role}",
                caller.name()
            );
        }
    }
    let assumers: Vec<&str> = Function::ALL
        .iter()
        .filter(|f| f.calls().contains(&"sts:AssumeRole"))
        .map(|f| f.name())
        .collect();
    assert_eq!(
        assumers,
        [
            "scheduler",
            "pool-metrics",
            "sleeper",
            "waker",
            "restorer",
            "remediator"
        ]
    );
}
