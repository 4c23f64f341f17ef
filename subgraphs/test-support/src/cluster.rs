//! A private PostgreSQL cluster started from the machine's binaries, for tests
//! and for the development stack.
//!
//! The server runs under a small supervisor shell whose standard input is a
//! pipe from this process: when this process ends, however it ends, the pipe
//! closes and the supervisor stops PostgreSQL (and removes a throwaway data
//! directory). So no server is ever left behind.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context};

const INSTALL_HINT: &str = "PostgreSQL server binaries (initdb, postgres) were not found on PATH or under \
/usr/lib/postgresql/*/bin. Install them, e.g. `apt-get install postgresql` (Debian/Ubuntu) or \
`brew install postgresql@15` (macOS), or set DATABASE_ADMIN_URL to an existing server's superuser URL.";

#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Where the data directory lives; `None`: a fresh temporary directory.
    pub data_dir: Option<PathBuf>,
    /// `None`: any free port.
    pub port: Option<u16>,
    /// Trade durability for speed (fsync off): for throwaway test clusters.
    pub fast_unsafe: bool,
    /// Extra server settings, `name=value` (e.g. `shared_preload_libraries=pg_stat_statements`).
    pub settings: Vec<String>,
}

impl ClusterOptions {
    pub fn ephemeral() -> Self {
        ClusterOptions { data_dir: None, port: None, fast_unsafe: true, settings: Vec::new() }
    }

    pub fn persistent(data_dir: PathBuf, port: u16) -> Self {
        ClusterOptions { data_dir: Some(data_dir), port: Some(port), fast_unsafe: false, settings: Vec::new() }
    }

    /// A throwaway cluster that a test can stop and start again on the same
    /// port and data (to inject database outages). The test removes
    /// [`ClusterOptions::data_dir`] when done.
    pub fn restartable() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("titiktemu-pg-restartable-{}-{}", std::process::id(), nanos()));
        Ok(ClusterOptions {
            data_dir: Some(dir),
            port: Some(crate::free_ports(1)?[0]),
            fast_unsafe: true,
            settings: Vec::new(),
        })
    }
}

pub struct PrivateCluster {
    server: PipeSupervised,
    port: u16,
    password: String,
    data_dir: PathBuf,
}

