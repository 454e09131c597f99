//! Loading, linking, instantiating and running a `wasi:cli/run` component on wasmtime 48.
//!
//! The steps, each with its own error category:
//! 1. read the file and check its header ([`wasm_kind`]) — not wasm / core module;
//! 2. compile it ([`Component::from_binary`], on the blocking pool, with the on-disk cache);
//! 3. link it against wasmtime-wasi's p2 (`wasi:cli/imports`) with [`Linker::instantiate_pre`]
//!    — unmet imports;
//! 4. check it exports `wasi:cli/run`, 0.3 or 0.2 (`command::CliCommand`);
//! 5. instantiate and call `run` asynchronously — exit codes, traps.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use wasmtime_wasi::FsPerms;

use crate::accept_errors;
use crate::faults::{self, FaultPlan};
use crate::limits::{self, BusyClock, Limits, MemoryBudget, MemoryLimiter, Ticker};
use crate::metrics::counting_streams::{self, CountsConnections};
use crate::metrics::p3_connections::{self, P3Connections};
use crate::metrics::{instance_label, InstanceMetrics, Metrics};
use crate::open_connections::{self, OpenConnections};
use crate::tcp_nodelay;

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Cache, CacheConfig, Config, Engine, ProfilingStrategy, Store, Strategy, WasmBacktraceDetails,
};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::error::{classify_link_error, classify_runtime_error, one_line, HostError, RuntimeFailure};
use crate::wasm_kind::{wasm_kind, WasmKind};
use crate::{RunConfig, RunOutcome};

/// The store's data: the WASI context, the resource table wasmtime-wasi keeps its handles in,
/// and what the limits keep track of.
pub struct HostState {
    ctx: WasiCtx,
    table: ResourceTable,
    memory: MemoryLimiter,
    busy: BusyClock,
    /// What `--metrics` counts of this instance.
    metrics: Option<Arc<InstanceMetrics>>,
    /// Where its generation's open connections are counted, for a reload's drain.
    open_connections: Option<Arc<OpenConnections>>,
    /// Its WASI 0.3 guest's accepted connections, counted into the two above.
    p3_connections: Option<P3Connections>,
}

impl HostState {
    /// The state for a store whose guest gets `ctx` (shared with [`crate::provider`]).
    pub(crate) fn new(ctx: WasiCtx) -> HostState {
        HostState::with_limits(ctx, &Limits::default())
    }

    /// Its guest's memory limiter, for [`Store::limiter`] (which also makes it count).
    pub(crate) fn memory_limiter(&mut self) -> &mut MemoryLimiter {
        &mut self.memory
    }

    /// Its guest's linear memories, summed (bytes), in a store with
    /// [`memory_limiter`](Self::memory_limiter) set: they only grow, so this is the peak.
    pub fn linear_memory(&self) -> usize {
        self.memory.linear_memory()
    }

    fn with_limits(ctx: WasiCtx, limits: &Limits) -> HostState {
        HostState {
            ctx,
            table: ResourceTable::new(),
            memory: MemoryLimiter::new(limits.max_memory),
            busy: BusyClock::new(limits.max_busy),
            metrics: None,
            open_connections: None,
            p3_connections: None,
        }
    }

    /// Counts this store's connections, bytes and memory into `metrics`.
    fn observed_by(mut self, metrics: Option<Arc<InstanceMetrics>>) -> HostState {
        if let Some(metrics) = &metrics {
            self.memory.report_to(metrics.memory.clone());
        }
        self.metrics = metrics;
        self.p3_connections = P3Connections::new(self.metrics.clone(), self.open_connections.clone());
        self
    }

    /// Counts this store's accepted connections into its generation's `open` count.
    fn held_by(mut self, open: Option<Arc<OpenConnections>>) -> HostState {
        self.open_connections = open;
        self.p3_connections = P3Connections::new(self.metrics.clone(), self.open_connections.clone());
        self
    }

    /// Holds its linear memory to `budget` too, with the other instances.
    fn sharing_memory(mut self, budget: Option<Arc<MemoryBudget>>) -> HostState {
        self.memory = std::mem::take(&mut self.memory).sharing(budget);
        self
    }
}

