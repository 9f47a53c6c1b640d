//! Each function's role as `template.yaml` deploys it: its statements with the template's
//! intrinsic functions resolved for one deployment, as CloudFormation would.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use sagetide::permissions::Function;
use serde_yaml_ng::Value;

use super::{Condition, Operator, Statement};

/// What CloudFormation knows when it resolves the template: the pseudo parameters, the
/// parameters given (others take their defaults) and the physical names of resources.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub account: String,
    pub region: String,
    pub stack: String,
    pub parameters: BTreeMap<String, String>,
    pub table: String,
}

impl Deployment {
    /// The deployment the test harness stands for (`seed`): moto's account, `us-east-1`.
    pub fn harness() -> Self {
        Self {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            stack: crate::seed::DEPLOYMENT.into(),
            parameters: BTreeMap::from([(
                "ConfigParameterName".to_owned(),
                crate::seed::CONFIG_PARAMETER.to_owned(),
            )]),
            table: crate::seed::TABLE.into(),
        }
    }

    /// `spoke.yaml`'s stack in the spoke `account` and `region` of the harness's hub. Only the
    /// roles' trust reads the external id, so any will do.
    pub fn harness_spoke(account: &str, region: &str) -> Self {
        let hub = Self::harness();
        crate::spoke::deployment(
            (account, region),
            (
                hub.account.as_str(),
                hub.region.as_str(),
                hub.stack.as_str(),
            ),
            "sagetide-test-external-id",
        )
    }

    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            self.region, self.account
        )
    }

    fn parameter(&self, template: &Value, name: &str) -> String {
        self.parameters.get(name).cloned().unwrap_or_else(|| {
            let default = &template["Parameters"][name]["Default"];
            default
                .as_str()
                .map(str::to_owned)
                .or_else(|| default.as_i64().map(|n| n.to_string()))
                .unwrap_or_else(|| panic!("parameter {name} has no value and no default"))
        })
    }

    /// `Ref` of a parameter, a pseudo parameter or a resource; `None` for `AWS::NoValue`.
    fn reference(&self, template: &Value, name: &str) -> Option<String> {
        Some(match name {
            "AWS::NoValue" => return None,
            "AWS::AccountId" => self.account.clone(),
            "AWS::Region" => self.region.clone(),
            "AWS::Partition" => "aws".into(),
            "AWS::StackName" => self.stack.clone(),
            "Table" => self.table.clone(),
            other if !template["Parameters"][other].is_null() => self.parameter(template, other),
            other => panic!("Ref {other}: not modelled"),
        })
    }

    fn attribute(&self, template: &Value, name: &str) -> String {
        match name.split_once('.') {
            Some(("Table", "Arn")) => self.arn("dynamodb", &format!("table/{}", self.table)),
            Some((function, "Arn"))
                if template["Resources"][function]["Type"] == "AWS::Serverless::Function" =>
            {
                let name = &template["Resources"][function]["Properties"]["FunctionName"];
                let name = self.strings(template, name).concat();
                self.arn("lambda", &format!("function:{name}"))
            }
            _ => panic!("GetAtt {name}: not modelled"),
        }
    }

    fn sub(&self, template: &Value, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').expect("a closed ${") + start;
            let name = &rest[start + 2..end];
            out.push_str(&if name.contains('.') && !name.starts_with("AWS::") {
                self.attribute(template, name)
            } else {
                self.reference(template, name).unwrap_or_default()
            });
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// A condition of the template's `Conditions`, for the two forms it uses.
    fn condition(&self, template: &Value, name: &str) -> bool {
        let Value::Tagged(not) = &template["Conditions"][name] else {
            panic!("condition {name}: not modelled");
        };
        let Value::Tagged(equals) = &not.value[0] else {
            panic!("condition {name}: not modelled");
        };
        assert!(
            not.tag == "Not" && equals.tag == "Equals",
            "condition {name}"
        );
        let left = self.strings(template, &equals.value[0]).join("");
        let right = self.strings(template, &equals.value[1]).join("");
        left != right
    }

    /// A value that resolves to strings: a string, a list, `!Sub`, `!Ref`, `!GetAtt`, `!Join`,
    /// `!Split`, `!If`.
    pub fn strings(&self, template: &Value, value: &Value) -> Vec<String> {
        match value {
            Value::String(s) => vec![s.clone()],
            Value::Bool(b) => vec![b.to_string()],
            Value::Number(n) => vec![n.to_string()],
            Value::Sequence(items) => items
                .iter()
                .flat_map(|v| self.strings(template, v))
                .collect(),
            Value::Tagged(t) => match (t.tag.to_string().trim_start_matches('!'), &t.value) {
                ("Sub", Value::String(s)) => vec![self.sub(template, s)],
                ("Ref", Value::String(name)) => {
                    let resolved = self.reference(template, name);
                    // A CommaDelimitedList parameter is a list.
                    let list =
                        template["Parameters"][name.as_str()]["Type"] == "CommaDelimitedList";
                    match resolved {
                        Some(v) if list => v
                            .split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect(),
                        Some(v) => vec![v],
                        None => Vec::new(),
                    }
                }
                ("GetAtt", Value::String(name)) => vec![self.attribute(template, name)],
                ("Join", Value::Sequence(args)) => {
                    let separator = args[0].as_str().unwrap_or_default();
                    vec![self.strings(template, &args[1]).join(separator)]
                }
                ("Split", Value::Sequence(args)) => {
                    let separator = args[0].as_str().unwrap_or_default();
                    self.strings(template, &args[1])
                        .concat()
                        .split(separator)
                        .map(str::to_owned)
                        .collect()
                }
                ("If", _) => match self.branch(template, value) {
                    Some(branch) => self.strings(template, branch),
                    None => Vec::new(),
                },
                (tag, _) => panic!("!{tag}: not modelled"),
            },
            Value::Null => Vec::new(),
            other => panic!("{other:?}: not a string"),
        }
    }

    /// `value` with the template's intrinsic functions resolved, as the JSON CloudFormation
    /// hands a resource (a policy document, an event pattern).
    pub fn json(&self, template: &Value, value: &Value) -> serde_json::Value {
        match value {
            Value::Mapping(map) => map
                .iter()
                .map(|(k, v)| {
                    let key = k.as_str().expect("a string key").to_owned();
                    (key, self.json(template, v))
                })
                .collect::<serde_json::Map<_, _>>()
                .into(),
            Value::Sequence(items) => items
                .iter()
                .map(|v| self.json(template, v))
                .collect::<Vec<_>>()
                .into(),
            Value::String(s) => s.clone().into(),
            Value::Bool(b) => (*b).into(),
            Value::Number(n) => serde_json::to_value(n).expect("a YAML number is a JSON one"),
            Value::Null => serde_json::Value::Null,
            Value::Tagged(t) if t.tag == "If" => self
                .branch(template, value)
                .map_or(serde_json::Value::Null, |branch| {
                    self.json(template, branch)
                }),
            // Lists of strings, as CloudFormation hands them.
            Value::Tagged(t) if t.tag == "Split" => self.strings(template, value).into(),
            Value::Tagged(t)
                if t.tag == "Ref"
                    && t.value.as_str().is_some_and(|name| {
                        template["Parameters"][name]["Type"] == "CommaDelimitedList"
                    }) =>
            {
                self.strings(template, value).into()
            }
            tagged => self.strings(template, tagged).concat().into(),
        }
    }

    /// A list item that may be `!If [condition, then, else]`: the branch the deployment takes,
    /// `None` for `AWS::NoValue`.
    fn branch<'v>(&self, template: &Value, value: &'v Value) -> Option<&'v Value> {
        match value {
            Value::Tagged(t) if t.tag == "If" => {
                let branch = if self.condition(template, t.value[0].as_str().unwrap()) {
                    &t.value[1]
                } else {
                    &t.value[2]
                };
                match branch {
                    Value::Tagged(r) if r.tag == "Ref" && r.value == "AWS::NoValue" => None,
                    other => Some(other),
                }
            }
            other => Some(other),
        }
    }

    fn statement(&self, template: &Value, statement: &Value) -> Statement {
        assert!(
            statement["NotAction"].is_null()
                && statement["NotResource"].is_null()
                && statement["Principal"].is_null(),
            "{statement:?}: not modelled"
        );
        let mut conditions = Vec::new();
        if let Some(block) = statement["Condition"].as_mapping() {
            for (operator, keys) in block {
                let name = operator.as_str().unwrap();
                let (operator, set) = Operator::parse(name)
                    .unwrap_or_else(|| panic!("operator {name}: not modelled"));
                for (key, values) in keys.as_mapping().unwrap() {
                    conditions.push(Condition {
                        operator,
                        set,
                        key: key.as_str().unwrap().to_owned(),
                        values: self.strings(template, values),
                    });
                }
            }
        }
        let effect = statement["Effect"].as_str().unwrap();
        Statement {
            sid: statement["Sid"].as_str().unwrap_or_default().to_owned(),
            allow: match effect {
                "Allow" => true,
                "Deny" => false,
                other => panic!("Effect {other}"),
            },
            actions: self.strings(template, &statement["Action"]),
            resources: self.strings(template, &statement["Resource"]),
            conditions,
        }
    }
}

