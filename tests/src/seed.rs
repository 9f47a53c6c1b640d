//! SDK clients pointed straight at moto (not through the counting proxy), to seed a fleet and
//! to read back what the functions left behind.

use std::collections::BTreeMap;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_applicationautoscaling::types::{
    ScalableDimension, ScalableTarget, ScalingPolicy, ScheduledAction, ServiceNamespace,
    SuspendedState,
};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use aws_sdk_sagemaker::types::builders::ProductionVariantBuilder;
use aws_sdk_sagemaker::types::{
    AsyncInferenceConfig, AsyncInferenceOutputConfig, CaptureMode, CaptureOption,
    ContainerDefinition, DataCaptureConfig, DesiredWeightAndCapacity,
    InferenceComponentComputeResourceRequirements, InferenceComponentRuntimeConfig,
    InferenceComponentSpecification, ManagedInstanceScalingStatus, ProductionVariant,
    ProductionVariantInstanceType, ProductionVariantManagedInstanceScaling, Tag, VpcConfig,
};
use serde_json::{Value, json};

pub const TABLE: &str = "sagetide";
pub const CONFIG_PARAMETER: &str = "/sagetide/config";
/// The deployment the test functions are (`SAGETIDE_DEPLOYMENT`), as the template's stack name.
pub const DEPLOYMENT: &str = "sagetide-test";
const DIMENSION: ScalableDimension = ScalableDimension::SageMakerVariantDesiredInstanceCount;

pub struct Aws {
    /// Where moto answers, for the calls the SDK has no operation for.
    url: String,
    pub sagemaker: aws_sdk_sagemaker::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub lambda: aws_sdk_lambda::Client,
}

/// `text` as a form value: every byte but the unreserved ones as `%XX`.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// moto's own header for the account a request acts in, whatever its credentials.
#[derive(Debug, Clone)]
struct InAccount(String);

impl aws_sdk_sagemaker::config::Intercept for InAccount {
    fn name(&self) -> &'static str {
        "InAccount"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_sdk_sagemaker::config::interceptors::BeforeTransmitInterceptorContextMut<
            '_,
        >,
        _: &aws_sdk_sagemaker::config::RuntimeComponents,
        _: &mut aws_sdk_sagemaker::config::ConfigBag,
    ) -> Result<(), aws_sdk_sagemaker::error::BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-moto-account-id", self.0.clone());
        Ok(())
    }
}

pub fn resource_id(endpoint: &str, variant: &str) -> String {
    format!("endpoint/{endpoint}/variant/{variant}")
}

