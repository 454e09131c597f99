//! `--restart on-failure`: start a failed component again, after a back-off that doubles
//! each time, until it succeeds or the restarts run out.

use std::time::Duration;

use crate::error::HostError;
use crate::runner::Runner;
use crate::{RestartPolicy, RunOutcome};

/// The first back-off; it doubles with each restart, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Runs the component, restarting it per `policy`, calling `before_each_start` before each
/// start (see [`crate::instances`]); returns the last outcome.
pub async fn supervise_with(
    runner: &Runner,
    policy: RestartPolicy,
    before_each_start: fn(),
) -> Result<RunOutcome, HostError> {
    let mut restarts = 0;
    loop {
        before_each_start();
        let outcome = runner.run_once().await;
        let failure = match &outcome {
            Ok(RunOutcome::Success) | Ok(RunOutcome::Exit(0)) => None,
            Ok(other) => Some(format!("exited with code {}", other.exit_code())),
            Err(error) if error.is_guest_failure() => Some(error.to_string()),
            Err(_) => None,
        };
        let Some(failure) = failure else { return outcome };
        if !policy.on_failure || restarts >= policy.max_restarts {
            if policy.on_failure {
                tracing::error!("component failed ({failure}); no restarts left ({restarts} made)");
            }
            return outcome;
        }
        restarts += 1;
        if let Some(metrics) = runner.instance_metrics() {
            metrics.restarts.inc();
        }
        let delay = backoff(restarts);
        tracing::warn!(
            "component failed ({failure}); restarting in {delay:?} (restart {restarts} of {})",
            policy.max_restarts
        );
        tokio::time::sleep(delay).await;
    }
}

/// The wait before restart number `restart` (1-based).
fn backoff(restart: u32) -> Duration {
    FIRST_BACKOFF.saturating_mul(1 << restart.saturating_sub(1).min(16)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(200));
        assert_eq!(backoff(4), Duration::from_millis(800));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }
}
