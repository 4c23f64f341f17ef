//! `migrate`: bootstrap and migrations, in the spirit of the guide's Prisma commands.
//!
//! ```text
//! migrate bootstrap                         create schemas and users (DATABASE_ADMIN_URL)
//! migrate up      [--service S]             apply pending migrations (prisma migrate dev)
//! migrate deploy  [--service S]             the same, for production (prisma migrate deploy)
//! migrate status  [--service S]             list migrations and whether they are applied
//! migrate down    [--service S] [--steps N] roll back (development only)
//! migrate reset   [--service S]             roll back everything and re-apply (development only)
//! migrate fresh   [--service S]             drop every table and re-apply (development only)
//! migrate generate <name> --service S       create a new migration file
//! ```
//!
//! `S` is `auth`, `event`, `attendance` or `all` (default). Each service is
//! migrated as its own user: the URL comes from `<SERVICE>_DATABASE_URL`, or
//! `DATABASE_URL` when one service is selected, or that service's `.env`;
//! through a pooler (`?pgbouncer=true`) the direct URL is used instead,
//! `<SERVICE>_DIRECT_URL` or `DIRECT_URL`.
//!
//! `migrate bootstrap [--revoke-public]`: `--revoke-public` also revokes
//! PUBLIC's rights on schema `public` of the database, which other
//! applications may share; without it bootstrap changes nothing outside its
//! three schemas and roles.

use std::{path::PathBuf, process::ExitCode};

use anyhow::{bail, Context};
use common::{
    config::{AppEnv, DatabaseSettings, Env},
    db, ServiceKind,
};
use migration::bootstrap::{bootstrap, BootstrapOptions};

const USAGE: &str = "usage: migrate <bootstrap [--revoke-public]|up|deploy|status|down|reset|fresh|generate NAME> [--service auth|event|attendance|all] [--steps N]";