impl CountsConnections for HostState {
    fn accepted(
        &mut self,
        input: &wasmtime::component::Resource<wasmtime_wasi::p2::DynInputStream>,
        output: &wasmtime::component::Resource<wasmtime_wasi::p2::DynOutputStream>,
    ) -> Result<(), wasmtime::component::ResourceTableError> {
        let (metrics, open) = (self.metrics.as_deref(), self.open_connections.as_ref());
        counting_streams::count_accepted(&mut self.table, input, output, metrics, open)
    }

    fn p3_connections(&mut self) -> Option<&mut P3Connections> {
        self.p3_connections.as_mut()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.ctx, table: &mut self.table }
    }
}

/// Builds the engine: Cranelift, component model on, and (if `config.cache`) wasmtime's on-disk
/// compilation cache in its default place (`$XDG_CACHE_HOME/wasmtime`, i.e. usually
/// `~/.cache/wasmtime`, shared with the wasmtime CLI). A cache that cannot be set up (no home
/// directory, read-only file system) is logged and skipped, not an error.
///
/// Compiled code checks wasmtime's epoch (see [`crate::limits`]): that is how `--max-busy`
/// stops a spinning guest and how timeouts and signals reach a guest that computes.
pub fn build_engine(config: &RunConfig) -> Result<Engine, HostError> {
    engine(config.verbose, config.cache, true)
}

/// [`build_engine`] from its settings (shared with [`crate::provider`], whose stores have no
/// epoch deadline and so must not be built with `epoch_interruption`).
pub(crate) fn engine(verbose: bool, cache: bool, epoch_interruption: bool) -> Result<Engine, HostError> {
    let mut wasm_config = Config::new();
    wasm_config
        .strategy(Strategy::Cranelift)
        .wasm_component_model(true)
        .epoch_interruption(epoch_interruption);
    // File/line numbers in trap backtraces cost DWARF parsing at compile time: only under -v
    // (otherwise wasmtime's default, the WASMTIME_BACKTRACE_DETAILS environment variable).
    if verbose {
        wasm_config.wasm_backtrace_details(WasmBacktraceDetails::Enable);
    }
    if let Some(strategy) = profiling_strategy() {
        wasm_config.profiler(strategy);
    }
    if cache {
        match Cache::new(CacheConfig::new()) {
            Ok(cache) => {
                tracing::debug!("compilation cache in {}", cache.directory().display());
                wasm_config.cache(Some(cache));
            }
            Err(e) => tracing::debug!("compilation cache disabled: {}", one_line(&e)),
        }
    }
    Engine::new(&wasm_config).map_err(|error| HostError::Engine { message: one_line(&error), error })
}

/// `WASIO_PROFILE=perfmap` (or `jitdump`) tells wasmtime to describe the guest code it
/// compiles for `perf`, so `perf record -g` / `perf report` on the host name guest functions.
fn profiling_strategy() -> Option<ProfilingStrategy> {
    match std::env::var("WASIO_PROFILE").ok()?.as_str() {
        "perfmap" => Some(ProfilingStrategy::PerfMap),
        "jitdump" => Some(ProfilingStrategy::JitDump),
        other => {
            tracing::warn!("WASIO_PROFILE={other} ignored (perfmap or jitdump)");
            None
        }
    }
}

/// Runs `config.component` to completion; see [`crate::run`].
/// A component compiled, linked and checked once, ready to be started as often as needed
/// (each start gets a fresh store: `--restart` starts from scratch).
pub struct Runner {
    engine: Engine,
    command: CliCommand,
    config: RunConfig,
    _ticker: Ticker,
    /// `--metrics`: the series each start counts into, under its instance's label.
    metrics: Option<Arc<Metrics>>,
    /// `--max-memory` with `--instances` above 1: the budget all instances' stores share.
    memory_budget: Option<Arc<MemoryBudget>>,
}

