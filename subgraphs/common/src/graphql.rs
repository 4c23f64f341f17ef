//! GraphQL plumbing shared by the subgraphs: the `/graphql` endpoint (with
//! token verification), federation SDL export, page info.

use std::{collections::HashSet, sync::Arc};

use async_graphql::{
    http::GraphiQLSource,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
    EmptySubscription, ObjectType, SDLExportOptions, Schema, SchemaBuilder, ServerError, ServerResult, SimpleObject,
    SubscriptionType,
};
use axum::{
    body::Bytes,
    extract::rejection::BytesRejection,
    extract::State,
    http::{
        header::{ACCEPT, CONTENT_TYPE},
        HeaderMap, StatusCode,
    },
    response::{Html, IntoResponse, Response},
    routing::post,
    Extension as AxumExtension, Json, Router,
};
use uuid::Uuid;

use crate::{
    auth::{Caller, TokenVerifier},
    config::CommonSettings,
    error::ApiError,
    internal::ServiceCredential,
    net::ClientAddress,
};

/// Deepest selection nesting accepted (the router's own plans stay far below).
pub const MAX_DEPTH: usize = 16;
/// Fields (each alias counts) one operation may resolve, after fragments are expanded.
pub const MAX_COMPLEXITY: usize = 2_000;
/// Field selections written in one document, aliases included: a document of
/// thousands of aliases is refused before it is validated.
pub const MAX_FIELDS: usize = 1_000;
/// Root fields of one operation.
pub const MAX_ROOT_FIELDS: usize = 50;
/// The largest response a subgraph sends (a door list of 1,000 with emails is
/// about 150 KB).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// Directives on one field.
pub const MAX_DIRECTIVES: usize = 8;
/// Brackets open at once in the raw text; checked before parsing, so a
/// megabyte of `{` cannot exhaust the parser's stack.
pub const MAX_NESTING: usize = 64;

/// The limits every subgraph's schema applies, so a hostile operation is
/// refused before it costs anything: depth, complexity, recursion while parsing,
/// directives per field, and no introspection in production (the router has
/// the supergraph; `_service` stays available for composition). [`router`]'s
/// endpoint adds the field and root-field counts.
pub fn harden<Q, M, S>(builder: SchemaBuilder<Q, M, S>, production: bool) -> SchemaBuilder<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let builder = builder
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(MAX_NESTING)
        .limit_directives(MAX_DIRECTIVES);
    if production {
        builder.disable_introspection()
    } else {
        builder
    }
}

/// A subgraph's schema builder: federation on, [`harden`]ed for the settings' environment.
pub fn subgraph<Q, M>(query: Q, mutation: M, settings: &CommonSettings) -> SchemaBuilder<Q, M, EmptySubscription>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
{
    subgraph_with_subscription(query, mutation, EmptySubscription, settings)
}

/// As [`subgraph`], with subscriptions (served over WebSocket by the subgraph
/// itself: [`subgraph_sdl`] leaves them out of the federation SDL, since the
/// open-source router does not carry them).
pub fn subgraph_with_subscription<Q, M, S>(
    query: Q,
    mutation: M,
    subscription: S,
    settings: &CommonSettings,
) -> SchemaBuilder<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    harden(Schema::build(query, mutation, subscription).enable_federation(), settings.app_env.is_production())
}

/// A subgraph's federation SDL, printed without a service behind the resolvers.
pub fn subgraph_sdl<Q, M>(query: Q, mutation: M) -> String
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
{
    federation_sdl(&Schema::build(query, mutation, EmptySubscription).enable_federation().finish())
}

/// Refuses a document that selects too many fields or root fields. Run by the
/// endpoint on the document it parses ahead of execution, not as a schema
/// extension: any extension sends every field of every result through the
/// extension chain (a registry lookup and a boxed future each), which cost a
/// tenth of the time of resolving a thousand entities.
fn check_selection_limits(document: &ExecutableDocument) -> ServerResult<()> {
    let mut fields = document.fragments.values().map(|f| count_fields(&f.node.selection_set.node)).sum::<usize>();
    for (_, operation) in document.operations.iter() {
        let selections = &operation.node.selection_set.node;
        let root_fields = count_root_fields(selections, document)?;
        if root_fields > MAX_ROOT_FIELDS {
            return Err(ServerError::new(
                format!("an operation may select at most {MAX_ROOT_FIELDS} root fields ({root_fields} given)"),
                None,
            ));
        }
        fields += count_fields(selections);
    }
    if fields > MAX_FIELDS {
        return Err(ServerError::new(
            format!("a document may select at most {MAX_FIELDS} fields, aliases included ({fields} given)"),
            None,
        ));
    }
    Ok(())
}

