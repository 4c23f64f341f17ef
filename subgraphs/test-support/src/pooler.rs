//! PgBouncer (Debian's package) in front of a PostgreSQL server, configured
//! as most deployments configure it: `pool_mode = transaction` and
//! `ignore_startup_parameters = extra_float_digits`, nothing more. So a
//! client that sends a startup `options`, relies on session state or names
//! its prepared statements fails here as it would in production. Stopped
//! (by the same pipe-supervisor as [`crate::cluster`]) when dropped or when
//! this process ends.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;

use crate::cluster::{nanos, server_user, write_private, PipeSupervised};

pub struct PgBouncer {
    server: PipeSupervised,
    pub port: u16,
    dir: PathBuf,
}

impl PgBouncer {
    /// Listens on a free loopback port and pools connections to the server
    /// at `upstream_port` on loopback; `users` are the logins it accepts,
    /// with their passwords (which it also uses towards the server).
    pub fn start(upstream_port: u16, users: &[(&str, &str)], pool_size: u32) -> anyhow::Result<PgBouncer> {
        let binary = crate::cluster::debian_program("pgbouncer", "pgbouncer")?;
        let owner = server_user()?;
        let dir = std::env::temp_dir().join(format!("titiktemu-pgbouncer-{}-{}", std::process::id(), nanos()));
        std::fs::create_dir_all(&dir)?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))?;
        }
        let port = crate::free_port();
        let userlist: String = users.iter().map(|(user, password)| format!("\"{user}\" \"{password}\"\n")).collect();
        write_private(&dir.join("userlist.txt"), &userlist, owner)?;
        let config = format!(
            "[databases]
* = host=127.0.0.1 port={upstream_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {dir}/userlist.txt
pool_mode = transaction
ignore_startup_parameters = extra_float_digits
default_pool_size = {pool_size}
max_client_conn = 1000
server_reset_query =
logfile = {dir}/pgbouncer.log
pidfile = {dir}/pgbouncer.pid
",
            dir = dir.display()
        );
        write_private(&dir.join("pgbouncer.ini"), &config, owner)?;
        let env = [("BOUNCER", binary.as_os_str()), ("DIR", dir.as_os_str())];
        let server = r#""$BOUNCER" "$DIR/pgbouncer.ini" >>"$DIR/pgbouncer.log" 2>&1"#;
        let server =
            PipeSupervised::start(server, "INT", r#"rm -rf "$DIR""#, &env, owner).context("cannot start pgbouncer")?;
        let mut bouncer = PgBouncer { server, port, dir };
        let log = bouncer.dir.join("pgbouncer.log");
        bouncer.server.wait_listening("pgbouncer", port, &log, Duration::from_secs(20))?;
        Ok(bouncer)
    }

    /// `url` (a direct URL to the upstream server) pointed at the pooler, with `pgbouncer=true`.
    pub fn pooled_url(&self, direct: &str) -> String {
        let mut url = url::Url::parse(direct).expect("a database URL");
        url.set_port(Some(self.port)).expect("a port");
        url.query_pairs_mut().append_pair("pgbouncer", "true");
        url.into()
    }

    /// What pgbouncer logged (its errors, e.g. a refused startup parameter).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }
}