/// Every function's statements, by function, and the operator's (`OperatorPolicy`).
#[derive(Debug, Clone)]
pub struct Roles {
    functions: BTreeMap<&'static str, Vec<Statement>>,
    operator: Vec<Statement>,
}

impl Roles {
    pub fn of(&self, function: Function) -> &[Statement] {
        &self.functions[function.name()]
    }

    /// What the command line may do under the template's `OperatorPolicy`.
    pub fn operator(&self) -> &[Statement] {
        &self.operator
    }
}

/// The roles `template` (the text of a SAM template) gives each function in `deployment`.
pub fn roles(template: &str, deployment: &Deployment) -> Roles {
    let template: Value = serde_yaml_ng::from_str(template).expect("a YAML template");
    let mut roles = BTreeMap::new();
    for resource in template["Resources"].as_mapping().unwrap().values() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        let function = Function::from_name(binary).expect("a sagetide function");
        let statements = resource["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|p| {
                p["Statement"].as_sequence().unwrap_or_else(|| {
                    panic!("{binary}: policy {p:?} without statements: not modelled")
                })
            })
            .filter_map(|s| deployment.branch(&template, s))
            .map(|s| deployment.statement(&template, s))
            .collect();
        roles.insert(function.name(), statements);
    }
    // A template without one grants the operator nothing.
    let operator =
        template["Resources"]["OperatorPolicy"]["Properties"]["PolicyDocument"]["Statement"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|s| deployment.statement(&template, s))
            .collect();
    Roles {
        functions: roles,
        operator,
    }
}

