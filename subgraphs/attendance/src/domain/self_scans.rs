//! Self check-ins per person and event: a person toggling entry and exit at
//! an open event would otherwise flood the log, the counts and every live
//! subscriber.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use uuid::Uuid;

use super::AttendanceError;

/// Self check-ins per person and event, in one-minute windows: a person
/// toggling entry and exit at an open event would otherwise flood the log,
/// the counts and every live subscriber. Scanners are not held to it. Kept
/// per instance (a refused self-scan is never logged, so the database cannot
/// count it), so behind N instances a person may make up to N times the rate.
#[derive(Clone)]
pub(super) struct SelfScanLimiter {
    per_minute: u32,
    windows: Arc<Mutex<HashMap<(Uuid, Uuid), Window>>>,
}

/// One person's self-scans at one event in the current window.
struct Window {
    started: Instant,
    count: u32,
}

/// Windows kept at most; past it, those that ended are forgotten.
const MAX_SELF_SCAN_WINDOWS: usize = 100_000;
const SELF_SCAN_WINDOW: Duration = Duration::from_secs(60);

impl SelfScanLimiter {
    pub(super) fn new(per_minute: u32) -> Self {
        SelfScanLimiter { per_minute, windows: Default::default() }
    }

    /// Counts one self-scan of `person` at `event`, or refuses it.
    pub(super) fn take(&self, event: Uuid, person: Uuid) -> Result<(), AttendanceError> {
        let now = Instant::now();
        let mut windows = self.windows.lock().expect("self-scan windows lock");
        if windows.len() >= MAX_SELF_SCAN_WINDOWS {
            windows.retain(|_, window| now.duration_since(window.started) < SELF_SCAN_WINDOW);
        }
        let window = windows.entry((event, person)).or_insert(Window { started: now, count: 0 });
        if now.duration_since(window.started) >= SELF_SCAN_WINDOW {
            *window = Window { started: now, count: 0 };
        }
        if window.count >= self.per_minute {
            metrics::counter!(common::telemetry::metrics::THROTTLE_BLOCKS, "throttle" => "self_scan").increment(1);
            let retry_after = SELF_SCAN_WINDOW.saturating_sub(now.duration_since(window.started));
            return Err(AttendanceError::TooManySelfScans { per_minute: self.per_minute, retry_after });
        }
        window.count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_scans_are_counted_per_person_and_event() {
        let limiter = SelfScanLimiter::new(3);
        let (event, person, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        for _ in 0..3 {
            limiter.take(event, person).unwrap();
        }
        match limiter.take(event, person) {
            Err(AttendanceError::TooManySelfScans { per_minute: 3, retry_after }) => {
                assert!(retry_after <= SELF_SCAN_WINDOW && retry_after > Duration::from_secs(50));
            }
            other => panic!("{other:?}"),
        }
        limiter.take(event, other).unwrap();
        limiter.take(Uuid::now_v7(), person).unwrap();
    }
}
