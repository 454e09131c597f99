//! What a guest may consume: memory (`--max-memory`, a store limiter) and time spent in
//! wasm without coming back to the host (`--max-busy`, epoch interruption plus a call
//! hook).
//!
//! Busy time: an engine-wide ticker advances wasmtime's epoch every [`TICK`]; compiled
//! code checks it and calls back into the host when a tick has passed. The call hook
//! notes the last time the guest returned from a host call (any I/O or poll does); the
//! callback interrupts a guest that has been in wasm longer than the limit, and
//! otherwise yields to the async executor so wall-clock timeouts and signals are
//! noticed even while a guest computes.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use wasmtime::{CallHook, Engine, ResourceLimiter, Store, UpdateDeadline};

/// How often the epoch advances: the granularity of `--max-busy`.
pub const TICK: Duration = Duration::from_millis(10);

/// The limits given on the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Largest size of any one linear memory, and (in elements) bound on tables; with
    /// `--instances`, also of every instance's linear memories summed ([`MemoryBudget`]).
    pub max_memory: Option<u64>,
    /// Longest stretch in wasm without a host call.
    pub max_busy: Option<Duration>,
    /// Most component-model handles (resources, streams, futures, subtasks) the store may
    /// hold at once; `None`: [`DEFAULT_MAX_HANDLES`].
    pub max_handles: Option<usize>,
}

/// The store's handle cap unless `--max-handles` says otherwise. wasmtime 48's default,
/// 100,000, is reached by a WASI 0.3 consumer at about 5,900 idle connections (each holds
/// ~17 handles: reader, writer, their streams and futures, the pending readline's subtask);
/// a handle costs the host a table slot of a few dozen bytes, so a million is ~50 MiB at
/// most, for ~58,000 such connections.
pub const DEFAULT_MAX_HANDLES: usize = 1_000_000;

impl Limits {
    /// The handle cap to give each store.
    pub fn handles(&self) -> usize {
        self.max_handles.unwrap_or(DEFAULT_MAX_HANDLES)
    }
}

/// `--max-memory` over all `--instances` together: the linear memory every instance's store
/// holds, summed, may not pass the limit (each memory is also held to it alone, by its
/// [`MemoryLimiter`]). Shared by the stores of one component's instances; a store gives back
/// what it held when it is dropped (its instance ended, or is restarted).
#[derive(Debug)]
pub struct MemoryBudget {
    limit: usize,
    used: AtomicUsize,
    instances: usize,
}

