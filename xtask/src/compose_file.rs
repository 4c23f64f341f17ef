//! `cargo xtask check-compose-file`: no Docker engine runs here, so
//! `docker-compose.yml` is checked offline against what the binaries really
//! read: every referenced file exists, ports are the contract's, each
//! service's environment loads with the service's own settings loader and
//! contains no variable it does not read, and no service gets admin credentials.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use anyhow::{bail, ensure, Context};
use common::config::{DatabaseSettings, Env};
use serde_yaml::Value;

/// The image's binaries (Dockerfile) and the contract's ports.
const SERVICES: [(&str, &str, u16); 3] =
    [("auth", "auth-service", 3001), ("event", "event-service", 3002), ("attendance", "attendance-service", 3004)];

pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    check(root)?;
    eprintln!("==> docker-compose.yml agrees with the binaries");
    Ok(())
}

pub(crate) fn check(root: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(root.join("docker-compose.yml")).context("cannot read docker-compose.yml")?;
    let compose: Value = serde_yaml::from_str(&text).context("docker-compose.yml is not valid YAML")?;
    let services = compose["services"].as_mapping().context("docker-compose.yml has no services")?;
    let service = |name: &str| -> anyhow::Result<Value> {
        let raw = services.get(&Value::from(name)).with_context(|| format!("service `{name}` is missing"))?;
        Ok(merge_keys(raw))
    };
    let dockerfile = check_build(root, &service("migrate")?)?;

    for (name, binary, port) in SERVICES {
        check_service(root, &compose, &dockerfile, &service(name)?, (name, binary, port))?;
    }
    check_migrate(&dockerfile, &service("migrate")?)?;
    check_router(root, &dockerfile, &service("router")?, &service("auth")?)
}

/// One service: its binary, port, database user and schema, and an
/// environment its settings load with, every variable of it read.
fn check_service(
    root: &Path,
    compose: &Value,
    dockerfile: &str,
    svc: &Value,
    (name, binary, port): (&str, &str, u16),
) -> anyhow::Result<()> {
    ensure!(command(svc)?.first().map(String::as_str) == Some(binary), "{name}: command must run {binary}");
    ensure!(dockerfile.contains(&format!("target/release/{binary}")), "the Dockerfile does not ship {binary}");
    ensure!(publishes(svc, port), "{name} must publish port {port}");
    let env = environment(svc)?;
    ensure!(env.get("PORT").map(String::as_str) == Some(port.to_string().as_str()), "{name}: PORT must be {port}");
    for forbidden in ["DATABASE_ADMIN_URL", "POSTGRES_PASSWORD"] {
        ensure!(!env.contains_key(forbidden), "{name} must not receive {forbidden}");
    }
    let url = DatabaseSettings::parse("DATABASE_URL", env.get("DATABASE_URL").map(String::as_str).unwrap_or(""))?;
    let kind: common::ServiceKind = name.parse().map_err(anyhow::Error::msg)?;
    ensure!(url.username() == kind.db_user(), "{name} must connect as {}", kind.db_user());
    ensure!(url.schema.as_deref() == Some(kind.schema()), "{name} must use schema {}", kind.schema());
    if name == "auth" {
        // An access token stays valid after logout until it expires: production keeps it short.
        let ttl = env.get("JWT_EXPIRE").map(|raw| common::config::parse_duration(raw)).transpose();
        let ttl = ttl.map_err(anyhow::Error::msg)?;
        ensure!(
            ttl.is_none_or(|ttl| ttl <= std::time::Duration::from_secs(15 * 60)),
            "auth: JWT_EXPIRE must be at most 15m in production (access tokens outlive logout until they expire)"
        );
    }
    let (env, stand_ins) = with_secrets(root, compose, svc, env)?;
    let loaded = crate::load_service_settings(kind, &env);
    drop(stand_ins);
    loaded.with_context(|| format!("{name}'s environment does not load"))?;
    let unread = env.unread();
    ensure!(unread.is_empty(), "{name} is given variables it never reads: {unread:?}");
    Ok(())
}

/// The migration job: bootstrap as the admin, then each schema as its user.
fn check_migrate(dockerfile: &str, migrate: &Value) -> anyhow::Result<()> {
    ensure!(
        command(migrate)?.join(" ").contains("migrate bootstrap --revoke-public && migrate deploy"),
        "migrate must bootstrap then deploy"
    );
    ensure!(dockerfile.contains("target/release/migrate"), "the Dockerfile does not ship migrate");
    let env = environment(migrate)?;
    ensure!(env.contains_key("DATABASE_ADMIN_URL"), "migrate needs DATABASE_ADMIN_URL");
    for kind in common::ServiceKind::ALL {
        let var = format!("{}_DATABASE_URL", kind.env_prefix());
        let url = DatabaseSettings::parse(&var, env.get(&var).map(String::as_str).unwrap_or(""))?;
        ensure!(url.username() == kind.db_user(), "migrate must migrate {kind} as {}", kind.db_user());
        ensure!(env.contains_key(&format!("{}_DB_PASSWORD", kind.env_prefix())), "migrate needs {kind}'s password");
    }

    Ok(())
}

