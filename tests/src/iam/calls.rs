//! What IAM is asked when a function makes one AWS call: the call's own action on the resource
//! it names, with the condition keys its request carries, and the checks AWS makes on the
//! caller's behalf (see `sagetide::permissions`), each with its own resource. Resource tags are
//! not here: the proxy reads them from moto only when a statement would look at them.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::Value;

use super::{Deployment, Request};

/// A call's parameters: the JSON protocols' body, CloudWatch's CBOR read as JSON, or the
/// fields of an awsQuery form (STS's) but its `Action` and `Version`, as strings.
pub struct Call(pub Value);

impl Call {
    pub fn parse(headers: &hyper::HeaderMap, body: &Bytes) -> Self {
        if crate::cbor::is_cbor(headers) {
            Call(crate::cbor::to_json(body))
        } else if is_query(headers) {
            Call(
                form(body)
                    .into_iter()
                    .filter(|(key, _)| key != "Action" && key != "Version")
                    .map(|(key, value)| (key, Value::String(value)))
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
            )
        } else {
            Call(serde_json::from_slice(body).unwrap_or(Value::Null))
        }
    }

    fn string(&self, field: &str) -> Option<String> {
        self.0[field].as_str().map(str::to_owned)
    }

    fn strings(&self, field: &str) -> Vec<String> {
        self.0[field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    }

    /// The tags a request sets: SageMaker's and CloudWatch's `[{Key, Value}]`, Application
    /// Auto Scaling's `{key: value}`.
    fn tags(&self) -> BTreeMap<String, String> {
        match &self.0["Tags"] {
            Value::Array(tags) => tags
                .iter()
                .filter_map(|t| {
                    Some((
                        t["Key"].as_str()?.to_owned(),
                        t["Value"].as_str().unwrap_or("").to_owned(),
                    ))
                })
                .collect(),
            Value::Object(tags) => tags
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect(),
            _ => BTreeMap::new(),
        }
    }
}

/// Whether a request speaks the awsQuery protocol (STS's, in the SDK): a form body that names
/// its `Action`, and no `X-Amz-Target`.
pub fn is_query(headers: &hyper::HeaderMap) -> bool {
    headers
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// The fields of an `application/x-www-form-urlencoded` body, in order, decoded.
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|field| !field.is_empty())
        .map(|field| {
            let (key, value) = field.split_once('=').unwrap_or((field, ""));
            (percent_decoded(key), percent_decoded(value))
        })
        .collect()
}

/// A form's text as it was: `+` a space, `%XX` the byte XX; anything else as it stands.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // Two hex digits, checked first: from_str_radix would also take a sign.
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match (bytes[i], escaped) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `aws:RequestTag/…` and `aws:TagKeys` for the tags a request sets, if it sets any.
fn with_request_tags(mut request: Request, tags: &BTreeMap<String, String>) -> Request {
    if tags.is_empty() {
        return request;
    }
    for (key, value) in tags {
        request = request.with(&format!("aws:RequestTag/{key}"), [value.clone()]);
    }
    request.with("aws:TagKeys", tags.keys().cloned())
}

/// A scalable target's ARN ends in an id that Application Auto Scaling assigns; the roles grant
/// `scalable-target/*`, so any stable id stands for it.
fn scalable_target(d: &Deployment, service: &str, resource_id: &str, dimension: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("{service}|{resource_id}|{dimension}").bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    d.arn(
        "application-autoscaling",
        &format!("scalable-target/{hash:016x}"),
    )
}

/// The SageMaker endpoint a scalable target's `ResourceId` (`endpoint/E/variant/V`) is on.
fn endpoint_of(d: &Deployment, resource_id: &str) -> Option<String> {
    let name = resource_id.strip_prefix("endpoint/")?.split('/').next()?;
    Some(d.arn("sagemaker", &format!("endpoint/{name}")))
}