impl Runner {
    /// Reads, compiles (with the cache), links and checks the component.
    pub async fn load(config: &RunConfig) -> Result<Runner, HostError> {
        let path = config.component.as_path();
        let bytes = read_component(path)?;
        let engine = build_engine(config)?;
        let component = compile(&engine, path, bytes).await?;
        let mut linker = wasi_linker_with(&engine, config.tcp_nodelay, config.faults.as_ref())?;
        // Instances share their listeners, and a reload hands them over.
        crate::reuse_port::add_to_linker(&mut linker)
            .and_then(|()| crate::listener_handoff::add_to_linker(&mut linker))
            .map_err(|error| HostError::Engine { message: one_line(&error), error })?;
        let pre = linker.instantiate_pre(&component).map_err(classify_link_error)?;
        let command = CliCommand::new(pre).map_err(|error| HostError::NotACommand {
            path: path.to_path_buf(),
            message: one_line(&error),
            error,
        })?;
        tracing::debug!("{} runs as a WASI {} command", path.display(), command.wasi_version());
        // Checked now, so a missing directory is a host error rather than a failed start.
        wasi_ctx(config, None)?;
        let instances = config.instances.get();
        let memory_budget = match config.limits.max_memory {
            Some(limit) if instances > 1 => Some(MemoryBudget::new(limit, instances)),
            _ => None,
        };
        Ok(Runner {
            _ticker: Ticker::start(&engine),
            engine,
            command,
            config: config.clone(),
            metrics: None,
            memory_budget,
        })
    }

    /// Counts what every start does into `metrics` ([`crate::metrics`]).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Runner {
        self.metrics = Some(metrics);
        self
    }

    /// The series of the instance this thread runs ([`instance_label`]), under `--metrics`.
    pub(crate) fn instance_metrics(&self) -> Option<Arc<InstanceMetrics>> {
        let instance = instance_label::instance_on_this_thread().to_string();
        self.metrics.as_ref().map(|metrics| metrics.instance(&instance))
    }

    /// Starts the component once and runs it to completion.
    pub async fn run_once(&self) -> Result<RunOutcome, HostError> {
        let limits = self.config.limits;
        let metrics = self.instance_metrics();
        let ctx = wasi_ctx(&self.config, metrics.as_ref())?;
        if let Some(metrics) = &metrics {
            metrics.started();
        }
        let state = HostState::with_limits(ctx, &limits)
            .sharing_memory(self.memory_budget.clone())
            .observed_by(metrics.clone())
            .held_by(open_connections::on_this_thread());
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        store.set_max_component_handles(limits.handles());
        limits::watch_busy(&mut store, |state| &mut state.busy);

        let started = Instant::now();
        // The whole guest is one tokio task, and tokio's cooperative budget (128 resource
        // polls per task poll) would make every readiness check after the 128th in a guest
        // turn report "not ready". The guest schedules its own tasks; let it.
        let result = tokio::task::unconstrained(self.command.instantiate_and_run(&mut store)).await;
        tracing::debug!("run finished after {:?}", started.elapsed());
        match result {
            Ok(Ok(())) => Ok(RunOutcome::Success),
            Ok(Err(())) => Ok(RunOutcome::RunFailed),
            Err(error) => {
                let state = store.data();
                if state.busy.exceeded() {
                    if let Some(metrics) = &metrics {
                        metrics.busy_stops.inc();
                    }
                    return Err(HostError::Busy { limit: limits.max_busy.unwrap_or_default() });
                }
                match runtime_failure(error) {
                    Err(HostError::Trap { message, error }) if state.memory.refused() => {
                        Err(HostError::MemoryLimit {
                            limit: limits.max_memory.unwrap_or_default(),
                            instances: state.memory.refused_sharing(),
                            message,
                            error,
                        })
                    }
                    other => other,
                }
            }
        }
    }
}

/// A linker with all of wasmtime-wasi's p2 imports (`wasi:cli/imports`), async, and its p3
/// ones (WASI 0.3, the same [`WasiCtx`]: the same network policy, stdio and preopens), whose TCP
/// sockets get TCP_NODELAY ([`crate::tcp_nodelay`]) and whose failed accepts name a
/// descriptor shortage ([`crate::accept_errors`]); shared with [`crate::provider`].
pub(crate) fn wasi_linker(engine: &Engine) -> Result<Linker<HostState>, HostError> {
    wasi_linker_with(engine, true, None)
}

