//! What an endpoint is made of besides itself: its EndpointConfig and models, read whole for a
//! snapshot and created again by a wake that finds them deleted; and its resource policy,
//! which a delete deletes with the endpoint.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use futures::StreamExt;
use serde_json::{Value, json};

use super::AwsError;
use super::raw::{self, Answer};
use super::sagemaker::{is_not_found, tags_of};
use crate::fleet::ConfigFacts;
use crate::names::EndpointName;
use crate::snapshot::{Definition, Definitions};
use crate::tags::Tags;

/// Members of DescribeEndpointConfig's and DescribeModel's answers that their Create requests
/// do not take.
const CONFIG_OUTPUT_ONLY: &[&str] = &["EndpointConfigArn", "CreationTime"];
const MODEL_OUTPUT_ONLY: &[&str] = &["ModelArn", "CreationTime", "DeploymentRecommendation"];

/// The EndpointConfig `name` and every model its variants (shadow ones too) name, with their
/// tags: DescribeEndpointConfig, then DescribeModel per model, and ListTags for each.
pub async fn read(client: &Client, name: &str) -> Result<(Definitions, ConfigFacts), AwsError> {
    const OP: &str = "sagemaker:DescribeEndpointConfig";
    let answer = Answer::default();
    let config = client
        .describe_endpoint_config()
        .endpoint_config_name(name)
        .customize()
        .interceptor(answer.clone())
        .send()
        .await
        .map_err(|e| AwsError::new(OP, e))?;
    let request = answer.json().ok_or_else(|| unreadable(OP, name))?;
    let variants = config
        .production_variants()
        .iter()
        .chain(config.shadow_production_variants());
    let mut models = BTreeSet::new();
    let mut hosts_inference_components = false;
    for variant in variants {
        match variant.model_name() {
            Some(model) => {
                models.insert(model.to_owned());
            }
            None => hosts_inference_components = true,
        }
    }
    let mut facts = ConfigFacts {
        kms_key_id: config.kms_key_id().map(str::to_owned),
        hosts_inference_components,
        asynchronous: config.async_inference_config().is_some(),
        model_roles: Vec::new(),
        unreadable: None,
    };
    let config_tags = match config.endpoint_config_arn() {
        Some(arn) => tags_of(client, arn).await?,
        None => Tags::new(),
    };
    let endpoint_config = Definition {
        name: name.to_owned(),
        request: raw::without(&request, CONFIG_OUTPUT_ONLY),
        tags: config_tags,
    };
    let mut definitions = Vec::new();
    for model in models {
        definitions.push(read_model(client, &model).await?);
    }
    facts.model_roles = definitions.iter().filter_map(role_of).collect();
    Ok((
        Definitions {
            endpoint_config,
            models: definitions,
        },
        facts,
    ))
}

fn role_of(model: &Definition) -> Option<String> {
    model
        .request
        .get("ExecutionRoleArn")?
        .as_str()
        .map(str::to_owned)
}

