//! The services in-process ([`test_support::services`]), the attendance service under test.
#![allow(dead_code, clippy::unwrap_used)]

pub(crate) mod ws;

use common::ServiceKind;
pub(crate) use test_support::services::Services as Stack;

pub(crate) async fn spawn() -> Stack {
    Stack::start().await
}

/// With `attendance_env` added to the attendance service's variables.
pub(crate) async fn spawn_with(attendance_env: &[(&str, &str)]) -> Stack {
    let env: Vec<_> = attendance_env.iter().map(|(name, value)| (ServiceKind::Attendance, *name, *value)).collect();
    Stack::start_with(test_support::TestDb::new().await, &env).await
}
