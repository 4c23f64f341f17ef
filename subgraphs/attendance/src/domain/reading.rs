//! Reading check-ins and scan logs, as far as the reader may: every list is
//! read with the reader's rights in the same statement as its rows.

use std::collections::HashMap;

use common::{
    auth::{Caller, TokenRequired},
    page::{Cursor, Page},
};
use uuid::Uuid;

use super::{Attendance, AttendanceError, AttendanceService, ListBy, Scan, ScanFilter, Viewer, Visible};
use crate::storage;

impl AttendanceService {
    /// Check-ins by id, each shown only to the person, the event's organizer
    /// and check-in staff, and ADMINs (two statements for any number).
    pub async fn attendances_for(
        &self,
        viewer: Viewer,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, Visible<Attendance>)>, AttendanceError> {
        let rows = storage::find_many(&self.db, ids).await?;
        // Only the events of other people's check-ins are asked about.
        let run_by_viewer =
            self.roles(viewer, rows.iter().filter(|a| viewer.user != Some(a.user_id)).map(|a| a.event_id)).await?;
        Ok(rows
            .into_iter()
            .map(|a| {
                let shown =
                    viewer.everything || viewer.user == Some(a.user_id) || run_by_viewer.contains_key(&a.event_id);
                (a.id, if shown { Visible::Shown(a) } else { Visible::Hidden })
            })
            .collect())
    }

    /// Who reads the guide's REST list of an event's check-ins: in
    /// development an anonymous caller sees all of them (the guide's curl
    /// call; the REST edge shows ids and times only), in production a token
    /// is required.
    pub fn guide_list_viewer(&self, caller: &Caller) -> Result<Viewer, AttendanceError> {
        match caller {
            Caller::Anonymous if self.rules.app_env.is_production() => {
                Err(AttendanceError::TokenRequired(TokenRequired))
            }
            Caller::Anonymous => Ok(Viewer { everything: true, user: None }),
            Caller::User(_) => Ok(Viewer::of(caller)),
        }
    }

    /// Check-ins of one event that `viewer` may read, oldest first. The event must exist.
    pub async fn event_attendance(
        &self,
        viewer: Viewer,
        event_id: Uuid,
        first: u64,
        after: Option<Cursor>,
    ) -> Result<Page<Attendance>, AttendanceError> {
        self.event(event_id).await?;
        let mut pages = self.pages(ListBy::Event, &[event_id], viewer, first, after).await?;
        Ok(pages.pop().map(|(_, page)| page).unwrap_or_else(Page::empty))
    }

    /// Pages of check-ins for many events or users at once, as far as
    /// `viewer` may read them (one query).
    pub async fn pages(
        &self,
        by: ListBy,
        owners: &[Uuid],
        viewer: Viewer,
        first: u64,
        after: Option<Cursor>,
    ) -> Result<Vec<(Uuid, Page<Attendance>)>, AttendanceError> {
        let rows = storage::pages(&self.db, by, owners, viewer, after, first + 1).await?;
        Ok(Page::per_owner(owners, rows, first))
    }

    /// How many check-ins of each owner `viewer` may read (one query).
    pub async fn counts(
        &self,
        by: ListBy,
        owners: &[Uuid],
        viewer: Viewer,
    ) -> Result<HashMap<Uuid, i64>, AttendanceError> {
        Ok(storage::counts(&self.db, by, owners, viewer).await?)
    }

    /// Scan logs of many events, newest first, as far as `viewer` may read
    /// them: all scans for the organizer and ADMINs, their own for check-in
    /// staff, none for anyone else (one query).
    pub async fn scan_logs(
        &self,
        viewer: Viewer,
        events: &[Uuid],
        filter: &ScanFilter,
        first: u64,
        after: Option<Cursor>,
    ) -> Result<Vec<(Uuid, Page<Scan>)>, AttendanceError> {
        // An exit-all whose time has come shows in the log (scans and the
        // statistics apply it too; no background task is needed).
        storage::apply_due_exits(&self.db, events).await?;
        let logs = storage::scan_logs(&self.db, events, viewer, filter, after, first + 1).await?;
        Ok(Page::per_owner(events, logs, first))
    }

    /// One event's scan log (the event must exist).
    pub async fn event_scan_log(
        &self,
        viewer: Viewer,
        event_id: Uuid,
        filter: &ScanFilter,
        first: u64,
        after: Option<Cursor>,
    ) -> Result<Page<Scan>, AttendanceError> {
        self.event(event_id).await?;
        let mut logs = self.scan_logs(viewer, &[event_id], filter, first, after).await?;
        Ok(logs.pop().map(|(_, page)| page).unwrap_or_else(Page::empty))
    }
}
