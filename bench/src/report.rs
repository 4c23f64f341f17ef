//! The benchmark's report: a Markdown table of every scenario beside its
//! reference, CPU per request by process, idle memory.

use crate::{bench::scenario_id, Report};

impl Report {
    /// A Markdown table, as in the README.
    pub fn table(&self) -> String {
        let mut out = format!("Machine: {}\nExporting: {:?}\n\n", self.machine, self.observability);
        out.push_str("| scenario | clients | req/s | p50 ms | p95 ms | p99 ms | errors | SQL/req | reference | ratio | target | met |\n");
        out.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for s in &self.scenarios {
            let l = &s.measured.load;
            out.push_str(&format!(
                "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.2} | {} | {} | {} | {} |\n",
                s.name,
                l.clients,
                l.requests_per_second,
                l.p50_ms,
                l.p95_ms,
                l.p99_ms,
                l.errors,
                s.measured.sql_per_request,
                s.reference,
                s.ratio.map(|r| format!("{r:.2}")).unwrap_or_else(|| "-".into()),
                s.target,
                match s.met {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "-",
                }
            ));
        }
        out.push_str(
            "\nCPU per request, in ms, by process (user + system time during the scenario; `client` is the \
             load driver itself):\n\n",
        );
        let names: Vec<&str> = self
            .scenarios
            .first()
            .map(|s| s.measured.cpu_ms_per_request.0.iter().map(|(n, _)| n.as_str()).collect())
            .unwrap_or_default();
        out.push_str(&format!("| scenario | {} | total |\n", names.join(" | ")));
        out.push_str(&format!("|---|{}---|\n", "---|".repeat(names.len())));
        for s in &self.scenarios {
            let cells: Vec<String> = s.measured.cpu_ms_per_request.0.iter().map(|(_, ms)| format!("{ms:.2}")).collect();
            out.push_str(&format!(
                "| {} | {} | {:.2} |\n",
                s.name,
                cells.join(" | "),
                s.measured.cpu_ms_per_request.total()
            ));
        }
        if let Some(door) = self.scenarios.iter().find(|s| scenario_id(&s.name) == "1") {
            out.push_str(&door_list_cpu(&door.measured.cpu_ms_per_request));
        }
        let rss: Vec<String> = self.idle_rss_mib.iter().map(|(n, m)| format!("{n} {m:.1} MiB")).collect();
        out.push_str(&format!("\nIdle RSS (target < 30 MiB each): {}\n", rss.join(", ")));
        if let Some(live) = &self.live {
            out.push_str(&format!(
                "\n8. live updates (SSE): {} subscribers on {} attendance instances, {} check-ins at {:.0}/s: \
                 acknowledgement to update p50 {:.1} ms, p99 {:.1} ms (target < 250 ms); {} subscribers off the \
                 table's final count; {:.1} KiB per idle subscriber (target < 50 KiB)\n",
                live.subscribers,
                live.instances,
                live.check_ins,
                live.check_ins_per_second,
                live.p50_ms,
                live.p99_ms,
                live.wrong_final_state,
                live.kib_per_idle_subscriber
            ));
        }
        out
    }

    pub fn errors(&self) -> u64 {
        self.scenarios.iter().map(|s| s.measured.load.errors).sum::<u64>()
            + self.health_during_logins.as_ref().map_or(0, |h| h.errors)
    }
}

pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cores} cores, {cpu}")
}

/// Scenario 1's CPU outside the router against the router's own (issue 35's
/// target: ours at most the router's, with the same rights applied).
fn door_list_cpu(cpu: &crate::cpu::CpuPerRequest) -> String {
    let parts = ["auth", "attendance", "event", "postgres"];
    let ours: f64 = parts.iter().map(|p| cpu.of(p)).sum();
    let router = cpu.of("router");
    let ratio = if router > 0.0 { ours / router } else { f64::INFINITY };
    format!(
        "\n1. door list: our CPU per request {ours:.2} ms ({}) = {ratio:.2}× the router's {router:.2} ms \
         (target ≤ 1.00: {})\n",
        parts.map(|p| format!("{p} {:.2}", cpu.of(p))).join(", "),
        if ratio <= 1.0 { "met" } else { "not met" }
    )
}