/// What Application Auto Scaling checks before it acts on a SageMaker variant or inference
/// component for the caller.
fn target_checks(d: &Deployment, resource_id: &str) -> Vec<Request> {
    if let Some(component) = resource_id.strip_prefix("inference-component/") {
        let component = d.arn("sagemaker", &format!("inference-component/{component}"));
        return [
            "sagemaker:DescribeInferenceComponent",
            "sagemaker:UpdateInferenceComponentRuntimeConfig",
        ]
        .map(|a| Request::new(a, component.clone()))
        .to_vec();
    }
    endpoint_of(d, resource_id)
        .map(|endpoint| {
            [
                "sagemaker:DescribeEndpoint",
                "sagemaker:UpdateEndpointWeightsAndCapacities",
            ]
            .map(|a| Request::new(a, endpoint.clone()))
            .to_vec()
        })
        .unwrap_or_default()
}

/// Every authorization `operation` (`service:Operation`) needs, given its parameters.
pub fn authorizations(d: &Deployment, operation: &str, call: &Call) -> Vec<Request> {
    let (service, op) = operation.split_once(':').unwrap_or(("unknown", operation));
    let name = |field: &str| call.string(field).unwrap_or_default();
    let sagemaker =
        |kind: &str, field: &str| d.arn("sagemaker", &format!("{kind}/{}", name(field)));
    let one = |resource: String| vec![Request::new(operation, resource)];
    match (service, op) {
        ("ssm", _) => call
            .strings("Names")
            .iter()
            .map(|n| {
                let path = if n.starts_with('/') {
                    n.clone()
                } else {
                    format!("/{n}")
                };
                Request::new(operation, d.arn("ssm", &format!("parameter{path}")))
            })
            .collect(),
        ("dynamodb", _) => {
            let table = format!("table/{}", name("TableName"));
            one(d.arn(
                "dynamodb",
                &match call.string("IndexName") {
                    Some(index) => format!("{table}/index/{index}"),
                    None => table,
                },
            ))
        }
        ("sagemaker", "Search" | "ListInferenceComponents") | ("tag", "GetResources") => {
            one("*".into())
        }
        ("sagemaker", "ListTags" | "AddTags") => {
            vec![with_request_tags(
                Request::new(operation, name("ResourceArn")),
                &call.tags(),
            )]
        }
        ("sagemaker", "DeleteTags") => {
            vec![
                Request::new(operation, name("ResourceArn"))
                    .with("aws:TagKeys", call.strings("TagKeys")),
            ]
        }
        ("sagemaker", "CreateEndpoint") => {
            let tags = call.tags();
            let endpoint = sagemaker("endpoint", "EndpointName");
            let mut requests = vec![
                with_request_tags(Request::new(operation, endpoint.clone()), &tags),
                with_request_tags(
                    Request::new(
                        operation,
                        sagemaker("endpoint-config", "EndpointConfigName"),
                    ),
                    &tags,
                ),
            ];
            if !tags.is_empty() {
                requests.push(with_request_tags(
                    Request::new("sagemaker:AddTags", endpoint),
                    &tags,
                ));
            }
            requests
        }
        ("sagemaker", "CreateEndpointConfig" | "CreateModel") => {
            let (kind, field) = if op == "CreateModel" {
                ("model", "ModelName")
            } else {
                ("endpoint-config", "EndpointConfigName")
            };
            let tags = call.tags();
            let resource = sagemaker(kind, field);
            let mut requests = vec![with_request_tags(
                Request::new(operation, resource.clone()),
                &tags,
            )];
            if !tags.is_empty() {
                requests.push(with_request_tags(
                    Request::new("sagemaker:AddTags", resource),
                    &tags,
                ));
            }
            if let Some(role) = call.string("ExecutionRoleArn") {
                requests.push(
                    Request::new("iam:PassRole", role)
                        .with("iam:PassedToService", ["sagemaker.amazonaws.com"]),
                );
            }
            requests
        }
        ("sagemaker", "DeleteEndpoint") => {
            // The endpoint's scalable targets go with it, for a caller who may remove them.
            let target = scalable_target(
                d,
                "sagemaker",
                &format!("endpoint/{}", name("EndpointName")),
                "",
            );
            vec![
                Request::new(operation, sagemaker("endpoint", "EndpointName")),
                Request::new(
                    "application-autoscaling:DeregisterScalableTarget",
                    target.clone(),
                ),
                Request::new("application-autoscaling:DeleteScalingPolicy", target),
            ]
        }
        ("sagemaker", "DescribeEndpointConfig") => {
            one(sagemaker("endpoint-config", "EndpointConfigName"))
        }
        ("sagemaker", "DescribeModel") => one(sagemaker("model", "ModelName")),
        ("sagemaker", "DescribeInferenceComponent" | "UpdateInferenceComponentRuntimeConfig") => {
            one(sagemaker("inference-component", "InferenceComponentName"))
        }
        ("sagemaker", _) => one(sagemaker("endpoint", "EndpointName")),
        ("application-autoscaling", op) if op.starts_with("Describe") => one("*".into()),
        ("application-autoscaling", "TagResource" | "ListTagsForResource") => {
            vec![with_request_tags(
                Request::new(operation, name("ResourceARN")),
                &call.tags(),
            )]
        }
        ("application-autoscaling", _) => {
            let resource_id = name("ResourceId");
            let target = scalable_target(
                d,
                &name("ServiceNamespace"),
                &resource_id,
                &name("ScalableDimension"),
            );
            let mut requests = vec![with_request_tags(
                Request::new(operation, target),
                &call.tags(),
            )];
            match op {
                "RegisterScalableTarget" => {
                    requests.extend(target_checks(d, &resource_id));
                    requests.push(
                        Request::new(
                            "iam:CreateServiceLinkedRole",
                            format!(
                                "arn:aws:iam::{}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
                                d.account
                            ),
                        )
                        .with("iam:AWSServiceName", ["sagemaker.application-autoscaling.amazonaws.com"]),
                    );
                }
                "PutScalingPolicy" => {
                    requests.extend(target_checks(d, &resource_id));
                    if name("PolicyType") == "TargetTrackingScaling" {
                        // The alarms target tracking creates and replaces for the caller.
                        let alarm = d.arn(
                            "cloudwatch",
                            &format!("alarm:TargetTracking-{resource_id}-AlarmHigh-00000000"),
                        );
                        requests.extend(
                            ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"]
                                .map(|a| Request::new(a, alarm.clone())),
                        );
                        requests.push(Request::new("cloudwatch:DescribeAlarms", "*"));
                    }
                }
                "DeregisterScalableTarget" => requests.extend(target_checks(d, &resource_id)),
                _ => {}
            }
            requests
        }
        ("cloudwatch", "DescribeAlarms" | "GetMetricData") => one("*".into()),
        ("cloudwatch", "PutMetricData") => {
            vec![Request::new(operation, "*").with("cloudwatch:namespace", [name("Namespace")])]
        }
        ("cloudwatch", "DeleteAlarms") => call
            .strings("AlarmNames")
            .iter()
            .map(|a| Request::new(operation, d.arn("cloudwatch", &format!("alarm:{a}"))))
            .collect(),
        ("cloudwatch", "PutMetricAlarm") => {
            let alarm = d.arn("cloudwatch", &format!("alarm:{}", name("AlarmName")));
            let tags = call.tags();
            let mut put = with_request_tags(Request::new(operation, alarm.clone()), &tags);
            // The key holds the actions of every state change: "These actions can be
            // initiated when the alarm changes to any state, including ALARM, OK, or
            // INSUFFICIENT_DATA" (CloudWatch, Using condition keys to limit alarm actions).
            let actions: Vec<String> = ["AlarmActions", "OKActions", "InsufficientDataActions"]
                .iter()
                .flat_map(|list| call.strings(list))
                .collect();
            if !actions.is_empty() {
                put = put.with("cloudwatch:AlarmActions", actions);
            }
            let mut requests = vec![put];
            if !tags.is_empty() {
                requests.push(with_request_tags(
                    Request::new("cloudwatch:TagResource", alarm),
                    &tags,
                ));
            }
            requests
        }
        ("cloudwatch", "SetAlarmState") => {
            one(d.arn("cloudwatch", &format!("alarm:{}", name("AlarmName"))))
        }
        ("cloudwatch", "ListTagsForResource" | "TagResource") => {
            vec![with_request_tags(
                Request::new(operation, name("ResourceARN")),
                &call.tags(),
            )]
        }
        ("lambda", "InvokeFunction" | "GetFunctionConfiguration") => {
            let function = name("FunctionName");
            one(if function.starts_with("arn:") {
                function
            } else {
                d.arn("lambda", &format!("function:{function}"))
            })
        }
        // The role to assume; whether its trust admits the caller is moto's to judge
        // (tests/moto/truer/sts.py).
        ("sts", "AssumeRole") => one(name("RoleArn")),
        // Each entry names its bus (by name or ARN; none is the default bus).
        ("events", "PutEvents") => call.0["Entries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| {
                let bus = entry["EventBusName"].as_str().unwrap_or("default");
                Request::new(
                    operation,
                    if bus.starts_with("arn:") {
                        bus.to_owned()
                    } else {
                        d.arn("events", &format!("event-bus/{bus}"))
                    },
                )
            })
            .collect(),
        _ => panic!("the resource of {operation}: not modelled"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(value: Value) -> Call {
        Call(value)
    }

    #[test]
    fn a_create_with_tags_is_also_an_add_tags_with_the_request_tags() {
        let d = Deployment::harness();
        let call = json(serde_json::json!({
            "EndpointName": "chat", "EndpointConfigName": "chat-config",
            "Tags": [{"Key": "sagetide:schedule", "Value": "office"}, {"Key": "team", "Value": "ml"}]
        }));
        let requests = authorizations(&d, "sagemaker:CreateEndpoint", &call);
        let actions: Vec<_> = requests
            .iter()
            .map(|r| (r.action.as_str(), r.resource.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                (
                    "sagemaker:CreateEndpoint",
                    "arn:aws:sagemaker:us-east-1:123456789012:endpoint/chat"
                ),
                (
                    "sagemaker:CreateEndpoint",
                    "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/chat-config"
                ),
                (
                    "sagemaker:AddTags",
                    "arn:aws:sagemaker:us-east-1:123456789012:endpoint/chat"
                ),
            ]
        );
        assert_eq!(
            requests[2].context["aws:RequestTag/sagetide:schedule"],
            ["office"]
        );
        assert_eq!(
            requests[2].context["aws:TagKeys"],
            ["sagetide:schedule", "team"]
        );
    }

    #[test]
    fn a_cbor_put_metric_alarm_gives_the_actions_of_every_state_and_its_tags() {
        let mut e = minicbor::Encoder::new(Vec::new());
        e.map(4).unwrap();
        e.str("AlarmName")
            .unwrap()
            .str("sagetide-idle-chat/1")
            .unwrap();
        e.str("AlarmActions").unwrap().array(2).unwrap();
        e.str("arn:aws:sns:x")
            .unwrap()
            .str("arn:aws:autoscaling:p")
            .unwrap();
        e.str("OKActions").unwrap().array(1).unwrap();
        e.str("arn:aws:autoscaling:q").unwrap();
        e.str("Tags").unwrap().array(1).unwrap().map(2).unwrap();
        e.str("Key").unwrap().str("k").unwrap();
        e.str("Value").unwrap().str("v w").unwrap();
        let mut headers = hyper::HeaderMap::new();
        headers.insert("smithy-protocol", "rpc-v2-cbor".parse().unwrap());
        let call = Call::parse(&headers, &Bytes::from(e.into_writer()));
        let requests = authorizations(&Deployment::harness(), "cloudwatch:PutMetricAlarm", &call);
        assert_eq!(
            requests[0].resource,
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:sagetide-idle-chat/1"
        );
        assert_eq!(
            requests[0].context["cloudwatch:AlarmActions"],
            [
                "arn:aws:sns:x",
                "arn:aws:autoscaling:p",
                "arn:aws:autoscaling:q"
            ]
        );
        assert_eq!(requests[0].context["aws:RequestTag/k"], ["v w"]);
        assert_eq!(requests[1].action, "cloudwatch:TagResource");
    }

    #[test]
    fn a_delete_asks_for_the_targets_it_drops_and_a_model_for_its_role() {
        let d = Deployment::harness();
        let delete = authorizations(
            &d,
            "sagemaker:DeleteEndpoint",
            &json(serde_json::json!({"EndpointName": "chat"})),
        );
        assert_eq!(delete.len(), 3);
        assert!(delete[1].resource.starts_with(
            "arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/"
        ));
        let model = authorizations(
            &d,
            "sagemaker:CreateModel",
            &json(
                serde_json::json!({"ModelName": "m", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r"}),
            ),
        );
        assert_eq!(model.len(), 2, "no tags, no AddTags");
        assert_eq!(model[1].action, "iam:PassRole");
        assert_eq!(
            model[1].context["iam:PassedToService"],
            ["sagemaker.amazonaws.com"]
        );
    }
}