/// A function's role in a spoke account, as `spoke.yaml` deploys it.
#[derive(Debug, Clone)]
pub struct SpokeRole {
    pub name: String,
    pub statements: Vec<Statement>,
    /// Its trust policy: each statement with the AWS principals it names.
    pub trust: Vec<(Vec<String>, Statement)>,
}

/// The roles `template` (the text of `spoke.yaml`) makes in the spoke account `deployment`, by
/// the name of the function each is for (its `sagetide:function` tag).
pub fn spoke_roles(template: &str, deployment: &Deployment) -> BTreeMap<&'static str, SpokeRole> {
    let template: Value = serde_yaml_ng::from_str(template).expect("a YAML template");
    let mut roles = BTreeMap::new();
    for resource in template["Resources"].as_mapping().unwrap().values() {
        if resource["Type"] != "AWS::IAM::Role" {
            continue;
        }
        let properties = &resource["Properties"];
        let Some(function) = properties["Tags"]
            .as_sequence()
            .into_iter()
            .flatten()
            .find(|tag| tag["Key"] == "sagetide:function")
            .and_then(|tag| Function::from_name(tag["Value"].as_str()?))
        else {
            continue;
        };
        let statements = properties["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|p| {
                p["PolicyDocument"]["Statement"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
            })
            .filter_map(|s| deployment.branch(&template, s))
            .map(|s| deployment.statement(&template, s))
            .collect();
        let trust = properties["AssumeRolePolicyDocument"]["Statement"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|s| {
                let principals = deployment.strings(&template, &s["Principal"]["AWS"]);
                let mut without = s.clone();
                without.as_mapping_mut().unwrap().remove("Principal");
                // A trust statement names the role it guards by being in it.
                without["Resource"] = Value::String("*".into());
                (principals, deployment.statement(&template, &without))
            })
            .collect();
        let name = deployment
            .strings(&template, &properties["RoleName"])
            .concat();
        roles.insert(
            function.name(),
            SpokeRole {
                name,
                statements,
                trust,
            },
        );
    }
    roles
}

