//! The SQL functions are source files, one per version (`migration/sql/`):
//! stepping the migrations down one at a time, and up again, every function
//! has exactly the text of the version its migrations say, and nothing runs
//! another migration's text.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::path::Path;

use common::ServiceKind;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use test_support::TestDb;

/// A migration and the function version it leaves behind (`name/vN`;
/// `name/-` when it drops the function; `None` when it changes none).
type Step = (&'static str, Option<&'static str>);

/// Which version of which function each migration leaves behind, in the
/// order the migrations run, per service and folder under `migration/sql/`.
const VERSIONS: [(ServiceKind, &str, &[Step]); 2] = [
    (
        ServiceKind::Attendance,
        "attendance",
        &[
            ("m20260101_000001_create_attendances", None),
            ("m20261126_000001_check_in_batch", Some("check_in_batch/v1")),
            ("m20261201_000001_check_in_staff", Some("check_in_batch/v2")),
            ("m20261203_000001_scans", Some("exit_all_due/v1")),
            ("m20261203_000001_scans", Some("record_scans/v1")),
            ("m20261203_000001_scans", Some("annul_scan/v1")),
            ("m20261203_000001_scans", Some("check_in_batch/-")),
            ("m20261205_000001_record_scans_in_sets", Some("record_scans/v2")),
            ("m20261206_000001_probe_each_nonce", Some("record_scans/v3")),
            ("m20261207_000001_one_verdict", Some("scan_verdict/v1")),
            ("m20261207_000001_one_verdict", Some("record_scans/v4")),
            ("m20261207_000002_rights_version", None),
            ("m20261208_000001_registrations", Some("registration_verdict/v1")),
            ("m20261208_000001_registrations", Some("lock_registration/v1")),
            ("m20261208_000001_registrations", Some("registered_for/v1")),
            ("m20261208_000001_registrations", Some("move_registration/v1")),
            ("m20261208_000001_registrations", Some("promote_waitlisted/v1")),
            ("m20261208_000001_registrations", Some("register_batch/v1")),
            ("m20261208_000001_registrations", Some("cancel_registration/v1")),
            ("m20261208_000001_registrations", Some("decide_registration/v1")),
            ("m20261208_000001_registrations", Some("reissue_ticket/v1")),
            ("m20261208_000001_registrations", Some("scan_verdict/v2")),
            ("m20261208_000001_registrations", Some("record_scans/v5")),
            ("m20261208_000002_checkin_minutes", Some("count_checkins_in/v1")),
            ("m20261208_000002_checkin_minutes", Some("count_checkins_out/v1")),
        ],
    ),
    (
        ServiceKind::Auth,
        "auth",
        &[
            ("m20260101_000001_create_users", None),
            ("m20260201_000001_sessions_and_login_throttle", None),
            ("m20261201_000001_throttle_buckets", None),
            ("m20261207_000001_reserve_attempts", Some("reserve_attempt/v1")),
            ("m20261207_000001_reserve_attempts", Some("refund_attempt/v1")),
            ("m20261209_000001_refund_in_lock_order", Some("refund_attempt/v2")),
        ],
    ),
];

/// The body of a function as a version's file defines it (what PostgreSQL
/// keeps as `prosrc`: the text between the dollar quotes).
fn body_in_file(schema: &str, version: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sql").join(schema).join(format!("{version}.sql"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let start = text.find("$$").expect("a dollar-quoted body") + 2;
    let end = text.rfind("$$").expect("a closing dollar quote");
    text[start..end].to_owned()
}

/// The functions of `schema` with their bodies, by name.
async fn functions(conn: &DatabaseConnection, schema: &str) -> Vec<(String, String)> {
    let sql = format!(
        "SELECT p.proname::text AS name, p.prosrc AS body FROM pg_proc p
         JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = '{schema}' ORDER BY 1"
    );
    let rows = conn.query_all_raw(Statement::from_string(conn.get_database_backend(), sql)).await.unwrap();
    rows.iter().map(|r| (r.try_get("", "name").unwrap(), r.try_get("", "body").unwrap())).collect()
}

/// What the functions of a schema must be once its first `applied` migrations ran.
fn expected(
    versions: &[(&str, Option<&str>)],
    migrations: &[String],
    applied: usize,
    schema: &str,
) -> Vec<(String, String)> {
    let mut functions: std::collections::BTreeMap<String, String> = Default::default();
    for (migration, version) in versions {
        let Some(index) = migrations.iter().position(|m| m == migration) else {
            panic!("{migration} is not one of {schema}'s migrations");
        };
        if index >= applied {
            continue;
        }
        if let Some(version) = version {
            let (name, v) = version.split_once('/').unwrap();
            match v {
                "-" => functions.remove(name),
                _ => functions.insert(name.to_owned(), body_in_file(schema, version)),
            };
        }
    }
    functions.into_iter().collect()
}

#[tokio::test]
async fn every_function_version_steps_down_and_up_as_its_file() {
    use migration::sea_orm_migration::MigratorTrait;
    let db = TestDb::bootstrapped().await;
    for (kind, schema, versions) in VERSIONS {
        let conn = db.connect_as(kind).await.conn;
        let migrations: Vec<String> = match kind {
            ServiceKind::Attendance => {
                migration::attendance::Migrator::migrations().iter().map(|m| m.name().to_owned()).collect()
            }
            ServiceKind::Auth => migration::auth::Migrator::migrations().iter().map(|m| m.name().to_owned()).collect(),
            ServiceKind::Event => unreachable!(),
        };
        migration::apply(kind, &conn).await.unwrap();
        for applied in (0..=migrations.len()).rev() {
            let (found, wanted) =
                (functions(&conn, kind.schema()).await, expected(versions, &migrations, applied, schema));
            let names = |f: &[(String, String)]| f.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>();
            assert_eq!(names(&found), names(&wanted), "{schema} with {applied} migrations");
            assert!(found == wanted, "{schema} with {applied} migrations: a function is not its version's file");
            if applied > 0 {
                migration::rollback(kind, &conn, Some(1))
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", migrations[applied - 1]));
            }
        }
        migration::apply(kind, &conn).await.unwrap();
        assert!(functions(&conn, kind.schema()).await == expected(versions, &migrations, migrations.len(), schema));
    }
}
