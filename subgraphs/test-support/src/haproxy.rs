//! HAProxy (Debian's package) on loopback in front of replicas: one HTTP
//! frontend per group, round robin over its servers, health-checked every
//! 300 ms (down after two failures, up after two passes), a request whose
//! connection fails is sent to another server. Stopped (by the same
//! pipe-supervisor as [`crate::cluster`]) when dropped.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;

use crate::cluster::{nanos, PipeSupervised};

/// One load-balanced group: where it listens, its servers as `(port,
/// health port)` on loopback, and the path that says a server is ready.
pub struct Frontend {
    pub listen: u16,
    pub servers: Vec<(u16, u16)>,
    pub health_path: &'static str,
}

pub struct HaProxy {
    server: PipeSupervised,
    dir: PathBuf,
}

impl HaProxy {
    pub fn start(frontends: &[Frontend]) -> anyhow::Result<HaProxy> {
        let binary = crate::cluster::debian_program("haproxy", "haproxy")?;
        let dir = std::env::temp_dir().join(format!("titiktemu-haproxy-{}-{}", std::process::id(), nanos()));
        std::fs::create_dir_all(&dir)?;
        let mut config = String::from(
            "global\n  maxconn 4000\n\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 60s\n  \
             timeout server 30s\n  timeout http-keep-alive 10s\n  retries 3\n  option redispatch\n  \
             retry-on conn-failure\n\n",
        );
        for (i, frontend) in frontends.iter().enumerate() {
            config.push_str(&format!(
                "frontend f{i}\n  bind 127.0.0.1:{listen}\n  default_backend b{i}\n\nbackend b{i}\n  balance roundrobin\n  \
                 option httpchk GET {path}\n  http-check expect status 200\n  default-server inter 300ms fall 2 rise 2\n",
                listen = frontend.listen,
                path = frontend.health_path
            ));
            for (j, (port, health)) in frontend.servers.iter().enumerate() {
                config.push_str(&format!("  server s{j} 127.0.0.1:{port} check port {health}\n"));
            }
            config.push('\n');
        }
        std::fs::write(dir.join("haproxy.cfg"), config)?;
        let env = [("HAPROXY", binary.as_os_str()), ("DIR", dir.as_os_str())];
        let server = r#""$HAPROXY" -db -f "$DIR/haproxy.cfg" >>"$DIR/haproxy.log" 2>&1"#;
        let server =
            PipeSupervised::start(server, "TERM", r#"rm -rf "$DIR""#, &env, None).context("cannot start haproxy")?;
        let mut proxy = HaProxy { server, dir };
        if let Some(first) = frontends.first() {
            let log = proxy.dir.join("haproxy.log");
            proxy.server.wait_listening("haproxy", first.listen, &log, Duration::from_secs(10))?;
        }
        Ok(proxy)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("haproxy.log")).unwrap_or_default()
    }
}
