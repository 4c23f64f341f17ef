//! Child processes that cannot outlive us: each runs under a small bash
//! supervisor whose standard input is a pipe from this process. When the pipe
//! closes (we stop it, or this process ends in any way), the supervisor sends
//! SIGTERM, waits for a graceful exit (SIGKILL after 10 s) and exits too. The
//! child's output is passed through with a `[name]` prefix, or kept quiet
//! with its last lines at hand for the error when the child dies early.

use std::{
    collections::VecDeque,
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, ChildStdin, Command, Stdio},
    sync::{Arc, Mutex},
};

/// How many of a process's last output lines [`Supervised::last_lines`] keeps.
const KEPT_LINES: usize = 30;

use anyhow::Context;

// The supervisor polls (`read -t` on its standard input, a builtin, and
// `kill -0`) rather than `wait -n`: bash forgets a job that ended before
// `wait -n` is called, which then waited for the pipe instead, so a program
// that died at once looked alive. Its stderr joins stdout (`exec 2>&1`).
const SUPERVISOR: &str = r#"
exec 2>&1
"$@" </dev/null &
child=$!
while kill -0 "$child" 2>/dev/null; do
  read -r -t 0.05 _
  # Past 128: the wait timed out; anything else: the pipe closed (or spoke).
  [ $? -gt 128 ] || break
done
if kill -0 "$child" 2>/dev/null; then
  kill -TERM "$child" 2>/dev/null
  ( sleep 10; kill -KILL "$child" 2>/dev/null ) &
  killer=$!
  wait "$child"; status=$?
  kill "$killer" 2>/dev/null
else
  wait "$child"; status=$?
fi
exit $status
"#;

pub struct Supervised {
    pub name: String,
    supervisor: Child,
    stop_pipe: Option<ChildStdin>,
    last_lines: Arc<Mutex<VecDeque<String>>>,
}

/// Where a supervised process's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// To our stderr, each line prefixed with the process name.
    Prefixed,
    /// Not shown unless `TEST_LOG` is set (for tests); the last lines are
    /// kept for [`Supervised::last_lines`].
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
        // One pipe for both streams (the script sends stderr to stdout), so
        // its lines arrive in the order written: the error a dying process
        // prints last is the last line kept.
        command.stdout(Stdio::piped()).stderr(Stdio::null());
        // Own process group: Ctrl-C in a terminal reaches the launcher, which
        // then stops everything in order.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut supervisor = command.spawn().with_context(|| format!("cannot start {name}"))?;
        let last_lines = Arc::new(Mutex::new(VecDeque::with_capacity(KEPT_LINES)));
        if let Some(stream) = supervisor.stdout.take() {
            let prefix = format!("[{name}] ");
            let last_lines = Arc::clone(&last_lines);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if show {
                        eprintln!("{prefix}{line}");
                    }
                    let mut kept = last_lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if kept.len() == KEPT_LINES {
                        kept.pop_front();
                    }
                    kept.push_back(line);
                }
            });
        }
        let stop_pipe = supervisor.stdin.take();
        Ok(Supervised { name: name.to_owned(), supervisor, stop_pipe, last_lines })
    }

    /// The process's last lines of output (stdout and stderr as they came),
    /// for the error when it dies while starting.
    pub fn last_lines(&self) -> String {
        let kept = self.last_lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.iter().map(String::as_str).collect::<Vec<_>>().join("\n")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_process_that_dies_leaves_its_last_lines() {
        let script = "for i in $(seq 1 40); do echo line $i; done; echo 'address in use' >&2; exit 1";
        let mut process = Supervised::spawn("dies", Path::new("/bin/sh"), &["-c", script], &[], Output::Quiet).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while process.is_running() {
            assert!(std::time::Instant::now() < deadline, "the process did not exit");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // Its output's last lines reach us a moment after it exits (more under load).
        while !process.last_lines().contains("address in use") && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let lines = process.last_lines();
        assert!(lines.contains("address in use"), "{lines}");
        assert!(lines.contains("line 40") && !lines.contains("line 1\n"), "{lines}");
        assert_eq!(lines.lines().count(), KEPT_LINES);
    }
}
