//! Endpoints that are not real-time variants with instances, on a schedule: a serverless
//! variant's provisioned concurrency, an asynchronous variant scaled to 0 instances (with or
//! without what brings it back from zero, or with it installed on a tag) where a real-time one
//! may not be, and inference components at zero copies off-hours or when idle.

use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, MetricAggregationType, MetricType, PolicyType, PredefinedMetricSpecification,
    ScalableDimension, ServiceNamespace, StepAdjustment, StepScalingPolicyConfiguration,
    TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
use aws_sdk_sagemaker::types::builders::ProductionVariantBuilder;
use aws_sdk_sagemaker::types::{
    ProductionVariant, ProductionVariantInstanceType, ProductionVariantServerlessConfig,
};
use sagetide_tests::seed::{Aws, resource_id};
use sagetide_tests::{Harness, alarm_change, scheduled_event};

const CONFIG: &str = r#"
schedules:
  queue:
    timezone: UTC
    periods:
      - { days: mon-sun, start: "08:00", end: "20:00", capacity: { min: 2, max: 8 } }
    off_hours: { min: 0, max: 8 }
  llm-hours:
    timezone: UTC
    periods:
      - { days: mon-sun, start: "08:00", end: "20:00", capacity: { min: 1, max: 3 } }
    off_hours: sleep
"#;

const QUEUE: (&str, &str) = ("sagetide:schedule", "queue");

/// `(min, max)` of the target of `dimension` of `endpoint`'s variant AllTraffic.
async fn bounds(aws: &Aws, endpoint: &str, dimension: ScalableDimension) -> Option<(i32, i32)> {
    aws.target_of(&resource_id(endpoint, "AllTraffic"), dimension)
        .await
        .map(|t| (t.min_capacity, t.max_capacity))
}

/// An endpoint `name` whose one variant, AllTraffic, is `variant`'s, on the schedule `queue`.
async fn create(aws: &Aws, name: &str, variant: ProductionVariantBuilder, asynchronous: bool) {
    aws.create_endpoint_of(name, variant, asynchronous, &[QUEUE])
        .await;
}

