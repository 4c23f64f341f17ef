//! Creates the three schemas and their users, as the original guide's SQL
//! does, and makes sure no service user can reach another service's schema
//! or `public`. Runs as the database admin; safe to run any number of times,
//! also concurrently against different databases of one server.

use std::time::Duration;

use common::ServiceKind;
use rand::{distributions::Alphanumeric, Rng};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbErr, Statement, TransactionTrait};
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("database error during bootstrap: {0}")]
    Db(#[from] DbErr),
    #[error("{0} is not set: it is required to create role {1} outside development")]
    PasswordRequired(String, &'static str),
    #[error("DATABASE_ADMIN_URL is invalid: {0}")]
    BadAdminUrl(String),
}

/// The password each service user should have. `None`: keep an existing
/// role's password; for a new role, generate one if `generate_missing`.
#[derive(Debug, Clone, Default)]
pub struct BootstrapOptions {
    pub passwords: Vec<(ServiceKind, String)>,
    pub generate_missing: bool,
    /// Also revoke PUBLIC's rights on schema `public` (`--revoke-public`):
    /// a change to a schema other applications of the database may use, so
    /// only when asked.
    pub revoke_public: bool,
}

impl BootstrapOptions {
    pub fn password(&self, kind: ServiceKind) -> Option<&str> {
        self.passwords.iter().find(|(k, _)| *k == kind).map(|(_, p)| p.as_str())
    }
}

/// What a run did; empty on a second run with the same inputs.
#[derive(Debug, Default)]
pub struct BootstrapReport {
    pub actions: Vec<String>,
    /// Passwords generated for newly created roles, to be shown once.
    pub generated_passwords: Vec<(ServiceKind, String)>,
}

/// Bootstraps the database that `admin_url` points at.
pub async fn bootstrap(admin_url: &str, options: &BootstrapOptions) -> Result<BootstrapReport, BootstrapError> {
    let admin = Database::connect(admin_url).await?;
    let report = bootstrap_with(&admin, admin_url, options).await;
    admin.close().await?;
    report
}

pub async fn bootstrap_with(
    admin: &DatabaseConnection,
    admin_url: &str,
    options: &BootstrapOptions,
) -> Result<BootstrapReport, BootstrapError> {
    let mut report = BootstrapReport::default();
    for kind in ServiceKind::ALL {
        ensure_role(admin, admin_url, kind, options, &mut report).await?;
    }
    // Schemas and grants live in this database: serialise concurrent runs on it.
    let txn = admin.begin().await?;
    txn.execute_unprepared("SELECT pg_advisory_xact_lock(hashtext('titiktemu-bootstrap'))").await?;
    for kind in ServiceKind::ALL {
        ensure_schema(&txn, kind, &mut report).await?;
        ensure_role_settings(&txn, kind, &mut report).await?;
    }
    revoke_public_schema(&txn, options.revoke_public, &mut report).await?;
    txn.commit().await?;
    Ok(report)
}

/// What every connection of a service role starts with in this database.
/// A transaction-mode pooler keeps no session state, so these cannot be
/// set per connection there; as the role's own settings they always apply.
fn role_settings(kind: ServiceKind) -> [(&'static str, &'static str); 4] {
    [
        ("search_path", kind.schema()),
        ("statement_timeout", "30s"),
        // JIT costs more than it saves on the services' short statements.
        ("jit", "off"),
        // Random reads cost about what sequential ones do on SSDs and cached
        // tables (PostgreSQL's advice for them). At the default 4 the planner,
        // guessing an event's size from the average of many small events,
        // read all of a million-check-in event's rows and sorted them for a
        // door list of 1,000 (400 ms) rather than walk its time index (2 ms).
        ("random_page_cost", "1.1"),
    ]
}

async fn ensure_role_settings(
    txn: &impl ConnectionTrait,
    kind: ServiceKind,
    report: &mut BootstrapReport,
) -> Result<(), BootstrapError> {
    let role = kind.db_user();
    let current: Vec<String> = txn
        .query_one_raw(Statement::from_sql_and_values(
            txn.get_database_backend(),
            "SELECT coalesce((SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole \
             JOIN pg_database d ON d.oid = s.setdatabase WHERE r.rolname = $1 AND d.datname = current_database()), \
             '{}') AS settings",
            [role.into()],
        ))
        .await?
        .map(|row| row.try_get("", "settings"))
        .transpose()?
        .unwrap_or_default();
    for (name, value) in role_settings(kind) {
        if current.iter().any(|s| *s == format!("{name}={value}")) {
            continue;
        }
        // The database's name is an identifier; quote it as one.
        txn.execute_unprepared(&format!(
            "DO $$ BEGIN EXECUTE format('ALTER ROLE {role} IN DATABASE %I SET {name} = %L', current_database(), {}); END $$",
            quote_literal(value)
        ))
        .await?;
        report.actions.push(format!("set {name} = {value} for role {role} in this database"));
    }
    Ok(())
}

async fn ensure_role(
    admin: &DatabaseConnection,
    admin_url: &str,
    kind: ServiceKind,
    options: &BootstrapOptions,
    report: &mut BootstrapReport,
) -> Result<(), BootstrapError> {
    let role = kind.db_user();
    // Roles are shared by every database of a server, and CREATE/ALTER ROLE
    // from concurrent runs can collide; such collisions are retried.
    for attempt in 0.. {
        match ensure_role_once(admin, admin_url, kind, options, report).await {
            Err(BootstrapError::Db(e)) if attempt < 5 && is_concurrent_catalog_update(&e) => {
                tracing::debug!(role, error = %e, "retrying role bootstrap after a concurrent update");
                tokio::time::sleep(Duration::from_millis(50 * (attempt + 1))).await;
            }
            other => return other,
        }
    }
    unreachable!("the loop returns within six attempts")
}

async fn ensure_role_once(
    admin: &DatabaseConnection,
    admin_url: &str,
    kind: ServiceKind,
    options: &BootstrapOptions,
    report: &mut BootstrapReport,
) -> Result<(), BootstrapError> {
    let role = kind.db_user();
    let existing = admin
        .query_one_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls OR rolreplication AS privileged, \
             rolcanlogin FROM pg_roles WHERE rolname = $1",
            [role.into()],
        ))
        .await?;
    match existing {
        None => {
            let password = match options.password(kind) {
                Some(p) => p.to_owned(),
                None if options.generate_missing => {
                    let generated = generate_password();
                    report.generated_passwords.push((kind, generated.clone()));
                    generated
                }
                None => {
                    return Err(BootstrapError::PasswordRequired(format!("{}_DB_PASSWORD", kind.env_prefix()), role))
                }
            };
            let sql = format!(
                "CREATE ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD {}",
                quote_literal(&password)
            );
            admin.execute_unprepared(&sql).await?;
            report.actions.push(format!("created role {role}"));
        }
        Some(row) => {
            let privileged: bool = row.try_get("", "privileged")?;
            let can_login: bool = row.try_get("", "rolcanlogin")?;
            if privileged || !can_login {
                admin
                    .execute_unprepared(&format!(
                        "ALTER ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
                    ))
                    .await?;
                report.actions.push(format!("removed extra privileges of role {role}"));
            }
            if let Some(password) = options.password(kind) {
                if !password_works(admin_url, role, password).await? {
                    let sql = format!("ALTER ROLE {role} WITH PASSWORD {}", quote_literal(password));
                    admin.execute_unprepared(&sql).await?;
                    report.actions.push(format!("set password of role {role}"));
                }
            }
        }
    }
    Ok(())
}

