//! REST's OpenAPI 3.1 documents. Each service describes its routes where it
//! declares them (`#[utoipa::path]` on the handler, registered with
//! [`routes!`]); what every service shares is written here once: the error
//! body, the bearer scheme, and the errors any route may answer because of
//! the layers around it (bad input, a token refused, the database down).
//! Served at `GET /openapi.json`; Swagger UI at `/docs` in development only.

use axum::{response::IntoResponse, routing::get, Router};
use utoipa::{
    openapi::{
        path::Operation,
        security::{Http, HttpAuthScheme, SecurityScheme},
        ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder, Schema,
    },
    PartialSchema, ToSchema,
};
pub use utoipa_axum::{router::OpenApiRouter, routes};

use crate::config::AppEnv;
pub use crate::error::ErrorBody;

/// The name of the bearer scheme: operations say `security(("bearer" = []))`.
const BEARER: &str = "bearer";

/// A documented answer with the error body.
fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
        .build()
}

/// Whether a layer's error applies to an operation.
type AppliesTo = fn(&Operation) -> bool;

/// The errors a route answers because of the layers around it, by status:
/// (status, description, applies to the operation).
const LAYER_ERRORS: [(&str, &str, AppliesTo); 7] = [
    ("400", "`BAD_USER_INPUT`: a path or query parameter, or the JSON, does not parse", has_input),
    ("401", "`UNAUTHENTICATED`: the token is missing (where required), malformed, forged or expired", has_security),
    ("413", "`BAD_USER_INPUT`: the body is over the size limit", has_body),
    ("415", "`BAD_USER_INPUT`: the body is not `application/json`", has_body),
    ("422", "`BAD_USER_INPUT`: a field has the wrong type, is missing, unknown or not acceptable", has_body),
    ("500", "`INTERNAL_SERVER_ERROR`: nothing about the cause is told", |_| true),
    ("503", "`SERVICE_UNAVAILABLE`: the database or a service this call needs is down; try again shortly", |_| true),
];

fn has_body(op: &Operation) -> bool {
    op.request_body.is_some()
}

fn has_input(op: &Operation) -> bool {
    has_body(op) || op.parameters.as_ref().is_some_and(|p| !p.is_empty())
}

fn has_security(op: &Operation) -> bool {
    op.security.is_some()
}

/// A service's document: its routes' operations, plus what all share.
pub fn document(service: &str, description: &str, mut api: OpenApi) -> OpenApi {
    api.merge(crate::health::routes().into_openapi());
    api.info.title = format!("TitikTemu {service} service");
    api.info.description = Some(description.to_owned());
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    api.info.license = None;
    api.info.contact = None;
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(BEARER, SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    let mut schemas = vec![("ErrorBody".to_owned(), ErrorBody::schema())];
    ErrorBody::schemas(&mut schemas);
    components.schemas.extend(schemas);
    open_flattened(&mut components.schemas);
    for (status, description, _) in LAYER_ERRORS {
        components.responses.insert(status_name(status), RefOr::T(error_response(description)));
    }
    for item in api.paths.paths.values_mut() {
        for op in operations(item) {
            for (status, _, applies) in LAYER_ERRORS {
                if applies(op) {
                    op.responses.responses.entry(status.to_owned()).or_insert_with(|| {
                        RefOr::Ref(Ref::new(format!("#/components/responses/{}", status_name(status))))
                    });
                }
            }
        }
    }
    api
}

/// A type flattened into another (`#[serde(flatten)]`) is a part of its
/// `allOf`; the part's own "no other fields" (`deny_unknown_fields`, there for
/// it as an input) would refuse the whole, so it is inlined without it.
fn open_flattened(schemas: &mut std::collections::BTreeMap<String, RefOr<Schema>>) {
    let closed: std::collections::BTreeMap<String, Schema> = schemas
        .iter()
        .filter_map(|(name, schema)| match schema {
            RefOr::T(Schema::Object(object)) if object.additional_properties.is_some() => {
                let mut open = object.clone();
                open.additional_properties = None;
                open.example = None;
                open.examples.clear();
                Some((format!("#/components/schemas/{name}"), Schema::Object(open)))
            }
            _ => None,
        })
        .collect();
    for schema in schemas.values_mut() {
        let RefOr::T(Schema::AllOf(all)) = schema else { continue };
        for part in &mut all.items {
            if let RefOr::Ref(reference) = part {
                if let Some(open) = closed.get(&reference.ref_location) {
                    *part = RefOr::T(open.clone());
                }
            }
        }
    }
}

fn status_name(status: &str) -> String {
    format!("Error{status}")
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head, &mut item.options]
        .into_iter()
        .flatten()
}

/// The document as the service serves and `print-openapi` prints it, keys
/// sorted: the same bytes whether or not a build orders JSON maps by
/// insertion (serde_json's `preserve_order`, which xtask's dependencies turn on).
pub fn to_json(api: &OpenApi) -> String {
    fn sorted(value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
            }
            serde_json::Value::Array(items) => serde_json::Value::Array(items.into_iter().map(sorted).collect()),
            other => other,
        }
    }
    let value = serde_json::to_value(api).map(sorted);
    let mut text =
        value.and_then(|v| serde_json::to_string_pretty(&v)).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// `GET /openapi.json`, and in development Swagger UI at `/docs`.
pub fn router(api: &OpenApi, app_env: AppEnv) -> Router {
    // Rendered once; each answer shares the bytes.
    let json = axum::body::Bytes::from(to_json(api));
    let document = Router::new().route(
        "/openapi.json",
        get(move || {
            let json = json.clone();
            async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], json).into_response() }
        }),
    );
    if app_env == AppEnv::Development {
        document
            .merge(utoipa_swagger_ui::SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::from("/openapi.json")))
    } else {
        document
    }
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request};
    use tower::ServiceExt;

    use super::*;

    async fn status(app: &Router, path: &str) -> u16 {
        let request = Request::get(path).body(Body::empty()).expect("a request");
        app.clone().oneshot(request).await.expect("an answer").status().as_u16()
    }

    /// The document everywhere; the reference page in development only.
    #[tokio::test]
    async fn production_serves_the_document_and_no_reference_page() {
        let api = document("test", "a test", OpenApi::default());
        let production = router(&api, AppEnv::Production);
        assert_eq!(status(&production, "/openapi.json").await, 200);
        assert_eq!(status(&production, "/docs/").await, 404);
        let development = router(&api, AppEnv::Development);
        assert_eq!(status(&development, "/docs/").await, 200);
    }
}
