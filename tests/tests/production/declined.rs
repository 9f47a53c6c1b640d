//! What sagetide does not put to sleep, because it could not bring it back as it was, or could
//! not be sure it is idle; and what it does instead. Never sleep what cannot wake.

use aws_sdk_sagemaker::types::{
    ProductionVariant, ProductionVariantInstanceType, ProductionVariantServerlessConfig,
};
use jiff::{SignedDuration, Timestamp};
use sagetide_tests::{Harness, alarm_event, scheduled_event};
use serde_json::{Value, json};

const CONFIG: &str = r#"
schedules:
  office-hours:
    timezone: UTC
    periods:
      - { days: mon-sun, start: "08:00", end: "18:00", capacity: { min: 2, max: 4 } }
    off_hours: { min: 1, max: 1 }
  desk:
    timezone: UTC
    periods:
      - { days: mon-sun, start: "08:00", end: "18:00", capacity: { min: 1, max: 2 } }
    off_hours: sleep
"#;

const IDLE: [(&str, &str); 2] = [
    ("sagetide:idle-after", "1h"),
    ("sagetide:wake-on", "manual"),
];

fn variant(name: &str, model: Option<&str>) -> ProductionVariant {
    ProductionVariant::builder()
        .variant_name(name)
        .set_model_name(model.map(str::to_owned))
        .instance_type(ProductionVariantInstanceType::MlM5Large)
        .initial_instance_count(1)
        .build()
}

fn serverless(name: &str, model: &str) -> ProductionVariant {
    ProductionVariant::builder()
        .variant_name(name)
        .model_name(model)
        .serverless_config(
            ProductionVariantServerlessConfig::builder()
                .memory_size_in_mb(2048)
                .max_concurrency(5)
                .build(),
        )
        .build()
}

/// Two hours after the real clock (moto stamps endpoints with it): every endpoint is older
/// than its idle window.
fn later() -> String {
    (Timestamp::now() + SignedDuration::from_hours(2)).to_string()
}

/// `{"action":"sleep","force":true}` to a sleeper with `env`, two hours ahead.
async fn forced_sleep(h: &Harness, endpoint: &str, env: &[(&str, &str)]) -> Value {
    let now = later();
    let mut env = env.to_vec();
    env.push(("SAGETIDE_NOW", &now));
    h.function("sleeper", &env)
        .await
        .invoke(json!({"action": "sleep", "endpoint": endpoint, "force": true}))
        .await
        .unwrap()
}