impl MemoryBudget {
    pub fn new(limit: u64, instances: usize) -> Arc<MemoryBudget> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Arc::new(MemoryBudget { limit, used: AtomicUsize::new(0), instances })
    }

    /// Takes `bytes` from the budget if they fit; whether they did.
    fn reserve(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    fn release(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// The linear memory of every store sharing the budget, summed (bytes).
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// How many instances share it.
    pub fn instances(&self) -> usize {
        self.instances
    }
}

/// Refuses memory and table growth beyond the limit (and, with `--instances`, beyond the
/// budget all instances share), and remembers that it did so the error can say why a guest
/// failed.
#[derive(Debug, Default)]
pub struct MemoryLimiter {
    max_memory: Option<usize>,
    refused: bool,
    /// The budget of every instance together, and whether it is what refused a growth.
    shared: Option<Arc<MemoryBudget>>,
    refused_by_shared: bool,
    /// The sizes of the guest's linear memories, summed (bytes). Wasm memories only grow,
    /// and wasmtime asks the limiter for every growth, the initial size included.
    linear_memory: usize,
    /// Where to keep `linear_memory` written down (`WASIO_MEMORY_REPORT`), so a
    /// benchmark can tell the guest's own memory from the host's.
    report: Option<PathBuf>,
    /// `wasio_guest_memory_bytes` of this instance, under `--metrics`.
    gauge: Option<prometheus_client::metrics::gauge::Gauge>,
}

/// The environment variable naming the file [`MemoryLimiter`] keeps the guest's linear
/// memory size in (decimal bytes, rewritten on every growth).
pub const MEMORY_REPORT_ENV: &str = "WASIO_MEMORY_REPORT";

impl MemoryLimiter {
    pub fn new(max_memory: Option<u64>) -> Self {
        MemoryLimiter {
            max_memory: max_memory.map(|m| usize::try_from(m).unwrap_or(usize::MAX)),
            refused: false,
            linear_memory: 0,
            report: std::env::var_os(MEMORY_REPORT_ENV).map(PathBuf::from),
            gauge: None,
            shared: None,
            refused_by_shared: false,
        }
    }

    /// Holds this store's linear memory to `budget` too, with the other stores sharing it.
    /// Given before the store grows anything (its memory is taken from the budget as it grows
    /// and given back when the limiter is dropped).
    pub fn sharing(mut self, budget: Option<Arc<MemoryBudget>>) -> Self {
        debug_assert_eq!(self.linear_memory, 0, "the budget is shared before any growth");
        self.shared = budget;
        self
    }

    /// The instances sharing the budget that refused a growth (1 when a memory reached the
    /// limit alone, or none was refused).
    pub fn refused_sharing(&self) -> usize {
        match &self.shared {
            Some(budget) if self.refused_by_shared => budget.instances(),
            _ => 1,
        }
    }

    /// Keeps `gauge` at the guest's linear memory size from now on.
    pub fn report_to(&mut self, gauge: prometheus_client::metrics::gauge::Gauge) {
        gauge.set(self.linear_memory as i64);
        self.gauge = Some(gauge);
    }

    /// Whether a growth was refused (the guest then usually traps soon after).
    pub fn refused(&self) -> bool {
        self.refused
    }

    /// The guest's linear memories, summed, in bytes.
    pub fn linear_memory(&self) -> usize {
        self.linear_memory
    }

    /// Rewrites the report file whole (write, then rename), so a reader never sees half.
    fn write_report(&self) {
        let Some(path) = &self.report else { return };
        let partial = path.with_extension("partial");
        let written = std::fs::write(&partial, self.linear_memory.to_string())
            .and_then(|()| std::fs::rename(&partial, path));
        if let Err(error) = written {
            tracing::debug!("{MEMORY_REPORT_ENV}={}: {error}", path.display());
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        match self.max_memory {
            Some(max) if desired > max => {
                self.refused = true;
                Ok(false)
            }
            _ => {
                let growth = desired.saturating_sub(current);
                if let Some(budget) = &self.shared {
                    if !budget.reserve(growth) {
                        self.refused = true;
                        self.refused_by_shared = true;
                        return Ok(false);
                    }
                }
                self.linear_memory += growth;
                self.write_report();
                if let Some(gauge) = &self.gauge {
                    gauge.set(self.linear_memory as i64);
                }
                Ok(true)
            }
        }
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A table element costs at least a pointer: hold tables to the same budget.
        match self.max_memory {
            Some(max) if desired.saturating_mul(8) > max => {
                self.refused = true;
                Ok(false)
            }
            _ => Ok(true),
        }
    }
}

impl Drop for MemoryLimiter {
    /// The store is gone: its memory goes back to the shared budget.
    fn drop(&mut self) {
        if let Some(budget) = &self.shared {
            budget.release(self.linear_memory);
        }
    }
}

/// When the guest last came back from the host, for the busy check.
#[derive(Debug)]
pub struct BusyClock {
    max_busy: Option<Duration>,
    in_wasm_since: Instant,
    /// The epoch callback itself runs as a libcall wrapped in the same call hooks as a
    /// host call: its return must not count as the guest returning from the host.
    returning_from_tick: bool,
    exceeded: bool,
}

impl BusyClock {
    pub fn new(max_busy: Option<Duration>) -> Self {
        BusyClock { max_busy, in_wasm_since: Instant::now(), returning_from_tick: false, exceeded: false }
    }

    /// Whether the guest was stopped for being busy too long.
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }
}

/// The error a guest is stopped with when busy too long.
#[derive(Debug, thiserror::Error)]
#[error("busy in wasm for more than {limit:?} without returning to the host (no I/O, no poll)")]
pub struct BusyTooLong {
    pub limit: Duration,
}

/// Installs the busy check on a store. The engine must have epoch interruption on and
/// a [`Ticker`] running.
///
/// Without `--max-busy` no call hook is installed: the hook runs on every crossing
/// between wasm and the host (a WASI 0.3 guest makes a dozen per echoed line), and its
/// clock read was a few percent of a composed echo's CPU for nothing.
pub fn watch_busy<T: Send + 'static>(store: &mut Store<T>, clock: fn(&mut T) -> &mut BusyClock) {
    if clock(store.data_mut()).max_busy.is_some() {
        store.call_hook(move |mut ctx, hook| {
            let clock = clock(ctx.data_mut());
            match hook {
                CallHook::ReturningFromHost if clock.returning_from_tick => clock.returning_from_tick = false,
                CallHook::ReturningFromHost | CallHook::CallingWasm => clock.in_wasm_since = Instant::now(),
                _ => {}
            }
            Ok(())
        });
    }
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |mut ctx| {
        let clock = clock(ctx.data_mut());
        if let Some(limit) = clock.max_busy {
            if clock.in_wasm_since.elapsed() > limit {
                clock.exceeded = true;
                return Err(BusyTooLong { limit }.into());
            }
        }
        clock.returning_from_tick = true;
        Ok(UpdateDeadline::Yield(1))
    });
}

