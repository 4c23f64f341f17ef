//! PostgreSQL's own LISTEN/NOTIFY carries "an event's attendance changed"
//! to every instance: `record_scans`, `annul_scan`, `exit_all_due` and staff
//! removal notify channel `attendance_updates` when they commit. One
//! listening connection per instance, made again after the database went
//! away; each (re)connection is announced as a `Resync`, since notices sent
//! meanwhile are lost.

use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use tokio::sync::mpsc;
use uuid::Uuid;

const CHANNEL: &str = "attendance_updates";
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// What the listener hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// An event's scans or counts changed (`scan`: the last scan written, if any).
    Changed { event: Uuid, scan: Option<Uuid> },
    /// An event's check-in staff lost someone: subscribers check their rights again.
    StaffRemoved { event: Uuid },
    /// Listening (again): anything may have changed since.
    Resync,
}

impl Notice {
    fn parse(payload: &str) -> Option<Notice> {
        let mut parts = payload.split(' ');
        let event = Uuid::parse_str(parts.next()?).ok()?;
        match parts.next() {
            None => Some(Notice::Changed { event, scan: None }),
            Some("staff") => Some(Notice::StaffRemoved { event }),
            Some(scan) => Some(Notice::Changed { event, scan: Some(Uuid::parse_str(scan).ok()?) }),
        }
    }
}

/// Listens on a session of its own at `session_url` (never through a
/// transaction-mode pooler, which cannot hold a LISTEN) until `notices` is closed.
pub async fn listen(session_url: String, notices: mpsc::Sender<Notice>) {
    loop {
        match listen_once(&session_url, &notices).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, "live updates: listening again in a moment"),
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}

async fn listen_once(session_url: &str, notices: &mpsc::Sender<Notice>) -> Result<(), sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect(session_url).await?;
    listener.listen(CHANNEL).await?;
    if notices.send(Notice::Resync).await.is_err() {
        return Ok(());
    }
    loop {
        // `None`: the connection was lost; make a new one (and resynchronise).
        let Some(notification) = listener.try_recv().await? else {
            return Err(sea_orm::sqlx::Error::PoolClosed);
        };
        match Notice::parse(notification.payload()) {
            Some(notice) => {
                if notices.send(notice).await.is_err() {
                    return Ok(());
                }
            }
            None => tracing::warn!(payload = notification.payload(), "live updates: unreadable notice"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_parse() {
        let e = Uuid::now_v7();
        let s = Uuid::now_v7();
        assert_eq!(Notice::parse(&e.to_string()), Some(Notice::Changed { event: e, scan: None }));
        assert_eq!(Notice::parse(&format!("{e} {s}")), Some(Notice::Changed { event: e, scan: Some(s) }));
        assert_eq!(Notice::parse(&format!("{e} staff")), Some(Notice::StaffRemoved { event: e }));
        assert_eq!(Notice::parse("garbage"), None);
    }
}
