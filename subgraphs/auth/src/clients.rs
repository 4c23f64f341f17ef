//! What the auth service asks the other services: only the attendance
//! service, which knows who checked in where and who organizes what.

use std::time::Duration;

use common::internal::{ServiceClient, ServiceCredential, Unavailable};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST {ATTENDANCE_SERVICE_URL}/internal/visible-profiles`.
#[derive(Clone)]
pub struct ProfileRights {
    client: ServiceClient,
}

/// The most people asked about in one call (the attendance service's bound).
const MAX_PER_CALL: usize = 5_000;

impl ProfileRights {
    pub fn new(base_url: &str, timeout: Duration, credential: ServiceCredential) -> Self {
        ProfileRights { client: ServiceClient::new(base_url, "attendance", timeout, credential) }
    }

    /// Of `users`, those checked in to an event that `organizer` organizes.
    pub async fn checked_in_with(&self, organizer: Uuid, users: &[Uuid]) -> Result<Vec<Uuid>, Unavailable> {
        #[derive(Serialize)]
        struct Question<'a> {
            viewer: Uuid,
            users: &'a [Uuid],
        }
        #[derive(Deserialize)]
        struct Answer {
            users: Vec<Uuid>,
        }
        let mut visible = Vec::new();
        for users in users.chunks(MAX_PER_CALL) {
            let answer: Option<Answer> =
                self.client.post("/internal/visible-profiles", &Question { viewer: organizer, users }).await?;
            visible.extend(answer.ok_or(Unavailable { service: self.client.service() })?.users);
        }
        Ok(visible)
    }
}
