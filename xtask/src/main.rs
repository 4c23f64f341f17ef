//! Developer tasks, run as `cargo xtask <task>`:
//!
//! * `test`: every check CI runs: formatting, clippy (the router crate too), the supergraph being up
//!   to date, then the whole test suite on real PostgreSQL (private clusters
//!   started from the machine's binaries unless `DATABASE_ADMIN_URL` is set)
//!   and the real Apollo Router, then a check that no server was left behind.
//! * `compose [--check]`: subgraph SDLs, `supergraph.graphql` and the REST APIs'
//!   OpenAPI documents (`docs/openapi/`).
//! * `dev`: the whole stack (PostgreSQL, services, Apollo Router); Ctrl-C stops it.
//! * `check-compose-file`: docker-compose.yml against what the binaries read.
//! * `kubernetes [--check]`: the router's ConfigMap in `deploy/kubernetes/`, and
//!   every manifest against what the binaries read and the Kubernetes schemas.
//! * `bench [--seconds N] [--only 1,3b,...]`: the load benchmark on release builds
//!   (all scenarios, or those numbered); writes
//!   `target/bench/results.{json,md}`. `bench --restart-soak [--crash]
//!   [--clients N] [--seconds N]`: 200 clients checking in through the router
//!   for 60 s while the attendance service restarts (or is killed); fails if an
//!   acknowledged check-in is lost or a check-in is left half written.

mod compose;
mod compose_file;
mod dev;
mod kubernetes;
mod prometheus_rules;
mod web;

use std::{
    path::PathBuf,
    process::{Command, ExitCode},
};

use anyhow::{bail, Context};
use common::ServiceKind;

const USAGE: &str = "usage: cargo xtask <dev | test [-- <cargo test args>] | compose [--check] | check-compose-file | kubernetes [--check] | bench [--seconds N] [--only 1,3b,...] [--observability off|metrics|traces] [--restart-soak [--crash] [--clients N]]>";

