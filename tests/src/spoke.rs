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
    AllowedPattern: "^[a-z]{2,4}(-[a-z]+)+-[0-9]+$"
    Description: The region of the hub deployment.
  HubStackName:
    Type: String
    Default: sagetide
    AllowedPattern: "^[A-Za-z][A-Za-z0-9-]{0,127}$"
    Description: >
      The hub deployment's stack name: only its functions' roles (path
      /sagetide/<stack>/<function>/) may assume the roles here, not another sagetide stack's
      of the hub account.
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
      The roles are named <prefix>-<region>-<function>: the hub stack's
      SpokeRoleNamePrefix, the same in every account it manages.

Conditions:
  # In the hub's own account and region the hub's rules see the events already: forwarding
  # them to its own bus would send each twice.
  ForwardsElsewhere: !Not
    - !And
      - !Equals [!Ref AWS::AccountId, !Ref HubAccountId]
      - !Equals [!Ref AWS::Region, !Ref HubRegion]

Resources:
  ForwardingRole:
    Type: AWS::IAM::Role
    Condition: ForwardsElsewhere
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
  # The hub's sleeper, waker and remediator choose among alarm state changes by names that this
  # account's tags and the hub's document decide (a wake alarm is any alarm a snapshot names),
  # so every change to ALARM or OK goes; target tracking's own alarms flip too often to be worth
  # sending, and no function takes them.
  ForwardAlarms:
    Type: AWS::Events::Rule
    Condition: ForwardsElsewhere
    Properties:
      Description: Alarm state changes to ALARM or OK, but target tracking's, to the sagetide hub's bus.
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
    Condition: ForwardsElsewhere
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
"#;

/// What the hub parameters a spoke statement uses mean in a spoke, where they are the spoke's
/// own: the hub's descriptions speak of the hub's account.
const SPOKE_PARAMETERS: &[(&str, &str)] = &[
    (
        "ModelExecutionRoles",
        "Name (or name pattern, with * and ?) of the IAM roles in this account that the models \
         of sleeping endpoints run as: the hub's waker and remediator may pass these, and only \
         to SageMaker, when a wake finds a model deleted and creates it again. No default: name \
         your SageMaker execution roles, as the hub's configuration document names them for \
         this account.",
    ),
    (
        "EndpointKmsKeyArns",
        "ARNs of this account's KMS keys that EndpointConfigs of sleeping endpoints may \
         encrypt with: waking such an endpoint needs a grant on its key. Name the same in the \
         hub's configuration document for this account.",
    ),
];