impl PrivateCluster {
    pub fn start(options: ClusterOptions) -> anyhow::Result<Self> {
        let bin = find_bin_dir().context(INSTALL_HINT)?;
        let owner = server_user()?;
        let (base, throwaway) = match &options.data_dir {
            Some(dir) => (dir.clone(), false),
            None => (std::env::temp_dir().join(format!("titiktemu-pg-{}-{}", std::process::id(), nanos())), true),
        };
        std::fs::create_dir_all(&base).with_context(|| format!("cannot create {}", base.display()))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&base, Some(uid), Some(gid))
                .context("cannot hand the data directory to postgres")?;
        }
        let data_dir = base.join("data");
        let password_file = base.join("admin-password");
        if !data_dir.join("PG_VERSION").exists() {
            let password = migration::bootstrap::generate_password();
            write_private(&password_file, &password, owner)?;
            let mut initdb = Command::new(bin.join("initdb"));
            initdb
                .arg("-D")
                .arg(&data_dir)
                .args(["-U", "postgres", "-E", "UTF8", "--locale=C", "--auth=scram-sha-256", "--no-instructions"])
                .arg(format!("--pwfile={}", password_file.display()));
            if options.fast_unsafe {
                initdb.arg("--no-sync");
            }
            run_as(&mut initdb, owner);
            let output = initdb.output().context("cannot run initdb")?;
            if !output.status.success() {
                bail!("initdb failed: {}", String::from_utf8_lossy(&output.stderr));
            }
        }
        let password = std::fs::read_to_string(&password_file)
            .with_context(|| format!("cannot read {}", password_file.display()))?
            .trim()
            .to_owned();
        let port = match options.port {
            Some(port) => port,
            None => crate::free_ports(1)?[0],
        };
        let mut server_args = vec![
            format!("-p {port}"),
            "-c listen_addresses=127.0.0.1".to_owned(),
            format!("-c unix_socket_directories={}", base.display()),
            "-c max_connections=400".to_owned(),
        ];
        if options.fast_unsafe {
            server_args
                .extend(["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"].map(str::to_owned));
        }
        server_args.extend(options.settings.iter().map(|s| format!("-c {s}")));
        let server =
            format!(r#""$PG_BIN/postgres" -D "$PG_DATA" {} >>"$PG_BASE/postgres.log" 2>&1"#, server_args.join(" "));
        let cleanup = r#"if [ "$PG_THROWAWAY" = 1 ]; then rm -rf "$PG_BASE"; fi"#;
        let throwaway = if throwaway { "1" } else { "0" };
        let env = [
            ("PG_BIN", bin.as_os_str()),
            ("PG_DATA", data_dir.as_os_str()),
            ("PG_BASE", base.as_os_str()),
            ("PG_THROWAWAY", throwaway.as_ref()),
        ];
        let server = PipeSupervised::start(&server, "INT", cleanup, &env, owner).context("cannot start PostgreSQL")?;
        let mut cluster = PrivateCluster { server, port, password, data_dir };
        cluster.wait_ready(&base)?;
        Ok(cluster)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn admin_url(&self) -> String {
        format!("postgresql://postgres:{}@127.0.0.1:{}/postgres", self.password, self.port)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn wait_ready(&mut self, base: &Path) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let pid_file = self.data_dir.join("postmaster.pid");
        loop {
            // The last line of postmaster.pid turns to "ready" once connections are accepted.
            let ready = std::fs::read_to_string(&pid_file)
                .map(|s| s.lines().nth(7).is_some_and(|status| status.trim() == "ready"))
                .unwrap_or(false);
            if ready {
                return Ok(());
            }
            if let Some(status) = self.server.exited()? {
                let log = std::fs::read_to_string(base.join("postgres.log")).unwrap_or_default();
                bail!("PostgreSQL exited ({status}) while starting:\n{log}");
            }
            if Instant::now() > deadline {
                bail!("PostgreSQL did not become ready within 60 s (see {}/postgres.log)", base.display());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server and waits until it is gone.
    pub fn stop(mut self) {
        self.server.stop();
    }

    /// [`PrivateCluster::start`] from async code (it waits for the server on a blocking thread).
    pub async fn start_async(options: &ClusterOptions) -> anyhow::Result<Self> {
        let options = options.clone();
        tokio::task::spawn_blocking(move || PrivateCluster::start(options)).await?
    }

    /// [`PrivateCluster::stop`] from async code: an outage a test injects.
    pub async fn stop_async(self) {
        tokio::task::spawn_blocking(move || self.stop()).await.expect("stopping PostgreSQL panicked");
    }
}

/// A server in the background under a small `sh` supervisor whose standard
/// input is a pipe from this process, in a process group of its own (a Ctrl-C
/// in the terminal reaches us, not the server): when the pipe closes (dropped,
/// stopped, or this process ends in any way) the shell sends the server its
/// stop signal, waits for it to exit, then runs its clean-up. PostgreSQL,
/// PgBouncer and HAProxy all run this way.
pub(crate) struct PipeSupervised {
    shell: Child,
    stop_pipe: Option<ChildStdin>,
}

impl PipeSupervised {
    /// Runs `server` (a shell command line, which finds its paths in `env`)
    /// as `owner` if given; `stop_signal` (e.g. `INT`) stops it, and `cleanup`
    /// (a shell command line) runs once it has exited.
    pub(crate) fn start(
        server: &str,
        stop_signal: &str,
        cleanup: &str,
        env: &[(&str, &std::ffi::OsStr)],
        owner: Option<(u32, u32)>,
    ) -> anyhow::Result<Self> {
        let script = format!(
            "set -u\n{server} </dev/null &\npid=$!\ncat >/dev/null\nkill -{stop_signal} \"$pid\" 2>/dev/null\nwait \"$pid\"\n{cleanup}\n"
        );
        let mut shell = Command::new("sh");
        shell.arg("-c").arg(script).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
        shell.envs(env.iter().copied());
        std::os::unix::process::CommandExt::process_group(&mut shell, 0);
        run_as(&mut shell, owner);
        let mut shell = shell.spawn().context("cannot start the supervisor shell")?;
        let stop_pipe = Some(shell.stdin.take().context("the supervisor's stdin")?);
        Ok(PipeSupervised { shell, stop_pipe })
    }

    /// How the server ended, if it has.
    pub(crate) fn exited(&mut self) -> std::io::Result<Option<std::process::ExitStatus>> {
        self.shell.try_wait()
    }

    /// Waits until something accepts connections on loopback `port`; fails
    /// at once, with its log, if the server exits first, and after `within`.
    pub(crate) fn wait_listening(&mut self, what: &str, port: u16, log: &Path, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        let log = || std::fs::read_to_string(log).unwrap_or_default();
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.exited()? {
                bail!("{what} exited ({status}) while starting:\n{}", log());
            }
            if Instant::now() > deadline {
                bail!("{what} did not listen within {within:?}:\n{}", log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server and waits until it is gone (and cleaned up).
    pub(crate) fn stop(&mut self) {
        drop(self.stop_pipe.take());
        let _ = self.shell.wait();
    }
}

impl Drop for PipeSupervised {
    fn drop(&mut self) {
        self.stop();
    }
}

/// PostgreSQL refuses to run as root: when we are root, the server runs as
/// the `postgres` user (created by the distribution's packages).
pub(crate) fn server_user() -> anyhow::Result<Option<(u32, u32)>> {
    let uid = Command::new("id").arg("-u").output().context("cannot run `id`")?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").context("cannot read /etc/passwd")?;
    let entry = passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&"postgres") && fields.len() > 3)
        .context("running as root, but there is no `postgres` user to run PostgreSQL as (create one with `useradd -r postgres`)")?;
    Ok(Some((entry[2].parse()?, entry[3].parse()?)))
}

pub(crate) fn run_as(command: &mut Command, owner: Option<(u32, u32)>) {
    if let Some((uid, gid)) = owner {
        use std::os::unix::process::CommandExt;
        command.uid(uid).gid(gid).env("HOME", "/tmp").current_dir("/");
    }
}

pub(crate) fn write_private(path: &Path, contents: &str, owner: Option<(u32, u32)>) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    }
    Ok(())
}

/// A Debian package's program, in `/usr/sbin` or `/usr/bin`; the error says
/// how to install it.
pub(crate) fn debian_program(name: &str, package: &str) -> anyhow::Result<PathBuf> {
    ["/usr/sbin", "/usr/bin"]
        .into_iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.exists())
        .with_context(|| format!("{name} was not found: run scripts/setup-machine.sh (apt-get install {package})"))
}

/// `initdb`'s directory: from PATH, else the newest `/usr/lib/postgresql/*/bin`.
pub fn find_bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    for dir in on_path {
        let initdb = dir.join("initdb");
        if initdb.exists() {
            let resolved = std::fs::canonicalize(&initdb).unwrap_or(initdb);
            let bin = resolved.parent()?.to_path_buf();
            if bin.join("postgres").exists() {
                return Some(bin);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

pub(crate) fn nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default()
}