/// Refuses an operation whose lists could multiply past `max_cost` (a
/// field's `first`, an `_entities` fetch's representations; see the
/// `query-cost` crate), before it runs. Depth is async-graphql's limit here.
fn check_cost(request: &mut async_graphql::Request, max_cost: u64) -> ServerResult<()> {
    use async_graphql::Value;
    use query_cost::VariableValue;
    // The document borrows the request: look at the variables beside it.
    let variables = std::mem::take(&mut request.variables);
    let variable = |name: &str| match variables.get(name) {
        Some(Value::Number(n)) => n.as_i64().map_or(VariableValue::Other, VariableValue::Int),
        Some(Value::List(items)) => VariableValue::List(items.len()),
        _ => VariableValue::Other,
    };
    let operation = request.operation_name.clone();
    let checked = request.parsed_query().and_then(|document| {
        query_cost::estimate(document, operation.as_deref(), &variable)
            .and_then(|estimate| query_cost::check(estimate, max_cost, usize::MAX))
            .map_err(|refusal| {
                async_graphql::Error::from(ApiError::new(crate::ErrorCode::QueryTooComplex, refusal.to_string()))
                    .into_server_error(Default::default())
            })
    });
    request.variables = variables;
    checked.map(|_| ())
}

/// Fields written in a selection set (fragment spreads count where defined).
fn count_fields(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => 1 + count_fields(&field.node.selection_set.node),
            Selection::InlineFragment(fragment) => count_fields(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// Root fields, looking through fragments. This runs before async-graphql's
/// own checks, so it bounds the depth of spreads itself: a chain of fragments,
/// each spreading the next, nests no brackets, and following one of thousands
/// unchecked would overflow the stack. A fragment spread twice (or into
/// itself, which validation refuses later) is counted once.
fn count_root_fields(set: &SelectionSet, document: &ExecutableDocument) -> ServerResult<usize> {
    fn walk<'a>(
        set: &'a SelectionSet,
        document: &'a ExecutableDocument,
        seen: &mut HashSet<&'a str>,
        depth: usize,
    ) -> ServerResult<usize> {
        if depth > MAX_NESTING {
            return Err(ServerError::new(format!("fragments may nest at most {MAX_NESTING} levels deep"), None));
        }
        let mut fields = 0;
        for item in &set.items {
            fields += match &item.node {
                Selection::Field(_) => 1,
                Selection::InlineFragment(fragment) => {
                    walk(&fragment.node.selection_set.node, document, seen, depth + 1)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match document.fragments.get(name) {
                        Some(fragment) if seen.insert(name) => {
                            walk(&fragment.node.selection_set.node, document, seen, depth + 1)?
                        }
                        _ => 0,
                    }
                }
            };
        }
        Ok(fields)
    }
    walk(set, document, &mut HashSet::new(), 0)
}

/// The deepest bracket nesting of a GraphQL document, outside strings and comments.
pub fn nesting_depth(query: &str) -> usize {
    let bytes = query.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// The federation SDL of a subgraph, as composition expects it.
pub fn federation_sdl<Q, M, S>(schema: &Schema<Q, M, S>) -> String
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    schema.sdl_with_options(SDLExportOptions::new().federation())
}

/// A DataLoader as every subgraph uses them: loads issued within `delay` of
/// each other become one batch (one SQL statement).
pub fn loader<T, K>(inner: T, delay: std::time::Duration) -> async_graphql::dataloader::DataLoader<T>
where
    T: async_graphql::dataloader::Loader<K>,
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
{
    async_graphql::dataloader::DataLoader::new(inner, tokio::spawn).delay(delay).max_batch_size(5_000)
}

/// Relay-style page info; defined identically by several subgraphs.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
#[graphql(shareable)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

struct Endpoint<Q, M, S> {
    schema: Schema<Q, M, S>,
    verifier: TokenVerifier,
    /// In production, only callers with the service credential (the router)
    /// may use the endpoint at all.
    router_only: Option<ServiceCredential>,
    max_cost: u64,
}

/// `POST /graphql` (and `GET /graphql` with GraphiQL in development). In
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
    let mut route = post(execute::<Q, M, S>);
    if !production {
        route = route.get(graphiql);
    }
    Router::new().route("/graphql", route).with_state(endpoint)
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
    let depth = nesting_depth(&request.query);
    if depth > MAX_NESTING {
        let message = format!("the document nests {depth} levels deep; at most {MAX_NESTING} are accepted");
        return media.error(ApiError::bad_input(message), StatusCode::BAD_REQUEST);
    }
    let caller = match endpoint.verifier.caller_from_headers(&headers).await {
        Ok(caller) => caller,
        // A 200 in `application/json`, so that the router passes the code through.
        Err(e) => return media.error(e.into(), StatusCode::UNAUTHORIZED),
    };
    let mut request = request.data(caller);
    // Parsed here once; the schema executes this same document.
    if let Err(error) = request.parsed_query().and_then(check_selection_limits) {
        return media.respond(async_graphql::Response::from_errors(vec![error]));
    }
    if let Err(error) = check_cost(&mut request, endpoint.max_cost) {
        return media.respond(async_graphql::Response::from_errors(vec![error]));
    }
    if let Some(AxumExtension(client)) = client {
        request = request.data(client);
    }
    let response = endpoint.schema.execute(request).await;
    media.respond(response)
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

    fn respond(self, mut response: async_graphql::Response) -> Response {
        // Errors raised by our resolvers carry a code; the rest come from parsing,
        // validation or input coercion (unknown enum values, bad scalars, limits):
        // all the client's doing.
        for error in &mut response.errors {
            let extensions = error.extensions.get_or_insert_with(Default::default);
            if extensions.get("code").is_none() {
                extensions.set("code", crate::ErrorCode::BadUserInput.as_str());
            }
        }
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
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        if bytes.len() > MAX_RESPONSE_BYTES {
            // The last line behind the cost limit: never a response this large.
            let message = format!("the response would be {} bytes; at most {MAX_RESPONSE_BYTES} are sent", bytes.len());
            return self.error(ApiError::new(crate::ErrorCode::QueryTooComplex, message), StatusCode::BAD_REQUEST);
        }
        (status, [(CONTENT_TYPE, self.content_type())], bytes).into_response()
    }
}

