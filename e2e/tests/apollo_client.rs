//! A test with the JavaScript `@apollo/client` (installed from npm on first
//! run, kept under the target directory) against the router, as a frontend
//! would use it, including the CORS preflight, and its live subscription
//! (`graphql-ws`) against the attendance service; and the refusals a door app
//! tells apart by their codes, in development and against the production
//! router configuration alike.

use std::process::Command;

#[tokio::test]
async fn apollo_client_in_node_queries_mutates_and_subscribes() {
    let source = test_support::stack::workspace_root().join("e2e/node");
    let work = test_support::stack::target_dir().join("e2e-node");
    std::fs::create_dir_all(&work).unwrap();
    for file in ["package.json", "apollo-client.test.mjs"] {
        std::fs::copy(source.join(file), work.join(file)).unwrap();
    }
    let installed = work.join("node_modules/@apollo/client/package.json");
    let stamp = work.join("node_modules/.installed-package.json");
    let wanted = std::fs::read_to_string(work.join("package.json")).unwrap();
    if !installed.exists() || std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        let status = Command::new("npm")
            .args(["install", "--no-package-lock", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&work)
            .status()
            .expect("npm (Node 20) is needed for this test");
        assert!(status.success(), "npm install failed");
        std::fs::write(&stamp, &wanted).unwrap();
    }
    for app_env in ["development", "production"] {
        let e2e = e2e::start_in(app_env).await;
        let output = Command::new("node")
            .arg("apollo-client.test.mjs")
            .env("ROUTER_URL", format!("{}/", e2e.stack.router_url()))
            .env(
                "ATTENDANCE_WS_URL",
                format!(
                    "{}/graphql/ws",
                    e2e.stack.service_url(common::ServiceKind::Attendance).replacen("http", "ws", 1)
                ),
            )
            .current_dir(&work)
            .output()
            .expect("node (20) is needed for this test");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "Apollo Client test failed in {app_env}:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("\"ok\":true"), "{app_env}: {stdout}");
    }
}
