//! `spoke.yaml`, made from `template.yaml`: in an account (and region) that a hub deployment
//! manages, one role per function that the hub's function of that name may assume, holding
//! exactly the hub role's statements on the account's own resources
//! (`Function::acts_in_spoke`), and the rules that forward the endpoint and alarm events the
//! hub's functions take to the hub's bus.
//!
//! Made rather than written so that the spoke's least privilege is the hub's, statement for
//! statement, with one place to change either; `tests/tests/template.rs` checks that the file
//! is what this makes of the template, and `cargo run -p sagetide-tests --bin spoke-template`
//! writes it again.

use sagetide::permissions::Function;
use serde_yaml_ng::{Mapping, Value};

/// The path of every role of a hub function (`RolePath` in `template.yaml`): the spoke's trust
/// names the hub's function by it, whatever name CloudFormation gave its role.
pub fn hub_role_path(function: Function) -> String {
    format!("/sagetide/{}/", function.name())
}

/// The name of a function's role in a spoke account and region, as the hub assumes it.
pub fn role_name(prefix: &str, region: &str, function: Function) -> String {
    format!("{prefix}-{region}-{}", function.name())
}

const SKELETON: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Description: >
  sagetide spoke: the roles through which a sagetide hub deployment in another account manages
  this account's tagged SageMaker endpoints in this region, and the rules that forward their
  events to the hub. Deploy it in every managed account and region (a StackSet does it across
  an organisation). Made from template.yaml by `cargo run -p sagetide-tests --bin
  spoke-template`: do not edit it by hand.

Metadata:
  # cfn-lint's list of IAM actions lacks SageMaker's endpoint policies (GetEndpointPolicy,
  # PutEndpointPolicy), which the hub's roles use too.
  cfn-lint:
    config:
      ignore_checks: [W3037]

Parameters:
  HubAccountId:
    Type: String
    AllowedPattern: "^[0-9]{12}$"
    Description: The account of the sagetide hub deployment that manages this one.
  HubRegion:
    Type: String
    AllowedPattern: "^[a-z]{2}(-[a-z]+)+-[0-9]+$"
    Description: The region of the hub deployment.
  HubEventBusName:
    Type: String
    Default: default
    AllowedPattern: "^[A-Za-z0-9._-]{1,256}$"
    Description: The hub's event bus, to which this account's endpoint and alarm events go.
  ExternalId:
    Type: String
    MinLength: 2
    MaxLength: 1224
    AllowedPattern: "^[A-Za-z0-9+=,.@:/_-]+$"
    Description: >
      The external id the hub's configuration document gives for this account: the hub's
      functions must present it to assume the roles.
  RoleNamePrefix:
    Type: String
    Default: sagetide-spoke
    AllowedPattern: "^[A-Za-z0-9+=,.@_-]{1,32}$"
    Description: >
      The roles are named <prefix>-<region>-<function>; the hub's configuration document
      names the prefix for this account.

Resources:
  ForwardingRole:
    Type: AWS::IAM::Role
    Properties:
      Description: Lets EventBridge put this account's sagetide events on the hub's bus.
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: { Service: events.amazonaws.com }
            Action: sts:AssumeRole
            Condition:
              StringEquals:
                aws:SourceAccount: !Ref AWS::AccountId
      Policies:
        - PolicyName: put-on-the-hubs-bus
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: events:PutEvents
                Resource: !Sub arn:${AWS::Partition}:events:${HubRegion}:${HubAccountId}:event-bus/${HubEventBusName}
  # The hub's sleeper, waker and remediator take alarm state changes, and target tracking's
  # own alarms flip too often to be worth sending.
  ForwardAlarms:
    Type: AWS::Events::Rule
    Properties:
      Description: sagetide's alarm state changes, to the hub's bus.
      EventPattern:
        source: [aws.cloudwatch]
        account: [!Ref AWS::AccountId]
        detail-type: [CloudWatch Alarm State Change]
        detail:
          alarmName: [{ anything-but: { prefix: TargetTracking- } }]
          state:
            value: [ALARM, OK]
      Targets:
        - Id: hub
          Arn: !Sub arn:${AWS::Partition}:events:${HubRegion}:${HubAccountId}:event-bus/${HubEventBusName}
          RoleArn: !GetAtt ForwardingRole.Arn
  # The hub's restorer takes an endpoint that is in service again.
  ForwardEndpointStates:
    Type: AWS::Events::Rule
    Properties:
      Description: SageMaker endpoints back in service, to the hub's bus.
      EventPattern:
        source: [aws.sagemaker]
        account: [!Ref AWS::AccountId]
        detail-type: [SageMaker Endpoint State Change]
        detail:
          EndpointStatus: [IN_SERVICE]
      Targets:
        - Id: hub
          Arn: !Sub arn:${AWS::Partition}:events:${HubRegion}:${HubAccountId}:event-bus/${HubEventBusName}
          RoleArn: !GetAtt ForwardingRole.Arn

Outputs:
  RoleNamePrefix:
    Description: The prefix the hub's configuration document names for this account.
    Value: !Ref RoleNamePrefix
"#;

/// The logical id of a function's role in the spoke template (`PoolMetricsRole`).
pub fn logical_id(function: Function) -> String {
    let camel: String = function
        .name()
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    format!("{camel}Role")
}

