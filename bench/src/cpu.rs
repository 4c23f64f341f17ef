//! Where the CPU goes: the user + system time of each process of the stack,
//! read from /proc before and after a scenario and divided by its requests.
//! On a machine where every process shares two cores, a closed loop of `c`
//! clients that keeps the cores busy has p50 ≈ c × (CPU per request) / cores,
//! so this says which process a latency target is waiting on.

use serde::Serialize;

/// /proc counts CPU time in USER_HZ ticks, which Linux fixes at 100 per second.
const TICK_MS: f64 = 10.0;

#[derive(Debug, Clone, Copy)]
enum Source {
    /// One process (all its threads).
    Process(u32),
    /// The PostgreSQL postmaster and every backend it has forked.
    Postmaster(u32),
    /// The benchmark's own load-driving client.
    Own,
}

/// The processes to account for, found once when the stack is up.
pub struct CpuMeter {
    parts: Vec<(String, Source)>,
}

/// Ticks per part at one moment.
pub struct CpuSnapshot(Vec<u64>);

/// CPU milliseconds per request, per process (`client` is the load driver).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CpuPerRequest(pub Vec<(String, f64)>);

impl CpuMeter {
    /// `services`: a name and the port its process listens on; `postgres_port`:
    /// the private cluster's port.
    pub fn new(services: &[(&str, u16)], postgres_port: u16) -> Self {
        let mut parts: Vec<(String, Source)> = services
            .iter()
            .filter_map(|(name, port)| {
                Some(((*name).to_owned(), Source::Process(crate::procfs::listening_pid(*port)?)))
            })
            .collect();
        if let Some(pid) = crate::procfs::listening_pid(postgres_port) {
            parts.push(("postgres".to_owned(), Source::Postmaster(pid)));
        }
        parts.push(("client".to_owned(), Source::Own));
        CpuMeter { parts }
    }

    pub fn snapshot(&self) -> CpuSnapshot {
        CpuSnapshot(
            self.parts
                .iter()
                .map(|(_, source)| match *source {
                    Source::Process(pid) => ticks(&pid.to_string()).unwrap_or(0),
                    Source::Own => ticks("self").unwrap_or(0),
                    // The live backends, plus what the postmaster has collected
                    // from those that exited (a pool may close idle connections).
                    Source::Postmaster(pid) => {
                        let pid = pid.to_string();
                        ticks(&pid).unwrap_or(0)
                            + reaped_ticks(&pid).unwrap_or(0)
                            + children(&pid).iter().filter_map(|c| ticks(c)).sum::<u64>()
                    }
                })
                .collect(),
        )
    }

    /// What each part used between `before` and `after`, per request.
    pub fn per_request(&self, before: &CpuSnapshot, after: &CpuSnapshot, requests: u64) -> CpuPerRequest {
        let requests = requests.max(1) as f64;
        CpuPerRequest(
            self.parts
                .iter()
                .zip(before.0.iter().zip(&after.0))
                .map(|((name, _), (b, a))| (name.clone(), a.saturating_sub(*b) as f64 * TICK_MS / requests))
                .collect(),
        )
    }
}

impl CpuPerRequest {
    pub fn total(&self) -> f64 {
        self.0.iter().map(|(_, ms)| ms).sum()
    }

    /// One process's milliseconds (0 when it was not measured).
    pub fn of(&self, process: &str) -> f64 {
        self.0.iter().find(|(name, _)| name == process).map_or(0.0, |(_, ms)| *ms)
    }
}

/// utime + stime of `/proc/{pid}/stat` (fields 14 and 15).
fn ticks(pid: &str) -> Option<u64> {
    stat_sum(pid, 14, 15)
}

/// cutime + cstime (fields 16 and 17): the time of children the process has
/// waited for.
fn reaped_ticks(pid: &str) -> Option<u64> {
    stat_sum(pid, 16, 17)
}

/// The sum of two numeric fields of `/proc/{pid}/stat`, numbered as in proc(5).
fn stat_sum(pid: &str, a: usize, b: usize) -> Option<u64> {
    let fields = stat_fields(pid)?;
    Some(fields.get(a - 3)?.parse::<u64>().ok()? + fields.get(b - 3)?.parse::<u64>().ok()?)
}

/// Fields 3 onwards of `/proc/{pid}/stat` (index 0 is field 3). The command
/// name, field 2, is in parentheses and may hold spaces, so fields are counted
/// from its end.
fn stat_fields(pid: &str) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat.get(stat.rfind(')')? + 2..)?.split_whitespace().map(str::to_owned).collect())
}

/// The processes whose parent is `parent` (field 4 of their stat).
fn children(parent: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.to_owned();
            pid.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
            (stat_fields(&pid)?.get(4 - 3)? == parent).then_some(pid)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cpu_time_is_read_and_grows() {
        let meter = CpuMeter { parts: vec![("client".into(), Source::Own)] };
        let before = meter.snapshot();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(60) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let used = meter.per_request(&before, &meter.snapshot(), 1);
        assert!(used.total() >= 20.0, "{used:?}");
    }

    #[test]
    fn children_are_found_by_their_parent() {
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let found = children(&std::process::id().to_string());
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(found.contains(&child.id().to_string()), "{found:?}");
    }

    #[test]
    fn the_time_of_exited_children_is_still_counted() {
        let before = reaped_ticks("self").unwrap();
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(reaped_ticks("self").unwrap() > before, "a busy child that exited adds to cutime + cstime");
    }
}
