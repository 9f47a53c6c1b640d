//! Instance pools, which moto lacks: it rejects `InstancePools` in an EndpointConfig and never
//! reports pool summaries. The test world creates such a variant in moto with one instance type
//! and the pools' total count, and the proxy gives its answers the shape AWS documents
//! (https://docs.aws.amazon.com/sagemaker/latest/dg/realtime-endpoints-heterogeneous.html):
//! the EndpointConfig's variant has `InstancePools` instead of an `InstanceType`, and
//! DescribeEndpoint and Search report an `InstancePools` summary per type with its current count.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// The pools of the variants the test world made pooled: by endpoint, then variant.
#[derive(Debug, Default)]
pub struct Pools {
    by_endpoint: BTreeMap<String, BTreeMap<String, Vec<(String, u32)>>>,
    /// The EndpointConfig of each pooled endpoint.
    configs: BTreeMap<String, String>,
}

impl Pools {
    pub fn set(&mut self, endpoint: &str, config: &str, variant: &str, pools: &[(&str, u32)]) {
        self.by_endpoint
            .entry(endpoint.to_owned())
            .or_default()
            .insert(
                variant.to_owned(),
                pools.iter().map(|(t, n)| (t.to_string(), *n)).collect(),
            );
        self.configs.insert(config.to_owned(), endpoint.to_owned());
    }

    /// moto's answer to `call`, as AWS would give it for the pooled variants; `None` when
    /// it needs no rewriting.
    pub fn rewrite(&self, call: &str, body: &[u8]) -> Option<Vec<u8>> {
        let about_pools = matches!(
            call,
            "sagemaker:DescribeEndpoint" | "sagemaker:Search" | "sagemaker:DescribeEndpointConfig"
        );
        if self.by_endpoint.is_empty() || !about_pools {
            return None;
        }
        let mut answer: Value = serde_json::from_slice(body).ok()?;
        match call {
            "sagemaker:DescribeEndpoint" => self.summaries(&mut answer),
            "sagemaker:Search" => {
                for record in answer["Results"].as_array_mut()? {
                    if let Some(endpoint) = record.get_mut("Endpoint") {
                        self.summaries(endpoint);
                    }
                }
            }
            "sagemaker:DescribeEndpointConfig" => {
                let config = answer["EndpointConfigName"].as_str()?.to_owned();
                let pools = self.by_endpoint.get(self.configs.get(&config)?)?;
                for variant in answer["ProductionVariants"].as_array_mut()? {
                    let Some(pools) = variant["VariantName"].as_str().and_then(|v| pools.get(v))
                    else {
                        continue;
                    };
                    let object = variant.as_object_mut()?;
                    object.remove("InstanceType");
                    object.insert(
                        "InstancePools".into(),
                        pools
                            .iter()
                            .enumerate()
                            .map(|(i, (t, _))| json!({"InstanceType": t, "Priority": i + 1}))
                            .collect(),
                    );
                }
            }
            _ => return None,
        }
        serde_json::to_vec(&answer).ok()
    }

    fn summaries(&self, endpoint: &mut Value) {
        let Some(pools) = endpoint["EndpointName"]
            .as_str()
            .and_then(|name| self.by_endpoint.get(name))
        else {
            return;
        };
        let Some(variants) = endpoint["ProductionVariants"].as_array_mut() else {
            return;
        };
        for variant in variants {
            let Some(pools) = variant["VariantName"].as_str().and_then(|v| pools.get(v)) else {
                continue;
            };
            let total: u32 = pools.iter().map(|(_, n)| n).sum();
            variant["CurrentInstanceCount"] = json!(total);
            variant["InstancePools"] = pools
                .iter()
                .map(|(t, n)| json!({"InstanceType": t, "CurrentInstanceCount": n}))
                .collect();
        }
    }
}