/// AWS's way to bring an asynchronous endpoint back from 0 instances: a step policy that adds
/// one, run by an alarm on `HasBacklogWithoutCapacity`.
async fn scale_from_zero(aws: &Aws, endpoint: &str) {
    let policy = aws
        .autoscaling
        .put_scaling_policy()
        .policy_name("HasBacklogWithoutCapacity-ScalingPolicy")
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(resource_id(endpoint, "AllTraffic"))
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .policy_type(PolicyType::StepScaling)
        .step_scaling_policy_configuration(
            StepScalingPolicyConfiguration::builder()
                .adjustment_type(AdjustmentType::ChangeInCapacity)
                .metric_aggregation_type(MetricAggregationType::Average)
                .cooldown(300)
                .step_adjustments(
                    StepAdjustment::builder()
                        .metric_interval_lower_bound(0.0)
                        .scaling_adjustment(1)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .expect("put the scale-from-zero policy");
    aws.cloudwatch
        .put_metric_alarm()
        .alarm_name(format!("{endpoint}-backlog-without-capacity"))
        .namespace("AWS/SageMaker")
        .metric_name("HasBacklogWithoutCapacity")
        .dimensions(
            Dimension::builder()
                .name("EndpointName")
                .value(endpoint)
                .build(),
        )
        .statistic(Statistic::Average)
        .period(60)
        .evaluation_periods(2)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .treat_missing_data("missing")
        .alarm_actions(policy.policy_arn)
        .send()
        .await
        .expect("put the scale-from-zero alarm");
}

fn with_instances() -> ProductionVariantBuilder {
    ProductionVariant::builder()
        .instance_type(ProductionVariantInstanceType::MlM5Large)
        .initial_instance_count(2)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_serverless_variants_provisioned_concurrency_follows_its_schedule() {
    let h = Harness::start(CONFIG).await;
    let serverless = ProductionVariant::builder().serverless_config(
        ProductionVariantServerlessConfig::builder()
            .memory_size_in_mb(2048)
            .max_concurrency(20)
            .provisioned_concurrency(4)
            .build(),
    );
    create(&h.aws, "summarize", serverless, false).await;
    let mut scheduler = h.scheduler(&[]);
    let concurrency = ScalableDimension::SageMakerVariantDesiredProvisionedConcurrency;
    for (utc, expected) in [
        ("2026-11-23T09:00:00Z", (2, 8)),
        ("2026-11-23T21:00:00Z", (0, 8)),
        ("2026-11-24T08:00:00Z", (2, 8)),
    ] {
        let report = scheduler.invoke(scheduled_event(utc)).await.unwrap();
        assert_eq!(
            bounds(&h.aws, "summarize", concurrency.clone()).await,
            Some(expected),
            "at {utc}: {report}"
        );
    }
    let instances = ScalableDimension::SageMakerVariantDesiredInstanceCount;
    assert_eq!(bounds(&h.aws, "summarize", instances).await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_asynchronous_variant_goes_to_zero_instances_off_hours_and_a_real_time_one_is_refused_alone()
 {
    let h = Harness::start(CONFIG).await;
    create(&h.aws, "transcribe", with_instances(), true).await;
    create(&h.aws, "translate", with_instances(), true).await;
    create(&h.aws, "chat", with_instances(), false).await;
    // Its owner asks sagetide to bring it back from zero on a request.
    let request = ("sagetide:wake-on", "request");
    h.aws
        .create_endpoint_of("summarise", with_instances(), true, &[QUEUE, request])
        .await;
    let mut scheduler = h.scheduler(&[]);
    let instances = ScalableDimension::SageMakerVariantDesiredInstanceCount;

    let day = scheduler
        .invoke(scheduled_event("2026-11-23T09:00:00Z"))
        .await
        .unwrap();
    for endpoint in ["transcribe", "translate", "chat"] {
        let now = bounds(&h.aws, endpoint, instances.clone()).await;
        assert_eq!(now, Some((2, 8)), "{endpoint}: {day}");
    }

    // Off-hours the schedule asks 0 instances of both: the asynchronous endpoint gets them; the
    // real-time one cannot, is left as it was and named with what to do, and the tick goes on.
    // Only translate's owner set up what brings it back from zero when requests queue: the
    // plan says so of transcribe.
    scale_from_zero(&h.aws, "translate").await;
    let night = scheduler
        .invoke(scheduled_event("2026-11-23T21:00:00Z"))
        .await
        .unwrap();
    for endpoint in ["transcribe", "translate"] {
        let now = bounds(&h.aws, endpoint, instances.clone()).await;
        assert_eq!(now, Some((0, 8)), "{endpoint}: {night}");
    }
    let reason = |endpoint: &str| {
        let actions = night["actions"].as_array().unwrap();
        let action = actions.iter().find(|a| a["endpoint"] == endpoint).unwrap();
        action["reason"].as_str().unwrap().to_owned()
    };
    assert!(
        reason("transcribe").contains("no step policy on HasBacklogWithoutCapacity"),
        "{night}"
    );
    assert!(
        !reason("translate").contains("HasBacklogWithoutCapacity"),
        "{night}"
    );
    // summarise gets the step policy and alarm AWS documents, before its minimum goes to 0.
    assert_eq!(
        bounds(&h.aws, "summarise", instances.clone()).await,
        Some((0, 8)),
        "{night}"
    );
    let actions = night["actions"].as_array().unwrap();
    let summarise = actions
        .iter()
        .find(|a| a["endpoint"] == "summarise")
        .unwrap();
    let detail = summarise["detail"].as_str().unwrap();
    assert!(
        detail.ends_with("(with its scale-from-zero policy)"),
        "{night}"
    );
    let policy = h
        .aws
        .autoscaling
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(resource_id("summarise", "AllTraffic"))
        .send()
        .await
        .unwrap()
        .scaling_policies
        .unwrap_or_default();
    assert_eq!(policy.len(), 1, "{policy:?}");
    assert_eq!(policy[0].policy_type, PolicyType::StepScaling);
    let alarms = h
        .aws
        .cloudwatch
        .describe_alarms()
        .alarm_names("sagetide-scale-from-zero-endpoint.summarise.variant.AllTraffic")
        .send()
        .await
        .unwrap()
        .metric_alarms
        .unwrap_or_default();
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    assert_eq!(
        alarms[0].metric_name.as_deref(),
        Some("HasBacklogWithoutCapacity")
    );
    assert_eq!(alarms[0].alarm_actions(), [policy[0].policy_arn.clone()]);
    assert_eq!(
        bounds(&h.aws, "chat", instances.clone()).await,
        Some((2, 8)),
        "{night}"
    );
    let skipped = night["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{night}");
    assert_eq!(skipped[0]["endpoint"], "chat", "{night}");
    let why = skipped[0]["why"].as_str().unwrap();
    assert!(why.contains("off_hours: sleep"), "{why}");

    let morning = scheduler
        .invoke(scheduled_event("2026-11-24T08:00:00Z"))
        .await
        .unwrap();
    let transcribe = bounds(&h.aws, "transcribe", instances.clone()).await;
    assert_eq!(transcribe, Some((2, 8)), "{morning}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_inference_component_goes_to_zero_copies_off_hours_and_back_its_policies_untouched() {
    let h = Harness::start(CONFIG).await;
    let llm_hours = ("sagetide:schedule", "llm-hours");
    // llm may release its instances; kept keeps one whatever its copies.
    h.aws.create_component_endpoint("llm", 0).await;
    h.aws.create_component_endpoint("kept", 1).await;
    h.aws
        .create_component("llama", "llm", 1, &[llm_hours])
        .await;
    h.aws
        .create_component("mistral", "kept", 1, &[llm_hours])
        .await;
    // qwen's owner asks for its copies back on a request.
    let request = ("sagetide:wake-on", "request");
    h.aws
        .create_component("qwen", "llm", 1, &[llm_hours, request])
        .await;
    // Untagged: never touched.
    h.aws.create_component("phi", "llm", 1, &[]).await;
    h.moto.settle().await;
    // llama's owner scales its copies on traffic.
    let llama = "inference-component/llama";
    let copies = ScalableDimension::SageMakerInferenceComponentDesiredCopyCount;
    h.aws
        .autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(llama)
        .scalable_dimension(copies.clone())
        .min_capacity(1)
        .max_capacity(3)
        .send()
        .await
        .expect("register llama's target");
    h.aws
        .autoscaling
        .put_scaling_policy()
        .policy_name("invocations-per-copy")
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(llama)
        .scalable_dimension(copies.clone())
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(5.0)
                .predefined_metric_specification(
                    PredefinedMetricSpecification::builder()
                        .predefined_metric_type(
                            MetricType::SageMakerInferenceComponentInvocationsPerCopy,
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("put llama's policy");
    let policies = || async {
        h.aws
            .autoscaling
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(llama)
            .send()
            .await
            .expect("describe llama's policies")
            .scaling_policies
            .unwrap_or_default()
    };
    let before = policies().await;
    let mut scheduler = h.scheduler(&[]);

    let day = scheduler
        .invoke(scheduled_event("2026-11-23T09:00:00Z"))
        .await
        .unwrap();
    assert_eq!(h.aws.copy_bounds("llama").await, Some((1, 3)), "{day}");
    assert_eq!(h.aws.copy_bounds("mistral").await, Some((1, 3)), "{day}");

    // Off-hours: zero copies, nothing deleted; llm's instances go with them, kept's stay, and
    // the plan says why.
    let night = scheduler
        .invoke(scheduled_event("2026-11-23T21:00:00Z"))
        .await
        .unwrap();
    h.moto.settle().await;
    for component in ["llama", "mistral"] {
        assert_eq!(h.aws.copy_bounds(component).await, Some((0, 0)), "{night}");
        assert_eq!(
            h.aws.copies(component).await,
            ("InService".into(), 0, 0),
            "{night}"
        );
    }
    assert_eq!(h.aws.copies("phi").await, ("InService".into(), 1, 1));
    assert_eq!(h.aws.copy_bounds("phi").await, None);
    assert_eq!(h.aws.instances("kept").await, 1, "{night}");
    let reason = |endpoint: &str| {
        let actions = night["actions"].as_array().unwrap();
        let action = actions.iter().find(|a| a["endpoint"] == endpoint).unwrap();
        action["reason"].as_str().unwrap().to_owned()
    };
    assert!(reason("kept").contains("keeps 1 instance(s)"), "{night}");
    assert!(!reason("llm").contains("keeps"), "{night}");
    assert_eq!(policies().await, before, "llama's policy untouched");
    // qwen went to no copies first; from none, the next tick opens it to its periods' largest
    // max, its scale-from-zero policy and alarm put first.
    assert_eq!(
        h.aws.copies("qwen").await,
        ("InService".into(), 0, 0),
        "{night}"
    );
    let opened = scheduler
        .invoke(scheduled_event("2026-11-23T21:01:00Z"))
        .await
        .unwrap();
    assert_eq!(h.aws.copy_bounds("qwen").await, Some((0, 3)), "{opened}");
    assert_eq!(opened["actions"].as_array().unwrap().len(), 1, "{opened}");
    let alarm = h
        .aws
        .cloudwatch
        .describe_alarms()
        .alarm_names("sagetide-scale-from-zero-inference-component.qwen")
        .send()
        .await
        .unwrap()
        .metric_alarms
        .unwrap_or_default();
    assert_eq!(
        alarm[0].metric_name.as_deref(),
        Some("NoCapacityInvocationFailures"),
        "{opened}"
    );
    assert!(alarm[0].alarm_actions()[0].contains("sagetide-scale-from-zero"));

    let morning = scheduler
        .invoke(scheduled_event("2026-11-24T08:00:00Z"))
        .await
        .unwrap();
    h.moto.settle().await;
    for component in ["llama", "mistral", "qwen"] {
        assert_eq!(
            h.aws.copy_bounds(component).await,
            Some((1, 3)),
            "{morning}"
        );
        assert_eq!(
            h.aws.copies(component).await,
            ("InService".into(), 1, 1),
            "{morning}"
        );
    }
    assert_eq!(
        h.aws.instances("llm").await,
        2,
        "at most 2 instances for 3 copies"
    );
    assert_eq!(policies().await, before, "llama's policy untouched");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_inference_component_goes_to_zero_copies_and_a_manual_wake_gives_them_back() {
    let h = Harness::start(CONFIG).await;
    h.aws.create_component_endpoint("llm", 0).await;
    let idle = ("sagetide:idle-after", "1h");
    // llama's copies are scaled by Application Auto Scaling; gemma's are set by hand.
    h.aws.create_component("llama", "llm", 2, &[idle]).await;
    h.aws.create_component("gemma", "llm", 2, &[idle]).await;
    h.moto.settle().await;
    h.aws
        .autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id("inference-component/llama")
        .scalable_dimension(ScalableDimension::SageMakerInferenceComponentDesiredCopyCount)
        .min_capacity(1)
        .max_capacity(3)
        .send()
        .await
        .expect("register llama's target");
    let evening = sagetide_tests::after_tomorrow(0, "21:00");

    // The tick gives each an idle alarm on its own Invocations.
    let mut scheduler = h.scheduler(&[]);
    let tick = scheduler
        .invoke(scheduled_event(&evening.to_string()))
        .await
        .unwrap();
    let alarm = "sagetide-idle-llm.llama";
    let made = h
        .aws
        .cloudwatch
        .describe_alarms()
        .alarm_name_prefix("sagetide-idle-llm.")
        .send()
        .await
        .unwrap()
        .metric_alarms
        .unwrap_or_default();
    let names: Vec<_> = made.iter().filter_map(|a| a.alarm_name()).collect();
    assert_eq!(names, ["sagetide-idle-llm.gemma", alarm], "{tick}");
    let watched = made[1].metrics()[0]
        .metric_stat()
        .unwrap()
        .metric()
        .unwrap();
    assert_eq!(
        watched.dimensions()[0].name(),
        Some("InferenceComponentName")
    );
    assert_eq!(watched.dimensions()[0].value(), Some("llama"));

    // llama's ALARM, and a person for gemma: idle checked again, what each ran kept, zero
    // copies, nothing deleted.
    let mut fired = alarm_change(alarm, "ALARM", None, &evening.to_string());
    fired["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] =
        serde_json::json!({"InferenceComponentName": "llama"});
    let slept = h.invoke("sleeper", fired.clone(), evening).await.unwrap();
    let sleep = serde_json::json!({"action": "sleep", "component": "gemma"});
    let slept_too = h.invoke("sleeper", sleep, evening).await.unwrap();
    h.moto.settle().await;
    for component in ["llama", "gemma"] {
        let now = h.aws.copies(component).await;
        assert_eq!(now, ("InService".into(), 0, 0), "{slept} {slept_too}");
    }
    assert_eq!(h.aws.copy_bounds("llama").await, Some((0, 0)), "{slept}");
    // Again: already asleep, and the next tick holds them there.
    let again = h.invoke("sleeper", fired, evening).await.unwrap();
    assert_eq!(again["reports"][0]["outcome"], "already-done", "{again}");
    let later = evening + jiff::SignedDuration::from_hours(1);
    let tick = scheduler
        .invoke(scheduled_event(&later.to_string()))
        .await
        .unwrap();
    assert_eq!(tick["actions"], serde_json::json!([]), "{tick}");

    // A person wakes them: llama's bounds come back (Application Auto Scaling raises its copies
    // to the minimum), gemma's copies.
    for component in ["llama", "gemma"] {
        let wake = serde_json::json!({"action": "wake", "component": component});
        let woken = h.invoke("waker", wake.clone(), later).await.unwrap();
        assert_eq!(woken["reports"][0]["outcome"], "applied", "{woken}");
        let again = h.invoke("waker", wake, later).await.unwrap();
        assert_eq!(again["reports"][0]["outcome"], "already-done", "{again}");
    }
    h.moto.settle().await;
    assert_eq!(h.aws.copy_bounds("llama").await, Some((1, 3)));
    assert_eq!(h.aws.copies("llama").await, ("InService".into(), 1, 1));
    assert_eq!(h.aws.copies("gemma").await, ("InService".into(), 2, 2));
    // Its idle alarm still counts the sleep's silence: no sleep again before a window has
    // passed since the wake.
    let sleep = serde_json::json!({"action": "sleep", "component": "gemma"});
    let declined = h.invoke("sleeper", sleep, later).await.unwrap();
    let detail = declined["reports"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("it was woken at"), "{declined}");
}