/// The roles of the workspace's `template.yaml` for the harness's deployment, read once.
pub fn harness_roles() -> &'static Roles {
    static ROLES: OnceLock<Roles> = OnceLock::new();
    ROLES.get_or_init(|| {
        let path = crate::workspace_root().join("template.yaml");
        let text = std::fs::read_to_string(Path::new(&path)).expect("template.yaml");
        roles(&text, &Deployment::harness())
    })
}

/// Each spoke's roles, by its (account, region), then by the name of the function each is for.
type SpokesRoles = BTreeMap<(String, String), Arc<BTreeMap<&'static str, SpokeRole>>>;

/// The roles of the workspace's `spoke.yaml` in [`Deployment::harness_spoke`]`(account,
/// region)`, each spoke's read once: the proxy asks for them at every call made in a spoke.
pub fn harness_spoke_roles(account: &str, region: &str) -> Arc<BTreeMap<&'static str, SpokeRole>> {
    static TEXT: OnceLock<String> = OnceLock::new();
    static ROLES: Mutex<SpokesRoles> = Mutex::new(BTreeMap::new());
    let text = TEXT.get_or_init(|| {
        std::fs::read_to_string(crate::workspace_root().join("spoke.yaml")).expect("spoke.yaml")
    });
    ROLES
        .lock()
        .unwrap()
        .entry((account.to_owned(), region.to_owned()))
        .or_insert_with(|| {
            Arc::new(spoke_roles(
                text,
                &Deployment::harness_spoke(account, region),
            ))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  ConfigParameterName: { Type: String, Default: /app/config }
  Keys: { Type: CommaDelimitedList, Default: "" }
Conditions:
  HasKeys: !Not [!Equals [!Join ["", !Ref Keys], ""]]
Resources:
  Table: { Type: AWS::DynamoDB::Table }
  F:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: waker } }
    Properties:
      Policies:
        - Statement:
            - Sid: Read
              Effect: Allow
              Action: [ssm:GetParameters]
              Resource: !Sub arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${ConfigParameterName}
            - Sid: Items
              Effect: Deny
              Action: dynamodb:GetItem
              Resource: [!GetAtt Table.Arn, !Sub "${Table.Arn}/index/*"]
              Condition:
                "Null": { aws:ResourceTag/x: "false" }
                ForAnyValue:StringLike: { aws:TagKeys: [a, b] }
            - !If
              - HasKeys
              - Sid: Keys
                Effect: Allow
                Action: kms:CreateGrant
                Resource: !Ref Keys
              - !Ref AWS::NoValue
"#;

    #[test]
    fn intrinsics_resolve_for_the_deployment_and_a_false_if_drops_its_statement() {
        let deployment = Deployment::harness();
        let roles = roles(TEMPLATE, &deployment);
        let waker = roles.of(Function::Waker);
        assert_eq!(waker.len(), 2);
        assert_eq!(
            waker[0].resources,
            ["arn:aws:ssm:us-east-1:123456789012:parameter/sagetide/config"]
        );
        assert!(!waker[1].allow);
        assert_eq!(
            waker[1].resources,
            [
                "arn:aws:dynamodb:us-east-1:123456789012:table/sagetide",
                "arn:aws:dynamodb:us-east-1:123456789012:table/sagetide/index/*"
            ]
        );
        assert_eq!(waker[1].conditions.len(), 2);
        assert_eq!(waker[1].conditions[1].values, ["a", "b"]);

        let mut with_keys = Deployment::harness();
        with_keys
            .parameters
            .insert("Keys".into(), "arn:k1,arn:k2".into());
        let roles = super::roles(TEMPLATE, &with_keys);
        let keys = &roles.of(Function::Waker)[2];
        assert_eq!(keys.sid, "Keys");
        assert_eq!(keys.resources, ["arn:k1", "arn:k2"]);
    }
}
