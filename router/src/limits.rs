//! `titiktemu.limits`: refuses, before planning, a supergraph operation whose
//! lists could multiply past `max_cost` or that nests deeper than
//! `max_depth`. The open-source router's own depth and cost limits need a
//! GraphOS license; a native plugin is free. The estimate is the `query-cost`
//! crate's, the same every subgraph applies to what it is sent.

use std::ops::ControlFlow;

use apollo_router::{
    graphql,
    layers::ServiceBuilderExt,
    plugin::{Plugin, PluginInit},
    register_plugin,
    services::supergraph,
};
use query_cost::VariableValue;
use schemars::JsonSchema;
use serde::Deserialize;
use tower::{BoxError, ServiceBuilder, ServiceExt};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The most an operation may cost: each field 1, times the items of the lists around it.
    #[serde(default = "default_max_cost")]
    max_cost: u64,
    /// The deepest field nesting accepted.
    #[serde(default = "default_max_depth")]
    max_depth: usize,
}

fn default_max_cost() -> u64 {
    query_cost::DEFAULT_MAX_COST
}

fn default_max_depth() -> usize {
    query_cost::DEFAULT_MAX_DEPTH
}

struct Limits {
    config: Config,
}

#[async_trait::async_trait]
impl Plugin for Limits {
    type Config = Config;

    async fn new(init: PluginInit<Self::Config>) -> Result<Self, BoxError> {
        Ok(Limits { config: init.config })
    }

    fn supergraph_service(&self, service: supergraph::BoxService) -> supergraph::BoxService {
        let Config { max_cost, max_depth } = self.config;
        ServiceBuilder::new()
            .checkpoint(move |request: supergraph::Request| {
                let body = request.supergraph_request.body();
                // No query, or one that does not parse: the router answers that itself.
                let Some(document) = body.query.as_deref().and_then(|q| async_graphql_parser::parse_query(q).ok())
                else {
                    return Ok(ControlFlow::Continue(request));
                };
                let variable = |name: &str| match body.variables.get(name) {
                    Some(serde_json_bytes::Value::Number(n)) => {
                        n.as_i64().map_or(VariableValue::Other, VariableValue::Int)
                    }
                    Some(serde_json_bytes::Value::Array(items)) => VariableValue::List(items.len()),
                    _ => VariableValue::Other,
                };
                let checked = query_cost::estimate(&document, body.operation_name.as_deref(), &variable)
                    .and_then(|estimate| query_cost::check(estimate, max_cost, max_depth));
                match checked {
                    Ok(_) => Ok(ControlFlow::Continue(request)),
                    Err(refusal) => {
                        let response = supergraph::Response::error_builder()
                            .error(
                                graphql::Error::builder()
                                    .message(refusal.to_string())
                                    .extension_code("QUERY_TOO_COMPLEX")
                                    .build(),
                            )
                            .status_code(http::StatusCode::BAD_REQUEST)
                            .context(request.context)
                            .build()?;
                        Ok(ControlFlow::Break(response))
                    }
                }
            })
            .service(service)
            .boxed()
    }
}

register_plugin!("titiktemu", "limits", Limits);
