//! Registrations and tickets. People register themselves for an event and,
//! once confirmed, hold one ticket; each event's registration row holds its
//! policy (mode, capacity, waitlist, whether the door admits only ticket
//! holders) and its counts, and is locked by every change to its
//! registrations, so places are given exactly. Tickets are rows of facts
//! (id, event, holder, signing key, validity, revocation); their secrets are
//! signed by the service when shown. Scans may redeem tickets
//! (`scan_verdict` v2, `record_scans` v5). An event's organizer stays where
//! reads' rights find it, beside its counter row (`event_checkins`), which a
//! first registration makes if no scan did. Existing events have no
//! registration row: they keep working as before (open, no tickets required).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const SCAN_VERDICT_V1: &str = "scan_verdict(boolean, boolean, timestamptz, timestamptz, timestamptz, boolean, text, \
                               boolean, boolean, boolean, boolean, boolean, integer, integer, integer)";
const SCAN_VERDICT_V2: &str = "scan_verdict(boolean, boolean, boolean, boolean, boolean, boolean, timestamptz, \
                               timestamptz, timestamptz, boolean, boolean, boolean, text, boolean, boolean, boolean, \
                               boolean, boolean, integer, integer, integer)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        connection
            .execute_unprepared(
                r#"
                CREATE TABLE event_registrations (
                    event_id       uuid PRIMARY KEY,
                    mode           text NOT NULL DEFAULT 'OPEN' CHECK (mode IN ('OPEN', 'APPROVAL', 'CLOSED')),
                    -- NULL: the event's capacity.
                    capacity       integer CHECK (capacity >= 0),
                    waitlist       boolean NOT NULL DEFAULT false,
                    require_ticket boolean NOT NULL DEFAULT false,
                    confirmed      integer NOT NULL DEFAULT 0 CHECK (confirmed >= 0),
                    waitlisted     integer NOT NULL DEFAULT 0 CHECK (waitlisted >= 0),
                    pending        integer NOT NULL DEFAULT 0 CHECK (pending >= 0)
                );

                CREATE TABLE registrations (
                    id            uuid PRIMARY KEY,
                    event_id      uuid NOT NULL,
                    user_id       uuid NOT NULL,
                    status        text NOT NULL CHECK (status IN
                                      ('CONFIRMED', 'WAITLISTED', 'PENDING_APPROVAL', 'DECLINED', 'CANCELLED')),
                    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
                    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
                    waitlisted_at timestamptz,
                    CONSTRAINT registrations_event_user_key UNIQUE (event_id, user_id)
                );
                CREATE INDEX registrations_event_idx ON registrations (event_id, created_at, id);
                CREATE INDEX registrations_user_idx ON registrations (user_id, created_at, id);
                CREATE INDEX registrations_waitlist_idx ON registrations (event_id, waitlisted_at, id)
                    WHERE status = 'WAITLISTED';

                CREATE TABLE tickets (
                    id              uuid PRIMARY KEY,
                    registration_id uuid NOT NULL REFERENCES registrations (id),
                    event_id        uuid NOT NULL,
                    user_id         uuid NOT NULL,
                    key_id          text NOT NULL,
                    valid_until     timestamptz NOT NULL,
                    issued_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
                    revoked_at      timestamptz
                );
                CREATE UNIQUE INDEX tickets_live_key ON tickets (registration_id) WHERE revoked_at IS NULL;
                CREATE INDEX tickets_revoked_idx ON tickets (event_id, revoked_at) WHERE revoked_at IS NOT NULL;

                ALTER TABLE scans ADD COLUMN ticket_id uuid;
                "#,
            )
            .await?;
        connection.execute_unprepared(&format!("DROP FUNCTION {SCAN_VERDICT_V1}")).await?;
        for sql in [
            sql!("attendance/registration_rows/v1.sql"),
            sql!("attendance/registration_answers/v1.sql"),
            sql!("attendance/registration_verdict/v1.sql"),
            sql!("attendance/lock_registration/v1.sql"),
            sql!("attendance/registered_for/v1.sql"),
            sql!("attendance/move_registration/v1.sql"),
            sql!("attendance/promote_waitlisted/v1.sql"),
            sql!("attendance/register_batch/v1.sql"),
            sql!("attendance/cancel_registration/v1.sql"),
            sql!("attendance/decide_registration/v1.sql"),
            sql!("attendance/reissue_ticket/v1.sql"),
            sql!("attendance/scan_verdict/v2.sql"),
            sql!("attendance/record_scans/v5.sql"),
        ] {
            connection.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        connection.execute_unprepared(&format!("DROP FUNCTION {SCAN_VERDICT_V2}")).await?;
        connection.execute_unprepared(sql!("attendance/scan_verdict/v1.sql")).await?;
        connection.execute_unprepared(sql!("attendance/record_scans/v4.sql")).await?;
        connection
            .execute_unprepared(
                "DROP FUNCTION reissue_ticket(uuid, text, timestamptz);
                 DROP FUNCTION decide_registration(uuid, boolean, integer, text, timestamptz);
                 DROP FUNCTION cancel_registration(uuid, integer, text, timestamptz);
                 DROP FUNCTION register_batch(jsonb);
                 DROP FUNCTION promote_waitlisted(uuid, integer, text, timestamptz);
                 DROP FUNCTION move_registration(uuid, text, text, timestamptz);
                 DROP FUNCTION registered_for(uuid, uuid);
                 DROP FUNCTION lock_registration(uuid);
                 DROP FUNCTION registration_verdict(text, boolean, boolean, boolean, text, integer, integer, boolean);
                 DROP VIEW registration_answers;
                 DROP VIEW registration_rows;
                 ALTER TABLE scans DROP COLUMN ticket_id;
                 DROP TABLE tickets;
                 DROP TABLE registrations;
                 DROP TABLE event_registrations;",
            )
            .await
            .map(|_| ())
    }
}