async fn ensure_schema(
    txn: &impl ConnectionTrait,
    kind: ServiceKind,
    report: &mut BootstrapReport,
) -> Result<(), BootstrapError> {
    let (schema, role) = (kind.schema(), kind.db_user());
    let exists = txn
        .query_one_raw(Statement::from_sql_and_values(
            txn.get_database_backend(),
            "SELECT 1 AS one FROM pg_namespace WHERE nspname = $1",
            [schema.into()],
        ))
        .await?
        .is_some();
    if !exists {
        txn.execute_unprepared(&format!("CREATE SCHEMA {schema}")).await?;
        report.actions.push(format!("created schema {schema}"));
    }
    // The guide's grants. GRANT and ALTER DEFAULT PRIVILEGES are no-ops when
    // already in place.
    txn.execute_unprepared(&format!(
        "GRANT USAGE ON SCHEMA {schema} TO {role};
         GRANT CREATE ON SCHEMA {schema} TO {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT ALL ON TABLES TO {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT ALL ON SEQUENCES TO {role};
         REVOKE ALL ON SCHEMA {schema} FROM PUBLIC;"
    ))
    .await?;
    // Nobody else may use this schema, whatever was granted by hand before:
    // the schema's USAGE (which alone keeps them out) and, on every table and
    // sequence this admin may act for, any grant. A superuser acts for all;
    // a managed database's admin, who is none, not for the tables the
    // service user owns (`GRANT`/`REVOKE` on those would fail), so they are
    // skipped and the schema's USAGE guards them.
    let others: Vec<&str> = ServiceKind::ALL.into_iter().filter(|o| *o != kind).map(ServiceKind::db_user).collect();
    let others = others.join(", ");
    txn.execute_unprepared(&format!(
        "REVOKE ALL ON SCHEMA {schema} FROM {others};
         DO $$ DECLARE rel record; BEGIN
           FOR rel IN SELECT c.oid::regclass AS name, c.relkind = 'S' AS sequence FROM pg_class c
                      WHERE c.relnamespace = '{schema}'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
                        AND pg_has_role(c.relowner, 'USAGE')
           LOOP
             IF rel.sequence THEN
               EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM {others}', rel.name);
             ELSE
               EXECUTE format('GRANT ALL PRIVILEGES ON TABLE %s TO {role}', rel.name);
               EXECUTE format('REVOKE ALL ON TABLE %s FROM {others}', rel.name);
             END IF;
           END LOOP;
         END $$;"
    ))
    .await?;
    Ok(())
}

/// `public` is off limits to the service users: their own rights on it are
/// revoked, and with `revoke_public` PUBLIC's too, so nothing there is
/// readable through a PUBLIC grant either.
async fn revoke_public_schema(
    txn: &impl ConnectionTrait,
    revoke_public: bool,
    report: &mut BootstrapReport,
) -> Result<(), BootstrapError> {
    let public_acl_open = txn
        .query_one_raw(Statement::from_string(
            txn.get_database_backend(),
            "SELECT has_schema_privilege('public', 'public', 'USAGE') OR has_schema_privilege('public', 'public', 'CREATE') \
             AS open FROM pg_namespace WHERE nspname = 'public'",
        ))
        .await?;
    let roles = ServiceKind::ALL.map(ServiceKind::db_user).join(", ");
    if let Some(row) = public_acl_open {
        if row.try_get::<bool>("", "open")? && revoke_public {
            txn.execute_unprepared("REVOKE ALL ON SCHEMA public FROM PUBLIC").await?;
            report.actions.push("revoked PUBLIC access to schema public".to_owned());
        }
        txn.execute_unprepared(&format!("REVOKE ALL ON SCHEMA public FROM {roles}")).await?;
    }
    Ok(())
}

/// Whether `role` can log in with `password` (so an unchanged password is not rewritten).
async fn password_works(admin_url: &str, role: &str, password: &str) -> Result<bool, BootstrapError> {
    let mut url = Url::parse(admin_url).map_err(|e| BootstrapError::BadAdminUrl(e.to_string()))?;
    url.set_username(role).map_err(|_| BootstrapError::BadAdminUrl("cannot set a user name".into()))?;
    url.set_password(Some(password)).map_err(|_| BootstrapError::BadAdminUrl("cannot set a password".into()))?;
    let mut options = sea_orm::ConnectOptions::new(url.to_string());
    options.max_connections(1).min_connections(0).connect_timeout(Duration::from_secs(5)).sqlx_logging(false);
    match Database::connect(options).await {
        Ok(conn) => {
            let _ = conn.close().await;
            Ok(true)
        }
        Err(e) if common::db::pg_error(&e).is_some_and(|(code, _)| code == "28P01") => Ok(false),
        Err(e) if matches!(e, DbErr::Conn(_)) && e.to_string().contains("password authentication failed") => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn is_concurrent_catalog_update(err: &DbErr) -> bool {
    let text = err.to_string();
    // 42710 duplicate_object / 23505 unique_violation on pg_authid, or
    // "tuple concurrently updated" (XX000) from simultaneous ALTER ROLE.
    matches!(common::db::pg_error(err), Some((code, _)) if code == "42710" || code == "23505")
        || text.contains("tuple concurrently updated")
        || text.contains("already exists")
}

pub fn generate_password() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(32).map(char::from).collect()
}

/// A SQL string literal (standard_conforming_strings is on in every supported PostgreSQL).
fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