impl Aws {
    pub async fn new(url: &str) -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(url)
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sagemaker::config::Credentials::new(
                "test", "test", None, None, "static",
            ))
            .load()
            .await;
        Self::from_sdk(url, &sdk)
    }

    /// Clients acting in `account` and `region` against moto at `url`, as the account's own
    /// administrator would: how the tests seed and inspect a spoke's fleet.
    pub async fn in_account(url: &str, account: &str, region: &str) -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(url)
            .region(Region::new(region.to_owned()))
            .credentials_provider(aws_sdk_sagemaker::config::Credentials::new(
                "test", "test", None, None, "static",
            ))
            .load()
            .await;
        let at = InAccount(account.to_owned());
        macro_rules! client {
            ($sdk:ident) => {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(&sdk)
                        .interceptor(at.clone())
                        .build(),
                )
            };
        }
        Self {
            url: url.to_owned(),
            sagemaker: client!(aws_sdk_sagemaker),
            autoscaling: client!(aws_sdk_applicationautoscaling),
            ssm: client!(aws_sdk_ssm),
            dynamodb: client!(aws_sdk_dynamodb),
            cloudwatch: client!(aws_sdk_cloudwatch),
            lambda: client!(aws_sdk_lambda),
        }
    }

    fn from_sdk(url: &str, sdk: &aws_config::SdkConfig) -> Self {
        let sdk = sdk.clone();
        Self {
            url: url.to_owned(),
            sagemaker: aws_sdk_sagemaker::Client::new(&sdk),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(&sdk),
            ssm: aws_sdk_ssm::Client::new(&sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&sdk),
            lambda: aws_sdk_lambda::Client::new(&sdk),
        }
    }

    /// The table the template creates: `pk`/`sk` strings, on demand.
    pub async fn create_table(&self) {
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .unwrap()
        };
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap()
        };
        self.dynamodb
            .create_table()
            .table_name(TABLE)
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .attribute_definitions(attr("pk"))
            .attribute_definitions(attr("sk"))
            .attribute_definitions(attr("open"))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name("open")
                    .key_schema(key("open", KeyType::Hash))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .expect("create table");
        // As template.yaml sets it up.
        self.dynamodb
            .update_time_to_live()
            .table_name(TABLE)
            .time_to_live_specification(
                aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                    .attribute_name(sagetide::aws::table::EXPIRES_AT)
                    .enabled(true)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("time to live");
    }

    /// An IAM role `name` at `path` in `account`, assumable as `trust` says (moto's IAM has no
    /// operation the SDKs here are built with).
    pub async fn create_role(&self, account: &str, path: &str, name: &str, trust: &Value) {
        let body = format!(
            "Action=CreateRole&Version=2010-05-08&RoleName={}&Path={}&AssumeRolePolicyDocument={}",
            percent_encoded(name),
            percent_encoded(path),
            percent_encoded(&trust.to_string())
        );
        let headers = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=test/20261201/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
            ),
            ("x-moto-account-id", account),
        ];
        let (status, answer) = crate::http::send(&self.url, "POST", "/", &headers, &body).await;
        assert_eq!(status, 200, "create role {name} in {account}: {answer}");
    }

    /// The account and region's deployment marker, naming `deployment`, as the template's
    /// stack creates it.
    pub async fn put_deployment_marker(&self, deployment: &str) {
        self.put_parameter(sagetide::config::DEPLOYMENT_MARKER, deployment)
            .await;
    }

    /// The scheduler, sleeper and waker as the template deploys them in stack [`DEPLOYMENT`]:
    /// their names and environment, under a role, for what reads them (`sagetide` finds the
    /// deployment's table and document in its scheduler's environment). moto runs no code: the
    /// harness answers their invocations with the real binaries, so the package is a stand-in.
    pub async fn deploy_functions(&self) {
        let role = "sagetide-test-functions";
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        self.create_role("123456789012", "/", role, &trust).await;
        let role_arn = format!("arn:aws:iam::123456789012:role/{role}");
        for function in ["scheduler", "sleeper", "waker"] {
            let variables = [
                ("SAGETIDE_TABLE", TABLE.to_owned()),
                ("SAGETIDE_CONFIG_PARAMETER", CONFIG_PARAMETER.to_owned()),
                ("SAGETIDE_DEPLOYMENT", DEPLOYMENT.to_owned()),
                ("SAGETIDE_WAKER", format!("{DEPLOYMENT}-waker")),
            ];
            let environment = aws_sdk_lambda::types::Environment::builder()
                .set_variables(Some(
                    variables
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                ))
                .build();
            self.lambda
                .create_function()
                .function_name(format!("{DEPLOYMENT}-{function}"))
                .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
                .handler("bootstrap")
                .role(&role_arn)
                .code(
                    aws_sdk_lambda::types::FunctionCode::builder()
                        .zip_file(aws_sdk_lambda::primitives::Blob::new("stand-in"))
                        .build(),
                )
                .environment(environment)
                .send()
                .await
                .unwrap_or_else(|e| panic!("deploy {function}: {e:?}"));
        }
    }

    pub async fn put_config(&self, yaml: &str) {
        self.put_parameter(CONFIG_PARAMETER, yaml).await;
    }

    async fn put_parameter(&self, name: &str, value: &str) {
        self.ssm
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("put parameter {name}: {e}"));
    }

    /// A model, an EndpointConfig `<name>-config` with one ml.m5.large instance per variant, and
    /// the endpoint with `tags`.
    pub async fn create_endpoint(&self, name: &str, variants: &[&str], tags: &[(&str, &str)]) {
        let variants: Vec<(&str, &str, i32)> =
            variants.iter().map(|v| (*v, "ml.m5.large", 1)).collect();
        self.create_endpoint_with(name, &variants, tags).await;
    }

    /// Like `create_endpoint`, with `(variant, instance type, instance count)` per variant.
    pub async fn create_endpoint_with(
        &self,
        name: &str,
        variants: &[(&str, &str, i32)],
        tags: &[(&str, &str)],
    ) {
        let model = format!("{name}-model");
        self.create_model(&model).await;
        let mut config = self.new_endpoint_config(name);
        for (variant, instance_type, count) in variants {
            config = config.production_variants(
                ProductionVariant::builder()
                    .variant_name(*variant)
                    .model_name(&model)
                    .instance_type(ProductionVariantInstanceType::from(*instance_type))
                    .initial_instance_count(*count)
                    .initial_variant_weight(1.0)
                    .container_startup_health_check_timeout_in_seconds(600)
                    .build(),
            );
        }
        config.send().await.expect("create endpoint config");
        self.create_endpoint_on(name, &format!("{name}-config"), tags)
            .await;
    }

    /// A model `name` as its owner would make one: an image, its data, an environment, a VPC,
    /// network isolation and a tag.
    pub async fn create_model(&self, name: &str) {
        self.sagemaker
            .create_model()
            .model_name(name)
            .execution_role_arn("arn:aws:iam::123456789012:role/sagemaker")
            .primary_container(
                ContainerDefinition::builder()
                    .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/model:latest")
                    .model_data_url(format!("s3://models/{name}/model.tar.gz"))
                    .environment("MODEL_ID", name)
                    .build(),
            )
            .vpc_config(
                VpcConfig::builder()
                    .security_group_ids("sg-0123")
                    .subnets("subnet-0123")
                    .build(),
            )
            .enable_network_isolation(true)
            .tags(Tag::builder().key("cost-center").value("ml").build())
            .send()
            .await
            .expect("create model");
    }

    /// The start of EndpointConfig `<endpoint>-config`, with data capture and a tag: add its
    /// variants and send it.
    pub fn new_endpoint_config(
        &self,
        endpoint: &str,
    ) -> aws_sdk_sagemaker::operation::create_endpoint_config::builders::CreateEndpointConfigFluentBuilder
    {
        self.sagemaker
            .create_endpoint_config()
            .endpoint_config_name(format!("{endpoint}-config"))
            .data_capture_config(
                DataCaptureConfig::builder()
                    .initial_sampling_percentage(20)
                    .destination_s3_uri(format!("s3://capture/{endpoint}"))
                    .capture_options(
                        CaptureOption::builder()
                            .capture_mode(CaptureMode::Input)
                            .build(),
                    )
                    .build(),
            )
            .tags(Tag::builder().key("cost-center").value("ml").build())
    }

    /// Endpoint `name` on EndpointConfig `config` with `tags`, once it is InService.
    pub async fn create_endpoint_on(&self, name: &str, config: &str, tags: &[(&str, &str)]) {
        let mut endpoint = self
            .sagemaker
            .create_endpoint()
            .endpoint_name(name)
            .endpoint_config_name(config);
        for (key, value) in tags {
            endpoint = endpoint.tags(Tag::builder().key(*key).value(*value).build());
        }
        endpoint.send().await.expect("create endpoint");
        self.wait_in_service(name).await;
    }

    /// An endpoint `name` whose one variant, AllTraffic, is `variant`'s (with a model of its own)
    /// and `tags`, asynchronous if `asynchronous`, once InService.
    pub async fn create_endpoint_of(
        &self,
        name: &str,
        variant: ProductionVariantBuilder,
        asynchronous: bool,
        tags: &[(&str, &str)],
    ) {
        let model = format!("{name}-model");
        self.create_model(&model).await;
        let mut config = self.new_endpoint_config(name).production_variants(
            variant
                .variant_name("AllTraffic")
                .model_name(&model)
                .build(),
        );
        if asynchronous {
            config = config.async_inference_config(
                AsyncInferenceConfig::builder()
                    .output_config(
                        AsyncInferenceOutputConfig::builder()
                            .s3_output_path(format!("s3://results/{name}"))
                            .build(),
                    )
                    .build(),
            );
        }
        config.send().await.expect("create endpoint config");
        self.create_endpoint_on(name, &format!("{name}-config"), tags)
            .await;
    }

    /// An endpoint `name` for inference components, once InService: its variant AllTraffic
    /// names no model, and SageMaker manages its instances, from `min_instances` to 2.
    pub async fn create_component_endpoint(&self, name: &str, min_instances: i32) {
        self.new_endpoint_config(name)
            .execution_role_arn("arn:aws:iam::123456789012:role/sagemaker")
            .production_variants(
                ProductionVariant::builder()
                    .variant_name("AllTraffic")
                    .instance_type(ProductionVariantInstanceType::MlG4DnXlarge)
                    .initial_instance_count(1)
                    .managed_instance_scaling(
                        ProductionVariantManagedInstanceScaling::builder()
                            .status(ManagedInstanceScalingStatus::Enabled)
                            .min_instance_count(min_instances)
                            .max_instance_count(2)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("create endpoint config");
        self.create_endpoint_on(name, &format!("{name}-config"), &[])
            .await;
    }

    /// Inference component `name` on `endpoint`'s variant AllTraffic, with `copies` copies of a
    /// model of its own and `tags`.
    pub async fn create_component(
        &self,
        name: &str,
        endpoint: &str,
        copies: i32,
        tags: &[(&str, &str)],
    ) {
        let model = format!("{name}-model");
        self.create_model(&model).await;
        let mut create = self
            .sagemaker
            .create_inference_component()
            .inference_component_name(name)
            .endpoint_name(endpoint)
            .variant_name("AllTraffic")
            .specification(
                InferenceComponentSpecification::builder()
                    .model_name(&model)
                    .compute_resource_requirements(
                        InferenceComponentComputeResourceRequirements::builder()
                            .min_memory_required_in_mb(1024)
                            .build(),
                    )
                    .build(),
            )
            .runtime_config(
                InferenceComponentRuntimeConfig::builder()
                    .copy_count(copies)
                    .build(),
            );
        for (key, value) in tags {
            create = create.tags(Tag::builder().key(*key).value(*value).build());
        }
        create.send().await.expect("create inference component");
    }

    /// A component's `(status, desired copies, current copies)`.
    pub async fn copies(&self, component: &str) -> (String, i32, i32) {
        let found = self
            .sagemaker
            .describe_inference_component()
            .inference_component_name(component)
            .send()
            .await
            .expect("describe inference component");
        let runtime = found.runtime_config.expect("a runtime config");
        (
            found
                .inference_component_status
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            runtime.desired_copy_count.unwrap_or_default(),
            runtime.current_copy_count.unwrap_or_default(),
        )
    }

    /// The scalable target of `dimension` of `resource_id`, if it has one.
    pub async fn target_of(
        &self,
        resource_id: &str,
        dimension: ScalableDimension,
    ) -> Option<ScalableTarget> {
        self.autoscaling
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Sagemaker)
            .scalable_dimension(dimension)
            .resource_ids(resource_id)
            .send()
            .await
            .expect("describe scalable targets")
            .scalable_targets
            .unwrap_or_default()
            .into_iter()
            .next()
    }

    /// `(min, max)` of inference component `component`'s copies, if it has a target.
    pub async fn copy_bounds(&self, component: &str) -> Option<(i32, i32)> {
        let copies = ScalableDimension::SageMakerInferenceComponentDesiredCopyCount;
        self.target_of(&format!("inference-component/{component}"), copies)
            .await
            .map(|t| (t.min_capacity, t.max_capacity))
    }

    /// The instances an endpoint's variant AllTraffic runs.
    pub async fn instances(&self, endpoint: &str) -> i32 {
        self.sagemaker
            .describe_endpoint()
            .endpoint_name(endpoint)
            .send()
            .await
            .expect("describe endpoint")
            .production_variants
            .unwrap_or_default()
            .first()
            .and_then(|v| v.current_instance_count)
            .unwrap_or_default()
    }

    /// Waits until the endpoint `name` is InService, as its owner's deployment would before
    /// configuring autoscaling (Application Auto Scaling refuses other endpoints).
    pub async fn wait_in_service(&self, name: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let status = self.endpoint_status(name).await;
            match status.as_deref() {
                Some("InService") => return,
                Some("Failed") => panic!("{name} failed to create"),
                _ if std::time::Instant::now() > deadline => {
                    panic!("{name} is not InService after 30 s ({status:?})")
                }
                _ => tokio::time::sleep(std::time::Duration::from_millis(25)).await,
            }
        }
    }

    /// The endpoint's status, if it exists.
    pub async fn endpoint_status(&self, name: &str) -> Option<String> {
        self.endpoint(name).await.map(|(status, _)| status)
    }

    /// A SageMaker call by its JSON (for operations newer than the SDK, such as the endpoint
    /// policies): the answer, or the error AWS gave.
    pub async fn sagemaker_json(&self, operation: &str, body: Value) -> Result<Value, Value> {
        let target = format!("SageMaker.{operation}");
        self.json_call("sagemaker", "1.1", &target, body).await
    }

    /// A call of a JSON-protocol service by its target (`AWSEvents.PutRule`), signed for
    /// `service`: the answer, or the error AWS gave.
    async fn json_call(
        &self,
        service: &str,
        version: &str,
        target: &str,
        body: Value,
    ) -> Result<Value, Value> {
        let content_type = format!("application/x-amz-json-{version}");
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=test/20261201/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
        );
        let headers = [
            ("Content-Type", content_type.as_str()),
            ("X-Amz-Target", target),
            ("Authorization", authorization.as_str()),
        ];
        let (status, answer) =
            crate::http::send(&self.url, "POST", "/", &headers, &body.to_string()).await;
        let answer = serde_json::from_str(&answer).unwrap_or(Value::String(answer));
        if status == 200 {
            Ok(answer)
        } else {
            Err(answer)
        }
    }

    /// A queue that an EventBridge rule on the default bus fills with every event of
    /// `pattern`, as a user's rule would route sagetide's events; its URL.
    pub async fn event_queue(&self, name: &str, pattern: Value) -> String {
        let sqs = |target: &'static str, body| self.json_call("sqs", "1.0", target, body);
        let url = sqs("AmazonSQS.CreateQueue", json!({"QueueName": name}))
            .await
            .expect("create the queue")["QueueUrl"]
            .as_str()
            .expect("a queue URL")
            .to_owned();
        let arn = sqs(
            "AmazonSQS.GetQueueAttributes",
            json!({"QueueUrl": url, "AttributeNames": ["QueueArn"]}),
        )
        .await
        .expect("the queue's ARN")["Attributes"]["QueueArn"]
            .as_str()
            .expect("an ARN")
            .to_owned();
        let events = |target: &'static str, body| self.json_call("events", "1.1", target, body);
        events(
            "AWSEvents.PutRule",
            json!({"Name": name, "EventPattern": pattern.to_string()}),
        )
        .await
        .expect("put the rule");
        events(
            "AWSEvents.PutTargets",
            json!({"Rule": name, "Targets": [{"Id": "queue", "Arn": arn}]}),
        )
        .await
        .expect("target the queue");
        url
    }

    /// The events the queue at `url` holds (received, not deleted), each event's JSON.
    pub async fn queued_events(&self, url: &str) -> Vec<Value> {
        let answer = self
            .json_call(
                "sqs",
                "1.0",
                "AmazonSQS.ReceiveMessage",
                json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "VisibilityTimeout": 0}),
            )
            .await
            .expect("receive");
        answer["Messages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                serde_json::from_str(m["Body"].as_str().unwrap_or_default()).expect("an event")
            })
            .collect()
    }

    /// Attaches `policy` to the endpoint (PutEndpointPolicy).
    pub async fn put_endpoint_policy(&self, endpoint: &str, policy: &str) {
        self.sagemaker_json(
            "PutEndpointPolicy",
            json!({"EndpointName": endpoint, "ResourcePolicy": policy}),
        )
        .await
        .expect("put endpoint policy");
    }

    /// The endpoint's resource policy, if it has one (GetEndpointPolicy).
    pub async fn endpoint_policy(&self, endpoint: &str) -> Option<String> {
        let found = self
            .sagemaker_json("GetEndpointPolicy", json!({"EndpointName": endpoint}))
            .await
            .ok()?;
        found["ResourcePolicy"].as_str().map(str::to_owned)
    }

    /// Sets variants' `(name, weight, instance count)`, as their owner may have (SageMaker takes
    /// one variant's count per call), and waits until the endpoint is InService again.
    pub async fn set_weights(&self, endpoint: &str, variants: &[(&str, Option<f32>, Option<i32>)]) {
        let mut update = self
            .sagemaker
            .update_endpoint_weights_and_capacities()
            .endpoint_name(endpoint);
        for (variant, weight, count) in variants {
            update = update.desired_weights_and_capacities(
                DesiredWeightAndCapacity::builder()
                    .variant_name(*variant)
                    .set_desired_weight(*weight)
                    .set_desired_instance_count(*count)
                    .build(),
            );
        }
        update.send().await.expect("update weights and capacities");
        self.wait_in_service(endpoint).await;
    }

    /// Each variant's `(name, desired weight, desired instance count)`.
    pub async fn weights(&self, endpoint: &str) -> Vec<(String, Option<f32>, Option<i32>)> {
        self.sagemaker
            .describe_endpoint()
            .endpoint_name(endpoint)
            .send()
            .await
            .expect("describe endpoint")
            .production_variants
            .unwrap_or_default()
            .into_iter()
            .map(|v| {
                (
                    v.variant_name.unwrap_or_default(),
                    v.desired_weight,
                    v.desired_instance_count,
                )
            })
            .collect()
    }

    pub async fn endpoint_arn(&self, name: &str) -> String {
        self.sagemaker
            .describe_endpoint()
            .endpoint_name(name)
            .send()
            .await
            .expect("describe endpoint")
            .endpoint_arn
            .unwrap_or_default()
    }

    /// The names of all endpoints.
    pub async fn endpoints(&self) -> std::collections::BTreeSet<String> {
        self.sagemaker
            .list_endpoints()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("list endpoints")
            .into_iter()
            .filter_map(|e| e.endpoint_name)
            .collect()
    }

    pub async fn tags(&self, endpoint: &str) -> BTreeMap<String, String> {
        let arn = self.endpoint_arn(endpoint).await;
        self.resource_tags(&arn).await
    }

    /// The tags of a SageMaker resource by its ARN.
    pub async fn resource_tags(&self, arn: &str) -> BTreeMap<String, String> {
        self.sagemaker
            .list_tags()
            .resource_arn(arn)
            .send()
            .await
            .expect("list tags")
            .tags
            .unwrap_or_default()
            .into_iter()
            .filter_map(|t| Some((t.key?, t.value?)))
            .collect()
    }

    pub async fn set_tag(&self, endpoint: &str, key: &str, value: &str) {
        let arn = self.endpoint_arn(endpoint).await;
        self.sagemaker
            .add_tags()
            .resource_arn(arn)
            .tags(Tag::builder().key(key).value(value).build())
            .send()
            .await
            .expect("add tags");
    }

    pub async fn register_target(
        &self,
        endpoint: &str,
        variant: &str,
        min: i32,
        max: i32,
        suspended: Option<SuspendedState>,
    ) {
        self.autoscaling
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Sagemaker)
            .scalable_dimension(DIMENSION)
            .resource_id(resource_id(endpoint, variant))
            .min_capacity(min)
            .max_capacity(max)
            .set_suspended_state(suspended)
            .send()
            .await
            .expect("register scalable target");
    }

    /// Tags a variant's scalable target (Application Auto Scaling's own tags).
    pub async fn tag_target(&self, endpoint: &str, variant: &str, (key, value): (&str, &str)) {
        let arn = self
            .target(endpoint, variant)
            .await
            .and_then(|t| t.scalable_target_arn)
            .expect("a registered target");
        self.autoscaling
            .tag_resource()
            .resource_arn(arn)
            .tags(key, value)
            .send()
            .await
            .expect("tag the scalable target");
    }

    /// A variant's scalable target's tags.
    pub async fn target_tags(&self, endpoint: &str, variant: &str) -> BTreeMap<String, String> {
        let Some(arn) = self
            .target(endpoint, variant)
            .await
            .and_then(|t| t.scalable_target_arn)
        else {
            return BTreeMap::new();
        };
        self.autoscaling
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .expect("list the scalable target's tags")
            .tags
            .unwrap_or_default()
            .into_iter()
            .collect()
    }

    /// The scalable target of a variant's instances, if it has one.
    pub async fn target(&self, endpoint: &str, variant: &str) -> Option<ScalableTarget> {
        let instances = ScalableDimension::SageMakerVariantDesiredInstanceCount;
        self.target_of(&resource_id(endpoint, variant), instances)
            .await
    }

    /// `(min, max)` of a variant's scalable target.
    pub async fn capacity(&self, endpoint: &str, variant: &str) -> Option<(i32, i32)> {
        self.target(endpoint, variant)
            .await
            .map(|t| (t.min_capacity, t.max_capacity))
    }

    pub async fn policies(&self, endpoint: &str, variant: &str) -> Vec<ScalingPolicy> {
        self.autoscaling
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(resource_id(endpoint, variant))
            .send()
            .await
            .expect("describe scaling policies")
            .scaling_policies
            .unwrap_or_default()
    }

    pub async fn scheduled_actions(&self, endpoint: &str, variant: &str) -> Vec<ScheduledAction> {
        self.autoscaling
            .describe_scheduled_actions()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(resource_id(endpoint, variant))
            .send()
            .await
            .expect("describe scheduled actions")
            .scheduled_actions
            .unwrap_or_default()
    }

    /// `names` endpoints with one variant `AllTraffic` of one instance of each of `types`
    /// (to moto: of the first type; give the proxy their pools for more than one), tagged `tag`:
    /// a fleet for pool-metrics.
    pub async fn pool_fleet(&self, names: &[String], types: &[&str], tag: (&str, &str)) {
        let instances = types.len() as i32;
        for chunk in names.chunks(25) {
            futures::future::join_all(chunk.iter().map(|name| async move {
                self.create_endpoint_with(name, &[("AllTraffic", types[0], instances)], &[tag])
                    .await
            }))
            .await;
        }
    }

    /// `ConcurrentRequestsPerModel` = `value` per instance type of `types` of each of `names`'
    /// AllTraffic, in the 10-second buckets starting at `buckets` (epoch seconds).
    pub async fn put_fleet_concurrency(
        &self,
        names: &[String],
        types: &[&str],
        buckets: &[i64],
        value: f64,
    ) {
        let data: Vec<MetricDatum> = names
            .iter()
            .flat_map(|name| types.iter().map(move |t| (name, t)))
            .flat_map(|(name, instance_type)| {
                buckets.iter().map(move |at| {
                    MetricDatum::builder()
                        .metric_name("ConcurrentRequestsPerModel")
                        .set_dimensions(Some(metric_dimensions(&[
                            ("EndpointName", name),
                            ("VariantName", "AllTraffic"),
                            ("InstanceType", instance_type),
                        ])))
                        .timestamp(DateTime::from_secs(*at))
                        .value(value)
                        .storage_resolution(1)
                        .build()
                })
            })
            .collect();
        for chunk in data.chunks(1000) {
            self.put_metric_data(chunk.to_vec()).await;
        }
    }

    /// `names` endpoints with one variant `AllTraffic`, tagged `tags`, each with a scalable
    /// target of `min..max`: a fleet for the scheduler.
    pub async fn scheduled_fleet(
        &self,
        names: &[String],
        tags: &[(&str, &str)],
        min: i32,
        max: i32,
    ) {
        for chunk in names.chunks(25) {
            futures::future::join_all(chunk.iter().map(|name| async move {
                self.create_endpoint(name, &["AllTraffic"], tags).await;
                self.register_target(name, "AllTraffic", min, max, None)
                    .await;
            }))
            .await;
        }
    }

    /// Puts `AWS/SageMaker` `ConcurrentRequestsPerModel` datapoints `(epoch second, value)`
    /// with `dimensions`.
    pub async fn put_concurrency(&self, dimensions: &[(&str, &str)], points: &[(i64, f64)]) {
        self.put_sagemaker_metric("ConcurrentRequestsPerModel", dimensions, points)
            .await;
    }

    /// Puts datapoints `(epoch second, value)` of an `AWS/SageMaker` metric, at 1-second
    /// resolution.
    pub async fn put_sagemaker_metric(
        &self,
        name: &str,
        dimensions: &[(&str, &str)],
        points: &[(i64, f64)],
    ) {
        let data = points.iter().map(|(at, value)| {
            MetricDatum::builder()
                .metric_name(name)
                .set_dimensions(Some(metric_dimensions(dimensions)))
                .timestamp(DateTime::from_secs(*at))
                .value(*value)
                .storage_resolution(1)
                .build()
        });
        self.put_metric_data(data.collect()).await;
    }

    /// Puts `data` into the `AWS/SageMaker` namespace.
    async fn put_metric_data(&self, data: Vec<MetricDatum>) {
        self.cloudwatch
            .put_metric_data()
            .namespace("AWS/SageMaker")
            .set_metric_data(Some(data))
            .send()
            .await
            .expect("put metric data");
    }

    /// `Sagetide/FleetUtilization` of a variant in [from, to), by epoch second, at 10 s.
    pub async fn fleet_utilization(
        &self,
        endpoint: &str,
        variant: &str,
        from: i64,
        to: i64,
    ) -> BTreeMap<i64, f64> {
        let dimensions = [("EndpointName", endpoint), ("VariantName", variant)];
        self.sagetide_metric("FleetUtilization", &dimensions, (from, to), 10, "Average")
            .await
    }

    /// The metric alarm `name`, as CloudWatch holds it.
    pub async fn metric_alarm(&self, name: &str) -> Option<aws_sdk_cloudwatch::types::MetricAlarm> {
        self.cloudwatch
            .describe_alarms()
            .alarm_names(name)
            .send()
            .await
            .expect("describe alarms")
            .metric_alarms
            .unwrap_or_default()
            .into_iter()
            .next()
    }

    /// A statistic of the `Sagetide` metric `name` with `dimensions`, per `period` seconds in
    /// [from, to), by epoch second.
    pub async fn sagetide_metric(
        &self,
        name: &str,
        dimensions: &[(&str, &str)],
        (from, to): (i64, i64),
        period: i32,
        stat: &str,
    ) -> BTreeMap<i64, f64> {
        let dims = metric_dimensions(dimensions);
        let query = MetricDataQuery::builder()
            .id("u")
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace("Sagetide")
                            .metric_name(name)
                            .set_dimensions(Some(dims))
                            .build(),
                    )
                    .period(period)
                    .stat(stat)
                    .build(),
            )
            .build();
        let out = self
            .cloudwatch
            .get_metric_data()
            .metric_data_queries(query)
            .start_time(DateTime::from_secs(from))
            .end_time(DateTime::from_secs(to))
            .send()
            .await
            .expect("get metric data");
        let result = out
            .metric_data_results
            .unwrap_or_default()
            .into_iter()
            .next();
        let result = result.expect("one result for one query");
        result
            .timestamps
            .unwrap_or_default()
            .iter()
            .zip(result.values.unwrap_or_default())
            .map(|(t, v)| (t.secs(), v))
            .collect()
    }
}

pub fn metric_dimensions(pairs: &[(&str, &str)]) -> Vec<Dimension> {
    pairs
        .iter()
        .map(|(n, v)| Dimension::builder().name(*n).value(*v).build())
        .collect()
}
