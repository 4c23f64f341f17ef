//! `titiktemu.errors` (production): every error a client sees carries a
//! code it can act on, with the message meant for it, and nothing that was
//! not meant for it.
//!
//! Errors whose code is one the subgraphs give clients (the API contract's
//! codes, listed in `router.prod.yaml`) or one the router gives about the
//! client's own request (a document that does not parse or validate) keep
//! their message, and of their extensions only what clients read (`code`,
//! `details`, `retryAfterSeconds`). Anything else is a failure on our side:
//! a subgraph the router could not reach or read becomes `SERVICE_UNAVAILABLE`,
//! the rest `INTERNAL_SERVER_ERROR`, each with a generic message (the router's
//! own text of a failed fetch names the service, its address and the cause).

use apollo_router::{
    graphql,
    plugin::{Plugin, PluginInit},
    register_plugin,
    services::supergraph,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json_bytes::ByteString;
use tower::{BoxError, ServiceExt};

/// The router's codes about the client's own request (a document that does
/// not parse or validate, a request it cannot read), kept as they are.
const ROUTER_CLIENT_CODES: [&str; 16] = [
    "PARSING_ERROR",
    "RECURSION_LIMIT_EXCEEDED",
    "GRAPHQL_VALIDATION_FAILED",
    "GRAPHQL_UNKNOWN_OPERATION_NAME",
    "INVALID_TYPE",
    "INVALID_FIELD",
    "SUBSCRIPTION_NOT_SUPPORTED",
    "MUTATION_FORBIDDEN",
    "MISSING_QUERY_STRING",
    "MISSING_OPERATION",
    "MISSING_EXECUTABLE_DOCUMENT",
    "INVALID_ACCEPT_HEADER",
    "INVALID_CONTENT_TYPE_HEADER",
    "PERSISTED_QUERY_NOT_SUPPORTED",
    "PERSISTED_QUERY_NOT_FOUND",
    "PERSISTED_QUERY_HASH_MISMATCH",
];
/// The extensions a client reads.
const CLIENT_EXTENSIONS: [&str; 3] = ["code", "details", "retryAfterSeconds"];

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The codes the subgraphs give clients, kept with their messages.
    codes: Vec<String>,
}

struct Errors {
    codes: Vec<String>,
}

#[async_trait::async_trait]
impl Plugin for Errors {
    type Config = Config;

    async fn new(init: PluginInit<Self::Config>) -> Result<Self, BoxError> {
        Ok(Errors { codes: init.config.codes })
    }

    fn supergraph_service(&self, service: supergraph::BoxService) -> supergraph::BoxService {
        let codes = self.codes.clone();
        service
            .map_response(move |response: supergraph::Response| {
                let codes = codes.clone();
                response.map_stream(move |mut response: graphql::Response| {
                    let incremental = response.incremental.iter_mut().flat_map(|i| i.errors.iter_mut());
                    for error in response.errors.iter_mut().chain(incremental) {
                        for_clients(error, &codes);
                    }
                    response
                })
            })
            .boxed()
    }
}

/// The error as a client may see it.
fn for_clients(error: &mut graphql::Error, codes: &[String]) {
    let code = error.extensions.get("code").and_then(|c| c.as_str()).unwrap_or_default().to_owned();
    let kept = codes.contains(&code) || ROUTER_CLIENT_CODES.contains(&code.as_str());
    if kept {
        error.extensions.retain(|key, _| CLIENT_EXTENSIONS.contains(&key.as_str()));
        return;
    }
    let (code, message) = if code.starts_with("SUBREQUEST_") {
        ("SERVICE_UNAVAILABLE", "a service is unavailable, try again shortly")
    } else {
        ("INTERNAL_SERVER_ERROR", "internal server error")
    };
    tracing::warn!(original = %error.message, "an error was hidden from the client");
    error.message = message.to_owned();
    error.extensions.clear();
    error.extensions.insert(ByteString::from("code"), code.into());
}

register_plugin!("titiktemu", "errors", Errors);

#[cfg(test)]
mod tests {
    use super::*;

    fn error(message: &str, extensions: serde_json_bytes::Value) -> graphql::Error {
        let mut error = graphql::Error::builder().message(message).build();
        error.extensions = extensions.as_object().cloned().unwrap_or_default();
        error
    }

    #[test]
    fn clients_see_codes_and_meant_messages_only() {
        let codes = vec!["EVENT_FULL".to_owned(), "UNAUTHENTICATED".to_owned()];
        let mut full = error(
            "the event is full",
            serde_json_bytes::json!({"code": "EVENT_FULL", "service": "attendance", "details": {"x": 1}}),
        );
        for_clients(&mut full, &codes);
        assert_eq!(full.message, "the event is full");
        assert_eq!(
            full.extensions,
            serde_json_bytes::json!({"code": "EVENT_FULL", "details": {"x": 1}}).as_object().cloned().unwrap()
        );
        let mut fetch = error(
            "HTTP fetch failed from 'attendance': error sending request for url (http://attendance:3004/graphql)",
            serde_json_bytes::json!({"code": "SUBREQUEST_HTTP_ERROR", "service": "attendance", "reason": "refused"}),
        );
        for_clients(&mut fetch, &codes);
        assert_eq!(fetch.message, "a service is unavailable, try again shortly");
        assert_eq!(
            fetch.extensions,
            serde_json_bytes::json!({"code": "SERVICE_UNAVAILABLE"}).as_object().cloned().unwrap()
        );
        let mut unexpected = error("panicked at src/lib.rs:1", serde_json_bytes::json!({}));
        for_clients(&mut unexpected, &codes);
        assert_eq!(
            (unexpected.message.as_str(), &unexpected.extensions["code"]),
            ("internal server error", &"INTERNAL_SERVER_ERROR".into())
        );
        let mut parse = error("syntax error", serde_json_bytes::json!({"code": "PARSING_ERROR"}));
        for_clients(&mut parse, &codes);
        assert_eq!(parse.message, "syntax error");
    }
}
