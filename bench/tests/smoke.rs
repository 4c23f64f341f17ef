//! A few seconds of every scenario against the debug binaries, so the
//! harness cannot rot. It asserts that scenarios complete without errors,
//! never timings (those belong to `cargo xtask bench`).

#[tokio::test]
async fn every_scenario_runs_without_errors() {
    let config = bench::BenchConfig::smoke(test_support::stack::target_dir().join("debug"));
    let report = bench::run(config).await.unwrap_or_else(|e| panic!("benchmark failed: {e:#}"));
    for scenario in &report.scenarios {
        assert!(scenario.measured.load.requests > 0, "{} sent nothing", scenario.name);
        assert_eq!(scenario.measured.load.errors, 0, "{}: {:?}", scenario.name, scenario.measured.load.first_error);
        assert!(
            scenario.measured.sql_per_request > 0.0 || scenario.name.starts_with('4'),
            "{} counted no SQL",
            scenario.name
        );
    }
    assert_eq!(report.health_during_logins.as_ref().map(|h| h.errors), Some(0));
    assert!(report.insert_reference.transactions_per_second > 0.0);
    assert!(report.argon2.hashes_per_second > 0.0);
    println!("{}", report.table());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_under_load_loses_no_acknowledged_check_in() {
    soak(bench::soak::Fault::Restart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_under_load_loses_nothing_acknowledged_and_leaves_nothing_half_written() {
    soak(bench::soak::Fault::Crash).await;
}

async fn soak(fault: bench::soak::Fault) {
    let mut config = bench::BenchConfig::smoke(test_support::stack::target_dir().join("debug"));
    config.duration = std::time::Duration::from_secs(6);
    let report = bench::soak::run(&config, 8, fault).await.unwrap_or_else(|e| panic!("soak failed: {e:#}"));
    println!("{}", report.summary());
    assert!(report.acknowledged > 0, "no check-in went through");
    assert_eq!(report.lost, 0, "acknowledged check-ins were lost");
    assert_eq!(report.inconsistent_events, 0, "counters and rows disagree");
    assert!(report.serves_after, "the stack did not serve normally after the restart");
}

/// The replica fault run, short: two instances of each service and two
/// routers behind HAProxy, PgBouncer in transaction mode, an attendance
/// instance and a router killed midway (`cargo xtask bench --replica-fault`
/// is the full one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_behind_haproxy_and_pgbouncer_lose_nothing_when_one_of_each_dies() {
    let mut config = bench::BenchConfig::smoke(test_support::stack::target_dir().join("debug"));
    config.duration = std::time::Duration::from_secs(8);
    let report = bench::replicas::run(&config, 16).await.unwrap_or_else(|e| panic!("replica run failed: {e:#}"));
    println!("{}", report.summary());
    report.holds().unwrap();
}
