//! `deploy/prometheus`: the scrape configuration and the rules, checked by
//! Prometheus's own `promtool` (syntax, rule expressions, and the unit tests
//! in `rules.test.yml` that make each alert fire, or not, on given series).

use std::{path::Path, process::Command};

use anyhow::{bail, Context};

pub(crate) fn check(root: &Path) -> anyhow::Result<()> {
    let dir = root.join("deploy/prometheus");
    for args in [["check", "config", "prometheus.yml"], ["test", "rules", "rules.test.yml"]] {
        let status = Command::new("promtool")
            .args(args)
            .current_dir(&dir)
            .status()
            .context("promtool is missing: run scripts/setup-machine.sh (apt-get install prometheus)")?;
        if !status.success() {
            bail!("`promtool {}` failed in deploy/prometheus", args.join(" "));
        }
    }
    eprintln!("==> deploy/prometheus: configuration, rules and their unit tests pass promtool");
    Ok(())
}
