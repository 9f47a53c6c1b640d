//! Several accounts in one local AWS, through the Rust SDK, as the hub's functions use them: credentials of a role assumed with `aws_config::sts::AssumeRoleProvider` act in that
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

/// Why `config`'s credentials could not be had (AWS's answer is in the error's sources, the
/// SDK's own message is generic).
async fn refusal(config: &SdkConfig) -> String {
    let provider = config.credentials_provider().expect("credentials");
    let error = provider
        .provide_credentials()
        .await
        .expect_err("AssumeRole should be refused");
    format!("{error:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assumed_spoke_role_acts_in_the_spoke_and_only_the_hubs_function_of_its_name_gets_it() {
    let moto = Moto::start();
    let aws = seed::Aws::new(&moto.url).await;
    let read = |path: &str| {
        let text = std::fs::read_to_string(workspace_root().join(path)).unwrap();
        serde_yaml_ng::from_str::<Value>(&text).unwrap()
    };
    let (hub_template, spoke_template) = (read("template.yaml"), read("spoke.yaml"));

    // The hub's scheduler and waker roles, at the paths template.yaml gives them, as SAM names
    // them. Lambda would hand the functions their credentials; here the harness's (the hub
    // account's) may assume them.
    let hub_trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{HUB}:root")}, "Action": "sts:AssumeRole"}]});
    let hub_deployment = iam::Deployment::harness();
    let mut hub_roles = Vec::new();
    for function in [Function::Scheduler, Function::Waker] {
        let (path, name) = spoke::hub_role(&hub_template, &hub_deployment, function);
        aws.create_role(HUB, &path, &name, &hub_trust).await;
        hub_roles.push(format!("arn:aws:iam::{HUB}:role{path}{name}"));
    }

    // The spoke's scheduler and waker roles, as spoke.yaml makes them for this hub.
    let deployment = spoke::deployment(
        (SPOKE, REGION),
        (HUB, REGION, seed::DEPLOYMENT),
        EXTERNAL_ID,
    );
    let mut spoke_roles = Vec::new();
    for function in [Function::Scheduler, Function::Waker] {
        let role = &spoke_template["Resources"][format!("{}Role", spoke::camel(function)).as_str()];
        let name = deployment
            .strings(&spoke_template, &role["Properties"]["RoleName"])
            .concat();
        let trust = deployment.json(
            &spoke_template,
            &role["Properties"]["AssumeRolePolicyDocument"],
        );
        aws.create_role(SPOKE, "/", &name, &trust).await;
        spoke_roles.push(format!("arn:aws:iam::{SPOKE}:role/{name}"));
    }
    let (hub_scheduler, hub_waker) = (&hub_roles[0], &hub_roles[1]);
    let spoke_scheduler = &spoke_roles[0];

    let hub = hub_config(&moto.url).await;
    let scheduler = assumed(&hub, hub_scheduler, None).await;
    let in_spoke = assumed(&scheduler, spoke_scheduler, Some(EXTERNAL_ID)).await;
    let spoke_ssm = aws_sdk_ssm::Client::new(&in_spoke);
    spoke_ssm
        .put_parameter()
        .name("/sagetide/where")
        .value("the spoke")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("the assumed role acts");
    let got = spoke_ssm
        .get_parameter()
        .name("/sagetide/where")
        .send()
        .await
        .expect("the spoke's parameter");
    assert_eq!(
        got.parameter.and_then(|p| p.value).as_deref(),
        Some("the spoke")
    );
    let in_hub = aws_sdk_ssm::Client::new(&hub)
        .get_parameter()
        .name("/sagetide/where")
        .send()
        .await
        .expect_err("the parameter is the spoke's only");
    assert!(
        in_hub
            .as_service_error()
            .is_some_and(|e| e.is_parameter_not_found()),
        "{in_hub:?}"
    );

    // The waker's own session is good: its refusal below is the spoke's trust.
    let waker = assumed(&hub, hub_waker, None).await;
    waker
        .credentials_provider()
        .unwrap()
        .provide_credentials()
        .await
        .expect("the hub's waker role");
    let missing = format!("arn:aws:iam::{SPOKE}:role/sagetide-spoke-{REGION}-restorer");
    for (who, config, role) in [
        (
            "the hub's waker, for the scheduler's role",
            assumed(&waker, spoke_scheduler, Some(EXTERNAL_ID)).await,
            spoke_scheduler,
        ),
        (
            "the hub's scheduler without the external id",
            assumed(&scheduler, spoke_scheduler, None).await,
            spoke_scheduler,
        ),
        (
            "the hub account's own credentials",
            assumed(&hub, spoke_scheduler, Some(EXTERNAL_ID)).await,
            spoke_scheduler,
        ),
        (
            "the hub's scheduler, for a role the spoke does not have",
            assumed(&scheduler, &missing, Some(EXTERNAL_ID)).await,
            &missing,
        ),
    ] {
        let error = refusal(&config).await;
        assert!(
            error.contains("AccessDenied")
                && error.contains(&format!("sts:AssumeRole on resource: {role}")),
            "{who}: {error}"
        );
    }
}
