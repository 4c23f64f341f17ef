//! Browser tests in a real Chromium (Debian's `chromium`, driven by
//! `playwright-core`; `scripts/setup-machine.sh` installs it): the
//! playground the router serves at `/` runs a federated query; the web app
//! (`web/`, Apollo Client, from its own origin) takes an organizer through
//! setting up an event, an attendee through registering and keeping a QR
//! ticket, a door through scanning it with Chromium's fake camera and through
//! a night offline (reloads mid-queue and mid-sync), and the organizer's live
//! view and CSV downloads, against the development router; its door again
//! against the production router configuration. A page that requests any
//! non-loopback URL fails the test. Screenshots: `target/browser/`.

use std::{path::PathBuf, process::Command};

use test_support::stack;

#[tokio::test]
async fn the_playground_and_the_web_app_work_in_chromium_without_leaving_loopback() {
    let root = stack::workspace_root();
    let chromium = std::env::var_os("CHROMIUM").map(PathBuf::from).unwrap_or_else(|| "/usr/bin/chromium".into());
    assert!(chromium.exists(), "{} is missing: run scripts/setup-machine.sh", chromium.display());
    // `cargo xtask test` builds them from their lockfiles before any test runs.
    for built in ["playground/dist/index.html", "web/dist/index.html", "e2e/browser/node_modules/playwright-core"] {
        assert!(root.join(built).exists(), "{built} is missing: `cargo xtask test` builds it (npm ci, npm run build)");
    }
    let e2e = e2e::start().await;
    let production = e2e::start_in("production").await;
    let screenshots = stack::target_dir().join("browser");
    let _ = std::fs::remove_dir_all(&screenshots);
    let live_of = |e2e: &e2e::E2e| {
        format!("{}/graphql/ws", e2e.stack.service_url(common::ServiceKind::Attendance).replacen("http", "ws", 1))
    };
    let output = Command::new("node")
        .arg("browser.test.mjs")
        .current_dir(root.join("e2e/browser"))
        .env("ROUTER_URL", e2e.stack.router_url())
        .env("ATTENDANCE_WS_URL", live_of(&e2e))
        .env("PRODUCTION_ROUTER_URL", production.stack.router_url())
        .env("PRODUCTION_ATTENDANCE_WS_URL", live_of(&production))
        .env("WEB_DIST", root.join("web/dist"))
        .env("SCREENSHOTS", &screenshots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node (20) is needed for this test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "browser test failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("\"ok\":true"), "{stdout}");
    assert!(stdout.contains("\"production\":{"), "the door ran against production too: {stdout}");
    let mut expected = vec!["playground.png".to_owned(), "door-production.png".to_owned()];
    for screen in ["events", "event", "ticket", "door-admitted", "door-offline", "door", "organizer"] {
        expected.extend(["phone", "laptop"].map(|size| format!("{screen}-{size}.png")));
    }
    for shot in expected {
        assert!(screenshots.join(&shot).exists(), "no screenshot {shot}");
    }
    // What the run saw (the scans' answer times among it), for `--nocapture`.
    println!("{stdout}");
}