fn declined_because(answer: &Value) -> &str {
    assert_eq!(answer["reports"][0]["outcome"], "declined", "{answer}");
    answer["reports"][0]["detail"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn serverless_and_shadow_variants_and_inference_components_are_not_slept() {
    let h = Harness::start(CONFIG).await;
    h.aws.create_model("m").await;
    let kinds = [
        ("lite", vec![serverless("AllTraffic", "m")], None),
        (
            "shadowed",
            vec![variant("AllTraffic", Some("m"))],
            Some(variant("shadow", Some("m"))),
        ),
        ("components", vec![variant("AllTraffic", None)], None),
    ];
    for (name, variants, shadow) in kinds {
        h.aws
            .new_endpoint_config(name)
            .set_production_variants(Some(variants))
            .set_shadow_production_variants(shadow.map(|s| vec![s]))
            .execution_role_arn("arn:aws:iam::123456789012:role/sagemaker")
            .send()
            .await
            .unwrap();
        h.aws
            .create_endpoint_on(name, &format!("{name}-config"), &IDLE)
            .await;
    }
    assert!(declined_because(&forced_sleep(&h, "lite", &[]).await).contains("serverless"));
    assert!(
        declined_because(&forced_sleep(&h, "shadowed", &[]).await)
            .contains("shadow variant shadow")
    );
    assert!(
        declined_because(&forced_sleep(&h, "components", &[]).await)
            .contains("inference components")
    );
    for name in ["lite", "shadowed", "components"] {
        assert_eq!(
            h.aws.endpoint_status(name).await.as_deref(),
            Some("InService")
        );
        assert_eq!(h.aws.snapshot_phase(name).await, None);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_serverless_variant_in_a_scheduled_fleet_does_not_fail_the_tick() {
    let h = Harness::start(CONFIG).await;
    let office = [("sagetide:schedule", "office-hours")];
    h.aws.create_model("m").await;
    h.aws
        .new_endpoint_config("lite")
        .production_variants(serverless("AllTraffic", "m"))
        .send()
        .await
        .unwrap();
    h.aws
        .create_endpoint_on("lite", "lite-config", &office)
        .await;
    h.aws
        .create_endpoint("ranker", &["AllTraffic"], &office)
        .await;
    h.aws
        .register_target("ranker", "AllTraffic", 1, 1, None)
        .await;
    let mut scheduler = h.scheduler(&[]);

    let report = scheduler
        .invoke(scheduled_event("2026-11-24T09:00:00Z"))
        .await
        .expect("the tick succeeds");

    let actions: Vec<String> = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{} {} {}", a["endpoint"], a["detail"], a["outcome"]))
        .collect();
    assert_eq!(
        actions,
        [r#""ranker" "set-capacity AllTraffic 1..1 -> 2..4" "applied""#]
    );
    assert_eq!(h.aws.capacity("ranker", "AllTraffic").await, Some((2, 4)));
    let skipped = report["skipped"][0]["why"].as_str().unwrap();
    assert!(
        skipped.contains("variant AllTraffic is serverless"),
        "{report}"
    );
    assert_eq!(h.aws.capacity("lite", "AllTraffic").await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_encrypted_with_a_key_the_deployment_cannot_grant_is_not_slept() {
    let h = Harness::start(CONFIG).await;
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    h.aws.create_model("m").await;
    h.aws
        .new_endpoint_config("sealed")
        .production_variants(variant("AllTraffic", Some("m")))
        .kms_key_id(key)
        .send()
        .await
        .unwrap();
    h.aws
        .create_endpoint_on("sealed", "sealed-config", &IDLE)
        .await;

    let why = declined_because(&forced_sleep(&h, "sealed", &[]).await).to_owned();
    assert!(
        why.contains(key) && why.contains("EndpointKmsKeyArns"),
        "{why}"
    );
    assert_eq!(
        h.aws.endpoint_status("sealed").await.as_deref(),
        Some("InService")
    );

    // With the key in the deployment's list, its grant can be made: it sleeps.
    let allowed = forced_sleep(&h, "sealed", &[("SAGETIDE_KMS_KEYS", key)]).await;
    assert_eq!(allowed["reports"][0]["outcome"], "applied", "{allowed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_idle_check_fails_closed_and_sees_requests_not_yet_counted() {
    let h = Harness::start(CONFIG).await;
    h.aws.create_endpoint("quiet", &["AllTraffic"], &IDLE).await;
    let now = later();
    let mut sleeper = h.function("sleeper", &[("SAGETIDE_NOW", &now)]).await;
    let alarm = || alarm_event("sagetide-idle-quiet", "ALARM", Some("quiet"));

    // CloudWatch cannot answer in full: no deletion on a guess.
    h.moto
        .set_metric_status("Invocations", Some("InternalError"))
        .await;
    let unsure = sleeper.invoke(alarm()).await.unwrap();
    assert!(
        declined_because(&unsure).contains("did not return complete data"),
        "{unsure}"
    );
    h.moto.set_metric_status("Invocations", None).await;

    // A request a minute ago: not in Invocations yet (they land a minute or two late), but in
    // flight it showed in the 10-second ConcurrentRequestsPerModel.
    let a_minute_ago = now.parse::<Timestamp>().unwrap().as_second() - 60;
    h.aws
        .put_concurrency(
            &[("EndpointName", "quiet"), ("VariantName", "AllTraffic")],
            &[(a_minute_ago, 1.0)],
        )
        .await;
    let busy = sleeper.invoke(alarm()).await.unwrap();
    assert!(
        declined_because(&busy).contains("requests in flight"),
        "{busy}"
    );
    assert_eq!(
        h.aws.endpoint_status("quiet").await.as_deref(),
        Some("InService")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_alarm_declined_inside_a_period_stays_quiet_until_the_period_ends() {
    let h = Harness::start(CONFIG).await;
    let tags = [
        ("sagetide:idle-after", "1h"),
        ("sagetide:schedule", "office-hours"),
    ];
    h.aws.create_endpoint("desk", &["AllTraffic"], &tags).await;
    h.aws
        .register_target("desk", "AllTraffic", 2, 4, None)
        .await;
    // Simulated days in the future of the clock moto stamps endpoints with.
    let day = Timestamp::now().as_second() / 86_400 + 3;
    let at = |hour: i64| {
        Timestamp::from_second(day * 86_400 + hour * 3600)
            .unwrap()
            .to_string()
    };
    let mut scheduler = h.scheduler(&[]);
    scheduler
        .invoke(scheduled_event(&at(10)))
        .await
        .expect("the tick that makes the idle alarm");
    h.aws.set_alarm_state("sagetide-idle-desk", "ALARM").await;

    let mut sleeper = h.function("sleeper", &[("SAGETIDE_NOW", &at(10))]).await;
    let declined = sleeper
        .invoke(alarm_event("sagetide-idle-desk", "ALARM", Some("desk")))
        .await
        .unwrap();
    assert!(
        declined_because(&declined).contains("it stays awake"),
        "{declined}"
    );
    // Not re-armed: it would fire again at its next evaluation, all day long.
    assert_eq!(
        h.aws.alarm_state("sagetide-idle-desk").await.as_deref(),
        Some("ALARM")
    );
    let in_period = scheduler.invoke(scheduled_event(&at(12))).await.unwrap();
    assert_eq!(in_period["actions"], json!([]), "{in_period}");

    // The period is over: the tick re-arms it, so that it asks again if the endpoint is idle.
    let evening = scheduler.invoke(scheduled_event(&at(19))).await.unwrap();
    let rearmed: Vec<&Value> = evening["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "rearm-idle-alarm")
        .collect();
    assert_eq!(rearmed.len(), 1, "{evening}");
    assert_eq!(rearmed[0]["outcome"], "applied", "{evening}");
    assert_eq!(
        h.aws.alarm_state("sagetide-idle-desk").await.as_deref(),
        Some("OK")
    );
}

/// The scheduler knows what the sleeper would decline (from the EndpointConfig, read once per
/// container): off-hours it does not ask every tick for a sleep that cannot happen, whether the
/// EndpointConfig says so (a KMS key) or cannot be read at all (its model deleted under it).
#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_sleep_the_deployment_could_not_bring_back_is_not_asked_for_every_tick() {
    let h = Harness::start(CONFIG).await;
    h.aws.create_model("orphan-model").await;
    h.aws
        .new_endpoint_config("orphan")
        .production_variants(variant("AllTraffic", Some("orphan-model")))
        .send()
        .await
        .unwrap();
    h.aws
        .create_endpoint_on("orphan", "orphan-config", &[("sagetide:schedule", "desk")])
        .await;
    h.aws
        .register_target("orphan", "AllTraffic", 1, 2, None)
        .await;
    h.aws.delete_model("orphan-model").await;
    h.aws.create_model("m").await;
    h.aws
        .new_endpoint_config("sealed")
        .production_variants(variant("AllTraffic", Some("m")))
        .kms_key_id("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
        .send()
        .await
        .unwrap();
    h.aws
        .create_endpoint_on("sealed", "sealed-config", &[("sagetide:schedule", "desk")])
        .await;
    h.aws
        .register_target("sealed", "AllTraffic", 1, 2, None)
        .await;
    let mut scheduler = h.scheduler(&[]);
    h.proxy.take();

    // One container answers both ticks, its clock at the second.
    for evening in ["2026-11-24T20:00:00Z", "2026-11-24T20:05:00Z"] {
        let report = scheduler
            .invoke_at(scheduled_event(evening), "2026-11-24T20:05:00Z")
            .await
            .unwrap();
        assert_eq!(report["actions"], json!([]), "{report}");
        let why = |endpoint: &str| {
            let skipped = report["skipped"].as_array().unwrap();
            let found = skipped.iter().find(|s| s["endpoint"] == endpoint);
            found.map_or_else(String::new, |s| s["why"].as_str().unwrap().to_owned())
        };
        let sealed = why("sealed");
        assert!(
            sealed.contains("off-hours, but it is not put to sleep") && sealed.contains("KMS key"),
            "{report}"
        );
        let orphan = why("orphan");
        assert!(
            orphan.contains("off-hours, but it is not put to sleep")
                && orphan.contains("a model of it cannot be read")
                && orphan.contains("orphan-model"),
            "{report}"
        );
    }
    let calls = h.proxy.take();
    let count = |op: &str| calls.iter().filter(|c| *c == op).count();
    // One read of each EndpointConfig and its model for both ticks; no lease, no sleep.
    assert_eq!(count("sagemaker:DescribeEndpointConfig"), 2, "{calls:?}");
    assert_eq!(count("sagemaker:DescribeModel"), 2, "{calls:?}");
    assert_eq!(count("dynamodb:PutItem"), 0, "{calls:?}");
    for endpoint in ["sealed", "orphan"] {
        assert_eq!(
            h.aws.endpoint_status(endpoint).await.as_deref(),
            Some("InService")
        );
    }
}

/// The scheduler reads, for an endpoint it would put to sleep, whether its scaling policies
/// could come back and run again: while the alarm that runs its step policy may not be
/// re-pointed, the sleep is left out of the plan (so it takes no place under the tick's limit),
/// and once the alarm's owner allows it, the next tick puts the endpoint to sleep.
#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_sleep_waits_for_its_step_policy_alarm_to_allow_re_pointing() {
    let h = Harness::start(CONFIG).await;
    h.aws
        .create_endpoint("desk", &["AllTraffic"], &[("sagetide:schedule", "desk")])
        .await;
    h.aws.seed_autoscaling("desk", "AllTraffic").await;
    let alarm = sagetide_tests::lifecycle::backlog_alarm("desk", "AllTraffic");
    h.aws
        .tag_alarm(&alarm, (sagetide::tags::REPOINT, "false"))
        .await;
    let mut scheduler = h.scheduler(&[]);
    h.proxy.take();

    let evening = "2026-11-24T20:00:00Z";
    let report = scheduler
        .invoke_at(scheduled_event(evening), evening)
        .await
        .unwrap();

    assert_eq!(report["actions"], json!([]), "{report}");
    let why = report["skipped"][0]["why"].as_str().unwrap_or_default();
    assert!(
        why.contains("off-hours, but it is not put to sleep")
            && why.contains(&alarm)
            && why.contains("sagetide:repoint=true"),
        "{report}"
    );
    let calls = h.proxy.take();
    let writes = sagetide_tests::proxy::mutating(&calls);
    assert_eq!(writes, Vec::<String>::new(), "{calls:?}");
    assert_eq!(
        h.aws.endpoint_status("desk").await.as_deref(),
        Some("InService")
    );

    h.aws
        .tag_alarm(&alarm, (sagetide::tags::REPOINT, "true"))
        .await;
    let later = "2026-11-24T20:05:00Z";
    let report = scheduler
        .invoke_at(scheduled_event(later), later)
        .await
        .unwrap();
    assert_eq!(report["actions"][0]["action"], "sleep", "{report}");
    assert_eq!(report["actions"][0]["outcome"], "applied", "{report}");
}
