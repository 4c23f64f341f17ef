//! `POST /graphql`: the subgraph's GraphQL over HTTP endpoint, with token
//! verification and, in production, the router-only gate. Every request
//! passes [`super::limits`] before it runs.

use std::sync::Arc;

use async_graphql::{ObjectType, Schema, SubscriptionType};
use axum::{
    body::Bytes,
    extract::rejection::BytesRejection,
    extract::State,
    http::{
        header::{ACCEPT, CONTENT_TYPE},
        HeaderMap, StatusCode,
    },
    response::{IntoResponse, Response},
    routing::post,
    Extension as AxumExtension, Json, Router,
};

use super::limits;
use crate::{
    auth::TokenVerifier, config::CommonSettings, error::ApiError, internal::ServiceCredential, net::ClientAddress,
};

struct Endpoint<Q, M, S> {
    schema: Schema<Q, M, S>,
    verifier: TokenVerifier,
    /// In production, only callers with the service credential (the router)
    /// may use the endpoint at all.
    router_only: Option<ServiceCredential>,
    max_cost: u64,
}

/// `POST /graphql`. No page is served here (the router's playground is the
/// playground, from local files): a `GET` is answered 405. In
/// production it answers only the router (the service credential its
/// `headers` config adds). Requests must be `application/json`: a browser can
/// send `text/plain` or form bodies to any origin without a preflight, so
/// accepting them would let any web page run mutations as its visitor (CSRF).
/// The caller's token is verified before execution; a token that is present
/// but invalid fails the whole operation with `UNAUTHENTICATED`.
pub fn router<Q, M, S>(schema: Schema<Q, M, S>, verifier: TokenVerifier, settings: &CommonSettings) -> Router
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let production = settings.app_env.is_production();
    let router_only = production.then(|| settings.service_credential.clone());
    let endpoint = Arc::new(Endpoint { schema, verifier, router_only, max_cost: settings.max_query_cost });
    Router::new().route("/graphql", post(execute::<Q, M, S>)).with_state(endpoint)
}

async fn execute<Q, M, S>(
    State(endpoint): State<Arc<Endpoint<Q, M, S>>>,
    headers: HeaderMap,
    client: Option<AxumExtension<ClientAddress>>,
    body: Result<Bytes, BytesRejection>,
) -> Response
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    if let Some(credential) = &endpoint.router_only {
        if !credential.admits(&headers) {
            return crate::internal::refusal().into_response();
        }
    }
    let Some(media) = MediaType::negotiate(&headers) else {
        let error = ApiError::bad_input(
            "this endpoint answers `application/graphql-response+json` or `application/json`: ask for one in `Accept`",
        );
        return error.with_status(StatusCode::NOT_ACCEPTABLE).into_response();
    };
    if !crate::rest::has_json_content_type(&headers) {
        let error = ApiError::bad_input("GraphQL requests must be sent as `Content-Type: application/json`");
        return media.error(error, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let error = crate::rest::body_rejection(rejection);
            let status = error.status;
            return media.error(error, status);
        }
    };
    // One request object, read straight into async-graphql's type (its batch
    // extractor buffers the whole body as untyped values first, since a batch
    // is an untagged enum; subgraphs are never sent batches).
    let request = match serde_json::from_slice::<async_graphql::Request>(&body) {
        Ok(request) => request,
        Err(e) => {
            let error = ApiError::bad_input(format!("malformed GraphQL request: {e}"));
            return media.error(error, StatusCode::BAD_REQUEST);
        }
    };
    if let Err(refused) = limits::check_text(&request.query) {
        return media.error(refused.0, StatusCode::BAD_REQUEST);
    }
    let caller = match endpoint.verifier.caller_from_headers(&headers).await {
        Ok(caller) => caller,
        // A 200 in `application/json`, so that the router passes the code through.
        Err(e) => return media.error(e.into(), StatusCode::UNAUTHORIZED),
    };
    let mut request = request.data(caller);
    if let Err(refused) = limits::check_document(&mut request, endpoint.max_cost) {
        return media.respond(async_graphql::Response::from_errors(vec![refused.into_server_error()]));
    }
    if let Some(AxumExtension(client)) = client {
        request = request.data(client);
    }
    let operation = crate::telemetry::metrics::operation_label(request.operation_name.as_deref());
    let started = std::time::Instant::now();
    let response = endpoint.schema.execute(request).await;
    let outcome = response.errors.first().map_or("ok", |e| error_code(e));
    metrics::histogram!(crate::telemetry::metrics::GRAPHQL_OPERATION_SECONDS, "operation" => operation, "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    media.respond(response)
}

