//! What an accept loop does when accepting fails, as asyncio does when it runs out of
//! descriptors or memory: say so once, stop accepting for [`ACCEPT_RETRY_DELAY`] while the
//! connections already open are served, then try again. Without the pause a listener whose
//! backlog holds a connection it cannot take stays ready, and the loop spins (issue 9: 40%
//! CPU and hundreds of thousands of log lines at `ulimit -n`).

use std::net::SocketAddr;
use std::time::Duration;

use crate::error::Error;

/// How long accepting stops after a failure (asyncio's `base_events.ACCEPT_RETRY_DELAY`).
pub(super) const ACCEPT_RETRY_DELAY: Duration = Duration::from_secs(1);

/// While accepts keep failing for the same cause, it is told again at most this often.
const REMINDER_INTERVAL: Duration = Duration::from_secs(60);

/// One listener's run of failing accepts, for its log lines: the first failure of a run is
/// told, then a reminder a minute, then the end of the run.
#[derive(Debug, Default)]
pub(super) struct AcceptFailures {
    run: Option<FailureRun>,
}

#[derive(Debug)]
struct FailureRun {
    cause: String,
    started: Duration,
    last_told: Duration,
    pauses: u64,
}

impl AcceptFailures {
    /// Records that accepting on `address` failed with `error` at `now` (monotonic time) and
    /// that accepting pauses; the line to log, if one is due.
    pub(super) fn failed(&mut self, address: SocketAddr, error: &Error, now: Duration) -> Option<String> {
        let cause = error.to_string();
        let pause = ACCEPT_RETRY_DELAY.as_secs_f64();
        match &mut self.run {
            Some(run) if run.cause == cause => {
                run.pauses += 1;
                if now.saturating_sub(run.last_told) < REMINDER_INTERVAL {
                    return None;
                }
                run.last_told = now;
                let lasted = now.saturating_sub(run.started).as_secs();
                Some(format!(
                    "wasio: accept on {address} still failing after {lasted} s ({} pauses): {cause}",
                    run.pauses
                ))
            }
            _ => {
                self.run = Some(FailureRun { cause: cause.clone(), started: now, last_told: now, pauses: 1 });
                Some(format!(
                    "wasio: {cause}; not accepting for {pause} s (open connections are still served)"
                ))
            }
        }
    }

    /// Records that accepting on `address` works (no failure until nothing was left to
    /// take); the line ending a run of failures, if there was one.
    pub(super) fn succeeded(&mut self, address: SocketAddr, now: Duration) -> Option<String> {
        let run = self.run.take()?;
        let lasted = now.saturating_sub(run.started).as_secs_f64();
        Some(format!("wasio: accepting on {address} again after {lasted:.1} s ({} pauses)", run.pauses))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> Duration {
        Duration::from_secs(seconds)
    }

    #[test]
    fn a_run_of_failures_is_told_once_reminded_and_ended() {
        let address: SocketAddr = "127.0.0.1:8888".parse().unwrap();
        let error = Error::TooManyOpenFiles("accept on 127.0.0.1:8888".into());
        let mut failures = AcceptFailures::default();
        assert_eq!(failures.succeeded(address, at(0)), None);
        let first = failures.failed(address, &error, at(0)).unwrap();
        assert_eq!(
            first,
            "wasio: too many open files: accept on 127.0.0.1:8888; not accepting for 1 s \
             (open connections are still served)"
        );
        for second in 1..60 {
            assert_eq!(failures.failed(address, &error, at(second)), None);
        }
        let reminder = failures.failed(address, &error, at(60)).unwrap();
        assert!(reminder.contains("still failing after 60 s (61 pauses): too many open files"), "{reminder}");
        let end = failures.succeeded(address, at(61)).unwrap();
        assert_eq!(end, "wasio: accepting on 127.0.0.1:8888 again after 61.0 s (61 pauses)");
        assert_eq!(failures.succeeded(address, at(62)), None);
    }

    #[test]
    fn a_new_cause_is_told_at_once() {
        let address: SocketAddr = "127.0.0.1:8888".parse().unwrap();
        let mut failures = AcceptFailures::default();
        failures.failed(address, &Error::TooManyOpenFiles("accept".into()), at(0)).unwrap();
        let line = failures.failed(address, &Error::OutOfMemory("accept".into()), at(1)).unwrap();
        assert!(line.starts_with("wasio: out of memory: accept; not accepting"), "{line}");
    }
}