/// The repository root.
fn root() -> PathBuf {
    test_support::stack::workspace_root()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("dev") => dev::run(&root()),
        Some("check-compose-file") => compose_file::run(&root()),
        Some("kubernetes") => kubernetes::run(&root(), args.get(1).map(String::as_str) == Some("--check")),
        Some("bench") => bench(&args[1..]),
        Some("compose") => compose::run(&root(), args.get(1).map(String::as_str) == Some("--check")),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo` as if run from the shell. `cargo run` hands xtask variables such as
/// `CARGO_PKG_NAME` and `CARGO_MANIFEST_DIR`; build scripts (e.g. ring's) ask
/// to rerun when those change, so passing them on would rebuild half the
/// router whenever it is built through xtask instead of by hand.
fn cargo_command() -> Command {
    const KEEP: [&str; 9] = [
        "CARGO_HOME",
        "CARGO_TARGET_DIR",
        "CARGO_TERM_",
        "CARGO_BUILD_",
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_REGISTR",
        "CARGO_PROFILE_",
        "CARGO_INCREMENTAL",
    ];
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let cargo_internal = name.starts_with("CARGO_") && !KEEP.iter().any(|keep| name.starts_with(keep));
        if cargo_internal || name == "OUT_DIR" {
            command.env_remove(name);
        }
    }
    command
}

fn cargo(args: &[&str]) -> anyhow::Result<()> {
    eprintln!("==> cargo {}", args.join(" "));
    let status = cargo_command().args(args).status().context("cannot run cargo")?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// The router crate is built on its own (release, own target dir): it is a
/// 13-minute build that the rest of the workspace should never wait for.
const ROUTER: &str = "titiktemu-router";

/// Builds the service binaries (debug) and the router (release).
pub fn build_binaries(quiet: bool) -> anyhow::Result<()> {
    build_router(quiet)?;
    cargo(&["build", "--workspace", "--exclude", ROUTER, "--bins"])
}

/// The JavaScript packages the tests use, from their committed lockfiles:
/// the playground and the web app (built), the browser tests' driver.
fn build_javascript() -> anyhow::Result<()> {
    for (dir, build) in [("playground", true), ("web", true), ("e2e/browser", false)] {
        test_support::npm::ready(&root().join(dir), build)?;
    }
    Ok(())
}

fn build_router(quiet: bool) -> anyhow::Result<()> {
    install_system_packages()?;
    let router_target = test_support::stack::router_target_dir();
    let router_target = router_target.to_str().context("target dir is not UTF-8")?;
    if !test_support::stack::router_binary().exists() && !quiet {
        eprintln!("==> building the Apollo Router (release; the first build takes about 15 minutes)");
    }
    cargo(&["build", "--release", "-p", ROUTER, "--target-dir", router_target])
}

/// What the builds and the stack need from the system (PostgreSQL's server
/// binaries, `protoc` for the router): `scripts/setup-machine.sh` installs
/// whatever is missing and says so in one line when nothing is.
fn install_system_packages() -> anyhow::Result<()> {
    let script = root().join("scripts/setup-machine.sh");
    let status = Command::new("bash").arg(&script).status().context("cannot run scripts/setup-machine.sh")?;
    if !status.success() {
        bail!("{} failed ({status}): install its packages by hand, then try again", script.display());
    }
    Ok(())
}

/// The benchmark, on release builds of the router, the services and itself.
fn bench(extra: &[String]) -> anyhow::Result<()> {
    build_router(false)?;
    let packages = ["-p", "auth-service", "-p", "event-service", "-p", "attendance-service", "-p", "bench"];
    cargo(&[&["build", "--release", "--bins"][..], &packages].concat())?;
    let binary = test_support::stack::target_dir().join("release").join("titiktemu-bench");
    eprintln!("==> {}", binary.display());
    let status = Command::new(&binary).args(extra).status().context("cannot run the benchmark")?;
    if !status.success() {
        bail!("the benchmark failed ({status})");
    }
    Ok(())
}

fn test(extra: &[String]) -> anyhow::Result<()> {
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&["clippy", "--workspace", "--exclude", ROUTER, "--all-targets", "--", "-D", "warnings"])?;
    compose::run(&root(), true)?;
    build_binaries(true)?;
    // The router crate too, on its own release target directory (its
    // dependencies are checked there once).
    let router_target = test_support::stack::router_target_dir();
    let router_target = router_target.to_str().context("target dir is not UTF-8")?;
    cargo(&[
        "clippy",
        "--release",
        "-p",
        ROUTER,
        "--target-dir",
        router_target,
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    kubernetes::run(&root(), true)?;
    prometheus_rules::check(&root())?;
    build_javascript()?;
    // Every test binary runs even when one fails, so one run shows every failure.
    let mut args = vec!["test", "--workspace", "--exclude", ROUTER, "--no-fail-fast"];
    args.extend(extra.iter().map(String::as_str));
    let outcome = cargo_test(&args);
    // The end-to-end suite once more with two of everything behind HAProxy
    // and the database through PgBouncer (its fault tests kill single
    // instances on purpose, and the browser and pooler tests build their own).
    let replicated = ["access", "contract", "federation", "limits", "apollo_client"];
    // The same package selection as above, so nothing is built again with other features.
    let mut replicated_args = vec!["test", "--workspace", "--exclude", ROUTER, "--no-fail-fast"];
    for test in replicated {
        replicated_args.extend(["--test", test]);
    }
    let replicated_outcome = cargo_test_with(&replicated_args, &[("E2E_REPLICATED", "1")]);
    let stray = no_stray_servers();
    // The router's own unit tests, on the release build just made (seconds, not a rebuild).
    let router_outcome = cargo_test(&["test", "--release", "-p", ROUTER, "--target-dir", router_target]);
    // The summary is the last line, whatever happened.
    let (passed, failed, succeeded) = outcome?;
    let (replicated_passed, replicated_failed, replicated_succeeded) = replicated_outcome?;
    let (router_passed, router_failed, router_succeeded) = router_outcome?;
    let (passed, failed, succeeded) = (
        passed + replicated_passed + router_passed,
        failed + replicated_failed + router_failed,
        succeeded && replicated_succeeded && router_succeeded,
    );
    println!("tests: {passed} passed, {failed} failed");
    if !succeeded {
        bail!("`cargo {}`, the replicated end-to-end run or the router's unit tests failed", args.join(" "));
    }
    stray?;
    if passed == 0 {
        bail!("no test ran");
    }
    Ok(())
}

/// Runs `cargo test`, passing its output through; counts the passed and
/// failed tests of all test binaries, and says whether it succeeded.
fn cargo_test(args: &[&str]) -> anyhow::Result<(u64, u64, bool)> {
    cargo_test_with(args, &[])
}

/// As [`cargo_test`], with `env` set for the tests.
fn cargo_test_with(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<(u64, u64, bool)> {
    use std::io::{BufRead, BufReader};
    let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    eprintln!("==> {}cargo {}", shown.concat(), args.join(" "));
    let mut child =
        cargo_command().args(args).envs(env.iter().copied()).stdout(std::process::Stdio::piped()).spawn()?;
    let (mut passed, mut failed) = (0u64, 0u64);
    for line in BufReader::new(child.stdout.take().context("cargo test stdout")?).lines() {
        let line = line?;
        println!("{line}");
        if let Some(result) = line.strip_prefix("test result: ") {
            for part in result.split(';') {
                let mut words = part.split_whitespace().rev();
                let (Some(label), Some(count)) = (words.next(), words.next()) else {
                    continue;
                };
                let count: u64 = count.trim_start_matches(|c: char| !c.is_ascii_digit()).parse().unwrap_or(0);
                match label {
                    "passed" => passed += count,
                    "failed" => failed += count,
                    _ => {}
                }
            }
        }
    }
    let status = child.wait()?;
    Ok((passed, failed, status.success()))
}

/// Test clusters stop when their test process ends; make sure they really did.
fn no_stray_servers() -> anyhow::Result<()> {
    for _ in 0..50 {
        let output = Command::new("pgrep").args(["-f", "titiktemu-(pg|prometheus)-"]).output();
        match output {
            Ok(out) if out.stdout.is_empty() => {
                eprintln!("==> no PostgreSQL or Prometheus test server left running");
                return Ok(());
            }
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(200)),
            Err(_) => return Ok(()), // no pgrep here: nothing to check with
        }
    }
    bail!("test servers are still running: see `pgrep -af 'titiktemu-(pg|prometheus)-'`")
}

/// Loads what `kind`'s binary reads from `env` (its settings and its
/// telemetry's), as it would at start-up: the deployment files' checks.
pub(crate) fn load_service_settings(kind: ServiceKind, env: &common::config::Env) -> anyhow::Result<()> {
    match kind {
        ServiceKind::Auth => auth_service::config::AuthSettings::from_env(env).map(|_| ())?,
        ServiceKind::Event => event_service::config::EventSettings::from_env(env).map(|_| ())?,
        ServiceKind::Attendance => attendance_service::config::AttendanceSettings::from_env(env).map(|_| ())?,
    }
    common::telemetry::TelemetrySettings::from_env(env, kind.name())?;
    Ok(())
}

/// A throwaway secret file that a configuration check points a variable at;
/// removed when dropped, so no check leaves a key behind.
pub(crate) struct StandIn(PathBuf);

impl StandIn {
    pub(crate) fn write(name: &str, contents: &str) -> anyhow::Result<Self> {
        let path = std::env::temp_dir().join(format!("titiktemu-{name}-{}", std::process::id()));
        std::fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(StandIn(path))
    }

    pub(crate) fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
