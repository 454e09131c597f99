//! Fault injection, for tests only: `--inject-faults SPEC` (a hidden flag) makes a chosen
//! fraction of the guest's `wasi:io` stream calls misbehave the ways real sockets do, so
//! tests can show that every connection either completes with every byte or ends with a
//! typed error, that nothing traps, and that the other connections do not notice.
//!
//! SPEC is a comma-separated list of `KIND:FRACTION` and `seed=N`, e.g.
//! `read-short:0.1,write-error:0.01,seed=7`:
//! - `read-short`: `input-stream.read` returns fewer bytes than it could (at least one);
//! - `read-error`: `input-stream.read` fails (`last-operation-failed`), as after a reset;
//! - `write-short`: `output-stream.check-write` permits fewer bytes than it could (at least
//!   one), as a nearly full socket buffer does;
//! - `write-error`: `output-stream.write` fails (`last-operation-failed`) without writing.
//!
//! The wrappers shadow wasmtime-wasi's functions in the linker and call them for the real
//! work, as `accept_errors` does. The host logs a warning when faults are on.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use wasmtime::component::{Linker, Resource};
use wasmtime::StoreContextMut;
use wasmtime_wasi::p2::bindings::io::streams::{self, HostInputStream, HostOutputStream};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, StreamError};
use wasmtime_wasi::WasiView;

/// The streams interface as wasmtime-wasi 48.0.8 defines it (see `TCP_INTERFACE` in
/// `tcp_nodelay.rs`): a version change makes `add_to_linker` fail loudly.
const STREAMS_INTERFACE: &str = "wasi:io/streams@0.2.12";

/// Which faults, how often, and the seed of the choices.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultPlan {
    pub read_short: f64,
    pub read_error: f64,
    pub write_short: f64,
    pub write_error: f64,
    pub seed: u64,
}

impl FromStr for FaultPlan {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        let mut plan = FaultPlan { seed: 1, ..FaultPlan::default() };
        for item in spec.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            if let Some(seed) = item.strip_prefix("seed=") {
                plan.seed = seed.parse().map_err(|_| format!("bad seed `{seed}`"))?;
                continue;
            }
            let (kind, fraction) = item.split_once(':').ok_or(format!("`{item}`: expected KIND:FRACTION"))?;
            let fraction: f64 = fraction.parse().map_err(|_| format!("`{item}`: bad fraction"))?;
            if !(0.0..=1.0).contains(&fraction) {
                return Err(format!("`{item}`: the fraction must be between 0 and 1"));
            }
            let slot = match kind {
                "read-short" => &mut plan.read_short,
                "read-error" => &mut plan.read_error,
                "write-short" => &mut plan.write_short,
                "write-error" => &mut plan.write_error,
                _ => {
                    return Err(format!(
                        "unknown fault `{kind}` (read-short, read-error, write-short, write-error)"
                    ))
                }
            };
            *slot = fraction;
        }
        Ok(plan)
    }
}

impl fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "read-short:{},read-error:{},write-short:{},write-error:{},seed={}",
            self.read_short, self.read_error, self.write_short, self.write_error, self.seed
        )
    }
}

/// The plan, the random choices and a count of what was injected.
struct Faults {
    plan: FaultPlan,
    rng: Mutex<fastrand::Rng>,
    injected: AtomicU64,
}

impl Faults {
    /// Whether to inject a fault of this `fraction` now.
    fn strike(&self, fraction: f64) -> bool {
        let strike = fraction > 0.0 && self.rng.lock().unwrap().f64() < fraction;
        if strike {
            self.injected.fetch_add(1, Ordering::Relaxed);
        }
        strike
    }

    /// Somewhere in 1..n (n > 1).
    fn fewer(&self, n: u64) -> u64 {
        self.rng.lock().unwrap().u64(1..n)
    }
}