/// Advances an engine's epoch every [`TICK`] until dropped.
pub struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Ticker {
    pub fn start(engine: &Engine) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let weak: Weak<AtomicBool> = Arc::downgrade(&stop);
        let engine = engine.clone();
        std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || loop {
                std::thread::sleep(TICK);
                match weak.upgrade() {
                    Some(stop) if !stop.load(Ordering::Relaxed) => engine.increment_epoch(),
                    _ => return,
                }
            })
            .expect("start the epoch ticker thread");
        Ticker { stop }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Parses `64M`, `1G`, `512K`, `1048576` (bytes; K/M/G are powers of 1024, an optional
/// `i`/`iB`/`B` suffix is accepted).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    let number_end = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
    let (number, unit) = lower.split_at(number_end);
    let number: u64 = number.parse().map_err(|_| format!("bad size `{trimmed}` (try 64M)"))?;
    let multiplier: u64 = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return Err(format!("bad size unit in `{trimmed}` (use K, M or G)")),
    };
    number.checked_mul(multiplier).ok_or_else(|| format!("size `{trimmed}` is too large"))
}

/// Parses `500ms`, `2s`, `1m`, `1h`, or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let number_end = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(number_end);
    let number: f64 = number.parse().map_err(|_| format!("bad duration `{trimmed}` (try 2s or 500ms)"))?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        _ => return Err(format!("bad duration unit in `{trimmed}` (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("bad duration `{trimmed}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("12X").is_err() && parse_size("M").is_err() && parse_size("").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("2 weeks").is_err() && parse_duration("-1s").is_err());
    }

    #[test]
    fn memory_limiter_refuses_growth_past_the_limit() {
        let mut limiter = MemoryLimiter::new(Some(1 << 20));
        assert!(limiter.memory_growing(0, 1 << 20, None).unwrap());
        assert!(!limiter.refused());
        assert!(!limiter.memory_growing(1 << 20, (1 << 20) + 65536, None).unwrap());
        assert!(limiter.refused());
        let mut unlimited = MemoryLimiter::new(None);
        assert!(unlimited.memory_growing(0, usize::MAX / 2, None).unwrap());
    }

    #[test]
    fn linear_memory_sums_what_was_granted() {
        let mut limiter = MemoryLimiter::new(Some(1 << 20));
        limiter.memory_growing(0, 65536, None).unwrap();
        limiter.memory_growing(0, 2 * 65536, None).unwrap(); // a second memory
        limiter.memory_growing(65536, 3 * 65536, None).unwrap();
        limiter.memory_growing(3 * 65536, 1 << 21, None).unwrap(); // refused: not counted
        assert_eq!(limiter.linear_memory(), 5 * 65536);
    }

    #[test]
    fn instances_share_one_budget_and_give_it_back_when_dropped() {
        let budget = MemoryBudget::new(1 << 20, 2);
        let mut first = MemoryLimiter::new(Some(1 << 20)).sharing(Some(budget.clone()));
        let mut second = MemoryLimiter::new(Some(1 << 20)).sharing(Some(budget.clone()));
        assert!(first.memory_growing(0, 600 << 10, None).unwrap());
        // Within the limit alone, past it with the first instance's memory.
        assert!(!second.memory_growing(0, 600 << 10, None).unwrap());
        assert!(second.refused() && second.refused_sharing() == 2);
        assert!(second.memory_growing(0, 424 << 10, None).unwrap());
        assert_eq!(budget.used(), 1 << 20);
        drop(first);
        assert_eq!(budget.used(), 424 << 10);
        assert!(second.memory_growing(424 << 10, 1 << 20, None).unwrap());
        // A memory past the limit alone is refused by the per-memory check.
        let mut third = MemoryLimiter::new(Some(1 << 20)).sharing(Some(budget.clone()));
        assert!(!third.memory_growing(0, 2 << 20, None).unwrap());
        assert_eq!(third.refused_sharing(), 1);
    }
}
