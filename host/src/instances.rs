//! `--instances N|auto`: N instances of one compiled component, each with its own store on
//! its own thread (with its own current-thread tokio runtime, as the single instance has), the
//! sockets they bind shared through SO_REUSEPORT ([`crate::reuse_port`]) so the kernel spreads
//! the connections over them.
//!
//! Each instance is supervised alone: `--restart on-failure` starts again only the instance
//! that failed (its `--max-restarts` are its own), while the others keep serving. An instance
//! that fails for good (no restart, or none left) stops the whole run with its outcome, as a
//! single instance would; instances that end successfully just end, and the run ends when all
//! have. Dropping the run (a signal, `--timeout`) stops every instance.

use std::num::NonZeroUsize;
use std::str::FromStr;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::error::HostError;
use crate::runner::Runner;
use crate::{reuse_port, supervisor, RestartPolicy, RunOutcome};

/// How many instances: a number, or `auto` (the cores this process may use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstanceCount(pub NonZeroUsize);

impl InstanceCount {
    pub const ONE: InstanceCount = InstanceCount(NonZeroUsize::MIN);

    pub fn get(self) -> usize {
        self.0.get()
    }
}

impl Default for InstanceCount {
    fn default() -> Self {
        InstanceCount::ONE
    }
}

impl FromStr for InstanceCount {
    type Err = String;

    /// `1`, `4`, or `auto` ([`std::thread::available_parallelism`], 1 if unknown).
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "auto" {
            let cores = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
            return Ok(InstanceCount(cores));
        }
        match s.parse::<NonZeroUsize>() {
            Ok(n) => Ok(InstanceCount(n)),
            Err(_) => Err(format!("expected a number of instances (1 or more) or `auto`, got `{s}`")),
        }
    }
}

/// Runs `count` instances of `runner`'s component until all have ended or one failed for good.
pub(crate) async fn run(
    runner: Runner,
    count: usize,
    restart: RestartPolicy,
) -> Result<RunOutcome, HostError> {
    let runner = Arc::new(runner);
    let (stop, stopped) = watch::channel(false);
    // Dropped with this future (a signal, a timeout): tells every instance thread to stop.
    let _stop_all = StopOnDrop(stop);
    let (ended, mut endings) = mpsc::unbounded_channel();
    for index in 0..count {
        let (runner, mut stopped, ended) = (Arc::clone(&runner), stopped.clone(), ended.clone());
        let thread = std::thread::Builder::new().name(format!("instance-{index}")).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(source) => return drop(ended.send((index, Err(HostError::Runtime { source })))),
            };
            let outcome = runtime.block_on(async {
                tokio::select! {
                    outcome = supervise(&runner, restart) => Some(outcome),
                    _ = stopped.wait_for(|stop| *stop) => None,
                }
            });
            // Leftover tasks (a DNS lookup the guest abandoned) are not waited for.
            runtime.shutdown_background();
            if let Some(outcome) = outcome {
                let _ = ended.send((index, outcome));
            }
        });
        if let Err(source) = thread {
            return Err(HostError::Runtime { source });
        }
    }
    drop(ended);
    let mut last = Ok(RunOutcome::Success);
    while let Some((index, outcome)) = endings.recv().await {
        let failed = match &outcome {
            Ok(RunOutcome::Success) | Ok(RunOutcome::Exit(0)) => false,
            Ok(_) | Err(_) => true,
        };
        if failed {
            tracing::error!("instance {index} failed: stopping all {count} instances");
            return outcome;
        }
        tracing::debug!("instance {index} ended");
        last = outcome;
    }
    last
}

/// One instance, restarted alone per `restart`; its binds of port 0 start over at each start.
async fn supervise(runner: &Runner, restart: RestartPolicy) -> Result<RunOutcome, HostError> {
    supervisor::supervise_with(runner, restart, reuse_port::new_instance_on_this_thread).await
}

struct StopOnDrop(watch::Sender<bool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_count_or_auto() {
        assert_eq!("3".parse::<InstanceCount>().unwrap().get(), 3);
        assert!("auto".parse::<InstanceCount>().unwrap().get() >= 1);
        assert!("0".parse::<InstanceCount>().is_err());
        assert!("many".parse::<InstanceCount>().is_err());
        assert_eq!(InstanceCount::default(), InstanceCount::ONE);
    }
}
