//! Timing a kind: the operation count calibrated to the time asked for, spread over
//! concurrent callers (each a task of this component) when there are several.

use std::time::{Duration, Instant};

use crate::kinds::Kind;

pub struct Plan {
    /// How long one measurement should take.
    pub seconds: f64,
    /// Exactly this many operations instead (no calibration).
    pub ops: Option<u64>,
}

/// Calibration batches grow until one takes this long.
const CALIBRATED: Duration = Duration::from_millis(50);

/// `(ns per operation, operations)` of `kind` with `callers` concurrent callers.
pub async fn measure(plan: &Plan, kind: &Kind, callers: u64) -> (f64, u64) {
    let ops = match plan.ops {
        Some(ops) => ops,
        None => {
            let mut ops = callers.max(64);
            loop {
                let took = time(kind, callers, ops).await;
                if took >= CALIBRATED {
                    let per_op = took.as_secs_f64() / ops as f64;
                    break ((plan.seconds / per_op) as u64).max(ops);
                }
                ops *= 4;
            }
        }
    };
    let took = time(kind, callers, ops).await;
    let ops = ops.div_ceil(callers) * callers;
    (took.as_nanos() as f64 / ops as f64, ops)
}

/// How long `ops` operations (rounded up to a multiple of `callers`) take, `callers` at a time.
async fn time(kind: &Kind, callers: u64, ops: u64) -> Duration {
    let each = ops.div_ceil(callers);
    let start = Instant::now();
    if callers == 1 {
        (kind.run)(each).await;
    } else {
        let tasks: Vec<_> = (0..callers).map(|_| wit_bindgen::spawn_local((kind.run)(each))).collect();
        for task in tasks {
            task.await.expect("a caller task ended without finishing");
        }
    }
    start.elapsed()
}