/// An error's code as a metrics label: one of the API's codes, else `other`.
fn error_code(error: &async_graphql::ServerError) -> &'static str {
    let code = error.extensions.as_ref().and_then(|e| e.get("code")).and_then(|code| match code {
        async_graphql::Value::String(s) => Some(s.as_str()),
        async_graphql::Value::Enum(name) => Some(name.as_str()),
        _ => None,
    });
    crate::ErrorCode::ALL.iter().map(|c| c.as_str()).find(|c| Some(*c) == code).unwrap_or("other")
}

/// The response media types of the GraphQL over HTTP specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: the status says whether the
    /// request was executed (4xx when it was not).
    GraphqlResponse,
    /// `application/json`, the legacy type: 200 for any GraphQL response.
    Json,
}

impl MediaType {
    /// The first type listed in `Accept` that this endpoint can answer with;
    /// `Json` without an `Accept` header (as the specification asks, for
    /// legacy clients); `None` when nothing acceptable is listed.
    pub fn negotiate(headers: &HeaderMap) -> Option<Self> {
        let values: Vec<&str> = headers.get_all(ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect();
        if values.is_empty() {
            return Some(MediaType::Json);
        }
        for range in values.iter().flat_map(|v| v.split(',')) {
            let mut parts = range.split(';');
            let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let refused =
                parts.any(|p| p.trim().strip_prefix("q=").is_some_and(|q| q.trim().parse::<f32>() == Ok(0.0)));
            if refused {
                continue;
            }
            match essence.as_str() {
                "application/graphql-response+json" => return Some(MediaType::GraphqlResponse),
                "application/json" | "application/*" | "*/*" => return Some(MediaType::Json),
                _ => {}
            }
        }
        None
    }

    fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphqlResponse => "application/graphql-response+json",
            MediaType::Json => "application/json",
        }
    }

    /// A request that was not executed: `status` in the new media type; in
    /// `application/json` a token error is a 200 (a GraphQL error the router
    /// passes on), and a body that could not be read keeps its 4xx.
    fn error(self, err: ApiError, status: StatusCode) -> Response {
        let server_error = async_graphql::Error::from(err).into_server_error(Default::default());
        match self {
            MediaType::GraphqlResponse => self.body(status, &serde_json::json!({ "errors": [server_error] })),
            MediaType::Json => {
                let status = if status == StatusCode::UNAUTHORIZED { StatusCode::OK } else { status };
                self.body(status, &serde_json::json!({ "data": null, "errors": [server_error] }))
            }
        }
    }

    fn respond(self, response: async_graphql::Response) -> Response {
        let response = limits::with_codes(response);
        // Not executed at all: parse, validation and variable errors carry no
        // path. The new media type answers those with a 400 and no `data`.
        let not_executed = response.data == async_graphql::Value::Null
            && !response.errors.is_empty()
            && response.errors.iter().all(|e| e.path.is_empty());
        if self == MediaType::GraphqlResponse && not_executed {
            return self.body(StatusCode::BAD_REQUEST, &serde_json::json!({ "errors": response.errors }));
        }
        // Serialized as it is: a response of a thousand entities is not copied
        // into an intermediate JSON tree first.
        self.body(StatusCode::OK, &response)
    }

    fn body(self, status: StatusCode, body: &impl serde::Serialize) -> Response {
        match limits::capped(body) {
            Ok(bytes) => (status, [(CONTENT_TYPE, self.content_type())], bytes).into_response(),
            Err(too_large) => self.error(too_large, StatusCode::BAD_REQUEST),
        }
    }
}

/// A response of one GraphQL error, with `status`.
pub fn error_response(err: ApiError, status: StatusCode) -> Response {
    let server_error = async_graphql::Error::from(err).into_server_error(Default::default());
    let body = async_graphql::Response::from_errors(vec![server_error]);
    (status, Json(body)).into_response()
}
