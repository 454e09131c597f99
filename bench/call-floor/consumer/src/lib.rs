//! bench/call-floor: what the component-model runtime charges per operation between two
//! composed components, and what the same work costs inside one.
//!
//! Usage: call-floor [--seconds S] [--ops N] [--callers K] [--kind NAME] [--where cross|local]
//!   --seconds S  how long each measurement runs (default 1; the operation count is
//!                calibrated to it)
//!   --ops N      exactly N operations per measurement instead (no calibration; the
//!                integration test's tiny runs)
//!   --callers K  the concurrent callers of the async kinds (default 64)
//!   --kind NAME  only this kind (e.g. `add-async`; for a profiler)
//!   --where W    only `cross` or only `local`
//!   --repro started-late
//!                instead, reproduce a wasmtime 48 bug ([`repro`]): prints
//!                `started-late: survived` where the runtime does not have it
//!
//! Prints one line per measurement, `KIND WHERE xCALLERS: NS ns/op (OPS ops)`, where
//! WHERE is `cross` (an import, plugged into `call-floor-provider.wasm` by
//! `scripts/build-guests` as `call-floor.wasm`) or `local` (a plain Rust call of the same
//! body in this component, through wit-bindgen's executor where it is async), then
//! `done`. Run with `target/release/host target/guests/wasm32-wasip2/release/call-floor.wasm`.

mod cross;
mod kinds;
mod local;
mod measure;
mod repro;

use std::io::Write as _;

use kinds::{Kind, KINDS};
use measure::Plan;

mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "consumer",
    });
}

const USAGE: &str =
    "usage: call-floor [--seconds S] [--ops N] [--callers K] [--kind NAME] [--where cross|local] \
                     | --repro started-late";

struct CallFloor;

wasip3::cli::command::export!(CallFloor);

impl wasip3::exports::cli::run::Guest for CallFloor {
    async fn run() -> Result<(), ()> {
        let Some(Args { plan, callers, only, place, repro }) =
            parse_args(wasip3::cli::environment::get_arguments())
        else {
            eprintln!("{USAGE}");
            return Err(());
        };
        if repro {
            repro::started_late().await;
            return Ok(());
        }
        let chosen = |kind: &&Kind| {
            only.as_ref().is_none_or(|name| name == kind.name)
                && place.as_ref().is_none_or(|place| place == kind.place.name())
        };
        for kind in KINDS.iter().filter(chosen) {
            report(kind, 1, measure::measure(&plan, kind, 1).await);
            if kind.concurrent && callers > 1 {
                report(kind, callers, measure::measure(&plan, kind, callers).await);
            }
        }
        println!("done");
        Ok(())
    }
}

fn report(kind: &Kind, callers: u64, (ns_per_op, ops): (f64, u64)) {
    println!("{} {} x{callers}: {ns_per_op:.1} ns/op ({ops} ops)", kind.name, kind.place.name());
    let _ = std::io::stdout().flush();
}

struct Args {
    plan: Plan,
    /// Concurrent callers of the async kinds.
    callers: u64,
    /// Only the kind of this name.
    only: Option<String>,
    /// Only the kinds of this place (`cross` or `local`).
    place: Option<String>,
    /// `--repro started-late`: the bug reproduction instead of the measurements.
    repro: bool,
}

/// The options after the program name; `None` on anything else.
fn parse_args(args: Vec<String>) -> Option<Args> {
    let mut parsed =
        Args { plan: Plan { seconds: 1.0, ops: None }, callers: 64, only: None, place: None, repro: false };
    let mut args = args.into_iter().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next()?;
        match flag.as_str() {
            "--seconds" => parsed.plan.seconds = value.parse().ok().filter(|s: &f64| *s > 0.0)?,
            "--ops" => parsed.plan.ops = Some(value.parse().ok().filter(|n| *n > 0)?),
            "--callers" => parsed.callers = value.parse().ok().filter(|k| *k > 0)?,
            "--kind" => parsed.only = Some(KINDS.iter().find(|kind| kind.name == value)?.name.to_string()),
            "--where" if value == "cross" || value == "local" => parsed.place = Some(value),
            "--repro" if value == "started-late" => parsed.repro = true,
            _ => return None,
        }
    }
    Some(parsed)
}