/// The statement a list item is, whether plain or `!If [condition, statement, NoValue]`.
fn statement_of(item: &Value) -> &Value {
    match item {
        Value::Tagged(t) if t.tag == "If" => &t.value[1],
        other => other,
    }
}

fn actions(statement: &Value) -> Vec<&str> {
    match &statement["Action"] {
        Value::String(one) => vec![one.as_str()],
        Value::Sequence(many) => many.iter().filter_map(Value::as_str).collect(),
        other => panic!("Action {other:?}: not modelled"),
    }
}

/// Every name a value refers to: `!Ref X`, `${X}` in `!Sub`, `!If [X, ...]`.
fn references(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Tagged(t) => {
            match (t.tag.to_string().trim_start_matches('!'), &t.value) {
                ("Ref", Value::String(name)) => into.push(name.clone()),
                ("Sub", Value::String(text)) => {
                    let mut rest = text.as_str();
                    while let Some(start) = rest.find("${") {
                        let end = rest[start..].find('}').expect("a closed ${") + start;
                        into.push(rest[start + 2..end].to_owned());
                        rest = &rest[end + 1..];
                    }
                }
                ("If", Value::Sequence(args)) => {
                    into.extend(args[0].as_str().map(str::to_owned));
                }
                _ => {}
            }
            references(&t.value, into);
        }
        Value::Sequence(items) => items.iter().for_each(|v| references(v, into)),
        Value::Mapping(map) => map.values().for_each(|v| references(v, into)),
        _ => {}
    }
}

fn yaml(text: &str) -> Value {
    serde_yaml_ng::from_str(text).expect("the spoke's fixed parts are YAML")
}

/// The spoke template for the hub template `hub` (the text of `template.yaml`).
///
/// Panics on a hub statement that mixes actions on the managed account's resources with the
/// hub's own: such a statement has no place in either template whole.
pub fn template(hub: &str) -> String {
    let hub: Value = serde_yaml_ng::from_str(hub).expect("template.yaml is YAML");
    let mut spoke = yaml(SKELETON);
    let mut roles = Mapping::new();
    let mut used = Vec::new();
    for resource in hub["Resources"].as_mapping().expect("Resources").values() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("every function names its binary");
        let function = Function::from_name(binary).expect("a sagetide function");
        let mut kept = Vec::new();
        for policy in resource["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            for item in policy["Statement"].as_sequence().into_iter().flatten() {
                let statement = statement_of(item);
                let actions = actions(statement);
                let spoke_side = actions.iter().filter(|a| function.acts_in_spoke(a)).count();
                assert!(
                    spoke_side == 0 || spoke_side == actions.len(),
                    "{binary}: statement {:?} mixes the managed account's actions with the hub's",
                    statement["Sid"]
                );
                if spoke_side > 0 {
                    references(item, &mut used);
                    kept.push(item.clone());
                }
            }
        }
        let trust = yaml(&format!(
            r#"
Version: "2012-10-17"
Statement:
  - Sid: TheHubs{id}
    Effect: Allow
    Principal: {{ AWS: !Sub "arn:${{AWS::Partition}}:iam::${{HubAccountId}}:root" }}
    Action: sts:AssumeRole
    Condition:
      StringEquals:
        sts:ExternalId: !Ref ExternalId
      ArnLike:
        aws:PrincipalArn: !Sub "arn:${{AWS::Partition}}:iam::${{HubAccountId}}:role{path}*"
"#,
            id = logical_id(function).trim_end_matches("Role"),
            path = hub_role_path(function),
        ));
        let role = yaml(&format!(
            r#"
Type: AWS::IAM::Role
Properties:
  RoleName: !Sub "${{RoleNamePrefix}}-${{AWS::Region}}-{binary}"
  Description: sagetide's {binary} of the hub account acts on this account's endpoints as this role.
  Tags:
    - {{ Key: "sagetide:function", Value: {binary} }}
  AssumeRolePolicyDocument: null
  Policies:
    - PolicyName: {binary}
"#
        ));
        let mut role = role;
        role["Properties"]["AssumeRolePolicyDocument"] = trust;
        role["Properties"]["Policies"][0]["PolicyDocument"] = yaml("Version: \"2012-10-17\"");
        role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"] = Value::Sequence(kept);
        roles.insert(Value::String(logical_id(function)), role);
    }
    used.sort();
    used.dedup();
    let resources = spoke["Resources"].as_mapping_mut().expect("Resources");
    resources.extend(roles);
    for name in &used {
        if !hub["Parameters"][name.as_str()].is_null() {
            spoke["Parameters"][name.as_str()] = hub["Parameters"][name.as_str()].clone();
        } else if !hub["Conditions"][name.as_str()].is_null() {
            let mut condition_uses = Vec::new();
            references(&hub["Conditions"][name.as_str()], &mut condition_uses);
            for parameter in condition_uses {
                spoke["Parameters"][parameter.as_str()] =
                    hub["Parameters"][parameter.as_str()].clone();
            }
            spoke["Conditions"][name.as_str()] = hub["Conditions"][name.as_str()].clone();
        } else {
            assert!(
                name.starts_with("AWS::"),
                "a spoke statement refers to {name}, which is the hub's"
            );
        }
    }
    let text = serde_yaml_ng::to_string(&spoke).expect("the spoke template serializes");
    format!("# Made from template.yaml by tests/src/spoke.rs: do not edit by hand.\n{text}")
}
