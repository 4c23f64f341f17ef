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
    cargo(&args)?;
    no_stray_servers()
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