/// A spoke stack of `spoke.yaml` in `account` and `region`, for the hub stack `hub_stack` in
/// `hub_account` and `hub_region`, its external id `external_id`, as CloudFormation resolves
/// it.
pub fn deployment(
    (account, region): (&str, &str),
    (hub_account, hub_region, hub_stack): (&str, &str, &str),
    external_id: &str,
) -> crate::iam::Deployment {
    crate::iam::Deployment {
        account: account.into(),
        region: region.into(),
        stack: "sagetide-spoke".into(),
        parameters: [
            ("HubAccountId", hub_account),
            ("HubRegion", hub_region),
            ("HubStackName", hub_stack),
            ("ExternalId", external_id),
            ("ModelExecutionRoles", "sagemaker-*"),
            (
                "EndpointKmsKeyArns",
                &format!("arn:aws:kms:{region}:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        table: String::new(),
    }
}

/// The path and name of `function`'s role in the hub deployment `hub` of `hub_template`
/// (`template.yaml`): the path its `RolePath` resolves to, the name as SAM makes one
/// (`<stack>-<LogicalId>Role-<suffix>`).
pub fn hub_role(
    hub_template: &Value,
    hub: &crate::iam::Deployment,
    function: Function,
) -> (String, String) {
    let id = format!("{}Function", camel(function));
    let path = hub
        .strings(
            hub_template,
            &hub_template["Resources"][id.as_str()]["Properties"]["RolePath"],
        )
        .concat();
    (path, format!("{}-{id}Role-1A2B3C", hub.stack))
}

/// A function's name as CloudFormation's logical ids spell it (`PoolMetrics`).
pub fn camel(function: Function) -> String {
    function
        .name()
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
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

/// Every name a value refers to: `!Ref X`, `${X}` and `${X.Attribute}` in `!Sub` (either
/// form), `!GetAtt X.Attribute`, `!If [X, ...]`.
fn references(value: &Value, into: &mut Vec<String>) {
    let substituted = |text: &str, into: &mut Vec<String>| {
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            let end = rest[start..].find('}').expect("a closed ${") + start;
            into.push(resource_of(&rest[start + 2..end]).to_owned());
            rest = &rest[end + 1..];
        }
    };
    match value {
        Value::Tagged(t) => {
            match (t.tag.to_string().trim_start_matches('!'), &t.value) {
                ("Ref", Value::String(name)) => into.push(name.clone()),
                ("GetAtt", Value::String(name)) => into.push(resource_of(name).to_owned()),
                ("Sub", Value::String(text)) => substituted(text, into),
                ("Sub", Value::Sequence(form)) => {
                    substituted(form[0].as_str().expect("!Sub's text"), into);
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

/// `X` of `X.Attribute`; a pseudo parameter (`AWS::Region`) as it is.
fn resource_of(name: &str) -> &str {
    if name.starts_with("AWS::") {
        name
    } else {
        name.split('.').next().unwrap_or(name)
    }
}

/// A hub function's role path, `/sagetide/${AWS::StackName}/<function>/`, as the spoke names
/// it: with the hub's stack name in place of its own.
fn role_path(resource: &Value, binary: &str) -> String {
    let path = match &resource["Properties"]["RolePath"] {
        Value::Tagged(t) if t.tag == "Sub" => t.value.as_str().unwrap_or_default(),
        other => panic!("{binary}: RolePath {other:?} is not a !Sub of the stack's name"),
    };
    assert_eq!(
        path,
        format!("/sagetide/${{AWS::StackName}}/{binary}/"),
        "{binary}: the spoke's trust tells the hub's functions apart by their role paths"
    );
    path.replace("${AWS::StackName}", "${HubStackName}")
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
        assert!(
            !kept.is_empty(),
            "{binary}: no statement acts on a managed account (IAM refuses an empty policy)"
        );
        let mut role = yaml(&format!(
            r#"
Type: AWS::IAM::Role
Properties:
  RoleName: !Sub "${{RoleNamePrefix}}-${{AWS::Region}}-{binary}"
  Description: The sagetide hub's {binary} acts on this account's endpoints as this role.
  Tags:
    - {{ Key: "sagetide:function", Value: {binary} }}
  AssumeRolePolicyDocument:
    Version: "2012-10-17"
    Statement:
      - Sid: TheHubs{camel}
        Effect: Allow
        Principal: {{ AWS: !Sub "arn:${{AWS::Partition}}:iam::${{HubAccountId}}:root" }}
        Action: sts:AssumeRole
        Condition:
          StringEquals:
            sts:ExternalId: !Ref ExternalId
          ArnLike:
            aws:PrincipalArn: !Sub "arn:${{AWS::Partition}}:iam::${{HubAccountId}}:role{path}*"
  Policies:
    - PolicyName: {binary}
      PolicyDocument:
        Version: "2012-10-17"
        Statement: []
"#,
            camel = camel(function),
            path = role_path(resource, binary),
        ));
        role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"] = Value::Sequence(kept);
        roles.insert(Value::String(format!("{}Role", camel(function))), role);
    }
    used.sort();
    used.dedup();
    let resources = spoke["Resources"].as_mapping_mut().expect("Resources");
    resources.extend(roles);
    let mut parameters = Vec::new();
    for name in &used {
        if !hub["Parameters"][name.as_str()].is_null() {
            parameters.push(name.clone());
        } else if !hub["Conditions"][name.as_str()].is_null() {
            references(&hub["Conditions"][name.as_str()], &mut parameters);
            spoke["Conditions"][name.as_str()] = hub["Conditions"][name.as_str()].clone();
        } else {
            assert!(
                name.starts_with("AWS::"),
                "a spoke statement refers to {name}, which is the hub's"
            );
        }
    }
    parameters.sort();
    parameters.dedup();
    for name in parameters {
        let (_, description) = SPOKE_PARAMETERS
            .iter()
            .find(|(spoke_name, _)| *spoke_name == name)
            .unwrap_or_else(|| panic!("{name}: say in SPOKE_PARAMETERS what it means in a spoke"));
        let mut parameter = hub["Parameters"][name.as_str()].clone();
        parameter["Description"] = Value::String((*description).to_owned());
        if name == "ModelExecutionRoles" {
            parameter
                .as_mapping_mut()
                .expect("a parameter")
                .remove("Default");
        }
        spoke["Parameters"][name.as_str()] = parameter;
    }
    let text = serde_yaml_ng::to_string(&spoke).expect("the spoke template serializes");
    // serde_yaml_ng writes these dates bare; YAML 1.1 readers (PyYAML, js-yaml, cfn-flip) would
    // read a date, and IAM refuses a policy whose Version is a timestamp.
    let text = text
        .replace(": 2010-09-09\n", ": \"2010-09-09\"\n")
        .replace(": 2012-10-17\n", ": \"2012-10-17\"\n");
    format!("# Made from template.yaml by tests/src/spoke.rs: do not edit by hand.\n{text}")
}