/// A response of one GraphQL error, with `status`.
pub fn error_response(err: ApiError, status: StatusCode) -> Response {
    let server_error = async_graphql::Error::from(err).into_server_error(Default::default());
    let body = async_graphql::Response::from_errors(vec![server_error]);
    (status, Json(body)).into_response()
}

async fn graphiql() -> Html<String> {
    Html(GraphiQLSource::build().endpoint("/graphql").finish())
}

/// Where the current operation came from (set by [`router`] when known).
pub fn client_address(ctx: &async_graphql::Context<'_>) -> Option<ClientAddress> {
    ctx.data_opt::<ClientAddress>().copied()
}

/// The caller of the current operation (set by [`router`]).
pub fn caller<'a>(ctx: &async_graphql::Context<'a>) -> &'a Caller {
    ctx.data_opt::<Caller>().unwrap_or(&Caller::Anonymous)
}

/// Parses a GraphQL `ID` that must be a UUID (the one rule: [`crate::page::parse_id`]).
pub fn parse_id(field: &str, id: &async_graphql::ID) -> Result<Uuid, ApiError> {
    crate::page::parse_id(field, id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits_of(query: &str) -> ServerResult<()> {
        check_selection_limits(&async_graphql::parser::parse_query(query).expect("a valid document"))
    }

    #[test]
    fn selection_limits_count_aliases_root_fields_and_fragments() {
        let fields = |n: usize| (0..n).map(|i| format!("a{i}: __typename")).collect::<Vec<_>>().join(" ");
        assert!(limits_of(&format!("{{ {} }}", fields(MAX_ROOT_FIELDS))).is_ok());
        let too_many_roots = limits_of(&format!("{{ {} }}", fields(MAX_ROOT_FIELDS + 1))).unwrap_err();
        assert!(too_many_roots.message.contains("root fields"), "{}", too_many_roots.message);
        // Root fields reached through a fragment count as root fields.
        let spread = format!("{{ ...F }} fragment F on Query {{ {} }}", fields(MAX_ROOT_FIELDS + 1));
        assert!(limits_of(&spread).unwrap_err().message.contains("root fields"));
        // Nested fields count towards the document's total.
        let wide =
            format!("{{ me {{ {} }} }}", (0..MAX_FIELDS).map(|i| format!("e{i}: email")).collect::<Vec<_>>().join(" "));
        let too_wide = limits_of(&wide).unwrap_err();
        assert!(too_wide.message.contains("aliases included"), "{}", too_wide.message);
        assert!(limits_of("{ me { email name } }").is_ok());
    }

    /// Fragments spreading each other nest no brackets; a chain of thousands
    /// is refused without following it to the end (which would overflow the stack).
    #[test]
    fn a_long_chain_of_fragments_is_refused() {
        let chain = |n: usize| {
            let fragments: String = (0..n).map(|i| format!(" fragment f{i} on Query {{ ...f{} }}", i + 1)).collect();
            format!("{{ ...f0 }}{fragments} fragment f{n} on Query {{ __typename }}")
        };
        assert!(limits_of(&chain(MAX_NESTING - 1)).is_ok());
        let refused = limits_of(&chain(50_000)).unwrap_err();
        assert!(refused.message.contains("fragments may nest"), "{}", refused.message);
        // Spread side by side, many fragments are fine for this check (the field count refuses them).
        let wide: String = (0..20_000).map(|i| format!(" fragment w{i} on Query {{ __typename }}")).collect();
        let spreads: String = (0..20_000).map(|i| format!(" ...w{i}")).collect();
        let refused = limits_of(&format!("{{{spreads} }}{wide}")).unwrap_err();
        assert!(refused.message.contains("fields"), "{}", refused.message);
    }

    #[test]
    fn nesting_is_measured_outside_strings_and_comments() {
        assert_eq!(nesting_depth("{ a { b(x: [1]) } }"), 4);
        assert_eq!(nesting_depth(r#"{ a(s: "{{{{ \" {{") }"#), 2);
        assert_eq!(nesting_depth("{ a # {{{{{\n }"), 1);
        assert_eq!(nesting_depth(r#"{ a(s: """ {{{ \""" {{ """) }"#), 2);
        assert_eq!(nesting_depth(&"{".repeat(100_000)), 100_000);
        assert_eq!(nesting_depth("\"unterminated {{{"), 0);
    }
}