/// The router: its binary, ports, the config and supergraph the image
/// copies, and the variables that config reads.
fn check_router(root: &Path, dockerfile: &str, router: &Value, auth: &Value) -> anyhow::Result<()> {
    let args = command(router)?;
    ensure!(args.first().map(String::as_str) == Some("titiktemu-router"), "router: command must run titiktemu-router");
    ensure!(dockerfile.contains("target/release/titiktemu-router"), "the Dockerfile does not ship the router");
    for port in [4000, 8088] {
        ensure!(publishes(router, port), "router must publish port {port}");
    }
    let config_in_image = flag(&args, "--config")?;
    let supergraph_in_image = flag(&args, "--supergraph")?;
    for (in_image, what) in [(config_in_image, "router config"), (supergraph_in_image, "supergraph")] {
        let source = copied_from(dockerfile, &in_image)
            .with_context(|| format!("the Dockerfile does not copy the {what} to {in_image}"))?;
        ensure!(root.join(&source).exists(), "{source} does not exist");
    }
    let config_source = copied_from(dockerfile, &flag(&args, "--config")?).unwrap_or_default();
    let router_yaml = std::fs::read_to_string(root.join(config_source))?;
    let read_by_config = router_config_variables(&router_yaml);
    check_router_reads(environment(router)?.keys(), &read_by_config)?;
    check_auth_trusts_the_router(router, auth)?;
    for kind in common::ServiceKind::ALL {
        let var = format!("{}_SUBGRAPH_URL", kind.env_prefix());
        ensure!(read_by_config.contains(&var), "router.prod.yaml must read {var}");
    }
    Ok(())
}

/// The variables a router configuration reads (`${env.NAME}`).
pub(crate) fn router_config_variables(router_yaml: &str) -> BTreeSet<String> {
    router_yaml.split("${env.").skip(1).filter_map(|rest| rest.split([':', '}']).next().map(str::to_owned)).collect()
}

/// Every variable given to the router is read by its configuration or by
/// our binary itself (the client edge, and telemetry off).
pub(crate) fn check_router_reads<'a>(
    given: impl IntoIterator<Item = &'a String>,
    read_by_config: &BTreeSet<String>,
) -> anyhow::Result<()> {
    let read_by_binary = ["APOLLO_TELEMETRY_DISABLED", "ROUTER_LISTEN", "ROUTER_TRUSTED_PROXIES"];
    for var in given {
        ensure!(
            read_by_config.contains(var) || read_by_binary.contains(&var.as_str()),
            "router is given {var}, which neither router.prod.yaml nor the client edge reads"
        );
    }
    Ok(())
}

