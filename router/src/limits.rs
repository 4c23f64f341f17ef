//! `titiktemu.limits`: refuses, before planning, a supergraph operation whose
//! lists could multiply past `max_cost` or that nests deeper than
//! `max_depth`, and any document the subgraphs would refuse: nested deeper
//! than their parser goes, with too many fields, root fields or directives,
//! or resolving too many fields. The open-source router's own depth and cost
//! limits need a GraphOS license; a native plugin is free. The checks are the
//! `query-cost` crate's, the same every subgraph applies to what it is sent,
//! so nothing a subgraph would refuse is planned and sent.

use std::ops::ControlFlow;

use apollo_router::{
    graphql,
    layers::ServiceBuilderExt,
    plugin::{Plugin, PluginInit},
    register_plugin,
    services::supergraph,
};
use query_cost::{document, VariableValue};
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
                let Some(query) = body.query.as_deref() else {
                    // No query: the router answers that itself.
                    return Ok(ControlFlow::Continue(request));
                };
                let variable = |name: &str| match body.variables.get(name) {
                    Some(serde_json_bytes::Value::Number(n)) => {
                        n.as_i64().map_or(VariableValue::Other, VariableValue::Int)
                    }
                    Some(serde_json_bytes::Value::Array(items)) => VariableValue::List(items.len()),
                    _ => VariableValue::Other,
                };
                match refusal(query, body.operation_name.as_deref(), &variable, max_cost, max_depth) {
                    None => Ok(ControlFlow::Continue(request)),
                    Some((code, message)) => {
                        let response = supergraph::Response::error_builder()
                            .error(graphql::Error::builder().message(message).extension_code(code).build())
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

/// Why an operation is refused (its code and message), as a subgraph would
/// refuse it; `None` when it may be planned.
fn refusal(
    query: &str,
    operation: Option<&str>,
    variable: &dyn Fn(&str) -> VariableValue,
    max_cost: u64,
    max_depth: usize,
) -> Option<(&'static str, String)> {
    let bad_input = |refusal: document::DocumentRefusal| Some(("BAD_USER_INPUT", refusal.to_string()));
    if let Err(refused) = document::check_nesting(query) {
        return bad_input(refused);
    }
    let document = match async_graphql_parser::parse_query(query) {
        Ok(document) => document,
        // The subgraphs' parser goes no deeper than this.
        Err(async_graphql_parser::Error::RecursionLimitExceeded) => {
            return bad_input(document::DocumentRefusal::TooNested { depth: document::MAX_NESTING + 1 });
        }
        // Not a document: the router's own parser says why.
        Err(_) => return None,
    };
    if let Err(refused) = document::check_selections(&document) {
        return bad_input(refused);
    }
    match query_cost::estimate(&document, operation, variable).and_then(|e| query_cost::check(e, max_cost, max_depth)) {
        Ok(_) => None,
        Err(refused) => Some(("QUERY_TOO_COMPLEX", refused.to_string())),
    }
}

register_plugin!("titiktemu", "limits", Limits);

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(query: &str) -> Option<(&'static str, String)> {
        refusal(query, None, &|_| VariableValue::Other, query_cost::DEFAULT_MAX_COST, query_cost::DEFAULT_MAX_DEPTH)
    }

    /// What the subgraphs refuse, the router refuses before planning.
    #[test]
    fn the_subgraphs_limits_are_the_routers() {
        assert_eq!(refused("{ me { id } }"), None);
        assert_eq!(refused("{ me { "), None, "a syntax error is the router's to explain");
        // A fragment 66 selection sets deep, spread under `@skip(if: true)`.
        let deep = format!("{}__typename {}", "... on Query { ".repeat(66), "}".repeat(66));
        let padded = format!("{{ me {{ id }} ...F @skip(if: true) }} fragment F on Query {{ {deep} }}");
        assert_eq!(refused(&padded).map(|r| r.0), Some("BAD_USER_INPUT"));
        let aliases: String = (0..1_200).map(|i| format!(" a{i}: id")).collect();
        assert_eq!(refused(&format!("{{ me {{{aliases} }} }}")).map(|r| r.0), Some("BAD_USER_INPUT"));
        let roots: String = (0..51).map(|i| format!(" r{i}: me {{ id }}")).collect();
        assert_eq!(refused(&format!("{{{roots} }}")).map(|r| r.0), Some("BAD_USER_INPUT"));
        let skips = " @skip(if: false)".repeat(9);
        assert_eq!(refused(&format!("{{ me{skips} {{ id }} }}")).map(|r| r.0), Some("BAD_USER_INPUT"));
        let nested = "{ events(first: 1000) { nodes { attendance(first: 1000) { nodes { id } } } } }";
        assert_eq!(refused(nested).map(|r| r.0), Some("QUERY_TOO_COMPLEX"));
    }
}
