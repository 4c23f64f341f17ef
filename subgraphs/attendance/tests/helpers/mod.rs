//! The services in-process ([`test_support::services`]), the attendance service under test.
#![allow(dead_code, clippy::unwrap_used)]

pub(crate) mod desk;
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

/// The organizer names `user` check-in staff of `event` (`add: true`) or
/// takes the right away; the GraphQL answer.
pub(crate) async fn change_staff(s: &Stack, organizer: &str, event: &str, user: &str, add: bool) -> serde_json::Value {
    let mutation = if add { "addCheckInStaff" } else { "removeCheckInStaff" };
    let query = format!("mutation($e: ID!, $u: ID!) {{ {mutation}(eventId: $e, userId: $u) {{ id }} }}");
    s.attendance.graphql(&query, serde_json::json!({"e": event, "u": user}), Some(organizer)).await
}
