//! The guide's key principles, checked on a real PostgreSQL: each service has
//! its own schema and user, users cannot reach each other's schemas or
//! `public`, migrations run as the service user and touch only its schema,
//! and bootstrap and migrations are idempotent.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use common::ServiceKind;
use migration::bootstrap::bootstrap;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};
use test_support::{test_bootstrap_options, TestDb};

async fn rows(conn: &DatabaseConnection, sql: &str) -> Vec<Vec<String>> {
    conn.query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|row| {
            (0..row.column_names().len())
                .map(|i| row.try_get_by_index::<Option<String>>(i).unwrap().unwrap_or_default())
                .collect()
        })
        .collect()
}

/// Everything bootstrap is responsible for, as text: roles, schemas and their
/// ACLs, default privileges.
async fn catalog_snapshot(admin: &DatabaseConnection) -> Vec<Vec<String>> {
    let mut all = rows(
        admin,
        "SELECT rolname::text, rolsuper::text, rolcreatedb::text, rolcreaterole::text, rolcanlogin::text, \
         (rolpassword IS NOT NULL)::text FROM pg_authid WHERE rolname LIKE '%\\_user' ORDER BY 1",
    )
    .await;
    all.extend(
        rows(
            admin,
            "SELECT nspname::text, nspowner::regrole::text, coalesce(nspacl::text, '') FROM pg_namespace ORDER BY 1",
        )
        .await,
    );
    all.extend(rows(admin, "SELECT defaclnamespace::regnamespace::text, defaclobjtype::text, defaclacl::text FROM pg_default_acl ORDER BY 1, 2").await);
    all
}

fn sqlstate(err: &DbErr) -> String {
    common::db::pg_error(err).map(|(code, _)| code).unwrap_or_else(|| format!("not a PostgreSQL error: {err}"))
}

const PERMISSION_DENIED: &str = "42501";

#[tokio::test]
async fn bootstrap_creates_the_guides_schemas_and_users() {
    let db = TestDb::bootstrapped().await;
    let admin = db.admin().await;
    for kind in ServiceKind::ALL {
        let (schema, user) = (kind.schema(), kind.db_user());
        let privileges = rows(
            &admin,
            &format!(
                "SELECT has_schema_privilege('{user}', '{schema}', 'USAGE')::text, \
                 has_schema_privilege('{user}', '{schema}', 'CREATE')::text, \
                 r.rolsuper::text, r.rolcreatedb::text, r.rolcreaterole::text, r.rolcanlogin::text \
                 FROM pg_roles r WHERE r.rolname = '{user}'"
            ),
        )
        .await;
        assert_eq!(privileges, vec![vec!["true", "true", "false", "false", "false", "true"]], "{user} on {schema}");
        let defaults = rows(
            &admin,
            &format!(
                "SELECT defaclobjtype::text FROM pg_default_acl WHERE defaclnamespace = '{schema}'::regnamespace \
                 AND defaclacl::text LIKE '%{user}=%' ORDER BY 1"
            ),
        )
        .await;
        assert_eq!(defaults, vec![vec!["S"], vec!["r"]], "default privileges on tables and sequences for {user}");
    }
}

#[tokio::test]
async fn bootstrap_twice_changes_nothing() {
    let db = TestDb::bootstrapped().await;
    let admin = db.admin().await;
    let before = catalog_snapshot(&admin).await;
    let report = bootstrap(&db.admin_url(), &test_bootstrap_options()).await.expect("second bootstrap");
    assert!(report.actions.is_empty(), "second run did something: {:?}", report.actions);
    assert_eq!(catalog_snapshot(&admin).await, before);
}