/// The facts of each EndpointConfig in `names` that `known` does not hold yet, added to it:
/// DescribeEndpointConfig and DescribeModel per model, a few configs at a time. The scheduler
/// keeps `known` for the container's life (configs and models cannot change).
pub async fn learn_facts(
    client: &Client,
    names: impl IntoIterator<Item = &str>,
    known: &mut HashMap<String, ConfigFacts>,
) -> Result<(), AwsError> {
    let missing: BTreeSet<&str> = names
        .into_iter()
        .filter(|n| !known.contains_key(*n))
        .collect();
    let learned: Vec<_> = futures::stream::iter(missing)
        .map(|name| async move { (name.to_owned(), read(client, name).await) })
        .buffer_unordered(super::CONCURRENCY)
        .collect()
        .await;
    let mut first_error = None;
    for (name, read) in learned {
        match facts_of(&read) {
            Some(facts) => {
                known.insert(name, facts);
            }
            None => {
                first_error = first_error.or(read.err());
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// The facts a read of an EndpointConfig gives: its own, or, where AWS refused the read (a
/// model deleted while the endpoint runs on it, say), that it cannot be read, which lasts;
/// `None` for a read that failed only for now.
pub fn facts_of<T>(read: &Result<(T, ConfigFacts), AwsError>) -> Option<ConfigFacts> {
    match read {
        Ok((_, facts)) => Some(facts.clone()),
        Err(e) if e.refused => Some(ConfigFacts::unreadable(e.to_string())),
        Err(_) => None,
    }
}

async fn read_model(client: &Client, name: &str) -> Result<Definition, AwsError> {
    const OP: &str = "sagemaker:DescribeModel";
    let answer = Answer::default();
    let model = client
        .describe_model()
        .model_name(name)
        .customize()
        .interceptor(answer.clone())
        .send()
        .await
        .map_err(|e| AwsError::new(OP, e))?;
    let request = answer.json().ok_or_else(|| unreadable(OP, name))?;
    let tags = match model.model_arn() {
        Some(arn) => tags_of(client, arn).await?,
        None => Tags::new(),
    };
    Ok(Definition {
        name: name.to_owned(),
        request: raw::without(&request, MODEL_OUTPUT_ONLY),
        tags,
    })
}

fn unreadable(operation: &'static str, name: &str) -> AwsError {
    AwsError {
        operation,
        message: format!("the answer about {name} could not be read as JSON; nothing deleted"),
        refused: false,
    }
}

/// The tag sagetide adds to a model or EndpointConfig it creates again, naming the endpoint it
/// did it for: the mark that the template's permission to create them is conditioned on, and
/// for the owner, the sign of where the object came from.
pub const RECREATED_FOR: &str = "sagetide:recreated-for";

/// Creates again, under their names, the models and the EndpointConfig of `definitions` that
/// no longer exist (a DescribeModel per model and a DescribeEndpointConfig), models first, with
/// their tags and [`RECREATED_FOR`]. Returns what it created.
pub async fn recreate_missing(
    client: &Client,
    endpoint: &EndpointName,
    definitions: &Definitions,
) -> Result<Vec<String>, AwsError> {
    let mut created = Vec::new();
    for model in &definitions.models {
        let found = client.describe_model().model_name(&model.name).send().await;
        if !gone(found, "sagemaker:DescribeModel")? {
            continue;
        }
        client
            .create_model()
            .model_name(&model.name)
            .customize()
            .mutate_request(raw::send_instead(None, &request(model, endpoint)))
            .send()
            .await
            .map(drop)
            .or_else(|e| already_there(e, "sagemaker:CreateModel"))?;
        created.push(format!("model {}", model.name));
    }
    let config = &definitions.endpoint_config;
    let found = client
        .describe_endpoint_config()
        .endpoint_config_name(&config.name)
        .send()
        .await;
    if !gone(found, "sagemaker:DescribeEndpointConfig")? {
        return Ok(created);
    }
    client
        .create_endpoint_config()
        .endpoint_config_name(&config.name)
        .customize()
        .mutate_request(raw::send_instead(None, &request(config, endpoint)))
        .send()
        .await
        .map(drop)
        .or_else(|e| already_there(e, "sagemaker:CreateEndpointConfig"))?;
    created.push(format!("EndpointConfig {}", config.name));
    Ok(created)
}

/// The Create request of a definition: its JSON, with the tags a create may set and
/// [`RECREATED_FOR`].
fn request(definition: &Definition, endpoint: &EndpointName) -> Value {
    let mut request = definition.request.clone();
    if let Value::Object(members) = &mut request {
        let tags = crate::tags::settable(&definition.tags)
            .filter(|(k, _)| k.as_str() != RECREATED_FOR)
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .chain([json!({"Key": RECREATED_FOR, "Value": endpoint.as_str()})]);
        members.insert("Tags".to_owned(), Value::Array(tags.collect()));
    }
    request
}

/// Whether a Describe answered that its definition no longer exists.
fn gone<T, E>(found: Result<T, E>, operation: &'static str) -> Result<bool, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match found {
        Ok(_) => Ok(false),
        Err(e) if is_not_found(&e) => Ok(true),
        Err(e) => Err(AwsError::new(operation, e)),
    }
}

/// A Create whose first answer was lost and that the SDK sent again meets "already exists":
/// what it asked for is there.
fn already_there<E>(error: E, operation: &'static str) -> Result<(), AwsError>
where
    E: ProvideErrorMetadata + std::error::Error,
{
    let exists = error.code() == Some("ValidationException")
        && error.message().is_some_and(|m| m.contains("already exist"));
    if exists {
        Ok(())
    } else {
        Err(AwsError::new(operation, error))
    }
}

/// The endpoint's resource policy, if it has one (GetEndpointPolicy, sent as described in
/// `aws::raw`).
pub async fn endpoint_policy(
    client: &Client,
    endpoint: &EndpointName,
) -> Result<Option<String>, AwsError> {
    const OP: &str = "sagemaker:GetEndpointPolicy";
    let answer = Answer::default();
    let request = json!({"EndpointName": endpoint.as_str()});
    let result = client
        .describe_endpoint()
        .endpoint_name(endpoint.as_str())
        .customize()
        .mutate_request(raw::send_instead(
            Some("SageMaker.GetEndpointPolicy"),
            &request,
        ))
        .interceptor(answer.clone())
        .send()
        .await;
    match result {
        Ok(_) => {}
        // SageMaker documents a ValidationException for an endpoint without a policy. Any other
        // ValidationException (one that does not speak of a policy) is an error: taken for "no
        // policy", it would lose the policy with the endpoint.
        Err(e)
            if e.code() == Some("ValidationException")
                && e.message()
                    .is_some_and(|m| m.to_lowercase().contains("polic")) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(AwsError::new(OP, e)),
    }
    let policy = answer
        .json()
        .and_then(|a| a.get("ResourcePolicy")?.as_str().map(str::to_owned))
        .ok_or_else(|| unreadable(OP, endpoint.as_str()))?;
    Ok(Some(policy))
}

/// Attaches `policy` to the endpoint (PutEndpointPolicy, sent as described in `aws::raw`).
pub async fn put_endpoint_policy(
    client: &Client,
    endpoint: &EndpointName,
    policy: &str,
) -> Result<(), AwsError> {
    let request = json!({"EndpointName": endpoint.as_str(), "ResourcePolicy": policy});
    client
        .describe_endpoint()
        .endpoint_name(endpoint.as_str())
        .customize()
        .mutate_request(raw::send_instead(
            Some("SageMaker.PutEndpointPolicy"),
            &request,
        ))
        .send()
        .await
        .map_err(|e| AwsError::new("sagemaker:PutEndpointPolicy", e))?;
    Ok(())
}
