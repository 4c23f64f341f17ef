//! The services in-process ([`test_support::services`]), the event service under test.
#![allow(dead_code)]

use common::ServiceKind;
pub(crate) use test_support::services::{event_body, Services as Stack};

pub(crate) async fn spawn() -> Stack {
    Stack::start().await
}

/// With `event_env` added to the event service's variables.
pub(crate) async fn spawn_with(event_env: &[(&str, &str)]) -> Stack {
    let env: Vec<_> = event_env.iter().map(|(name, value)| (ServiceKind::Event, *name, *value)).collect();
    Stack::start_with(test_support::TestDb::new().await, &env).await
}
