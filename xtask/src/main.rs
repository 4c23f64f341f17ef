//! Developer tasks, run as `cargo xtask <task>`:
//!
//! * `test`: every check CI runs: formatting, clippy, then the whole test suite
//!   on real PostgreSQL (private clusters started from the machine's binaries
//!   unless `DATABASE_ADMIN_URL` is set), then a check that no server was left behind.

use std::process::{Command, ExitCode};

use anyhow::{bail, Context};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask test [-- <cargo test args>]");
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

fn cargo(args: &[&str]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("==> cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .status()
        .with_context(|| format!("cannot run {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn test(extra: &[String]) -> anyhow::Result<()> {
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    let mut args = vec!["test", "--workspace"];
    args.extend(extra.iter().map(String::as_str));
    let outcome = cargo_test(&args);
    let stray = no_stray_servers();
    // The summary is the last line, whatever happened.
    let (passed, failed, succeeded) = outcome?;
    println!("tests: {passed} passed, {failed} failed");
    if !succeeded {
        bail!("`cargo {}` failed", args.join(" "));
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
    use std::io::{BufRead, BufReader};
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("==> cargo {}", args.join(" "));
    let mut child = Command::new(&cargo)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()?;
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
                let count: u64 = count
                    .trim_start_matches(|c: char| !c.is_ascii_digit())
                    .parse()
                    .unwrap_or(0);
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
        let output = Command::new("pgrep").args(["-f", "titiktemu-pg-"]).output();
        match output {
            Ok(out) if out.stdout.is_empty() => {
                eprintln!("==> no PostgreSQL test server left running");
                return Ok(());
            }
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(200)),
            Err(_) => return Ok(()), // no pgrep here: nothing to check with
        }
    }
    bail!("PostgreSQL test servers are still running: see `pgrep -af titiktemu-pg-`")
}
