//! What the event service tells the other services: only the attendance
//! service, which must follow every change to an event at the door.

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::internal::{ServiceClient, ServiceCredential, Unavailable};
use uuid::Uuid;

/// `POST {ATTENDANCE_SERVICE_URL}/internal/events/{id}/changed`.
#[derive(Clone)]
pub struct CheckInDoor {
    client: ServiceClient,
}

impl CheckInDoor {
    pub fn new(base_url: &str, timeout: Duration, credential: ServiceCredential) -> Self {
        CheckInDoor { client: ServiceClient::new(base_url, "attendance", timeout, credential) }
    }

    /// The event changed at `updated_at`: scans checked against an older
    /// copy are checked again against the new one.
    pub async fn event_changed(&self, id: Uuid, updated_at: DateTime<Utc>) -> Result<(), Unavailable> {
        let body = serde_json::json!({ "updatedAt": updated_at });
        let _: Option<serde_json::Value> = self.client.post(&format!("/internal/events/{id}/changed"), &body).await?;
        Ok(())
    }
}
