//! Child processes that cannot outlive us: each runs under a small bash
//! supervisor whose standard input is a pipe from this process. When the pipe
//! closes (we stop it, or this process ends in any way), the supervisor sends
//! SIGTERM, waits for a graceful exit (SIGKILL after 10 s) and exits too. The
//! child's output is passed through with a `[name]` prefix.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, ChildStdin, Command, Stdio},
};

use anyhow::Context;

// Background jobs of a non-interactive shell read /dev/null unless told
// otherwise, hence fd 3 to hand our pipe to the watcher.
const SUPERVISOR: &str = r#"
exec 3<&0
"$@" </dev/null 3<&- &
child=$!
cat <&3 >/dev/null 3<&- &
watcher=$!
exec 3<&-
wait -n "$child" "$watcher"
if kill -0 "$child" 2>/dev/null; then
  kill -TERM "$child" 2>/dev/null
  ( sleep 10; kill -KILL "$child" 2>/dev/null ) &
  killer=$!
  wait "$child"; status=$?
  kill "$killer" 2>/dev/null
else
  wait "$child"; status=$?
  kill "$watcher" 2>/dev/null
fi
exit $status
"#;

pub struct Supervised {
    pub name: String,
    supervisor: Child,
    stop_pipe: Option<ChildStdin>,
}

/// Where a supervised process's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// To our stderr, each line prefixed with the process name.
    Prefixed,
    /// Discarded unless `TEST_LOG` is set (for tests).
    Quiet,
}

impl Supervised {
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[&str],
        env: &[(String, String)],
        output: Output,
    ) -> anyhow::Result<Self> {
        if !program.exists() {
            anyhow::bail!(
                "{} does not exist: build it first (`cargo xtask test` and `cargo xtask dev` do)",
                program.display()
            );
        }
        let mut command = Command::new("bash");
        command.arg("-c").arg(SUPERVISOR).arg("supervisor").arg(program).args(args);
        command.envs(env.iter().map(|(k, v)| (k, v))).stdin(Stdio::piped());
        let show = output == Output::Prefixed || std::env::var_os("TEST_LOG").is_some();
        if show {
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
        } else {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        }
        // Own process group: Ctrl-C in a terminal reaches the launcher, which
        // then stops everything in order.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut supervisor = command.spawn().with_context(|| format!("cannot start {name}"))?;
        if show {
            for stream in [
                supervisor.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
                supervisor.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            ]
            .into_iter()
            .flatten()
            {
                let prefix = format!("[{name}] ");
                std::thread::spawn(move || {
                    for line in BufReader::new(stream).lines().map_while(Result::ok) {
                        eprintln!("{prefix}{line}");
                    }
                });
            }
        }
        let stop_pipe = supervisor.stdin.take();
        Ok(Supervised { name: name.to_owned(), supervisor, stop_pipe })
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.supervisor.try_wait(), Ok(None))
    }

    /// Kills the process at once (SIGKILL), as a crash or a power cut would:
    /// no graceful shutdown, no draining. Waits until it is gone.
    pub fn kill(&mut self) {
        // The supervised program is a child of the supervisor shell.
        let _ = std::process::Command::new("pkill").args(["-KILL", "-P", &self.supervisor.id().to_string()]).status();
        self.stop();
    }

    /// Graceful stop (SIGTERM, then SIGKILL after 10 s); waits until it is gone.
    pub fn stop(&mut self) {
        drop(self.stop_pipe.take());
        let _ = self.supervisor.wait();
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.stop();
    }
}
