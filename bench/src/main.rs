//! `titiktemu-bench [--smoke] [--bin-dir DIR] [--seconds N] [--only 1,3b,...] [--observability off|metrics|traces]`:
//! see `cargo xtask bench`.
//! `titiktemu-bench --restart-soak [--crash] [--clients N] [--seconds N]`: check-ins
//! from N clients (200) for N seconds (60) with the attendance service restarted
//! midway (with `--crash`: killed with SIGKILL, then started).
//! `titiktemu-bench --replica-fault [--clients N] [--seconds N]`: two of everything
//! behind HAProxy, the database through PgBouncer, N clients (100) for N seconds
//! (60) while an attendance instance and a router are killed and started again.

use std::path::PathBuf;

use anyhow::Context;
use bench::BenchConfig;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let bin_dir =
        value("--bin-dir").map(PathBuf::from).unwrap_or_else(|| test_support::stack::target_dir().join("release"));
    let mut config =
        if args.iter().any(|a| a == "--smoke") { BenchConfig::smoke(bin_dir) } else { BenchConfig::full(bin_dir) };
    if let Some(only) = value("--only") {
        config.only = only.split(',').map(str::to_owned).collect();
    }
    if let Some(observability) = value("--observability") {
        config.observability = bench::Observability::parse(&observability)?;
    }
    if let Some(seconds) = value("--seconds") {
        config.duration = std::time::Duration::from_secs(seconds.parse().context("--seconds")?);
    }
    if args.iter().any(|a| a == "--replica-fault") {
        if value("--seconds").is_none() {
            config.duration = std::time::Duration::from_secs(60);
        }
        let clients = value("--clients").map(|n| n.parse()).transpose().context("--clients")?.unwrap_or(100);
        let report = bench::replicas::run(&config, clients).await?;
        println!("{}", report.summary());
        return report.holds();
    }
    if args.iter().any(|a| a == "--restart-soak") {
        if value("--seconds").is_none() {
            config.duration = std::time::Duration::from_secs(60);
        }
        let clients = value("--clients").map(|n| n.parse()).transpose().context("--clients")?.unwrap_or(200);
        let fault =
            if args.iter().any(|a| a == "--crash") { bench::soak::Fault::Crash } else { bench::soak::Fault::Restart };
        let report = bench::soak::run(&config, clients, fault).await?;
        println!("{}", report.summary());
        anyhow::ensure!(report.lost == 0, "{} acknowledged check-ins were lost", report.lost);
        anyhow::ensure!(
            report.inconsistent_events == 0,
            "{} events were left half written",
            report.inconsistent_events
        );
        anyhow::ensure!(report.serves_after, "the stack did not serve normally after the restart");
        return Ok(());
    }
    let report = bench::run(config).await?;
    let out = test_support::stack::target_dir().join("bench");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("results.json"), serde_json::to_string_pretty(&report)?)?;
    std::fs::write(out.join("results.md"), report.table())?;
    println!("{}", report.table());
    println!("written to {}", out.join("results.json").display());
    anyhow::ensure!(report.errors() == 0, "{} requests failed", report.errors());
    Ok(())
}
