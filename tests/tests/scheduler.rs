//! The real `scheduler` binary against moto, through the Lambda Runtime API.

use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableTargetAction, StepAdjustment,
    StepScalingPolicyConfiguration, SuspendedState, TargetTrackingScalingPolicyConfiguration,
};
use sagetide_tests::seed::{Aws, resource_id};
use sagetide_tests::{Harness, proxy, scheduled_event, tick_actions};
use serde_json::Value;

const CONFIG: &str = r#"
schedules:
  office-hours:
    timezone: Europe/Berlin
    periods:
      - days: mon-fri
        start: "08:00"
        end: "19:00"
        capacity: { min: 2, max: 10 }
    off_hours: { min: 1, max: 1 }
    holidays: ["2026-12-24"]
  night-owl:
    timezone: America/New_York
    periods:
      - days: mon-sun
        start: "20:00"
        end: "02:00"
        capacity: { min: 3, max: 6 }
    off_hours: sleep
    prewarm: 30m
"#;

const OFFICE: (&str, &str) = ("sagetide:schedule", "office-hours");

/// `(min, max)` of the endpoint's first variant.
async fn capacity(aws: &Aws, endpoint: &str) -> Option<(i32, i32)> {
    aws.capacity(endpoint, "AllTraffic").await
}

/// Endpoint "ep" on office-hours, its one variant's scalable target at `min..max`.
async fn office_endpoint(h: &Harness, min: i32, max: i32) {
    h.aws
        .create_endpoint("ep", &["AllTraffic"], &[OFFICE])
        .await;
    h.aws
        .register_target("ep", "AllTraffic", min, max, None)
        .await;
}

