//! The door-scanning scenarios: offline uploads against single check-ins,
//! and entries and exits racing at one door, checked against the tables.

use std::sync::Arc;

use anyhow::Context;
use common::ServiceKind;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;

use crate::{
    bench::{measure, Bench},
    load::rest_allowing,
    Scenario,
};

/// Scans in one offline upload (the most `syncScans` takes).
const SCANS_PER_UPLOAD: usize = 500;
/// Events the uploads spread over, so concurrent uploads lock different counter rows.
const UPLOAD_EVENTS: usize = 40;
/// Events and people of the entry/exit race.
const RACE_EVENTS: usize = 4;
const RACE_PEOPLE: usize = 200;

impl Bench {
    /// Live events organized by the organizer client's user (`bench1`), made in SQL as the seed's are.
    pub(crate) async fn organized_events(&self, n: usize, title: &str) -> anyhow::Result<Vec<uuid::Uuid>> {
        let rows = self
            .probes
            .admin
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                format!(
                    "INSERT INTO event_schema.events (id, title, start_time, end_time, organizer_id)
                     SELECT gen_random_uuid(), '{title} ' || i, now() - interval '30 minutes', now() + interval '10 hours',
                            (SELECT id FROM auth_schema.users WHERE email = 'bench1@example.com')
                     FROM generate_series(1, {n}) i RETURNING id"
                ),
            ))
            .await?;
        Ok(rows.iter().map(|r| r.try_get("", "id")).collect::<Result<_, _>>()?)
    }

    /// 7a. Offline uploads of 500 scans (`POST /attendance/scans`), in scans/s
    /// against single REST check-ins (3b) measured in the same run.
    pub(crate) async fn offline_uploads(&self, single_check_ins_per_second: Option<f64>) -> anyhow::Result<Scenario> {
        let events = Arc::new(self.organized_events(UPLOAD_EVENTS, "Upload").await?);
        let per_upload = SCANS_PER_UPLOAD.min(self.users.len());
        let url = format!("{}/attendance/scans", self.stack.service_url(ServiceKind::Attendance));
        let (http, users) = (self.organizer.clone(), self.users.clone());
        let load = measure(&self.probes, self.config.clients(4), self.config.duration, move |i| {
            let event = events[i as usize % events.len()];
            // Each event's uploads walk through the people: no scan repeats another.
            let offset = (i as usize / events.len()) * per_upload;
            let scanned_at = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
            let scans: Vec<serde_json::Value> = (0..per_upload)
                .map(|k| {
                    let user = users[(offset + k) % users.len()].0;
                    json!({"nonce": format!("u{i}-{k}"), "userId": user, "scannedAt": scanned_at})
                })
                .collect();
            let request = http.post(&url).json(&json!({"eventId": event, "scans": scans}));
            async move { rest_allowing(request, &[]).await }
        })
        .await?;
        let scans_per_second = load.load.requests_per_second * per_upload as f64;
        let ratio = single_check_ins_per_second.map(|single| scans_per_second / single);
        Ok(Scenario {
            name: format!("7a. offline upload of {per_upload} scans (REST POST /attendance/scans)"),
            reference: match single_check_ins_per_second {
                Some(single) => format!("3b single check-ins: {single:.0}/s; uploads: {scans_per_second:.0} scans/s"),
                None => format!("uploads: {scans_per_second:.0} scans/s (run 3b for the ratio)"),
            },
            ratio,
            target: "≥ 3× single check-ins in scans/s, 0 errors, SQL per upload constant".into(),
            met: ratio.map(|r| r >= 3.0 && load.load.errors == 0),
            measured: load,
        })
    }

    /// 7b. Entries and exits of the same people racing at 32 clients; after
    /// the load, every event's `insideNow` must equal entries − exits and the
    /// people marked inside, and the counters must equal the scan log.
    pub(crate) async fn entries_and_exits(&self) -> anyhow::Result<Scenario> {
        let events = Arc::new(self.organized_events(RACE_EVENTS, "Door").await?);
        let people: Arc<Vec<uuid::Uuid>> =
            Arc::new(self.users.iter().rev().skip(5).take(RACE_PEOPLE).map(|(id, _)| *id).collect());
        let url = format!("{}/attendance", self.stack.service_url(ServiceKind::Attendance));
        let http = self.organizer.clone();
        let load = measure(&self.probes, self.config.clients(32), self.config.duration, {
            let events = events.clone();
            move |i| {
                // A scrambled walk, so the same person's entries and exits race each other.
                let mixed = i.wrapping_mul(2_654_435_761);
                let event = events[i as usize % events.len()];
                let person = people[(mixed >> 8) as usize % people.len()];
                let direction = if (mixed >> 3) % 2 == 0 { "ENTRY" } else { "EXIT" };
                let request =
                    http.post(&url).json(&json!({"eventId": event, "userId": person, "direction": direction}));
                // Refusals (already inside, not inside) are answers, not errors.
                async move { rest_allowing(request, &[409]).await }
            }
        })
        .await?;
        let ids: Vec<String> = events.iter().map(|e| format!("'{e}'")).collect();
        let row = self
            .probes
            .admin
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                format!(
                    "SELECT count(*) FILTER (WHERE c.inside_now <> c.entries - c.exits
                           OR c.inside_now <> (SELECT count(*) FROM attendance_schema.attendances a
                                               WHERE a.event_id = c.event_id AND a.inside)
                           OR c.entries <> (SELECT count(*) FROM attendance_schema.scans s
                                            WHERE s.event_id = c.event_id AND s.status = 'OK' AND s.direction = 'ENTRY')
                           OR c.exits <> (SELECT count(*) FROM attendance_schema.scans s
                                          WHERE s.event_id = c.event_id AND s.status = 'OK' AND s.direction = 'EXIT')
                       )::bigint AS wrong,
                       coalesce(sum(c.entries), 0)::bigint AS entries, coalesce(sum(c.exits), 0)::bigint AS exits
                     FROM attendance_schema.event_checkins c WHERE c.event_id IN ({})",
                    ids.join(", ")
                ),
            ))
            .await?
            .context("counter check row")?;
        let (wrong, entries, exits): (i64, i64, i64) =
            (row.try_get("", "wrong")?, row.try_get("", "entries")?, row.try_get("", "exits")?);
        Ok(Scenario {
            name: "7b. entries and exits racing (REST POST /attendance)".into(),
            reference: format!(
                "{entries} entries, {exits} exits over {RACE_EVENTS} events; {wrong} events with insideNow ≠ entries − exits"
            ),
            ratio: None,
            target: "insideNow = entries − exits = people inside, for every event; 0 errors".into(),
            met: Some(wrong == 0 && load.load.errors == 0),
            measured: load,
        })
    }
}