#[tokio::test]
async fn concurrent_bootstraps_of_different_databases_all_succeed() {
    // Roles are shared by the whole server; bootstraps racing on them must not fail.
    let dbs = futures::future::join_all((0..4).map(|_| TestDb::empty())).await;
    let results = futures::future::join_all(
        dbs.iter().map(|db| async move { bootstrap(&db.admin_url(), &test_bootstrap_options()).await.map(|_| ()) }),
    )
    .await;
    for result in results {
        result.expect("bootstrap");
    }
}

#[tokio::test]
async fn migrations_run_as_the_service_user_and_touch_only_its_schema() {
    let db = TestDb::bootstrapped().await;
    let admin = db.admin().await;
    let tables = "SELECT schemaname::text, tablename::text, tableowner::text FROM pg_tables \
                  WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2";
    assert!(rows(&admin, tables).await.is_empty());

    let auth = db.connect_as(ServiceKind::Auth).await;
    migration::apply(ServiceKind::Auth, &auth.conn).await.expect("migrate auth");
    assert_eq!(
        rows(&admin, tables).await,
        vec![
            vec!["auth_schema", "login_known_addresses", "auth_user"],
            vec!["auth_schema", "login_throttle", "auth_user"],
            vec!["auth_schema", "refresh_tokens", "auth_user"],
            vec!["auth_schema", "seaql_migrations", "auth_user"],
            vec!["auth_schema", "users", "auth_user"]
        ],
        "auth's migrations created tables in auth_schema only, owned by auth_user"
    );

    for kind in [ServiceKind::Event, ServiceKind::Attendance] {
        let conn = db.connect_as(kind).await;
        migration::apply(kind, &conn.conn).await.expect("migrate");
    }
    for row in rows(&admin, tables).await {
        let kind = ServiceKind::ALL
            .into_iter()
            .find(|k| k.schema() == row[0])
            .unwrap_or_else(|| panic!("table outside the service schemas: {row:?}"));
        assert_eq!(row[2], kind.db_user(), "{row:?} is owned by its service user");
    }
    // Each schema keeps its own bookkeeping.
    let bookkeeping =
        rows(&admin, "SELECT schemaname::text FROM pg_tables WHERE tablename = 'seaql_migrations' ORDER BY 1").await;
    assert_eq!(bookkeeping, vec![vec!["attendance_schema"], vec!["auth_schema"], vec!["event_schema"]]);
}

#[tokio::test]
async fn migrating_twice_is_a_no_op() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    let snapshot = "SELECT schemaname::text, tablename::text FROM pg_tables WHERE schemaname LIKE '%\\_schema' \
                    UNION ALL SELECT 'migration', version FROM auth_schema.seaql_migrations ORDER BY 1, 2";
    let before = rows(&admin, snapshot).await;
    for kind in ServiceKind::ALL {
        let conn = db.connect_as(kind).await;
        migration::apply(kind, &conn.conn).await.expect("second migrate");
        assert_eq!(migration::pending_count(kind, &conn.conn).await.unwrap(), 0);
    }
    assert_eq!(rows(&admin, snapshot).await, before);
}

#[tokio::test]
async fn service_users_cannot_use_each_others_schemas() {
    let db = TestDb::new().await;
    let tables =
        [(ServiceKind::Auth, "users"), (ServiceKind::Event, "events"), (ServiceKind::Attendance, "attendances")];
    for user in ServiceKind::ALL {
        let conn = db.connect_as(user).await.conn;
        for (owner, table) in tables {
            let qualified = format!("{}.{table}", owner.schema());
            let read = conn.execute_unprepared(&format!("SELECT count(*) FROM {qualified}")).await;
            let write = conn.execute_unprepared(&format!("DELETE FROM {qualified}")).await;
            let create = conn.execute_unprepared(&format!("CREATE TABLE {}.intruder (id int)", owner.schema())).await;
            if owner == user {
                read.unwrap_or_else(|e| panic!("{user} must read its own {qualified}: {e}"));
                write.unwrap_or_else(|e| panic!("{user} must write its own {qualified}: {e}"));
                create.unwrap_or_else(|e| panic!("{user} must create in its own schema: {e}"));
            } else {
                assert_eq!(sqlstate(&read.unwrap_err()), PERMISSION_DENIED, "{user} reading {qualified}");
                assert_eq!(sqlstate(&write.unwrap_err()), PERMISSION_DENIED, "{user} writing {qualified}");
                assert_eq!(sqlstate(&create.unwrap_err()), PERMISSION_DENIED, "{user} creating in {}", owner.schema());
            }
        }
    }
}

