//! The REST APIs against their OpenAPI documents: each service serves the
//! document committed under `docs/openapi/` (and Swagger UI at `/docs` in
//! development), and Schemathesis (PyPI, the version
//! `scripts/setup-machine.sh` pins) fuzzes every operation of each service
//! with all its checks, signed in:
//! no server error, every status, header and body as documented, schema-
//! violating input refused. Any failure fails the test with its report.

use std::{path::PathBuf, process::Command};

use common::ServiceKind;
use test_support::stack;

/// Test cases per operation and phase: enough to reach every status an
/// operation documents, few enough for CI.
const MAX_EXAMPLES: &str = "25";

fn schemathesis() -> PathBuf {
    let local = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/bin/schemathesis"));
    match local.filter(|path| path.exists()) {
        Some(path) => path,
        None => "schemathesis".into(),
    }
}

#[tokio::test]
async fn every_service_answers_as_its_openapi_document_says() {
    let e2e = e2e::start().await;
    let root = stack::workspace_root();
    let (token, _) = e2e.sign_up("fuzz@example.com", "Fuzz").await;
    // Reports and Schemathesis' own caches stay under target/.
    let reports = stack::target_dir().join("schemathesis");
    std::fs::create_dir_all(&reports).expect("a report directory");
    let mut failures = Vec::new();
    for (name, kind) in
        [("auth", ServiceKind::Auth), ("event", ServiceKind::Event), ("attendance", ServiceKind::Attendance)]
    {
        let url = e2e.stack.service_url(kind);
        let served = e2e.http.get(format!("{url}/openapi.json")).send().await.expect("a document").text().await;
        let committed = std::fs::read_to_string(root.join(format!("docs/openapi/{name}.json"))).expect("committed");
        assert!(
            served.expect("text") == committed,
            "{name} does not serve docs/openapi/{name}.json: `cargo xtask compose`"
        );
        let page = e2e.http.get(format!("{url}/docs/")).send().await.expect("the reference page");
        assert_eq!(page.status(), 200, "Swagger UI in development");
        assert!(page.text().await.expect("html").contains("swagger-ui"));

        let output = Command::new(schemathesis())
            .arg("--config-file")
            .arg(root.join("e2e/schemathesis.toml"))
            .args(["run", &format!("{url}/openapi.json"), "--checks", "all", "--max-examples", MAX_EXAMPLES])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args([
                "--seed",
                "1",
                "--generation-database",
                "none",
                "--workers",
                "1",
                "--no-color",
                "--suppress-health-check",
                "too_slow",
            ])
            .arg("--report-dir")
            .arg(reports.join(name))
            .args(["--report", "junit"])
            .current_dir(&reports)
            .output()
            .expect("schemathesis (scripts/setup-machine.sh installs it)");
        let stdout = String::from_utf8_lossy(&output.stdout);
        println!("{name}:\n{stdout}");
        if !output.status.success() {
            failures.push(format!("{name}:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr)));
        }
    }
    assert!(failures.is_empty(), "schemathesis found failures:\n{}", failures.join("\n"));
}
