//! `/graphql/ws`: GraphQL subscriptions over WebSocket (`graphql-transport-ws`
//! and the legacy `graphql-ws`), with the token in `connection_init`'s
//! payload as `{ "authorization": "Bearer <token>" }`. Subscriptions only:
//! queries and mutations go through the router, and a `subscribe` of either
//! is refused with `BAD_USER_INPUT`. Every operation passes the limits
//! `POST /graphql` applies (`common::graphql::limits`: nesting, fields, root
//! fields, directives, cost with list sizes; the schema's depth), and every
//! message the response cap. A connection may hold 10 subscriptions and
//! client messages are at most 64 KiB. Within the client timeout
//! (`LIVE_CLIENT_TIMEOUT`, 10 s) a client must initialise, answer each ping
//! (`graphql-transport-ws`) and take each message off the wire; a client that
//! stops reading is dropped, its subscriptions with it.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use async_graphql::{Context, Data};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{
        ws::{CloseFrame, Message, WebSocket},
        State, WebSocketUpgrade,
    },
    response::Response,
    routing::get,
    Router,
};
use common::{
    auth::{Caller, TokenVerifier},
    graphql::SubscriptionsOnly,
    ApiError, ErrorCode,
};
use futures::{channel::mpsc, SinkExt, StreamExt};

use super::AttendanceSchema;

const MAX_MESSAGE_BYTES: usize = 64 * 1024;
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 10;

struct WsState {
    executor: SubscriptionsOnly<super::Query, super::Mutation, super::Subscription>,
    verifier: TokenVerifier,
    client_timeout: Duration,
}

pub fn router(schema: AttendanceSchema, verifier: TokenVerifier, client_timeout: Duration, max_cost: u64) -> Router {
    let state = Arc::new(WsState { executor: SubscriptionsOnly::new(schema, max_cost), verifier, client_timeout });
    Router::new().route("/graphql/ws", get(upgrade)).with_state(state)
}

async fn upgrade(State(state): State<Arc<WsState>>, protocol: GraphQLProtocol, upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| serve(socket, state, protocol))
}

async fn serve(socket: WebSocket, state: Arc<WsState>, protocol: GraphQLProtocol) {
    let timeout = state.client_timeout;
    // `graphql-transport-ws` clients answer pings; legacy clients answer
    // nothing, so they only get keep-alives (which keep proxies from closing
    // an idle connection) and are dropped only when they stop reading.
    let answers_pings = socket.protocol().is_some_and(|p| p.as_bytes() == b"graphql-transport-ws");
    let keepalive = if answers_pings { r#"{"type":"ping"}"# } else { r#"{"type":"ka"}"# };
    let (socket_out, socket_in) = socket.split();
    let (outgoing, queued) = mpsc::channel::<Message>(4);
    let mut closer = outgoing.clone();
    let (initialised, init) = tokio::sync::oneshot::channel::<()>();
    let verifier = state.verifier.clone();
    let mut connection = Box::pin(
        GraphQLWebSocket::new_with_pair(outgoing, socket_in, state.executor.clone(), protocol)
            .on_connection_init(move |payload| async move {
                let _ = initialised.send(());
                let caller = match payload.get("authorization").and_then(|v| v.as_str()) {
                    None => Caller::Anonymous,
                    Some(value) => {
                        let token = value.strip_prefix("Bearer ").unwrap_or(value);
                        let claims =
                            verifier.verify(token).await.map_err(|e| async_graphql::Error::new(e.to_string()))?;
                        Caller::User(claims)
                    }
                };
                let mut data = Data::default();
                data.insert(caller);
                data.insert(Slots::default());
                Ok(data)
            })
            // Pinged every `timeout`, a reading client has answered within two.
            .keepalive_timeout(answers_pings.then_some(2 * timeout))
            .serve(),
    );
    let mut writer = Box::pin(write(socket_out, queued, keepalive, timeout));
    let init_deadline = async {
        if tokio::time::timeout(timeout, init).await.is_ok() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = &mut connection => {}
        // The client stopped reading: its subscriptions end with the connection.
        _ = &mut writer => return,
        _ = init_deadline => {
            let reason = "Connection initialisation timeout".into();
            let _ = closer.try_send(Message::Close(Some(CloseFrame { code: 4408, reason })));
        }
    }
    // What is queued (a close frame, say) still goes out, then the socket closes.
    drop(connection);
    drop(closer);
    writer.await;
}

/// Sends what the connection queues, and a keep-alive every `timeout`; gives
/// up on a client that has not taken a message off the wire within `timeout`.
async fn write(
    mut socket: futures::stream::SplitSink<WebSocket, Message>,
    mut queued: mpsc::Receiver<Message>,
    keepalive: &'static str,
    timeout: Duration,
) {
    let mut keepalives = tokio::time::interval_at(tokio::time::Instant::now() + timeout, timeout);
    loop {
        let message = tokio::select! {
            message = queued.next() => match message {
                Some(message) => message,
                None => break,
            },
            _ = keepalives.tick() => Message::Text(keepalive.into()),
        };
        if !matches!(tokio::time::timeout(timeout, socket.send(message)).await, Ok(Ok(()))) {
            return;
        }
    }
    let _ = tokio::time::timeout(timeout, socket.close()).await;
}

/// The subscriptions one connection holds.
#[derive(Default, Clone)]
struct Slots(Arc<AtomicUsize>);

/// One held subscription of a connection, given back when its stream ends
/// (or when the subscription fails to start).
pub struct SubscriptionSlot(Option<Slots>);

impl SubscriptionSlot {
    /// Takes a place before anything is awaited, so subscriptions sent back
    /// to back cannot all pass the count; refuses one over the limit.
    pub fn take(ctx: &Context<'_>) -> Result<Self, ApiError> {
        let Some(slots) = ctx.data_opt::<Slots>() else {
            return Ok(SubscriptionSlot(None));
        };
        if slots.0.fetch_add(1, Ordering::AcqRel) >= MAX_SUBSCRIPTIONS_PER_CONNECTION {
            slots.0.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError::new(
                ErrorCode::TooManyRequests,
                format!("at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection"),
            ));
        }
        Ok(SubscriptionSlot(Some(slots.clone())))
    }
}

impl Drop for SubscriptionSlot {
    fn drop(&mut self) {
        if let Some(slots) = &self.0 {
            slots.0.fetch_sub(1, Ordering::AcqRel);
        }
    }
}
