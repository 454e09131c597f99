//! `--instances N|auto`: N instances of one compiled component, each with its own store on
//! its own thread (with its own current-thread tokio runtime, as the single instance has), the
//! sockets they bind shared through SO_REUSEPORT ([`crate::reuse_port`]) so the kernel spreads
//! the connections over them.
//!
//! Each instance is supervised alone: `--restart on-failure` starts again only the instance
//! that failed (its `--max-restarts` are its own), while the others keep serving. An instance
//! that fails for good (no restart, or none left) stops the whole run with its outcome, as a
//! single instance would; instances that end successfully just end, and the run ends when all
//! have. Dropping the run (a signal, `--timeout`) stops every instance. The instances of one
//! component form a [`Generation`]; a reload starts the next ([`crate::reload`]).

use std::num::NonZeroUsize;
use std::str::FromStr;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::error::HostError;
use crate::open_connections::{self, OpenConnections};
use crate::runner::Runner;
use crate::{listener_handoff, reload, reuse_port, supervisor, RestartPolicy, RunConfig, RunOutcome};

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

/// Runs `config.instances` instances of `runner`'s component until all have ended or one
/// failed for good; SIGHUP and `--watch` reload the component ([`crate::reload`]), with
/// `load` making the new runner.
pub(crate) async fn run<F, L>(runner: Runner, config: &RunConfig, load: L) -> Result<RunOutcome, HostError>
where
    L: Fn() -> F,
    F: std::future::Future<Output = Result<Runner, HostError>>,
{
    let count = config.instances.get();
    if count > 1 && !reuse_port::SHARES_LISTENERS {
        return Err(HostError::InstancesUnsupported { count });
    }
    // Before the first instance can print that it serves: a SIGHUP from then on reloads
    // (without a handler it would end the process).
    let mut reloads = reload::Triggers::new(config)?;
    let mut current = Generation::start(runner, 0, count, config.restart)?;
    loop {
        tokio::select! {
            outcome = current.ended() => return outcome,
            () = reloads.next() => {
                if let Some(next) = reload::start_next(&mut current, config, &load).await {
                    let old = std::mem::replace(&mut current, next);
                    tokio::spawn(reload::drain(old, config.drain_timeout));
                }
            }
        }
    }
}

/// The instances of one component: one thread each, ended together when this is dropped.
pub(crate) struct Generation {
    pub(crate) id: u64,
    count: usize,
    endings: mpsc::UnboundedReceiver<(usize, Result<RunOutcome, HostError>)>,
    last: Option<Result<RunOutcome, HostError>>,
    /// The connections its instances accepted and still hold.
    pub(crate) open_connections: Arc<OpenConnections>,
    _stop_all: StopOnDrop,
}

impl Generation {
    /// Starts `count` instances of `runner`'s component, each restarted alone per `restart`.
    pub(crate) fn start(
        runner: Runner,
        id: u64,
        count: usize,
        restart: RestartPolicy,
    ) -> Result<Generation, HostError> {
        let runner = Arc::new(runner);
        let (stop, stopped) = watch::channel(false);
        // Dropped with the generation (a signal, a timeout, a drain's end): tells every
        // instance thread to stop.
        let stop_all = StopOnDrop(stop);
        let (ended, endings) = mpsc::unbounded_channel();
        let open = OpenConnections::new();
        for index in 0..count {
            let (runner, mut stopped, ended) = (Arc::clone(&runner), stopped.clone(), ended.clone());
            let open = Arc::clone(&open);
            let thread = std::thread::Builder::new().name(format!("instance-{index}")).spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(source) => return drop(ended.send((index, Err(HostError::Runtime { source })))),
                };
                listener_handoff::set_identity_on_this_thread(id, index);
                // `--metrics` labels what this thread's instance counts with its index.
                crate::metrics::set_instance_on_this_thread(index);
                open_connections::set_on_this_thread(open);
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
            thread.map_err(|source| HostError::Runtime { source })?;
        }
        Ok(Generation {
            id,
            count,
            endings,
            last: Some(Ok(RunOutcome::Success)),
            open_connections: open,
            _stop_all: stop_all,
        })
    }

    /// Completes when an instance failed for good (with its outcome) or all have ended (with
    /// the last one's). Cancel-safe: what it learnt stays in `self`.
    pub(crate) async fn ended(&mut self) -> Result<RunOutcome, HostError> {
        while let Some((index, outcome)) = self.endings.recv().await {
            let failed = match &outcome {
                Ok(RunOutcome::Success) | Ok(RunOutcome::Exit(0)) => false,
                Ok(_) | Err(_) => true,
            };
            if failed {
                if self.count > 1 {
                    tracing::error!("instance {index} failed: stopping all {} instances", self.count);
                }
                return outcome;
            }
            tracing::debug!("instance {index} ended");
            self.last = Some(outcome);
        }
        // Every instance ended; a second call has nothing more to wait for.
        match self.last.take() {
            Some(outcome) => outcome,
            None => std::future::pending().await,
        }
    }
}

/// One instance, restarted alone per `restart`; its binds and listens count from zero at
/// each start.
async fn supervise(runner: &Runner, restart: RestartPolicy) -> Result<RunOutcome, HostError> {
    supervisor::supervise_with(runner, restart, || {
        reuse_port::new_instance_on_this_thread();
        listener_handoff::new_instance_on_this_thread();
    })
    .await
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
