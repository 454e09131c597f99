//! The `host` crate: runs wasio's `wasi:cli/run` components on wasmtime 48 (WASI 0.2, async),
//! with stdio inherited and TCP limited to loopback addresses.
//!
//! ```no_run
//! # async fn demo() -> Result<(), host::HostError> {
//! let component = host::resolve_component("echo-server.wasm")?;
//! let outcome = host::run(&host::RunConfig::new(component).arg("8080")).await?;
//! std::process::exit(outcome.exit_code());
//! # }
//! ```
//!
//! Modules, one concept each: [`cli`] (the command line), [`component_path`] (finding a
//! component by name), [`network_policy`] (which addresses a guest may use), [`error`]
//! ([`HostError`], exit codes, classification of wasmtime's errors), `runner` (engine, linker,
//! store, instantiate, call), [`wasm_kind`] (component vs core module vs not wasm), [`logging`]
//! (the stderr log format), [`metrics`] (`--metrics`).

mod accept_errors;
pub mod cli;
pub mod component_path;
pub mod error;
pub mod limits;
pub mod logging;
pub mod faults;
pub mod metrics;
pub mod instances;
mod listener_handoff;
mod open_connections;
pub mod reload;
pub use wasio_policy::{policy as network_policy, rule as network_rule};
pub mod provider;
pub mod provider_async;
mod reuse_port;
mod runner;
#[cfg(target_os = "linux")]
mod socket_fd;
mod socket_results;
pub mod shutdown;
mod shadowing;
mod supervisor;
mod tcp_nodelay;
pub mod wasm_kind;

use std::path::PathBuf;

pub use component_path::{resolve_component, resolve_component_in};
pub use error::{HostError, EXIT_HOST_ERROR, EXIT_RUN_FAILED, EXIT_TIMEOUT, EXIT_TRAP};
pub use limits::Limits;
pub use network_policy::NetworkPolicy;
pub use runner::build_engine;
pub use runner::Runner;

/// What to run, and how.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The component file (already resolved; see [`resolve_component`]).
    pub component: PathBuf,
    /// The guest's arguments after argv[0] (argv[0] is the component's file name).
    pub args: Vec<String>,
    /// The guest's environment: exactly these variables, nothing inherited.
    pub env: Vec<(String, String)>,
    /// Debug logging and file/line numbers in trap backtraces.
    pub verbose: bool,
    /// Use wasmtime's on-disk compilation cache (default: true).
    pub cache: bool,
    /// Which addresses the guest may use (default: [`NetworkPolicy::loopback_only`]).
    pub network: NetworkPolicy,
    /// Memory and busy-time limits (default: none).
    pub limits: Limits,
    /// Wall-clock limit for the whole run, restarts included (default: none).
    pub timeout: Option<std::time::Duration>,
    /// Whether a failing component is started again (default: never).
    pub restart: RestartPolicy,
    /// Host directories the guest may open (default: none).
    pub dirs: Vec<Preopen>,
    /// Set TCP_NODELAY on every TCP socket the guest connects or accepts, as asyncio does
    /// (default: true; `--no-tcp-nodelay`).
    pub tcp_nodelay: bool,
    /// Faults injected into the guest's stream calls, for tests only (default: none;
    /// the hidden `--inject-faults`; see [`faults`]).
    pub faults: Option<faults::FaultPlan>,
    /// Where to serve Prometheus metrics at `/metrics` (default: nowhere; `--metrics`; see
    /// [`metrics`]).
    pub metrics: Option<std::net::SocketAddr>,
    /// How many instances of the component run, sharing the sockets they bind (default: 1;
    /// `--instances`; see [`instances`]).
    pub instances: instances::InstanceCount,
    /// Reload when the component file changes, as on SIGHUP (default: false; `--watch`; see
    /// [`reload`]).
    pub watch: bool,
    /// How long the instances replaced by a reload may serve their open connections
    /// (default: 30 s; `--drain-timeout`).
    pub drain_timeout: std::time::Duration,
}

/// `--restart on-failure --max-restarts N`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Start the component again when it traps, hits a limit, or exits non-zero.
    pub on_failure: bool,
    /// How many times at most.
    pub max_restarts: u32,
}

/// A host directory the guest sees under another name (`--dir HOST::GUEST`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preopen {
    pub host: PathBuf,
    pub guest: String,
    /// Read-only unless given with `--dir-rw`.
    pub writable: bool,
}

impl RunConfig {
    /// Runs `component` with no arguments, an empty environment, the cache on and the default
    /// network policy.
    pub fn new(component: impl Into<PathBuf>) -> Self {
        RunConfig {
            component: component.into(),
            args: Vec::new(),
            env: Vec::new(),
            verbose: false,
            cache: true,
            network: NetworkPolicy::loopback_only(),
            limits: Limits::default(),
            timeout: None,
            restart: RestartPolicy::default(),
            dirs: Vec::new(),
            tcp_nodelay: true,
            faults: None,
            metrics: None,
            instances: instances::InstanceCount::ONE,
            watch: false,
            drain_timeout: reload::DEFAULT_DRAIN_TIMEOUT,
        }
    }

    /// Appends a guest argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds a guest environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// How a component that ran to the end finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// `run` returned `Ok` (exit code 0).
    Success,
    /// `run` returned `Err` (exit code 1).
    RunFailed,
    /// The guest called `exit` with this code (`wasi:cli/exit`).
    Exit(i32),
}

impl RunOutcome {
    /// The process exit code: 0, 1, or the guest's own.
    pub fn exit_code(&self) -> i32 {
        match *self {
            RunOutcome::Success => 0,
            RunOutcome::RunFailed => EXIT_RUN_FAILED,
            RunOutcome::Exit(code) => code,
        }
    }
}

/// Compiles, links, instantiates and runs `config.component`'s `wasi:cli/run` export.
///
/// Needs a Tokio runtime (wasmtime-wasi's sockets and timers use it); either flavour works.
/// Errors are host problems (exit code 2) or traps (exit code 3), see [`HostError::exit_code`].
/// Loads the component and runs it to completion, restarting it on failure if asked and
/// stopping it at `config.timeout`.
pub async fn run(config: &RunConfig) -> Result<RunOutcome, HostError> {
    let supervised = async {
        // Served from before the component loads until the run ends.
        let metrics = match config.metrics {
            Some(address) => Some(
                metrics::serve(address).await.map_err(|source| HostError::MetricsListen { address, source })?,
            ),
            None => None,
        };
        let mut runner = Runner::load(config).await?;
        if let Some(server) = &metrics {
            runner = runner.with_metrics(server.metrics().clone());
        }
        // A reload loads the component again the same way.
        let load = || async {
            let runner = Runner::load(config).await?;
            Ok(match &metrics {
                Some(server) => runner.with_metrics(server.metrics().clone()),
                None => runner,
            })
        };
        instances::run(runner, config, load).await
    };
    match config.timeout {
        None => supervised.await,
        Some(limit) => {
            tokio::time::timeout(limit, supervised).await.unwrap_or(Err(HostError::Timeout { limit }))
        }
    }
}