#[tokio::main]
async fn main() -> ExitCode {
    common::telemetry::init("info,sqlx=warn,sea_orm_migration=info");
    match run(std::env::args().skip(1).collect()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("migrate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

struct Args {
    command: String,
    name: Option<String>,
    services: Vec<ServiceKind>,
    steps: Option<u32>,
    revoke_public: bool,
}

fn parse_args(args: Vec<String>) -> anyhow::Result<Args> {
    let mut args = args.into_iter();
    let command = args.next().context(USAGE)?;
    let (mut name, mut services, mut steps, mut revoke_public) = (None, ServiceKind::ALL.to_vec(), None, false);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--service" | "-s" => {
                let value = args.next().context("--service needs a value")?;
                services = if value == "all" {
                    ServiceKind::ALL.to_vec()
                } else {
                    vec![value.parse().map_err(anyhow::Error::msg)?]
                };
            }
            "--revoke-public" => revoke_public = true,
            "--steps" => steps = Some(args.next().context("--steps needs a number")?.parse().context("--steps")?),
            "-h" | "--help" => bail!(USAGE),
            other if !other.starts_with('-') && name.is_none() => name = Some(other.to_owned()),
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    Ok(Args { command, name, services, steps, revoke_public })
}

async fn run(args: Vec<String>) -> anyhow::Result<()> {
    let args = parse_args(args)?;
    let env = Env::load(None);
    let app_env = AppEnv::from_env(&env)?;
    let dev_only = |what: &str| -> anyhow::Result<()> {
        if app_env.is_production() {
            bail!("`{what}` destroys data and is refused in production (APP_ENV/NODE_ENV is production, or neither is set)");
        }
        Ok(())
    };
    match args.command.as_str() {
        "bootstrap" => return run_bootstrap(&env, app_env, args.revoke_public).await,
        "generate" => {
            let [kind] = args.services[..] else { bail!("generate needs --service auth|event|attendance") };
            return generate(kind, args.name.as_deref().context("generate needs a migration name")?);
        }
        "up" | "deploy" | "status" => {}
        "down" | "reset" | "fresh" => dev_only(&args.command)?,
        other => bail!("unknown command `{other}`\n{USAGE}"),
    }
    let single = args.services.len() == 1;
    for kind in &args.services {
        // Migrations run on a session of their own: the direct URL, when the
        // service's URL reaches a transaction-mode pooler.
        let settings = service_database(&env, *kind, single)?.for_session();
        let conn = db::connect(&settings)
            .await
            .with_context(|| format!("cannot connect to the {kind} database as {}", settings.username()))?
            .conn;
        match args.command.as_str() {
            "up" | "deploy" => migration::apply(*kind, &conn).await?,
            "down" => migration::rollback(*kind, &conn, args.steps.or(Some(1))).await?,
            "reset" => migration::reset(*kind, &conn).await?,
            "fresh" => migration::fresh(*kind, &conn).await?,
            _ => {}
        }
        for m in migration::migration_status(*kind, &conn).await? {
            println!("{kind:<10} {:<8} {}", if m.applied { "applied" } else { "pending" }, m.name);
        }
        conn.close().await?;
    }
    Ok(())
}

async fn run_bootstrap(env: &Env, app_env: AppEnv, revoke_public: bool) -> anyhow::Result<()> {
    let admin_url = env
        .secret("DATABASE_ADMIN_URL")?
        .context("DATABASE_ADMIN_URL is not set (the URL of a PostgreSQL superuser, used only for bootstrap)")?;
    let mut options =
        BootstrapOptions { generate_missing: !app_env.is_production(), revoke_public, ..Default::default() };
    for kind in ServiceKind::ALL {
        if let Some(password) = env.secret(&format!("{}_DB_PASSWORD", kind.env_prefix()))? {
            options.passwords.push((kind, password));
        }
    }
    let report = bootstrap(&admin_url, &options).await?;
    if report.actions.is_empty() {
        println!("bootstrap: everything already in place");
    }
    for action in &report.actions {
        println!("bootstrap: {action}");
    }
    for (kind, password) in &report.generated_passwords {
        // Shown once, on purpose: this is the only place the password exists.
        println!("bootstrap: generated password for {}: {password}", kind.db_user());
        println!("           set {}_DB_PASSWORD or the service's DATABASE_URL with it", kind.env_prefix());
    }
    Ok(())
}

fn service_database(env: &Env, kind: ServiceKind, single: bool) -> anyhow::Result<DatabaseSettings> {
    let prefixed = format!("{}_DATABASE_URL", kind.env_prefix());
    let (var, url) = if let Some(url) = env.secret(&prefixed)? {
        (prefixed, url)
    } else if let Some(url) = env.secret("DATABASE_URL")?.filter(|_| single) {
        ("DATABASE_URL".to_owned(), url)
    } else {
        let file = service_dir(kind).join(".env");
        let url = dotenvy::from_path_iter(&file)
            .ok()
            .and_then(|iter| iter.flatten().find(|(k, _)| k == "DATABASE_URL").map(|(_, v)| v))
            .with_context(|| format!("set {prefixed} (or DATABASE_URL in {})", file.display()))?;
        (format!("DATABASE_URL in {}", file.display()), url)
    };
    let mut settings = DatabaseSettings::parse(&var, &url)?;
    if settings.schema.is_none() {
        settings.schema = Some(kind.schema().to_owned());
    }
    let direct_var = format!("{}_DIRECT_URL", kind.env_prefix());
    let direct = match env.secret(&direct_var)? {
        Some(url) => Some((direct_var, url)),
        None => env.secret("DIRECT_URL")?.filter(|_| single).map(|url| ("DIRECT_URL".to_owned(), url)),
    };
    if let Some((var, url)) = direct {
        settings.set_direct(&DatabaseSettings::parse(&var, &url)?);
    }
    settings.max_connections = 2;
    Ok(settings)
}

fn service_dir(kind: ServiceKind) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("subgraphs").join(kind.name())
}

/// Writes `src/<service>/mYYYYMMDD_HHMMSS_<name>.rs` and registers it in the migrator.
fn generate(kind: ServiceKind, name: &str) -> anyhow::Result<()> {
    if !common::config::is_identifier(name) {
        bail!("migration name `{name}` must be lower_snake_case");
    }
    let module = format!("m{}_{name}", chrono::Utc::now().format("%Y%m%d_%H%M%S"));
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src").join(kind.name());
    let file = dir.join(format!("{module}.rs"));
    std::fs::write(&file, MIGRATION_TEMPLATE).with_context(|| format!("cannot write {}", file.display()))?;
    let mod_rs = dir.join("mod.rs");
    let source = std::fs::read_to_string(&mod_rs)?;
    let source = source
        .replacen("\npub struct Migrator;", &format!("mod {module};\n\npub struct Migrator;"), 1)
        .replacen("]\n    }", &format!(", Box::new({module}::Migration)]\n    }}"), 1);
    std::fs::write(&mod_rs, source)?;
    println!(
        "created {} and registered it in {}; run `cargo fmt` and fill in the SQL",
        file.display(),
        mod_rs.display()
    );
    Ok(())
}

const MIGRATION_TEMPLATE: &str = r#"use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("-- SQL here").await.map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("-- SQL here").await.map(|_| ())
    }
}
"#;
