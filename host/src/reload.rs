//! Graceful reload: on SIGHUP, or with `--watch` when the component file changes, the host
//! loads the component again and starts new instances of it; once they listen on every
//! socket the running ones listen on (each takes over the old instance's listening socket
//! itself, so no queued connection is lost: see [`crate::listener_handoff`]), the old
//! instances stop accepting and keep serving their open connections until they have none
//! left ([`crate::open_connections`]), for up to `--drain-timeout`, then are stopped.
//!
//! A component that fails to load (not a component, unmet imports) or whose instances end
//! before they listen (a trap at start) is logged, and the running instances go on as if
//! nothing happened.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::error::HostError;
use crate::instances::Generation;
use crate::runner::Runner;
use crate::{listener_handoff, RunConfig};

/// `--drain-timeout`'s default.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How often `--watch` looks at the component file's modification time.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// What asks for a reload: SIGHUP, and with `--watch` a change of the component file.
pub(crate) struct Triggers {
    hangup: Signal,
    watched: Option<(PathBuf, Option<SystemTime>)>,
}

impl Triggers {
    pub(crate) fn new(config: &RunConfig) -> Result<Triggers, HostError> {
        let hangup = signal(SignalKind::hangup()).map_err(|source| HostError::Runtime { source })?;
        let watched = config.watch.then(|| (config.component.clone(), modified(&config.component)));
        Ok(Triggers { hangup, watched })
    }

    /// The next reload asked for. Cancel-safe.
    pub(crate) async fn next(&mut self) {
        let Some((path, seen)) = &mut self.watched else {
            self.hangup.recv().await;
            tracing::warn!("SIGHUP: reloading the component");
            return;
        };
        let mut ticks = tokio::time::interval(WATCH_INTERVAL);
        loop {
            tokio::select! {
                _ = self.hangup.recv() => {
                    tracing::warn!("SIGHUP: reloading the component");
                    return;
                }
                _ = ticks.tick() => {
                    let now = modified(path);
                    if now != *seen && now.is_some() {
                        *seen = now;
                        tracing::warn!("{} changed: reloading the component", path.display());
                        return;
                    }
                }
            }
        }
    }
}

fn modified(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Loads the component with `load` and starts its instances next to `current`'s; returns
/// them once they listen on everything `current`'s do, `current`'s instances having stopped
/// accepting. `None` (and a logged error) if the new component could not take over.
pub(crate) async fn start_next<F, L>(
    current: &mut Generation,
    config: &RunConfig,
    load: &L,
) -> Option<Generation>
where
    L: Fn() -> F,
    F: std::future::Future<Output = Result<Runner, HostError>>,
{
    let keep = "the running component keeps serving";
    let runner = match load().await {
        Ok(runner) => runner,
        Err(error) => {
            tracing::error!("reload failed: {error}; {keep}");
            return None;
        }
    };
    let mut next = match Generation::start(runner, current.id + 1, config.instances.get(), config.restart) {
        Ok(next) => next,
        Err(error) => {
            tracing::error!("reload failed: {error}; {keep}");
            return None;
        }
    };
    let (new_id, old_id) = (next.id, current.id);
    let listening = async {
        while !listener_handoff::caught_up(new_id, old_id) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::select! {
        () = listening => {}
        outcome = next.ended() => {
            let how = match outcome {
                Ok(outcome) => format!("exited with code {}", outcome.exit_code()),
                Err(error) => error.to_string(),
            };
            tracing::error!("reload failed: the new component {how} before it listened; {keep}");
            return None;
        }
        () = tokio::time::sleep(config.drain_timeout) => {
            tracing::error!(
                "reload failed: the new component did not listen within {:?}; {keep}",
                config.drain_timeout
            );
            return None;
        }
    }
    listener_handoff::retire(current.id);
    tracing::warn!(
        "reloaded: the new component serves; the old one finishes its connections (up to {:?})",
        config.drain_timeout
    );
    Some(next)
}

/// How long the old instances must have had no connection before the drain ends early: an
/// `accept` already under way on an old instance's thread when [`start_next`] retired its
/// listeners still counts its connection within microseconds.
const SETTLE: Duration = Duration::from_millis(100);

/// Lets `old`'s instances serve their open connections until they have none left, they end,
/// or `timeout` passes, then stops them (by dropping them).
pub(crate) async fn drain(mut old: Generation, timeout: Duration) {
    let started = tokio::time::Instant::now();
    let open = std::sync::Arc::clone(&old.open_connections);
    let none_left = async {
        loop {
            open.none_left().await;
            tokio::time::sleep(SETTLE).await;
            if open.count() == 0 {
                return;
            }
        }
    };
    let waited = || format!("{:.1} s", started.elapsed().as_secs_f64());
    tokio::select! {
        () = none_left => tracing::warn!(
            "reload done: the old component's connections all ended after {}; its instances are stopped",
            waited()
        ),
        _ = old.ended() => tracing::warn!("reload done: the old component's instances ended after {}", waited()),
        () = tokio::time::sleep(timeout) => tracing::warn!(
            "reload done: --drain-timeout ({timeout:?}) passed with {} connection(s) of the old \
             component still open; its instances are stopped",
            open.count()
        ),
    }
}