fn log_lines_about<'a>(logs: &'a [Value], endpoint: &str) -> Vec<&'a Value> {
    logs.iter().filter(|l| l["endpoint"] == endpoint).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn berlin_schedule_at_0759_0800_1859_1900_local() {
    let h = Harness::start(CONFIG).await;
    office_endpoint(&h, 1, 1).await;
    let mut scheduler = h.scheduler(&[]);

    // Monday 2026-11-23, CET (UTC+1).
    for (utc, expected) in [
        ("2026-11-23T06:59:00Z", (1, 1)),
        ("2026-11-23T07:00:00Z", (2, 10)),
        ("2026-11-23T17:59:00Z", (2, 10)),
        ("2026-11-23T18:00:00Z", (1, 1)),
    ] {
        let report = scheduler.invoke(scheduled_event(utc)).await.unwrap();
        assert_eq!(
            capacity(&h.aws, "ep").await,
            Some(expected),
            "at {utc}: {report}"
        );
    }
    // Each tick that changes something first claims its time (so a late tick cannot undo it),
    // keeps each change in the history, and publishes its metrics.
    let calls = h.proxy.take();
    assert_eq!(
        proxy::mutating(&calls),
        [
            "dynamodb:PutItem",
            "application-autoscaling:RegisterScalableTarget",
            "dynamodb:PutItem",
            "cloudwatch:PutMetricData"
        ]
        .repeat(2),
        "{calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn berlin_schedule_follows_local_time_across_the_spring_dst_change() {
    let h = Harness::start(CONFIG).await;
    office_endpoint(&h, 1, 1).await;
    let mut scheduler = h.scheduler(&[]);

    // Friday before the change (CET): 08:00 local is 07:00 UTC. Monday after (CEST): 06:00 UTC.
    for (utc, expected) in [
        ("2026-03-27T06:59:00Z", (1, 1)),
        ("2026-03-27T07:00:00Z", (2, 10)),
        ("2026-03-27T18:00:00Z", (1, 1)),
        ("2026-03-30T05:59:00Z", (1, 1)),
        ("2026-03-30T06:00:00Z", (2, 10)),
        ("2026-03-30T16:59:00Z", (2, 10)),
        ("2026-03-30T17:00:00Z", (1, 1)),
    ] {
        scheduler.invoke(scheduled_event(utc)).await.unwrap();
        assert_eq!(capacity(&h.aws, "ep").await, Some(expected), "at {utc}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untagged_endpoint_is_never_touched() {
    let h = Harness::start(CONFIG).await;
    h.aws
        .create_endpoint("tagged", &["AllTraffic"], &[OFFICE])
        .await;
    h.aws
        .create_endpoint("untagged", &["AllTraffic"], &[("team", "search")])
        .await;
    h.aws
        .register_target("untagged", "AllTraffic", 5, 7, None)
        .await;
    let mut scheduler = h.scheduler(&[]);

    scheduler
        .invoke(scheduled_event("2026-11-23T10:00:00Z"))
        .await
        .unwrap();

    assert_eq!(capacity(&h.aws, "tagged").await, Some((2, 10)));
    assert_eq!(capacity(&h.aws, "untagged").await, Some((5, 7)));
    assert!(
        h.aws
            .tags("untagged")
            .await
            .keys()
            .all(|k| !k.starts_with("sagetide:"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_two_variant_endpoint_gets_both_variants_scaled_and_a_missing_target_registered() {
    let h = Harness::start(CONFIG).await;
    h.aws
        .create_endpoint("ab", &["blue", "green"], &[OFFICE])
        .await;
    h.aws.register_target("ab", "blue", 1, 1, None).await;
    let mut scheduler = h.scheduler(&[]);

    scheduler
        .invoke(scheduled_event("2026-11-23T10:00:00Z"))
        .await
        .unwrap();

    assert_eq!(h.aws.capacity("ab", "blue").await, Some((2, 10)));
    assert_eq!(h.aws.capacity("ab", "green").await, Some((2, 10)));
}

#[tokio::test(flavor = "multi_thread")]
async fn suspended_state_and_scaling_policies_are_left_as_they_were() {
    let h = Harness::start(CONFIG).await;
    h.aws
        .create_endpoint("ep", &["AllTraffic"], &[OFFICE])
        .await;
    let suspended = SuspendedState::builder()
        .dynamic_scaling_in_suspended(true)
        .dynamic_scaling_out_suspended(false)
        .scheduled_scaling_suspended(true)
        .build();
    h.aws
        .register_target("ep", "AllTraffic", 1, 1, Some(suspended.clone()))
        .await;
    seed_policies(&h.aws, "ep", "AllTraffic").await;
    let policies_before = h.aws.policies("ep", "AllTraffic").await;
    let actions_before = h.aws.scheduled_actions("ep", "AllTraffic").await;
    assert_eq!(policies_before.len(), 2);
    let mut scheduler = h.scheduler(&[]);

    scheduler
        .invoke(scheduled_event("2026-11-23T10:00:00Z"))
        .await
        .unwrap();

    let target = h.aws.target("ep", "AllTraffic").await.unwrap();
    assert_eq!((target.min_capacity, target.max_capacity), (2, 10));
    assert_eq!(target.suspended_state, Some(suspended));
    assert_eq!(h.aws.policies("ep", "AllTraffic").await, policies_before);
    assert_eq!(
        h.aws.scheduled_actions("ep", "AllTraffic").await,
        actions_before
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_tick_makes_no_mutating_call() {
    let h = Harness::start(CONFIG).await;
    for name in ["ep-1", "ep-2", "ep-3"] {
        h.aws
            .create_endpoint(name, &["AllTraffic"], &[OFFICE])
            .await;
    }
    h.aws
        .create_endpoint("ab", &["blue", "green"], &[OFFICE])
        .await;
    let mut scheduler = h.scheduler(&[]);
    let tick = scheduled_event("2026-11-23T10:00:00Z");

    scheduler.invoke(tick.clone()).await.unwrap();
    let first = h.proxy.take();
    // Five targets with their history entries, the tick's claim of its time, and its metrics.
    assert_eq!(proxy::mutating(&first).len(), 5 * 2 + 1 + 1, "{first:?}");

    let report = scheduler.invoke(tick).await.unwrap();
    let mut second = h.proxy.take();
    assert_eq!(proxy::mutating(&second), Vec::<String>::new());
    assert_eq!(report["actions"], serde_json::json!([]));
    // One Search page, one GetResources page (no inference component is tagged, so none is
    // listed), one DescribeScalableTargets batch, and one Query of the table's open items
    // (sleeping endpoints, remedies in force); no idle alarms were ever made here, so none are
    // listed. The configuration is cached.
    second.sort();
    assert_eq!(
        second,
        [
            "application-autoscaling:DescribeScalableTargets",
            "dynamodb:Query",
            "sagemaker:Search",
            "tag:GetResources",
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_plans_and_logs_but_mutates_nothing() {
    let h = Harness::start(CONFIG).await;
    office_endpoint(&h, 1, 1).await;
    h.aws
        .set_tag(
            "ep",
            "sagetide:override",
            "awake-until=2026-11-23T09:00:00Z",
        )
        .await;
    let mut scheduler = h.scheduler(&[("SAGETIDE_DRY_RUN", "true")]);

    let report = scheduler
        .invoke(scheduled_event("2026-11-23T10:00:00Z"))
        .await
        .unwrap();

    assert_eq!(proxy::mutating(&h.proxy.take()), Vec::<String>::new());
    assert_eq!(capacity(&h.aws, "ep").await, Some((1, 1)));
    assert!(h.aws.tags("ep").await.contains_key("sagetide:override"));
    assert_eq!(report["dry_run"], true);
    let planned: Vec<&str> = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["detail"].as_str().unwrap())
        .collect();
    assert_eq!(
        planned,
        [
            "remove-override awake-until=2026-11-23T09:00:00Z",
            "set-capacity AllTraffic 1..1 -> 2..10"
        ]
    );
    let logs = scheduler.take_logs();
    assert!(
        log_lines_about(&logs, "ep")
            .iter()
            .any(|l| l["action"] == "set-capacity" && l["dry_run"] == true),
        "{logs:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_override_holds_until_it_expires_and_is_then_removed() {
    let h = Harness::start(CONFIG).await;
    office_endpoint(&h, 1, 1).await;
    h.aws
        .set_tag(
            "ep",
            "sagetide:override",
            "awake-until=2026-11-23T21:00:00Z",
        )
        .await;
    let mut scheduler = h.scheduler(&[]);

    // 20:30 Berlin is off-hours, but the override keeps the endpoint awake.
    scheduler
        .invoke(scheduled_event("2026-11-23T19:30:00Z"))
        .await
        .unwrap();
    assert_eq!(capacity(&h.aws, "ep").await, Some((2, 10)));
    assert!(h.aws.tags("ep").await.contains_key("sagetide:override"));

    // After it expires, the schedule rules again and the tag is gone.
    scheduler
        .invoke(scheduled_event("2026-11-23T21:00:00Z"))
        .await
        .unwrap();
    assert_eq!(capacity(&h.aws, "ep").await, Some((1, 1)));
    let tags = h.aws.tags("ep").await;
    assert!(!tags.contains_key("sagetide:override"), "{tags:?}");
    assert_eq!(
        tags.get("sagetide:schedule").map(String::as_str),
        Some("office-hours")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_asleep_override_holds_off_hours_capacity_during_a_period() {
    let h = Harness::start(CONFIG).await;
    office_endpoint(&h, 2, 10).await;
    h.aws
        .set_tag(
            "ep",
            "sagetide:override",
            "asleep-until=2026-11-23T12:00:00Z",
        )
        .await;
    let mut scheduler = h.scheduler(&[]);

    scheduler
        .invoke(scheduled_event("2026-11-23T10:00:00Z"))
        .await
        .unwrap();
    assert_eq!(capacity(&h.aws, "ep").await, Some((1, 1)));
    scheduler
        .invoke(scheduled_event("2026-11-23T12:00:00Z"))
        .await
        .unwrap();
    assert_eq!(capacity(&h.aws, "ep").await, Some((2, 10)));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_tags_are_logged_by_endpoint_and_the_rest_of_the_fleet_is_handled() {
    let h = Harness::start(CONFIG).await;
    h.aws
        .create_endpoint("good", &["AllTraffic"], &[OFFICE])
        .await;
    h.aws
        .create_endpoint("lost", &["AllTraffic"], &[("sagetide:schedule", "no-such")])
        .await;
    h.aws
        .register_target("lost", "AllTraffic", 4, 4, None)
        .await;
    h.aws
        .create_endpoint(
            "garbled",
            &["AllTraffic"],
            &[OFFICE, ("sagetide:override", "awake-until=next tuesday")],
        )
        .await;
    h.aws
        .register_target("garbled", "AllTraffic", 4, 4, None)
        .await;
    let mut scheduler = h.scheduler(&[]);

    let report = scheduler
        .invoke(scheduled_event("2026-11-23T10:00:00Z"))
        .await
        .unwrap();

    assert_eq!(capacity(&h.aws, "good").await, Some((2, 10)));
    assert_eq!(capacity(&h.aws, "lost").await, Some((4, 4)));
    assert_eq!(capacity(&h.aws, "garbled").await, Some((4, 4)));
    assert_eq!(report["skipped"].as_array().unwrap().len(), 2, "{report}");
    let logs = scheduler.take_logs();
    let lost = log_lines_about(&logs, "lost");
    assert!(
        lost.iter()
            .any(|l| l["level"] == "WARN" && l["why"].as_str().unwrap().contains("\"no-such\"")),
        "{logs:?}"
    );
    let garbled = log_lines_about(&logs, "garbled");
    assert!(
        garbled
            .iter()
            .any(|l| l["level"] == "WARN"
                && l["why"].as_str().unwrap().contains("sagetide:override")),
        "{logs:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_event_is_rejected_and_nothing_changes() {
    let h = Harness::start(CONFIG).await;
    office_endpoint(&h, 1, 1).await;
    let mut scheduler = h.scheduler(&[]);

    for event in [
        serde_json::json!({"hello": "world"}),
        serde_json::json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}),
    ] {
        let error = scheduler.invoke(event).await.unwrap_err();
        assert_eq!(error["errorType"], "RejectedEvent", "{error}");
    }
    assert_eq!(h.proxy.take(), Vec::<String>::new());
    assert_eq!(capacity(&h.aws, "ep").await, Some((1, 1)));
    assert!(
        scheduler
            .take_logs()
            .iter()
            .any(|l| l["message"] == "rejected event")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_document_changes_nothing_at_all() {
    let invalid = CONFIG.replace("min: 2, max: 10", "min: 20, max: 10");
    let h = Harness::start(&invalid).await;
    office_endpoint(&h, 1, 1).await;
    let mut scheduler = h.scheduler(&[]);

    let error = scheduler
        .invoke(scheduled_event("2026-11-23T10:00:00Z"))
        .await
        .unwrap_err();

    assert_eq!(error["errorType"], "InvalidConfiguration");
    let message = error["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("schedule \"office-hours\", field periods[0].capacity"),
        "{message}"
    );
    assert_eq!(proxy::mutating(&h.proxy.take()), Vec::<String>::new());
    assert_eq!(capacity(&h.aws, "ep").await, Some((1, 1)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sleep_schedule_deletes_off_hours_and_recreates_prewarmed_with_its_autoscaling() {
    let h = Harness::start(CONFIG).await;
    h.aws
        .create_endpoint(
            "owl",
            &["AllTraffic"],
            &[("sagetide:schedule", "night-owl"), ("team", "nightly")],
        )
        .await;
    h.aws.register_target("owl", "AllTraffic", 3, 6, None).await;
    seed_policies(&h.aws, "owl", "AllTraffic").await;
    let before = h.aws.autoscaling_state("owl", "AllTraffic").await;
    let tags = h.aws.tags("owl").await;
    // Slow enough that the tick right after the wake meets it Creating.
    let slow = sagetide_tests::moto::Timing {
        creating: 1.0,
        updating: 1.0,
        deleting: 1.0,
    };
    h.moto.set_timing(slow).await;
    let mut scheduler = h.scheduler(&[]);
    let mut tick =
        async |time: &str| tick_actions(&scheduler.invoke(scheduled_event(time)).await.unwrap());

    // Noon in New York is off-hours of the night-owl schedule.
    assert_eq!(tick("2026-11-23T17:00:00Z").await, ["owl sleep applied"]);
    assert_eq!(h.aws.snapshot_phase("owl").await.as_deref(), Some("asleep"));
    h.moto.settle().await;
    assert_eq!(h.aws.endpoint("owl").await, None);

    // 19:00 is still off-hours; 19:31 is inside the 30 minutes of prewarm before 20:00.
    assert_eq!(tick("2026-11-24T00:00:00Z").await, Vec::<String>::new());
    assert_eq!(tick("2026-11-24T00:31:00Z").await, ["owl wake applied"]);
    // Creating, it waits for its restore.
    assert_eq!(tick("2026-11-24T00:33:00Z").await, Vec::<String>::new());
    h.moto.settle().await;
    assert_eq!(h.aws.tags("owl").await, tags);
    // The restorer's event is not delivered here: the next ticks restore instead, the
    // instance count first (the endpoint is Updating after it), then the rest.
    assert_eq!(tick("2026-11-24T00:36:00Z").await, ["owl restore applied"]);
    assert_eq!(
        h.aws.autoscaling_state("owl", "AllTraffic").await,
        Vec::<String>::new()
    );
    h.moto.settle().await;
    assert_eq!(tick("2026-11-24T00:38:00Z").await, ["owl restore applied"]);
    assert_eq!(h.aws.autoscaling_state("owl", "AllTraffic").await, before);
    assert_eq!(
        h.aws.snapshot_phase("owl").await.as_deref(),
        Some("restored")
    );

    h.proxy.take();
    assert_eq!(tick("2026-11-24T01:05:00Z").await, Vec::<String>::new());
    assert_eq!(proxy::mutating(&h.proxy.take()), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_alarms_follow_the_idle_after_tag() {
    let h = Harness::start(CONFIG).await;
    h.aws
        .create_endpoint(
            "quiet",
            &["blue", "green"],
            &[("sagetide:idle-after", "90m")],
        )
        .await;
    h.aws
        .create_endpoint("busy", &["AllTraffic"], &[OFFICE])
        .await;
    let mut scheduler = h.scheduler(&[]);
    let mut tick =
        async |time: &str| tick_actions(&scheduler.invoke(scheduled_event(time)).await.unwrap());

    assert_eq!(
        tick("2026-11-23T10:00:00Z").await,
        [
            "busy register-target applied",
            "quiet put-idle-alarm applied"
        ]
    );
    assert_eq!(
        h.aws.alarms().await,
        [r#"sagetide-idle-quiet 18 x 300 s ["blue", "green"]"#]
    );

    h.proxy.take();
    assert_eq!(tick("2026-11-23T10:05:00Z").await, Vec::<String>::new());
    assert_eq!(proxy::mutating(&h.proxy.take()), Vec::<String>::new());

    h.aws.set_tag("quiet", "sagetide:idle-after", "2d").await;
    assert_eq!(
        tick("2026-11-23T10:10:00Z").await,
        ["quiet put-idle-alarm applied"]
    );
    assert_eq!(
        h.aws.alarms().await,
        [r#"sagetide-idle-quiet 48 x 3600 s ["blue", "green"]"#]
    );

    h.aws.remove_tag("quiet", "sagetide:idle-after").await;
    assert_eq!(
        tick("2026-11-23T10:15:00Z").await,
        ["quiet delete-idle-alarm applied"]
    );
    assert_eq!(h.aws.alarms().await, Vec::<String>::new());
}

async fn seed_policies(aws: &Aws, endpoint: &str, variant: &str) {
    let id = resource_id(endpoint, variant);
    let client = &aws.autoscaling;
    let sagemaker = aws_sdk_applicationautoscaling::types::ServiceNamespace::Sagemaker;
    let dimension =
        aws_sdk_applicationautoscaling::types::ScalableDimension::SageMakerVariantDesiredInstanceCount;
    client
        .put_scaling_policy()
        .policy_name("invocations-per-instance")
        .service_namespace(sagemaker.clone())
        .resource_id(&id)
        .scalable_dimension(dimension.clone())
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(70.0)
                .predefined_metric_specification(
                    PredefinedMetricSpecification::builder()
                        .predefined_metric_type(MetricType::SageMakerVariantInvocationsPerInstance)
                        .build()
                        .unwrap(),
                )
                .scale_in_cooldown(300)
                .scale_out_cooldown(60)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    client
        .put_scaling_policy()
        .policy_name("step-out")
        .service_namespace(sagemaker.clone())
        .resource_id(&id)
        .scalable_dimension(dimension.clone())
        .policy_type(PolicyType::StepScaling)
        .step_scaling_policy_configuration(
            StepScalingPolicyConfiguration::builder()
                .adjustment_type(
                    aws_sdk_applicationautoscaling::types::AdjustmentType::ChangeInCapacity,
                )
                .step_adjustments(
                    StepAdjustment::builder()
                        .metric_interval_lower_bound(0.0)
                        .scaling_adjustment(2)
                        .build()
                        .unwrap(),
                )
                .cooldown(120)
                .build(),
        )
        .send()
        .await
        .unwrap();
    client
        .put_scheduled_action()
        .scheduled_action_name("monday-warmup")
        .service_namespace(sagemaker)
        .resource_id(&id)
        .scalable_dimension(dimension)
        .schedule("cron(0 7 ? * MON *)")
        .timezone("Europe/Berlin")
        .scalable_target_action(ScalableTargetAction::builder().min_capacity(3).build())
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_steady_tick_costs_one_describe_per_fifty_variants_whatever_the_fleet() {
    let h = Harness::start(CONFIG).await;
    for i in 0..120 {
        h.aws
            .create_endpoint(&format!("ep-{i:03}"), &["AllTraffic"], &[OFFICE])
            .await;
    }
    // And 105 inference components on schedules of their own, on one endpoint.
    h.aws.create_component_endpoint("ic-host", 0).await;
    for i in 0..105 {
        h.aws
            .create_component(&format!("ic-{i:03}"), "ic-host", 1, &[OFFICE])
            .await;
    }
    h.moto.settle().await;
    let mut scheduler = h.scheduler(&[]);
    let tick = scheduled_event("2026-11-23T10:00:00Z");

    scheduler.invoke(tick.clone()).await.unwrap();
    let first = h.proxy.take();
    // Each target and its history entry, the tick's claim, and its metrics in one call.
    assert_eq!(proxy::mutating(&first).len(), (120 + 105) * 2 + 1 + 1);

    scheduler.invoke(tick).await.unwrap();
    let steady = h.proxy.take();
    let count = |op: &str| steady.iter().filter(|c| *c == op).count();
    // One Search page per 100 endpoints, one GetResources and one ListInferenceComponents page
    // per 100 components.
    assert_eq!(count("sagemaker:Search"), 2);
    assert_eq!(count("tag:GetResources"), 2);
    assert_eq!(count("sagemaker:ListInferenceComponents"), 2);
    // 50 targets a call, a dimension at a time: 120 variants, 105 components.
    assert_eq!(
        count("application-autoscaling:DescribeScalableTargets"),
        3 + 3
    );
    // The table's open items in one Query; no idle alarms to list.
    assert_eq!(count("dynamodb:Query"), 1);
    assert_eq!(count("cloudwatch:DescribeAlarms"), 0);
    assert_eq!(steady.len(), 13, "{steady:?}");
}

/// A sleep schedule whose afternoon starts at `afternoon`, after a morning ending at 12:00.
fn lunch_schedule(afternoon: &str) -> String {
    format!(
        r#"
schedules:
  desk:
    timezone: Europe/Berlin
    periods:
      - {{ days: mon-fri, start: "08:00", end: "12:00", capacity: {{ min: 1, max: 4 }} }}
      - {{ days: mon-fri, start: "{afternoon}", end: "18:00", capacity: {{ min: 1, max: 4 }} }}
    off_hours: sleep
    prewarm: 30m
"#
    )
}

/// Ticks every 15 minutes of Monday 2026-11-23 from 07:30 to 17:45 Berlin time, each followed
/// by what AWS and EventBridge do; returns how often the endpoint was deleted and created.
async fn working_day(afternoon: &str) -> (usize, usize) {
    let h = Harness::start(&lunch_schedule(afternoon)).await;
    h.aws
        .create_endpoint("desk", &["AllTraffic"], &[("sagetide:schedule", "desk")])
        .await;
    h.aws
        .register_target("desk", "AllTraffic", 1, 4, None)
        .await;
    h.moto.settle().await;
    h.proxy.take_endpoint_changes();
    let mut scheduler = h.scheduler(&[]);
    let start = "2026-11-23T07:30[Europe/Berlin]"
        .parse::<jiff::ZonedDateTime>()
        .unwrap()
        .timestamp();
    for i in 0..42 {
        let now = start + jiff::SignedDuration::from_mins(15 * i);
        let tick = scheduler.invoke(scheduled_event(&now.to_string())).await;
        assert!(tick.is_ok(), "{now}: {tick:?}");
        h.deliver_events(now).await;
    }
    let changes = h.proxy.take_endpoint_changes();
    let count = |op: &str| {
        changes
            .iter()
            .filter(|((_, o), _)| o == op)
            .map(|(_, n)| n)
            .sum()
    };
    (
        count("sagemaker:DeleteEndpoint"),
        count("sagemaker:CreateEndpoint"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_half_hour_lunch_keeps_a_sleep_schedule_awake_and_a_three_hour_one_sleeps_once() {
    // 12:00 to 13:00 less 30 minutes of prewarm: half an hour, shorter than min_sleep (1h).
    assert_eq!(working_day("13:00").await, (0, 0));
    // Exactly min_sleep: worth it, asleep from 12:00 and woken at 13:00.
    assert_eq!(working_day("13:30").await, (1, 1));
    // 12:00 to 15:00 less the prewarm: two and a half hours asleep, woken at 14:30.
    assert_eq!(working_day("15:00").await, (1, 1));
}
