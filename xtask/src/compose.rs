//! `cargo xtask compose [--check]`: writes each subgraph's federation SDL to
//! `subgraphs/<name>/schema.graphql` and composes them, as `supergraph.yaml`
//! describes, into `supergraph.graphql` with the Rust composer
//! (`apollo-federation`, the router's own version). `--check` fails when any
//! committed file is stale.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context};
use apollo_federation::{
    composition::{compose, CompositionOptions},
    subgraph::typestate::Subgraph,
};
use serde::Deserialize;

#[derive(Deserialize)]
pub(crate) struct SupergraphConfig {
    pub federation_version: String,
    pub subgraphs: BTreeMap<String, SubgraphConfig>,
}

#[derive(Deserialize)]
pub(crate) struct SubgraphConfig {
    pub routing_url: String,
    pub schema: SchemaSource,
}

#[derive(Deserialize)]
pub(crate) struct SchemaSource {
    pub file: PathBuf,
}

pub(crate) fn read_config(root: &Path) -> anyhow::Result<SupergraphConfig> {
    let path = root.join("supergraph.yaml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let config: SupergraphConfig =
        serde_yaml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))?;
    if !config.federation_version.trim_start_matches('=').starts_with('2') {
        bail!("supergraph.yaml: federation_version must be 2.x");
    }
    Ok(config)
}

/// The SDL each subgraph prints (`<service> print-schema` prints the same).
fn subgraph_sdl(name: &str) -> anyhow::Result<String> {
    Ok(match name {
        "auth" => auth_service::graphql::sdl(),
        "event" => event_service::graphql::sdl(),
        "attendance" => attendance_service::graphql::sdl(),
        other => bail!("supergraph.yaml names an unknown subgraph `{other}`"),
    })
}

/// The REST API's OpenAPI document each service serves at `/openapi.json`
/// (`<service> print-openapi` prints the same), by subgraph name.
fn openapi_document(name: &str) -> anyhow::Result<String> {
    let api = match name {
        "auth" => auth_service::rest::openapi(),
        "event" => event_service::rest::openapi(),
        "attendance" => attendance_service::rest::openapi(),
        other => bail!("supergraph.yaml names an unknown subgraph `{other}`"),
    };
    Ok(common::openapi::to_json(&api))
}

/// Composes the subgraph schemas named by `config` into a supergraph SDL.
pub(crate) fn compose_supergraph(root: &Path, config: &SupergraphConfig) -> anyhow::Result<String> {
    let mut subgraphs = Vec::new();
    for (name, subgraph) in &config.subgraphs {
        let path = root.join(&subgraph.schema.file);
        let sdl = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        subgraphs.push(
            Subgraph::parse(name, &subgraph.routing_url, &sdl)
                .map_err(|e| anyhow::anyhow!("subgraph `{name}` does not parse:\n{e}"))?,
        );
    }
    match compose(subgraphs, CompositionOptions::default()) {
        Ok(supergraph) => {
            for hint in supergraph.hints() {
                eprintln!("composition hint {}: {}", hint.code(), hint.message);
            }
            Ok(supergraph.schema().schema().to_string())
        }
        Err(failure) => {
            let errors: Vec<String> =
                failure.errors.iter().map(|e| format!("  {}: {e}", e.code().definition().code())).collect();
            bail!("composition failed:\n{}", errors.join("\n"))
        }
    }
}

pub(crate) fn run(root: &Path, check: bool) -> anyhow::Result<()> {
    let config = read_config(root)?;
    let mut outputs = Vec::new();
    for (name, subgraph) in &config.subgraphs {
        outputs.push((root.join(&subgraph.schema.file), subgraph_sdl(name)?));
        outputs.push((root.join("docs/openapi").join(format!("{name}.json")), openapi_document(name)?));
    }
    let mut stale = Vec::new();
    for (path, content) in &outputs {
        write_or_check(path, content, check, &mut stale)?;
    }
    // In --check mode compose what the subgraphs print now, not the committed files.
    if check && !stale.is_empty() {
        bail!("stale, run `cargo xtask compose`: {}", stale.join(", "));
    }
    let supergraph = compose_supergraph(root, &config)?;
    write_or_check(&root.join("supergraph.graphql"), &supergraph, check, &mut stale)?;
    if !stale.is_empty() {
        bail!("stale, run `cargo xtask compose`: {}", stale.join(", "));
    }
    eprintln!("==> supergraph {}", if check { "is up to date" } else { "written to supergraph.graphql" });
    Ok(())
}

fn write_or_check(path: &Path, content: &str, check: bool, stale: &mut Vec<String>) -> anyhow::Result<()> {
    if check {
        let current = std::fs::read_to_string(path).unwrap_or_default();
        if current != content {
            stale.push(path.display().to_string());
        }
        Ok(())
    } else {
        std::fs::write(path, content).with_context(|| format!("cannot write {}", path.display()))
    }
}
