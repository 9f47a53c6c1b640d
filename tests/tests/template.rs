//! template.yaml: cfn-lint clean, and its example configuration valid.

use std::process::Command;

use sagetide::config::Config;
use sagetide_tests::workspace_root;
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
    let out = Command::new(cfn_lint)
        .arg("template.yaml")
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cfn-lint template.yaml:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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

#[test]
fn endpoints_are_deleted_and_created_only_under_an_opt_in_tag_condition() {
    let template = template();
    let mut checked = 0;
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        for policy in resource["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            for statement in policy["Statement"].as_sequence().into_iter().flatten() {
                let mutating = actions(statement).into_iter().any(|a| {
                    [
                        "sagemaker:DeleteEndpoint",
                        "sagemaker:CreateEndpoint",
                        "sagemaker:AddTags",
                        "sagemaker:DeleteTags",
                    ]
                    .contains(&a)
                });
                if !mutating {
                    continue;
                }
                checked += 1;
                let condition = serde_yaml_ng::to_string(&statement["Condition"]).unwrap();
                let opt_in = ["sagetide:schedule", "sagetide:idle-after"]
                    .iter()
                    .any(|tag| {
                        condition.contains(&format!("aws:ResourceTag/{tag}"))
                            || condition.contains(&format!("aws:RequestTag/{tag}"))
                    });
                assert!(
                    opt_in,
                    "{name:?} statement {:?} has no opt-in tag condition",
                    statement["Sid"]
                );
            }
        }
    }
    assert!(checked >= 5, "only {checked} statements checked");
}