/// [`wasi_linker`], with TCP_NODELAY on the guest's TCP sockets only if `tcp_nodelay`
/// (`--no-tcp-nodelay` leaves wasmtime-wasi's sockets exactly as they are), and the test-only
/// `faults` injected into the guest's stream calls ([`crate::faults`]).
pub(crate) fn wasi_linker_with(
    engine: &Engine,
    tcp_nodelay: bool,
    faults: Option<&FaultPlan>,
) -> Result<Linker<HostState>, HostError> {
    let mut linker: Linker<HostState> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)
        .map_err(|error| HostError::Engine { message: one_line(&error), error })?;
    // p3 sockets are wasmtime-wasi's same `TcpSocket` underneath, so every bind, listen,
    // connect and accept passes the same `socket_addr_check` (tests/p3_host.rs checks a
    // denial). TCP_NODELAY and the accept-error naming below wrap p2 and p3 functions.
    wasmtime_wasi::p3::add_to_linker(&mut linker)
        .map_err(|error| HostError::Engine { message: one_line(&error), error })?;
    if tcp_nodelay {
        tcp_nodelay::add_to_linker(&mut linker)
            .map_err(|error| HostError::Engine { message: one_line(&error), error })?;
    }
    accept_errors::add_to_linker(&mut linker)
        .map_err(|error| HostError::Engine { message: one_line(&error), error })?;
    p3_connections::add_to_linker(&mut linker)
        .map_err(|error| HostError::Engine { message: one_line(&error), error })?;
    if let Some(plan) = faults {
        faults::add_to_linker(&mut linker, plan)
            .map_err(|error| HostError::Engine { message: one_line(&error), error })?;
    }
    Ok(linker)
}

fn runtime_failure(error: wasmtime::Error) -> Result<RunOutcome, HostError> {
    match classify_runtime_error(error) {
        RuntimeFailure::Exit(code) => Ok(RunOutcome::Exit(code)),
        RuntimeFailure::Trap(e) => Err(e),
    }
}

/// Reads the file and rejects what is not a component before wasmtime sees it.
pub(crate) fn read_component(path: &Path) -> Result<Vec<u8>, HostError> {
    let bytes = std::fs::read(path).map_err(|source| HostError::Read { path: path.to_path_buf(), source })?;
    match wasm_kind(&bytes) {
        WasmKind::NotWasm => Err(HostError::NotWasm { path: path.to_path_buf() }),
        WasmKind::CoreModule => Err(HostError::CoreModule { path: path.to_path_buf() }),
        // Unknown layers fall through to wasmtime, whose message names the problem.
        WasmKind::Component | WasmKind::UnknownLayer(_) => Ok(bytes),
    }
}

/// Compiles on tokio's blocking pool: Cranelift takes a while for a large component and should
/// not stall the executor that tests may share with their own client tasks.
pub(crate) async fn compile(engine: &Engine, path: &Path, bytes: Vec<u8>) -> Result<Component, HostError> {
    let started = Instant::now();
    let engine = engine.clone();
    let compiled =
        tokio::task::spawn_blocking(move || Component::from_binary(&engine, &bytes)).await.unwrap_or_else(
            |join_error| Err(wasmtime::Error::msg(format!("compilation task failed: {join_error}"))),
        );
    tracing::debug!("compiled {} in {:?}", path.display(), started.elapsed());
    compiled.map_err(|error| HostError::Compile {
        path: path.to_path_buf(),
        message: one_line(&error),
        error,
    })
}

/// The guest's WASI context: inherited stdio, argv[0] = the component's file name, then the
/// arguments, only the given environment variables, and the network policy (its denials
/// counted into `metrics`).
fn wasi_ctx(config: &RunConfig, metrics: Option<&Arc<InstanceMetrics>>) -> Result<WasiCtx, HostError> {
    let mut builder = WasiCtxBuilder::new();
    builder.inherit_stdio();
    builder.arg(argv0(&config.component));
    builder.args(&config.args);
    builder.envs(&config.env);
    match metrics {
        Some(metrics) => {
            let metrics = metrics.clone();
            config.network.apply_observed(&mut builder, move |denial| metrics.policy_denied(&denial.rule));
        }
        None => config.network.apply(&mut builder),
    }
    for dir in &config.dirs {
        let perms = if dir.writable { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
        builder
            .preopened_dir(&dir.host, &dir.guest, perms)
            .map_err(|error| HostError::Preopen { path: dir.host.clone(), message: one_line(&error) })?;
    }
    Ok(builder.build())
}

/// The component's file name (`echo-server.wasm`), or the whole path if it has none.
fn argv0(path: &Path) -> String {
    path.file_name().unwrap_or(path.as_os_str()).to_string_lossy().into_owned()
}

mod command;
use command::CliCommand;

#[cfg(test)]
mod tests;