#[tokio::test]
async fn service_users_cannot_use_the_public_schema() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    admin.execute_unprepared("CREATE TABLE public.admin_only (id int)").await.expect("admin creates in public");
    for user in ServiceKind::ALL {
        let conn = db.connect_as(user).await.conn;
        let create = conn.execute_unprepared("CREATE TABLE public.intruder (id int)").await;
        assert_eq!(sqlstate(&create.unwrap_err()), PERMISSION_DENIED, "{user} creating in public");
        let read = conn.execute_unprepared("SELECT * FROM public.admin_only").await;
        assert_eq!(sqlstate(&read.unwrap_err()), PERMISSION_DENIED, "{user} reading public");
    }
}

#[tokio::test]
async fn bootstrap_narrows_grants_widened_by_hand() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    admin
        .execute_unprepared("GRANT USAGE ON SCHEMA auth_schema TO event_user; GRANT SELECT ON auth_schema.users TO event_user; GRANT ALL ON SCHEMA public TO PUBLIC")
        .await
        .unwrap();
    let event = db.connect_as(ServiceKind::Event).await.conn;
    event.execute_unprepared("SELECT count(*) FROM auth_schema.users").await.expect("the widened grant works");
    let report = bootstrap(&db.admin_url(), &test_bootstrap_options()).await.unwrap();
    assert!(report.actions.iter().any(|a| a.contains("revoked PUBLIC access")), "{:?}", report.actions);
    let read = event.execute_unprepared("SELECT count(*) FROM auth_schema.users").await;
    assert_eq!(sqlstate(&read.unwrap_err()), PERMISSION_DENIED);
    let create = event.execute_unprepared("CREATE TABLE public.intruder (id int)").await;
    assert_eq!(sqlstate(&create.unwrap_err()), PERMISSION_DENIED);
}

#[tokio::test]
async fn status_reset_and_fresh_work_per_service() {
    let db = TestDb::bootstrapped().await;
    let event = db.connect_as(ServiceKind::Event).await.conn;
    let status = migration::migration_status(ServiceKind::Event, &event).await.unwrap();
    assert!(!status.is_empty() && status.iter().all(|m| !m.applied), "{status:?}");
    migration::apply(ServiceKind::Event, &event).await.unwrap();
    assert!(migration::migration_status(ServiceKind::Event, &event).await.unwrap().iter().all(|m| m.applied));

    event
        .execute_unprepared(
            "INSERT INTO events (id, title, start_time, end_time) VALUES (gen_random_uuid(), 't', now(), now() + interval '1 hour')",
        )
        .await
        .unwrap();
    migration::reset(ServiceKind::Event, &event).await.unwrap();
    assert_eq!(rows(&event, "SELECT count(*)::text FROM events").await, vec![vec!["0"]]);
    migration::fresh(ServiceKind::Event, &event).await.unwrap();
    assert_eq!(migration::pending_count(ServiceKind::Event, &event).await.unwrap(), 0);
    migration::rollback(ServiceKind::Event, &event, None).await.unwrap();
    assert_eq!(migration::pending_count(ServiceKind::Event, &event).await.unwrap(), status.len());
}

