//! Several accounts in one local AWS, through the Rust SDK, as the hub side of issue 19 will use
//! them: credentials of a role assumed with `aws_config::sts::AssumeRoleProvider` act in that
//! role's account, and the roles `spoke.yaml` makes let in only the hub's function of their
//! name presenting the external id (the local AWS evaluates the trust: tests/moto/truer/sts.py).

use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use sagetide::permissions::Function;
use sagetide_tests::moto::Moto;
use sagetide_tests::{iam, seed, spoke, workspace_root};
use serde_yaml_ng::Value;

/// moto's account for the harness's credentials: the hub.
const HUB: &str = "123456789012";
const SPOKE: &str = "222222222222";
const REGION: &str = "eu-west-1";
const EXTERNAL_ID: &str = "team-a-7f3a";

async fn hub_config(url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new(REGION))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .load()
        .await
}

/// `base`'s configuration acting as `role`, assumed with `base`'s credentials.
async fn assumed(base: &SdkConfig, role: &str, external_id: Option<&str>) -> SdkConfig {
    let mut builder = AssumeRoleProvider::builder(role)
        .session_name("sagetide-test")
        .configure(base);
    if let Some(id) = external_id {
        builder = builder.external_id(id);
    }
    let provider = builder.build().await;
    base.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build()
}

/// The hub deployment's role of `function`, at the path template.yaml gives it.
fn hub_role_path(function: Function) -> String {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let template: Value = serde_yaml_ng::from_str(&text).unwrap();
    let id = format!("{}Function", spoke::camel(function));
    iam::Deployment::harness()
        .strings(
            &template,
            &template["Resources"][id.as_str()]["Properties"]["RolePath"],
        )
        .concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assumed_spoke_role_acts_in_the_spoke_and_only_the_hubs_function_of_its_name_gets_it() {
    let moto = Moto::start();
    let aws = seed::Aws::new(&moto.url).await;
    // The hub's scheduler and waker roles, which Lambda would give the functions; here the
    // harness's credentials (the hub account's) may assume them.
    let lambda_trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{HUB}:root")}, "Action": "sts:AssumeRole"}]});
    for function in [Function::Scheduler, Function::Waker] {
        let name = format!(
            "{}-{}FunctionRole-1A2B",
            seed::DEPLOYMENT,
            spoke::camel(function)
        );
        aws.create_role(HUB, &hub_role_path(function), &name, &lambda_trust)
            .await;
    }
    // The spoke's roles, as spoke.yaml makes them for this hub.
    let text = std::fs::read_to_string(workspace_root().join("spoke.yaml")).unwrap();
    let template: Value = serde_yaml_ng::from_str(&text).unwrap();
    let deployment = iam::Deployment {
        account: SPOKE.into(),
        region: REGION.into(),
        stack: "sagetide-spoke".into(),
        parameters: [
            ("HubAccountId", HUB),
            ("HubRegion", REGION),
            ("HubStackName", seed::DEPLOYMENT),
            ("ExternalId", EXTERNAL_ID),
            ("ModelExecutionRoles", "sagemaker-*"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        table: String::new(),
    };
    for function in [Function::Scheduler, Function::Waker] {
        let role = &template["Resources"][format!("{}Role", spoke::camel(function)).as_str()];
        let name = deployment
            .strings(&template, &role["Properties"]["RoleName"])
            .concat();
        let trust = deployment.json(&template, &role["Properties"]["AssumeRolePolicyDocument"]);
        aws.create_role(SPOKE, "/", &name, &trust).await;
    }

    let hub = hub_config(&moto.url).await;
    let as_hub = |function: Function| {
        format!(
            "arn:aws:iam::{HUB}:role{}{}-{}FunctionRole-1A2B",
            hub_role_path(function),
            seed::DEPLOYMENT,
            spoke::camel(function)
        )
    };
    let spoke_role = |function: Function| {
        format!(
            "arn:aws:iam::{SPOKE}:role/sagetide-spoke-{REGION}-{}",
            function.name()
        )
    };
    let scheduler = assumed(&hub, &as_hub(Function::Scheduler), None).await;
    let in_spoke = assumed(
        &scheduler,
        &spoke_role(Function::Scheduler),
        Some(EXTERNAL_ID),
    )
    .await;

    let spoke_ssm = aws_sdk_ssm::Client::new(&in_spoke);
    spoke_ssm
        .put_parameter()
        .name("/sagetide/where")
        .value("the spoke")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("the assumed role acts");
    let read = |client: aws_sdk_ssm::Client| async move {
        client
            .get_parameter()
            .name("/sagetide/where")
            .send()
            .await
            .ok()
            .and_then(|p| p.parameter?.value)
    };
    assert_eq!(read(spoke_ssm.clone()).await.as_deref(), Some("the spoke"));
    assert_eq!(
        read(aws_sdk_ssm::Client::new(&hub)).await,
        None,
        "the hub's account has a parameter of its own name space"
    );

    let refusal = |config: SdkConfig| async move {
        let provider = config.credentials_provider().expect("credentials");
        let error = provider
            .provide_credentials()
            .await
            .expect_err("AssumeRole should be refused");
        // The SDK's message is generic; AWS's answer is in the error's sources.
        format!("{error:?}")
    };
    let waker = assumed(&hub, &as_hub(Function::Waker), None).await;
    for (who, config) in [
        (
            "the hub's waker, for the scheduler's role",
            assumed(&waker, &spoke_role(Function::Scheduler), Some(EXTERNAL_ID)).await,
        ),
        (
            "the hub's scheduler without the external id",
            assumed(&scheduler, &spoke_role(Function::Scheduler), None).await,
        ),
        (
            "the hub account's own credentials",
            assumed(&hub, &spoke_role(Function::Scheduler), Some(EXTERNAL_ID)).await,
        ),
        (
            "the hub's scheduler, for a role the spoke does not have",
            assumed(
                &scheduler,
                &spoke_role(Function::Restorer),
                Some(EXTERNAL_ID),
            )
            .await,
        ),
    ] {
        let error = refusal(config).await;
        assert!(
            error.contains("AccessDenied") || error.contains("not authorized"),
            "{who}: {error}"
        );
    }
}
