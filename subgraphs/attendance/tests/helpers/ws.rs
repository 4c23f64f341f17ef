//! A WebSocket client of `/graphql/ws`, as the live tests use it.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use test_support::TestServer;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue, Message};

pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) const UPDATES: &str = "subscription($e: ID!) { attendanceUpdates(eventId: $e) { stats { totalAttendees insideNow entries exits } scan { userId direction } } }";

pub(crate) async fn connect(server: &TestServer, protocol: &'static str) -> Socket {
    let mut request = format!("ws://127.0.0.1:{}/graphql/ws", server.port).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static(protocol));
    tokio_tungstenite::connect_async(request).await.expect("a WebSocket").0
}

pub(crate) async fn send(socket: &mut Socket, message: Value) {
    socket.send(Message::text(message.to_string())).await.expect("sent");
}

/// The next JSON message, or the close frame's code; fails after 10 s.
pub(crate) async fn receive(socket: &mut Socket) -> Result<Value, Option<u16>> {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON");
                    match value["type"].as_str() {
                        // Answered as `graphql-ws` clients answer it.
                        // (A dropped client's answer may find the socket closed.)
                        Some("ping") => {
                            let _ = socket.send(Message::text(json!({"type": "pong"}).to_string())).await;
                        }
                        Some("ka") => {}
                        _ => return Ok(value),
                    }
                }
                Some(Ok(Message::Close(frame))) => return Err(frame.map(|f| u16::from(f.code))),
                Some(Ok(_)) => continue,
                _ => return Err(None),
            }
        }
    })
    .await
    .expect("a message within 10 s")
}

/// Reads (answering pings) for `period`; returns the messages other than pings.
pub(crate) async fn keep_reading(socket: &mut Socket, period: Duration) -> Vec<Value> {
    let mut messages = Vec::new();
    let until = tokio::time::Instant::now() + period;
    while let Ok(message) = tokio::time::timeout_at(until, receive(socket)).await {
        messages.push(message.expect("still open"));
    }
    messages
}

/// Every message the server sent while nobody read, up to the close frame's code.
pub(crate) async fn close_code_after_backlog(socket: &mut Socket) -> Option<u16> {
    loop {
        match receive(socket).await {
            Ok(_) => continue,
            Err(code) => return code,
        }
    }
}

/// Connects with `graphql-transport-ws` and `token`; returns the socket after its ack.
pub(crate) async fn initialised(server: &TestServer, token: Option<&str>) -> Socket {
    let mut socket = connect(server, "graphql-transport-ws").await;
    let payload = token.map_or(json!({}), |t| json!({"authorization": format!("Bearer {t}")}));
    send(&mut socket, json!({"type": "connection_init", "payload": payload})).await;
    assert_eq!(receive(&mut socket).await.unwrap()["type"], "connection_ack");
    socket
}

pub(crate) async fn subscribe(socket: &mut Socket, id: &str, event: &str) {
    let payload = json!({"query": UPDATES, "variables": {"e": event}});
    send(socket, json!({"id": id, "type": "subscribe", "payload": payload})).await;
}

/// Subscribes with any document (for refusals).
pub(crate) async fn subscribe_with(socket: &mut Socket, id: &str, query: &str, variables: Value) {
    let payload = json!({"query": query, "variables": variables});
    send(socket, json!({"id": id, "type": "subscribe", "payload": payload})).await;
}

/// The code of an operation's first error (`next` with `errors`, as over HTTP).
pub(crate) fn code_of(message: &Value) -> Option<String> {
    message["payload"]["errors"][0]["extensions"]["code"].as_str().map(str::to_owned)
}

/// A `graphql-transport-ws` connection that reads slowly: its receive
/// buffer is small, so a client that stops reading soon holds the server's
/// writes back (as a phone on a poor network does) instead of letting the
/// kernel take megabytes for it.
pub(crate) async fn initialised_slow_reader(server: &TestServer, token: &str) -> Socket {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("a small receive buffer");
    let stream = socket.connect(([127, 0, 0, 1], server.port).into()).await.expect("connected");
    let mut request = format!("ws://127.0.0.1:{}/graphql/ws", server.port).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let mut socket = tokio_tungstenite::client_async(request, stream).await.expect("a WebSocket").0;
    let payload = json!({"authorization": format!("Bearer {token}")});
    send(&mut socket, json!({"type": "connection_init", "payload": payload})).await;
    assert_eq!(receive(&mut socket).await.unwrap()["type"], "connection_ack");
    socket
}
