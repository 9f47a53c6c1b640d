//! What deleting an endpoint loses besides its autoscaling, and a snapshot must keep: the
//! endpoint policy (deleted with the endpoint), the variants' weights and instance counts (a new
//! endpoint starts from its config's), the scalable targets' own tags. And what must not come
//! back: a one-time scheduled action whose time has passed.

use jiff::{SignedDuration, Timestamp};
use sagetide_tests::Harness;
use serde_json::{Value, json};

const CONFIG: &str = "schedules: {}\n";
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":"sagemaker:InvokeEndpoint","Resource":"*"}]}"#;

fn outcome(answer: &Value) -> &str {
    answer["reports"][0]["outcome"].as_str().unwrap_or("none")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_policy_weights_instance_counts_and_target_tags_come_back_after_a_sleep() {
    let h = Harness::start(CONFIG).await;
    let tags = [
        ("sagetide:idle-after", "1h"),
        ("sagetide:wake-on", "manual"),
    ];
    h.aws
        .create_endpoint_with(
            "ranker",
            &[("blue", "ml.m5.large", 1), ("green", "ml.m5.large", 1)],
            &tags,
        )
        .await;
    for variant in ["blue", "green"] {
        h.aws.register_target("ranker", variant, 1, 4, None).await;
        h.aws
            .tag_target("ranker", variant, ("owner", "search-team"))
            .await;
    }
    h.aws.put_endpoint_policy("ranker", POLICY).await;
    // An A/B test in its third week: most traffic to green, which runs two instances.
    h.aws
        .set_weights(
            "ranker",
            &[("blue", Some(0.25), None), ("green", Some(0.75), None)],
        )
        .await;
    h.aws
        .set_weights("ranker", &[("green", None, Some(2))])
        .await;
    let weights = h.aws.weights("ranker").await;
    assert_eq!(
        weights,
        [
            ("blue".into(), Some(0.25), Some(1)),
            ("green".into(), Some(0.75), Some(2))
        ]
    );
    // A one-time action that will have run by the time the endpoint wakes, and one still ahead.
    let now = Timestamp::now() + SignedDuration::from_hours(2);
    let soon = (Timestamp::now() + SignedDuration::from_hours(1))
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string();
    for (name, when) in [
        ("warm-up-soon", soon.as_str()),
        ("launch-day", "2030-06-01T06:00:00"),
    ] {
        h.aws
            .autoscaling
            .put_scheduled_action()
            .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Sagemaker)
            .scalable_dimension(
                aws_sdk_applicationautoscaling::types::ScalableDimension::SageMakerVariantDesiredInstanceCount,
            )
            .resource_id("endpoint/ranker/variant/green")
            .scheduled_action_name(name)
            .schedule(format!("at({when})"))
            .scalable_target_action(
                aws_sdk_applicationautoscaling::types::ScalableTargetAction::builder()
                    .min_capacity(2)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    let force = json!({"action": "sleep", "endpoint": "ranker", "force": true});
    let slept = h.invoke("sleeper", force, now).await.unwrap();
    assert_eq!(outcome(&slept), "applied", "{slept}");
    h.moto.settle().await;
    assert_eq!(h.aws.endpoint("ranker").await, None);
    // A delete takes the endpoint policy with it.
    assert_eq!(h.aws.endpoint_policy("ranker").await, None);

    let woken = h
        .invoke(
            "waker",
            json!({"action": "wake", "endpoint": "ranker"}),
            now,
        )
        .await
        .unwrap();
    assert_eq!(outcome(&woken), "applied", "{woken}");
    // Each update makes it Updating, and SageMaker takes one variant's instance count per
    // update: the restorer goes on at each IN_SERVICE until everything is back.
    let mut details = Vec::new();
    loop {
        let deliveries = h.deliver_events(now).await;
        if deliveries.is_empty() {
            break;
        }
        for (_, _, delivered) in deliveries {
            let answer = delivered.answer.expect("the restorer answers");
            details.push(format!(
                "{} {}",
                outcome(&answer),
                answer["reports"][0]["detail"].as_str().unwrap_or("")
            ));
        }
    }
    assert_eq!(
        details.len(),
        3,
        "weights, then green's count, then the rest: {details:#?}"
    );
    assert!(
        details[0].starts_with("applied the weights of blue, green set"),
        "{details:#?}"
    );
    assert!(
        details[1].starts_with("applied the instance count of green set"),
        "{details:#?}"
    );
    assert!(
        details[2].starts_with("applied")
            && details[2]
                .contains("left out: scheduled action warm-up-soon of ranker/green: it ran once"),
        "{details:#?}"
    );

    assert_eq!(h.aws.weights("ranker").await, weights);
    assert_eq!(
        h.aws.endpoint_policy("ranker").await.as_deref(),
        Some(POLICY)
    );
    for variant in ["blue", "green"] {
        assert_eq!(
            h.aws.target_tags("ranker", variant).await,
            [("owner".to_owned(), "search-team".to_owned())].into()
        );
    }
    let actions: Vec<String> = h
        .aws
        .scheduled_actions("ranker", "green")
        .await
        .into_iter()
        .map(|a| a.scheduled_action_name)
        .collect();
    assert_eq!(actions, ["launch-day"]);
    assert_eq!(
        h.aws.snapshot_phase("ranker").await.as_deref(),
        Some("restored")
    );
}

/// A snapshot holding a policy that AWS now refuses (its predefined metric is not one of a
/// SageMaker variant's), beside a scheduled action: the restore puts back what it can, says
/// what AWS refused, and is not tried again and again.
#[tokio::test(flavor = "multi_thread")]
async fn an_item_aws_refuses_does_not_keep_the_rest_of_a_restore_from_happening() {
    use sagetide::names::{EndpointName, VariantName};
    use sagetide::snapshot::{
        Policy, PolicyConfiguration, PredefinedMetric, ScheduledAction, Snapshot, TargetSnapshot,
        TargetTracking,
    };
    let h = Harness::start(CONFIG).await;
    let tags = [("sagetide:idle-after", "1h")];
    h.aws
        .create_endpoint_with("legacy", &[("AllTraffic", "ml.m5.large", 1)], &tags)
        .await;
    let snapshot = Snapshot {
        endpoint: EndpointName::new("legacy").unwrap(),
        endpoint_config: "legacy-config".into(),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        targets: vec![TargetSnapshot {
            variant: VariantName::new("AllTraffic").unwrap(),
            min: 1,
            max: 3,
            suspended: Default::default(),
            tags: Default::default(),
            policies: vec![Policy {
                name: "alb-requests".into(),
                configuration: PolicyConfiguration::TargetTracking(TargetTracking {
                    target_value: 100.0,
                    predefined: Some(PredefinedMetric {
                        metric_type: "ALBRequestCountPerTarget".into(),
                        resource_label: None,
                    }),
                    customized: None,
                    scale_out_cooldown: None,
                    scale_in_cooldown: None,
                    disable_scale_in: None,
                }),
                alarms: Vec::new(),
            }],
            scheduled_actions: vec![ScheduledAction {
                name: "nightly-floor".into(),
                schedule: "cron(0 22 * * ? *)".into(),
                timezone: None,
                start_time: None,
                end_time: None,
                min: Some(1),
                max: None,
            }],
        }],
        taken_at: Timestamp::now(),
        definitions: None,
        variants: Vec::new(),
        endpoint_policy: None,
    };
    h.aws
        .put_asleep_snapshot("legacy", &serde_json::to_value(&snapshot).unwrap())
        .await;

    let now = Timestamp::now().to_string();
    let in_service = sagetide_tests::endpoint_state_event("legacy", "IN_SERVICE");
    let refused = h.invoke("restorer", in_service.clone(), &now).await;

    let error = refused.expect_err("a restore with a refused item fails, to be seen");
    assert_eq!(error["errorType"], "ActionsFailed", "{error}");
    let message = error["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("AWS refused, so not restored: policy alb-requests of legacy/AllTraffic"),
        "{message}"
    );
    // Lambda's retry finds it done: trying again would meet the same refusal.
    let again = h.invoke("restorer", in_service, &now).await.unwrap();
    assert_eq!(outcome(&again), "already-done", "{again}");
    assert_eq!(h.aws.history("legacy").await, ["restore failed"]);
    assert_eq!(h.aws.capacity("legacy", "AllTraffic").await, Some((1, 3)));
    let actions: Vec<String> = h
        .aws
        .scheduled_actions("legacy", "AllTraffic")
        .await
        .into_iter()
        .map(|a| a.scheduled_action_name)
        .collect();
    assert_eq!(actions, ["nightly-floor"]);
    assert!(h.aws.policies("legacy", "AllTraffic").await.is_empty());
    assert_eq!(
        h.aws.snapshot_phase("legacy").await.as_deref(),
        Some("restored")
    );
}