impl Drop for Faults {
    fn drop(&mut self) {
        tracing::info!("injected {} faults", self.injected.load(Ordering::Relaxed));
    }
}

fn injected_failure(what: &str) -> StreamError {
    StreamError::LastOperationFailed(wasmtime::format_err!("injected fault: {what} failed"))
}

type Converted<T> = wasmtime::Result<(Result<T, streams::StreamError>,)>;

/// What the generated bindings do with a stream result: errors become the WIT's
/// `stream-error`, traps stay traps.
fn convert<T>(table: &mut wasmtime_wasi::ResourceTable, result: Result<T, StreamError>) -> Converted<T> {
    match result {
        Ok(value) => Ok((Ok(value),)),
        Err(error) => Ok((Err(streams::Host::convert_stream_error(table, error)?),)),
    }
}

/// Shadows `input-stream.read`, `output-stream.check-write` and `output-stream.write` in
/// `linker` (which has wasmtime-wasi's p2 imports) with wrappers that follow `plan`.
pub(crate) fn add_to_linker<T: WasiView + 'static>(
    linker: &mut Linker<T>,
    plan: &FaultPlan,
) -> wasmtime::Result<()> {
    tracing::warn!("injecting faults into the guest's stream calls (a test-only setting): {plan}");
    let faults =
        Arc::new(Faults { plan: plan.clone(), rng: Mutex::new(fastrand::Rng::with_seed(plan.seed)), injected: AtomicU64::new(0) });
    linker.allow_shadowing(true);
    let mut streams_interface = linker.instance(STREAMS_INTERFACE)?;
    let read_faults = faults.clone();
    streams_interface.func_wrap(
        "[method]input-stream.read",
        move |mut store: StoreContextMut<'_, T>, (this, len): (Resource<DynInputStream>, u64)| {
            let table = store.data_mut().ctx().table;
            let result = if read_faults.strike(read_faults.plan.read_error) {
                Err(injected_failure("read"))
            } else if len > 1 && read_faults.strike(read_faults.plan.read_short) {
                HostInputStream::read(table, this, read_faults.fewer(len))
            } else {
                HostInputStream::read(table, this, len)
            };
            convert(table, result)
        },
    )?;
    let check_faults = faults.clone();
    streams_interface.func_wrap(
        "[method]output-stream.check-write",
        move |mut store: StoreContextMut<'_, T>, (this,): (Resource<DynOutputStream>,)| {
            let table = store.data_mut().ctx().table;
            let result = HostOutputStream::check_write(table, this).map(|permit| {
                if permit > 1 && check_faults.strike(check_faults.plan.write_short) {
                    check_faults.fewer(permit)
                } else {
                    permit
                }
            });
            convert(table, result)
        },
    )?;
    let write_faults = faults;
    streams_interface.func_wrap(
        "[method]output-stream.write",
        move |mut store: StoreContextMut<'_, T>, (this, bytes): (Resource<DynOutputStream>, Vec<u8>)| {
            let table = store.data_mut().ctx().table;
            let result = if write_faults.strike(write_faults.plan.write_error) {
                Err(injected_failure("write"))
            } else {
                HostOutputStream::write(table, this, bytes)
            };
            convert(table, result)
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::FaultPlan;

    #[test]
    fn specs_parse_and_display() {
        let plan: FaultPlan = "read-short:0.1, write-error:0.01,seed=7".parse().unwrap();
        assert_eq!(plan.read_short, 0.1);
        assert_eq!(plan.write_error, 0.01);
        assert_eq!(plan.seed, 7);
        assert_eq!(plan.to_string().parse::<FaultPlan>().unwrap(), plan);
        assert!("read-short".parse::<FaultPlan>().unwrap_err().contains("KIND:FRACTION"));
        assert!("read-short:2".parse::<FaultPlan>().unwrap_err().contains("between 0 and 1"));
        assert!("explode:0.1".parse::<FaultPlan>().unwrap_err().contains("unknown fault"));
    }
}
