//! The limits every operation a subgraph is sent must pass before it runs,
//! on every transport (`POST /graphql` and the live socket alike): the
//! document limits and the cost with list sizes of the `query-cost` crate
//! (which the router's limits plugin applies too), the schema's own limits
//! ([`harden`](super::harden)), and a cap on every response.

use async_graphql::{
    parser::types::{ExecutableDocument, OperationType},
    Request, ServerError, Value,
};
use query_cost::{document, VariableValue};

use crate::{error::ApiError, ErrorCode};

/// The largest response a subgraph sends, or message it sends on the live
/// socket (a door list of 1,000 with emails is about 150 KB).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Why an operation is refused before it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused(pub ApiError);

impl Refused {
    pub fn into_server_error(self) -> ServerError {
        async_graphql::Error::from(self.0).into_server_error(Default::default())
    }
}

impl From<document::DocumentRefusal> for Refused {
    fn from(refusal: document::DocumentRefusal) -> Self {
        Refused(ApiError::bad_input(refusal.to_string()))
    }
}

impl From<query_cost::Refusal> for Refused {
    fn from(refusal: query_cost::Refusal) -> Self {
        Refused(ApiError::new(ErrorCode::QueryTooComplex, refusal.to_string()))
    }
}

/// The raw text's bracket nesting: checked before the document is parsed
/// (and before the caller's token is verified).
pub fn check_text(query: &str) -> Result<(), Refused> {
    Ok(document::check_nesting(query)?)
}

/// Parses the request's document (once: the schema executes this same
/// document) and checks what it selects and what it may cost. The kind of
/// the operation to run is returned, for transports that take only one kind.
pub fn check_document(request: &mut Request, max_cost: u64) -> Result<Option<OperationType>, Refused> {
    // The document borrows the request: look at the variables beside it.
    let variables = std::mem::take(&mut request.variables);
    let operation = request.operation_name.clone();
    let checked = match request.parsed_query() {
        Ok(parsed) => check_parsed(parsed, operation.as_deref(), &variables, max_cost),
        // Not a document: the schema answers that as GraphQL does.
        Err(_) => Ok(None),
    };
    request.variables = variables;
    checked
}

fn check_parsed(
    parsed: &ExecutableDocument,
    operation: Option<&str>,
    variables: &async_graphql::Variables,
    max_cost: u64,
) -> Result<Option<OperationType>, Refused> {
    document::check_selections(parsed)?;
    let variable = |name: &str| match variables.get(name) {
        Some(Value::Number(n)) => n.as_i64().map_or(VariableValue::Other, VariableValue::Int),
        Some(Value::List(items)) => VariableValue::List(items.len()),
        _ => VariableValue::Other,
    };
    // Depth is the schema's limit here (`harden`).
    let estimate = query_cost::estimate(parsed, operation, &variable)?;
    query_cost::check(estimate, max_cost, usize::MAX)?;
    Ok(query_cost::operation(parsed, operation).map(|op| op.ty))
}

/// A response serialised, or refused when it is larger than
/// [`MAX_RESPONSE_BYTES`]: the last line behind the cost limit.
pub fn capped(body: &impl serde::Serialize) -> Result<Vec<u8>, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(ApiError::internal)?;
    if bytes.len() > MAX_RESPONSE_BYTES {
        let message = format!("the response would be {} bytes; at most {MAX_RESPONSE_BYTES} are sent", bytes.len());
        return Err(ApiError::new(ErrorCode::QueryTooComplex, message));
    }
    Ok(bytes)
}

/// Refuses a message larger than `cap` bytes without keeping its text (the
/// transport serialises it itself): measured by writing it to a counter that
/// gives up past the cap.
pub fn check_size(body: &impl serde::Serialize, cap: usize) -> Result<(), ApiError> {
    struct Counter(usize, usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            match self.0 > self.1 {
                true => Err(std::io::Error::other("over the cap")),
                false => Ok(bytes.len()),
            }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0, cap);
    match serde_json::to_writer(&mut counter, body) {
        Ok(()) => Ok(()),
        Err(_) => Err(ApiError::new(
            ErrorCode::QueryTooComplex,
            format!("the message would be over {cap} bytes; at most that many are sent"),
        )),
    }
}

/// Gives every error of `response` a code: errors raised by our resolvers
/// carry one; the rest come from parsing, validation, input coercion or the
/// schema's limits, all the client's doing (`BAD_USER_INPUT`).
pub fn with_codes(mut response: async_graphql::Response) -> async_graphql::Response {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", ErrorCode::BadUserInput.as_str());
        }
    }
    response
}

/// A response of one error, refusing an operation.
pub fn refusal(error: ApiError) -> async_graphql::Response {
    async_graphql::Response::from_errors(vec![Refused(error).into_server_error()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(query: &str) -> Result<Option<OperationType>, Refused> {
        check_document(&mut Request::new(query), query_cost::DEFAULT_MAX_COST)
    }

    #[test]
    fn documents_are_refused_with_the_routers_codes() {
        assert_eq!(checked("subscription { a }").unwrap(), Some(OperationType::Subscription));
        assert_eq!(checked("{ a }").unwrap(), Some(OperationType::Query));
        assert_eq!(checked("not a document").unwrap(), None, "left to the schema");
        let aliases: String = (0..1_200).map(|i| format!(" a{i}: id")).collect();
        let wide = checked(&format!("subscription {{ x {{{aliases} }} }}")).unwrap_err();
        assert_eq!(wide.0.code, ErrorCode::BadUserInput, "{wide:?}");
        let nested = "{ a(first: 1000) { b(first: 1000) { c(first: 1000) { id } } } }";
        assert_eq!(checked(nested).unwrap_err().0.code, ErrorCode::QueryTooComplex);
        assert_eq!(check_text(&"{".repeat(65)).unwrap_err().0.code, ErrorCode::BadUserInput);
    }

    #[test]
    fn responses_over_the_cap_are_refused() {
        assert!(capped(&"x".repeat(1_000)).is_ok());
        let refused = capped(&"x".repeat(MAX_RESPONSE_BYTES)).unwrap_err();
        assert_eq!(refused.code, ErrorCode::QueryTooComplex);
        assert!(check_size(&"x".repeat(1_000), MAX_RESPONSE_BYTES).is_ok());
        let refused = check_size(&"x".repeat(MAX_RESPONSE_BYTES), MAX_RESPONSE_BYTES).unwrap_err();
        assert_eq!(refused.code, ErrorCode::QueryTooComplex);
    }
}
