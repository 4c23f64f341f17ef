//! The `migrate` command as users run it.

use std::process::Command;

use common::ServiceKind;
use test_support::{test_password, TestDb};

fn migrate(db: &TestDb, args: &[&str], app_env: &str) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_migrate"));
    cmd.args(args).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("APP_ENV", app_env);
    cmd.env("DATABASE_ADMIN_URL", db.admin_url());
    for kind in ServiceKind::ALL {
        cmd.env(format!("{}_DATABASE_URL", kind.env_prefix()), db.service_url(kind));
        cmd.env(format!("{}_DB_PASSWORD", kind.env_prefix()), test_password(kind));
    }
    cmd.output().expect("run migrate")
}

fn text(output: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[tokio::test]
async fn bootstrap_up_status_then_refuses_reset_in_production() {
    let db = TestDb::empty().await;
    let out = migrate(&db, &["bootstrap"], "development");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("created schema auth_schema"), "{}", text(&out));
    assert!(!text(&out).contains("test-only"), "passwords given by the environment are never printed");

    let out = migrate(&db, &["up"], "development");
    assert!(out.status.success(), "{}", text(&out));
    let out = migrate(&db, &["status", "--service", "auth"], "production");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("applied") && !text(&out).contains("pending"), "{}", text(&out));

    // Production, or neither APP_ENV nor NODE_ENV set (a forgotten variable is production).
    for app_env in ["production", ""] {
        for destructive in ["reset", "fresh", "down"] {
            let out = migrate(&db, &[destructive, "--service", "event"], app_env);
            assert!(!out.status.success(), "{destructive} with APP_ENV={app_env:?}");
            assert!(text(&out).contains("is refused in production"), "{}", text(&out));
        }
    }
    let out = migrate(&db, &["reset", "--service", "event"], "development");
    assert!(out.status.success(), "{}", text(&out));
}

#[tokio::test]
async fn bad_arguments_are_explained() {
    let db = TestDb::empty().await;
    let out = migrate(&db, &["up", "--service", "billing"], "development");
    assert!(!out.status.success());
    assert!(text(&out).contains("unknown service `billing`"), "{}", text(&out));
    let out = migrate(&db, &["teleport"], "development");
    assert!(text(&out).contains("unknown command"), "{}", text(&out));
}
