//! Reference figures measured in the same run, so results read as ratios
//! that hold on a noisy machine: raw PostgreSQL (pgbench) doing the same
//! database work, and the raw argon2 hash rate of all cores.

use std::{path::Path, process::Command, time::Duration};

use anyhow::{bail, Context};
use argon2::{password_hash::SaltString, Argon2, Block, PasswordHasher};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct PgbenchResult {
    pub clients: usize,
    pub transactions_per_second: f64,
    pub latency_average_ms: f64,
}

/// Runs `script` with pgbench for `duration` at `clients` connections.
pub fn pgbench(
    bin_dir: &Path,
    url: &url::Url,
    script: &str,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<PgbenchResult> {
    let dir = std::env::temp_dir().join(format!("titiktemu-pgbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("script.sql");
    std::fs::write(&file, script)?;
    let output = Command::new(bin_dir.join("pgbench"))
        .args(["-n", "-c", &clients.to_string(), "-j", &clients.min(2).to_string()])
        .args(["-T", &duration.as_secs().max(1).to_string(), "-f"])
        .arg(&file)
        .args(["-h", url.host_str().unwrap_or("127.0.0.1"), "-p", &url.port().unwrap_or(5432).to_string()])
        .args(["-U", url.username(), url.path().trim_start_matches('/')])
        .env("PGPASSWORD", url.password().unwrap_or(""))
        .output();
    // The script's folder goes whatever pgbench did (each run left one behind).
    let _ = std::fs::remove_dir_all(&dir);
    let output = output.context("cannot run pgbench")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("pgbench failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    }
    let number_after = |prefix: &str| -> anyhow::Result<f64> {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .with_context(|| format!("no `{prefix}` in pgbench output"))?;
        line[prefix.len()..].split_whitespace().next().context("pgbench number")?.parse().context("pgbench number")
    };
    Ok(PgbenchResult {
        clients,
        transactions_per_second: number_after("tps = ")?,
        latency_average_ms: number_after("latency average = ")?,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Argon2Result {
    pub threads: usize,
    pub hashes_per_second: f64,
}

/// argon2id with the service's parameters on every core at once.
pub fn argon2_limit(duration: Duration) -> Argon2Result {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let started = std::time::Instant::now();
    let counts: Vec<u64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    // The fastest raw rate: one memory block reused for every
                    // hash, as the service's hashing threads do.
                    let argon2 = Argon2::default();
                    let mut memory = vec![Block::default(); argon2::Params::default().block_count()];
                    let (mut n, mut out) = (0, [0u8; 32]);
                    while started.elapsed() < duration {
                        let mut salt = [0u8; 16];
                        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
                        let _ = argon2.hash_password_into_with_memory(b"benchpass", &salt, &mut out, &mut memory);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).collect()
    });
    Argon2Result { threads, hashes_per_second: counts.iter().sum::<u64>() as f64 / started.elapsed().as_secs_f64() }
}

/// One argon2id hash of `password` with the service's parameters.
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).unwrap_or_default()
}
