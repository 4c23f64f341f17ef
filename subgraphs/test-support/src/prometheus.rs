//! Prometheus (Debian's package) on loopback, scraping the given targets
//! every second, and its HTTP API's instant queries. Stopped (by the same
//! pipe-supervisor as [`crate::cluster`]) when dropped.

use std::{path::PathBuf, time::Duration};

use anyhow::{bail, Context};
use serde_json::Value;

use crate::cluster::{nanos, PipeSupervised};

pub struct Prometheus {
    server: PipeSupervised,
    dir: PathBuf,
    port: u16,
    http: reqwest::Client,
}

impl Prometheus {
    /// Scrapes `/metrics` of each `(job, port)` on loopback.
    pub fn start(targets: &[(&str, u16)]) -> anyhow::Result<Prometheus> {
        let binary = crate::cluster::debian_program("prometheus", "prometheus")?;
        let dir = std::env::temp_dir().join(format!("titiktemu-prometheus-{}-{}", std::process::id(), nanos()));
        std::fs::create_dir_all(dir.join("data"))?;
        let mut config = String::from("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n");
        for (job, port) in targets {
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
            ));
        }
        std::fs::write(dir.join("prometheus.yml"), config)?;
        let port = crate::free_ports(1)?[0];
        let listen = format!("127.0.0.1:{port}");
        let env = [("PROMETHEUS", binary.as_os_str()), ("DIR", dir.as_os_str()), ("LISTEN", listen.as_ref())];
        let server = r#""$PROMETHEUS" --config.file="$DIR/prometheus.yml" --storage.tsdb.path="$DIR/data" \
            --web.listen-address="$LISTEN" >>"$DIR/prometheus.log" 2>&1"#;
        let server =
            PipeSupervised::start(server, "TERM", r#"rm -rf "$DIR""#, &env, None).context("cannot start prometheus")?;
        let mut prometheus = Prometheus { server, dir, port, http: reqwest::Client::new() };
        let log = prometheus.dir.join("prometheus.log");
        prometheus.server.wait_listening("prometheus", port, &log, Duration::from_secs(20))?;
        Ok(prometheus)
    }

    /// The sum of an instant query's samples (0 without any).
    pub async fn sum(&self, query: &str) -> anyhow::Result<f64> {
        let url = format!("http://127.0.0.1:{}/api/v1/query", self.port);
        let body: Value = self.http.get(url).query(&[("query", query)]).send().await?.json().await?;
        if body["status"] != "success" {
            bail!("{query}: {body}");
        }
        let samples = body["data"]["result"].as_array().cloned().unwrap_or_default();
        Ok(samples.iter().filter_map(|s| s["value"][1].as_str()?.parse::<f64>().ok()).sum())
    }

    /// Waits until `query` sums to `expected` (scrapes come every second).
    pub async fn wait_for(&self, query: &str, expected: f64, within: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.sum(query).await?;
            if (got - expected).abs() < 1e-9 {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("{query} is {got}, not {expected}\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }
}
