//! The services in-process ([`test_support::services`]), auth under test.
#![allow(dead_code)]

use common::ServiceKind;
pub(crate) use test_support::services::Services as Stack;
use test_support::TestDb;

pub(crate) async fn spawn() -> Stack {
    Stack::start().await
}

/// On `db`, with `auth_env` added to the auth service's variables.
pub(crate) async fn spawn_with(db: TestDb, auth_env: &[(&str, &str)]) -> Stack {
    let env: Vec<_> = auth_env.iter().map(|(name, value)| (ServiceKind::Auth, *name, *value)).collect();
    Stack::start_with(db, &env).await
}
