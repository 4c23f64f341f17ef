//! `/graphql/ws`: GraphQL subscriptions over WebSocket (`graphql-transport-ws`
//! and the legacy `graphql-ws`), with the token in `connection_init`'s
//! payload as `{ "authorization": "Bearer <token>" }`. A connection must
//! initialise within 10 s, may hold 10 subscriptions, and messages are at
//! most 64 KiB.

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
    extract::{State, WebSocketUpgrade},
    response::Response,
    routing::get,
    Router,
};
use common::{
    auth::{Caller, TokenVerifier},
    ApiError, ErrorCode,
};

use super::AttendanceSchema;

const INIT_WITHIN: Duration = Duration::from_secs(10);
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 10;
/// `graphql-ws` (legacy) pings; a client that does not answer is dropped.
const KEEPALIVE: Duration = Duration::from_secs(30);

struct WsState {
    schema: AttendanceSchema,
    verifier: TokenVerifier,
}

pub fn router(schema: AttendanceSchema, verifier: TokenVerifier) -> Router {
    Router::new().route("/graphql/ws", get(upgrade)).with_state(Arc::new(WsState { schema, verifier }))
}

async fn upgrade(State(state): State<Arc<WsState>>, protocol: GraphQLProtocol, upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| serve(socket, state, protocol))
}

async fn serve(socket: axum::extract::ws::WebSocket, state: Arc<WsState>, protocol: GraphQLProtocol) {
    let (initialised, init) = tokio::sync::oneshot::channel::<()>();
    let verifier = state.verifier.clone();
    let connection = GraphQLWebSocket::new(socket, state.schema.clone(), protocol)
        .on_connection_init(move |payload| async move {
            let _ = initialised.send(());
            let caller = match payload.get("authorization").and_then(|v| v.as_str()) {
                None => Caller::Anonymous,
                Some(value) => {
                    let token = value.strip_prefix("Bearer ").unwrap_or(value);
                    let claims = verifier.verify(token).await.map_err(|e| async_graphql::Error::new(e.to_string()))?;
                    Caller::User(claims)
                }
            };
            let mut data = Data::default();
            data.insert(caller);
            data.insert(Slots::default());
            Ok(data)
        })
        .keepalive_timeout(KEEPALIVE)
        .serve();
    // A connection that never initialises is closed.
    let deadline = async {
        if tokio::time::timeout(INIT_WITHIN, init).await.is_ok() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = connection => {}
        _ = deadline => {}
    }
}

/// The subscriptions one connection holds.
#[derive(Default, Clone)]
struct Slots(Arc<AtomicUsize>);

/// Refuses a subscription over the connection's limit.
pub fn count_subscription(ctx: &Context<'_>) -> Result<(), ApiError> {
    let held = ctx.data_opt::<Slots>().map_or(0, |slots| slots.0.load(Ordering::Relaxed));
    if held >= MAX_SUBSCRIPTIONS_PER_CONNECTION {
        return Err(ApiError::new(
            ErrorCode::TooManyRequests,
            format!("at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection"),
        ));
    }
    Ok(())
}

/// One held subscription of a connection, given back when its stream ends.
pub struct SubscriptionSlot(Option<Slots>);

impl SubscriptionSlot {
    pub fn hold(ctx: &Context<'_>) -> Self {
        let slots = ctx.data_opt::<Slots>().cloned();
        if let Some(slots) = &slots {
            slots.0.fetch_add(1, Ordering::Relaxed);
        }
        SubscriptionSlot(slots)
    }
}

impl Drop for SubscriptionSlot {
    fn drop(&mut self) {
        if let Some(slots) = &self.0 {
            slots.0.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