#[tokio::test]
async fn service_sessions_have_their_schema_a_statement_timeout_no_jit_and_ssd_costs() {
    let db = TestDb::new().await;
    for kind in ServiceKind::ALL {
        let conn = db.connect_as(kind).await.conn;
        let settings = rows(
            &conn,
            "SELECT current_setting('search_path'), current_setting('statement_timeout'), current_setting('jit'), \
             current_setting('random_page_cost')",
        )
        .await;
        let expected = [kind.schema(), "30s", "off", "1.1"].map(str::to_owned).to_vec();
        assert_eq!(settings, vec![expected], "{kind:?}");
    }
}

/// As on a managed database (Supabase, RDS): the admin owns the database and
/// may create roles, nothing more. Bootstrap works, and without
/// `--revoke-public` it leaves schema `public`, which other applications of
/// the database may use, as it found it.
#[tokio::test]
async fn bootstrap_works_for_a_database_owner_who_is_no_superuser_and_leaves_public_alone() {
    let server = test_support::server();
    let superuser = sea_orm::Database::connect(server.admin_url_for("postgres")).await.unwrap();
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (owner, name) = (format!("owner_{}", &suffix[..12]), format!("tt_{suffix}"));
    superuser
        .execute_unprepared(&format!("CREATE ROLE {owner} LOGIN CREATEROLE NOSUPERUSER PASSWORD 'owner-password'"))
        .await
        .unwrap();
    superuser.execute_unprepared(&format!("CREATE DATABASE {name} OWNER {owner}")).await.unwrap();
    let mut owner_url = url::Url::parse(&server.admin_url_for(&name)).unwrap();
    owner_url.set_username(&owner).unwrap();
    owner_url.set_password(Some("owner-password")).unwrap();
    let as_owner = sea_orm::Database::connect(owner_url.as_str()).await.unwrap();
    let public_acl = "SELECT coalesce(nspacl::text, '') FROM pg_namespace WHERE nspname = 'public'";
    let before = rows(&as_owner, public_acl).await;

    let mut options = test_bootstrap_options();
    options.revoke_public = false;
    let report = bootstrap(owner_url.as_str(), &options).await.expect("bootstrap as a non-superuser owner");
    assert!(report.actions.iter().any(|a| a.contains("created schema event_schema")), "{:?}", report.actions);
    assert!(!report.actions.iter().any(|a| a.contains("PUBLIC")), "{:?}", report.actions);
    assert_eq!(rows(&as_owner, public_acl).await, before, "schema public untouched");
    // Each service role's settings for this database, which a pooled connection relies on.
    let settings = rows(
        &as_owner,
        "SELECT r.rolname::text, array_to_string(s.setconfig, ' ') FROM pg_db_role_setting s \
         JOIN pg_roles r ON r.oid = s.setrole WHERE s.setdatabase = (SELECT oid FROM pg_database \
         WHERE datname = current_database()) ORDER BY 1",
    )
    .await;
    let expected: Vec<Vec<String>> = ServiceKind::ALL
        .iter()
        .map(|k| {
            vec![
                k.db_user().to_owned(),
                format!("search_path={} statement_timeout=30s jit=off random_page_cost=1.1", k.schema()),
            ]
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(settings, expected);
    // The service users migrate their schemas on it.
    for kind in ServiceKind::ALL {
        let mut url = owner_url.clone();
        url.set_username(kind.db_user()).unwrap();
        url.set_password(Some(&test_support::test_password(kind))).unwrap();
        url.query_pairs_mut().append_pair("schema", kind.schema());
        let settings = common::config::DatabaseSettings::parse("DATABASE_URL", url.as_str()).unwrap();
        let conn = common::db::connect(&settings).await.unwrap().conn;
        migration::apply(kind, &conn).await.unwrap_or_else(|e| panic!("{kind:?}: {e}"));
    }
    // Asked to, it closes `public` too, as the owner may.
    options.revoke_public = true;
    let report = bootstrap(owner_url.as_str(), &options).await.unwrap();
    assert!(report.actions.iter().any(|a| a.contains("revoked PUBLIC access")), "{:?}", report.actions);
}
