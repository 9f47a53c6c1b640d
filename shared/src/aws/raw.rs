//! SageMaker's own JSON, for what the SDK's types cannot carry whole.
//!
//! A snapshot must bring an EndpointConfig or a Model back exactly, including fields newer than
//! this build: SageMaker's Describe answer is, but for its output-only fields, the Create
//! request (JSON 1.1, the same member names), so the snapshot keeps the answer's JSON and the
//! wake sends it back as the request's body. The SDK has no serde for its types, and copying
//! them field by field would silently drop any field it does not know.
//!
//! The same two pieces reach SageMaker's endpoint policies, which the newest aws-sdk-sagemaker
//! (1.248) predates: GetEndpointPolicy and PutEndpointPolicy take `{"EndpointName", …}`, so they
//! are sent as a DescribeEndpoint whose target (and body) are swapped before signing. Remove that
//! use once the SDK has the operations.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value;

/// Keeps the body of the last answer its operation read: add it to a call with
/// `.customize().interceptor(answer.clone())`, then read it with [`Answer::json`].
#[derive(Debug, Clone, Default)]
pub struct Answer(Arc<Mutex<Option<Vec<u8>>>>);

impl Intercept for Answer {
    fn name(&self) -> &'static str {
        "sagetide-raw-answer"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The orchestrator has read a non-streaming body into memory by now.
        let body = context.response().body().bytes().map(<[u8]>::to_vec);
        *self.0.lock().expect("not poisoned") = body;
        Ok(())
    }
}

impl Answer {
    /// The answer as JSON (`None` if there was none, or it was not JSON).
    pub fn json(&self) -> Option<Value> {
        let body = self.0.lock().expect("not poisoned").clone()?;
        serde_json::from_slice(&body).ok()
    }
}

/// A request mutation (for `.customize().mutate_request(…)`) that sends `body` instead of what
/// the SDK serialized, to `target` (`X-Amz-Target`) if given. It runs before signing, so the
/// signature covers it, and again on every retry.
pub fn send_instead(
    target: Option<&'static str>,
    body: &Value,
) -> impl Fn(&mut HttpRequest) + Send + Sync + 'static {
    let body = body.to_string().into_bytes();
    move |request: &mut HttpRequest| {
        if let Some(target) = target {
            request.headers_mut().insert("x-amz-target", target);
        }
        request
            .headers_mut()
            .insert("content-length", body.len().to_string());
        *request.body_mut() = SdkBody::from(body.clone());
    }
}

/// `value` without the members a Describe answer has and its Create request must not.
pub fn without(value: &Value, output_only: &[&str]) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .filter(|(k, _)| !output_only.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn output_only_members_are_left_out_at_the_top_level_only() {
        let described = json!({
            "EndpointConfigName": "c",
            "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/c",
            "CreationTime": 1.7e9,
            "ProductionVariants": [{"VariantName": "v", "CreationTime": "kept"}]
        });
        assert_eq!(
            without(&described, &["EndpointConfigArn", "CreationTime"]),
            json!({
                "EndpointConfigName": "c",
                "ProductionVariants": [{"VariantName": "v", "CreationTime": "kept"}]
            })
        );
    }
}