/// Auth counts failed logins per client address and believes X-Forwarded-For
/// only from TRUSTED_PROXIES: in compose that must be the router's fixed
/// address (the default, loopback, would count every login under the router's).
fn check_auth_trusts_the_router(router: &Value, auth: &Value) -> anyhow::Result<()> {
    let router_address = router["networks"]["default"]["ipv4_address"]
        .as_str()
        .context("router needs a fixed networks.default.ipv4_address, for auth's TRUSTED_PROXIES")?;
    let router_address: std::net::IpAddr = router_address.parse().context("router's ipv4_address")?;
    let env = environment(auth)?;
    let trusted = env.get("TRUSTED_PROXIES").context("auth needs TRUSTED_PROXIES naming the router")?;
    let trusted: Vec<common::net::TrustedNetwork> = trusted
        .split(',')
        .map(|item| item.trim().parse().map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<_>>()?;
    ensure!(
        trusted.iter().any(|n| n.contains(router_address)),
        "auth's TRUSTED_PROXIES must name the router ({router_address})"
    );
    ensure!(
        trusted.iter().all(|n| n.to_string() == format!("{router_address}/32")),
        "auth's TRUSTED_PROXIES must name the router alone: any other peer in it could choose its own address"
    );
    Ok(())
}

/// Applies YAML merge keys (`<<: *anchor`), which serde_yaml leaves as is.
fn merge_keys(value: &Value) -> Value {
    let Some(map) = value.as_mapping() else {
        return value.clone();
    };
    let mut merged = serde_yaml::Mapping::new();
    if let Some(Value::Mapping(base)) = map.get(&Value::from("<<")) {
        merged.extend(base.clone());
    }
    for (k, v) in map {
        if k != &Value::from("<<") {
            merged.insert(k.clone(), v.clone());
        }
    }
    Value::Mapping(merged)
}

fn check_build(root: &Path, migrate: &Value) -> anyhow::Result<String> {
    let build = &migrate["build"];
    let context = root.join(build["context"].as_str().context("migrate: build.context")?);
    let dockerfile_path = context.join(build["dockerfile"].as_str().unwrap_or("Dockerfile"));
    let dockerfile = std::fs::read_to_string(&dockerfile_path)
        .with_context(|| format!("cannot read {}", dockerfile_path.display()))?;
    let target = build["target"].as_str().unwrap_or("");
    ensure!(dockerfile.contains(&format!(" AS {target}")), "the Dockerfile has no stage `{target}`");
    for line in dockerfile.lines().map(str::trim).filter(|l| l.starts_with("COPY ") && !l.contains("--from")) {
        let parts: Vec<&str> = line.split_whitespace().skip(1).collect();
        for source in &parts[..parts.len().saturating_sub(1)] {
            ensure!(context.join(source).exists(), "the Dockerfile copies {source}, which does not exist");
        }
    }
    Ok(dockerfile)
}

fn command(service: &Value) -> anyhow::Result<Vec<String>> {
    let command = service["command"].as_sequence().context("command must be a list")?;
    Ok(command.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
}

fn flag(args: &[String], name: &str) -> anyhow::Result<String> {
    let at = args.iter().position(|a| a == name).with_context(|| format!("router: missing {name}"))?;
    args.get(at + 1).cloned().with_context(|| format!("router: {name} needs a value"))
}

/// The repository path a `COPY <source> <dest>` line puts at `dest`.
fn copied_from(dockerfile: &str, dest: &str) -> Option<String> {
    dockerfile.lines().map(str::trim).filter(|l| l.starts_with("COPY ") && !l.contains("--from")).find_map(|line| {
        let parts: Vec<&str> = line.split_whitespace().collect();
        (parts.last() == Some(&dest)).then(|| parts[1].to_owned())
    })
}

fn publishes(service: &Value, port: u16) -> bool {
    service["ports"]
        .as_sequence()
        .is_some_and(|ports| ports.iter().any(|p| p.as_str() == Some(&format!("{port}:{port}"))))
}

/// A service's environment with `${VAR}` interpolations replaced by a placeholder.
fn environment(service: &Value) -> anyhow::Result<BTreeMap<String, String>> {
    let Some(map) = service["environment"].as_mapping() else {
        return Ok(BTreeMap::new());
    };
    let mut env = BTreeMap::new();
    for (key, value) in map {
        let key = key.as_str().context("environment keys must be strings")?.to_owned();
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => bail!("{key}: unsupported value"),
        };
        env.insert(key, interpolate(&value));
    }
    Ok(env)
}

/// `${NAME}` / `${NAME:-default}` / `${NAME:?message}` as a value that parses.
fn interpolate(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map(|e| start + e).unwrap_or(rest.len() - 1);
        let inner = &rest[start + 2..end];
        match inner.split_once(":-") {
            Some((_, default)) => out.push_str(default),
            // Long enough for variables with a minimum length (SERVICE_SECRET).
            None => out.push_str("placeholder-placeholder-placeholder"),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Points variables naming a mounted secret (`/run/secrets/<name>`) at a
/// stand-in file, so that loading reads a real (throwaway) secret; the files
/// last as long as the stand-ins returned.
fn with_secrets(
    root: &Path,
    compose: &Value,
    service: &Value,
    mut env: BTreeMap<String, String>,
) -> anyhow::Result<(Env, Vec<crate::StandIn>)> {
    let secrets: Vec<String> = service["secrets"]
        .as_sequence()
        .map(|s| s.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let gitignore = std::fs::read_to_string(root.join(".gitignore")).unwrap_or_default();
    let mut stand_ins = Vec::new();
    for secret in secrets {
        let file = compose["secrets"][secret.as_str()]["file"]
            .as_str()
            .with_context(|| format!("secret {secret} has no file"))?;
        let dir = file.trim_start_matches("./").split('/').next().unwrap_or("");
        ensure!(gitignore.lines().any(|l| l.trim_matches('/') == dir), "secret files under {dir}/ must be git-ignored");
        let stand_in = crate::StandIn::write(&format!("compose-check-{secret}"), &stand_in_secret(&secret))?;
        let mounted = format!("/run/secrets/{secret}");
        let mut used = false;
        for value in env.values_mut().filter(|v| **v == mounted) {
            *value = stand_in.path();
            used = true;
        }
        ensure!(used, "secret {secret} is mounted but no variable points at {mounted}");
        stand_ins.push(stand_in);
    }
    Ok((Env::from_pairs(env), stand_ins))
}

fn stand_in_secret(secret: &str) -> String {
    match secret {
        // A throwaway Ed25519 key in PKCS#8 PEM, made for this check only.
        "jwt_private_key" | "ticket_signing_key" => common::keys::generate_pem(),
        _ => "placeholder".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn docker_compose_agrees_with_the_binaries() {
        super::check(&crate::root()).unwrap();
    }

    #[test]
    fn interpolation() {
        assert_eq!(super::interpolate("a${X:-b}c${Y:?msg}"), "abcplaceholder-placeholder-placeholder");
    }
}
