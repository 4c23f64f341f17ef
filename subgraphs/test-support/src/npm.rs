//! The JavaScript packages in the repository (the playground, the door app,
//! the browser tests): installed from their committed lockfiles with
//! `npm ci`, again only when a lockfile changes, and built.

use std::{path::Path, process::Command};

use anyhow::{bail, Context};

/// Where `npm ci` is remembered: the lockfile it installed.
const STAMP: &str = "node_modules/.titiktemu-installed-lock.json";

/// Installs `dir`'s packages if its lockfile changed since the last install,
/// then runs its `build` script when `build` is set.
pub fn ready(dir: &Path, build: bool) -> anyhow::Result<()> {
    let lock = std::fs::read_to_string(dir.join("package-lock.json"))
        .with_context(|| format!("{} has no package-lock.json", dir.display()))?;
    if std::fs::read_to_string(dir.join(STAMP)).ok().as_deref() != Some(lock.as_str()) {
        npm(dir, &["ci", "--no-audit", "--no-fund", "--loglevel=error"])?;
        std::fs::write(dir.join(STAMP), &lock)?;
    }
    if build {
        npm(dir, &["run", "--silent", "build"])?;
    }
    Ok(())
}

fn npm(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("npm")
        .args(args)
        .current_dir(dir)
        .status()
        .context("npm (Node 20) is needed: install Node.js 20 with npm")?;
    if !status.success() {
        bail!("`npm {}` failed in {}", args.join(" "), dir.display());
    }
    Ok(())
}
