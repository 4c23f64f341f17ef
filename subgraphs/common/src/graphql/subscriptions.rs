//! A schema as a subgraph's own WebSocket endpoint runs it: subscriptions
//! only (queries and mutations go through the router), every operation
//! checked against the limits of `POST /graphql` before it runs, and every
//! message against the response cap.

use std::sync::Arc;

use async_graphql::{
    futures_util::stream::BoxStream, parser::types::OperationType, Data, Executor, ObjectType, Request, Response,
    Schema, SubscriptionType,
};
use futures::StreamExt;

use super::limits;
use crate::error::ApiError;

/// An [`Executor`] for `async-graphql-axum`'s WebSocket protocols.
pub struct SubscriptionsOnly<Q, M, S> {
    schema: Schema<Q, M, S>,
    max_cost: u64,
    max_message_bytes: usize,
}

impl<Q, M, S> Clone for SubscriptionsOnly<Q, M, S> {
    fn clone(&self) -> Self {
        SubscriptionsOnly {
            schema: self.schema.clone(),
            max_cost: self.max_cost,
            max_message_bytes: self.max_message_bytes,
        }
    }
}

impl<Q, M, S> SubscriptionsOnly<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    pub fn new(schema: Schema<Q, M, S>, max_cost: u64) -> Self {
        Self::with_message_cap(schema, max_cost, limits::MAX_RESPONSE_BYTES)
    }

    /// With a cap of its own on each message's size.
    pub fn with_message_cap(schema: Schema<Q, M, S>, max_cost: u64, max_message_bytes: usize) -> Self {
        SubscriptionsOnly { schema, max_cost, max_message_bytes }
    }

    /// Why `request` may not run here, if it may not.
    fn refusal(&self, request: &mut Request) -> Option<ApiError> {
        if let Err(refused) = limits::check_text(&request.query) {
            return Some(refused.0);
        }
        match limits::check_document(request, self.max_cost) {
            Err(refused) => Some(refused.0),
            Ok(Some(OperationType::Subscription)) => None,
            Ok(Some(_)) => Some(ApiError::bad_input(
                "this socket serves subscriptions only: send queries and mutations to the router",
            )),
            // Not a document, or no operation to run: the schema says why.
            Ok(None) => None,
        }
    }
}

impl<Q, M, S> Executor for SubscriptionsOnly<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    /// Not used by the WebSocket protocols (every operation is a stream);
    /// refused like any other operation that is not a subscription.
    async fn execute(&self, _request: Request) -> Response {
        limits::refusal(ApiError::bad_input("this socket serves subscriptions only"))
    }

    fn execute_stream(&self, mut request: Request, session_data: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        if let Some(refusal) = self.refusal(&mut request) {
            return futures::stream::once(std::future::ready(limits::refusal(refusal))).boxed();
        }
        let responses = self.schema.execute_stream_with_session_data(request, session_data.unwrap_or_default());
        let cap = self.max_message_bytes;
        // Each message within the cap; the first one over it is replaced by
        // the refusal, and nothing follows.
        futures::stream::unfold(Some(responses), move |responses| async move {
            let mut responses = responses?;
            let response = responses.next().await?;
            let response = limits::with_codes(response);
            Some(match limits::check_size(&response, cap) {
                Ok(()) => (response, Some(responses)),
                Err(too_large) => (limits::refusal(too_large), None),
            })
        })
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, Object, Subscription};
    use futures::Stream;

    use super::*;

    struct Query;

    #[Object]
    impl Query {
        async fn answer(&self) -> i32 {
            42
        }
    }

    struct Ticks;

    #[Subscription]
    impl Ticks {
        /// `n` messages of `bytes` bytes each.
        async fn ticks(&self, n: usize, bytes: usize) -> impl Stream<Item = String> {
            futures::stream::iter((0..n).map(move |_| "x".repeat(bytes)))
        }
    }

    async fn run(query: &str, cap: usize) -> Vec<serde_json::Value> {
        let schema = Schema::new(Query, EmptyMutation, Ticks);
        let executor = SubscriptionsOnly::with_message_cap(schema, query_cost::DEFAULT_MAX_COST, cap);
        let responses = executor.execute_stream(Request::new(query), None).collect::<Vec<_>>().await;
        responses.into_iter().map(|r| serde_json::to_value(r).expect("JSON")).collect()
    }

    fn code(response: &serde_json::Value) -> &str {
        response["errors"][0]["extensions"]["code"].as_str().unwrap_or_default()
    }

    #[tokio::test]
    async fn only_subscriptions_within_the_limits_run() {
        let ran = run("subscription { ticks(n: 3, bytes: 10) }", 1_000).await;
        assert_eq!(ran.len(), 3);
        assert_eq!(ran[0]["data"]["ticks"], "x".repeat(10));
        for other in ["{ answer }", "query Q { answer }"] {
            let refused = run(other, 1_000).await;
            assert_eq!((refused.len(), code(&refused[0])), (1, "BAD_USER_INPUT"), "{other}: {refused:?}");
        }
        let aliases: String = (0..1_200).map(|i| format!(" a{i}: ticks(n: 1, bytes: 1)")).collect();
        let wide = run(&format!("subscription {{{aliases} }}"), 1_000).await;
        assert_eq!(code(&wide[0]), "BAD_USER_INPUT", "{wide:?}");
        let deep = run(&format!("subscription {}{}", "{".repeat(70), "}".repeat(70)), 1_000).await;
        assert_eq!(code(&deep[0]), "BAD_USER_INPUT", "{deep:?}");
        // The schema's own refusals get a code too.
        let unknown = run("subscription { ticks(n: 1, bytes: 1) unknown }", 1_000).await;
        assert_eq!(code(&unknown[0]), "BAD_USER_INPUT", "{unknown:?}");
    }

    #[tokio::test]
    async fn a_message_over_the_cap_ends_the_subscription() {
        let ran = run("subscription { ticks(n: 5, bytes: 2000) }", 1_000).await;
        assert_eq!(ran.len(), 1, "the first message over the cap is the last: {ran:?}");
        assert_eq!(code(&ran[0]), "QUERY_TOO_COMPLEX");
    }
}
