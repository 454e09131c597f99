//! What the soak samples of each server every few seconds, and the leak verdict.

use std::time::Duration;

/// One sample of one server.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Since the traffic started.
    pub at: Duration,
    /// The host process's resident memory, guest included.
    pub rss_kib: u64,
    /// The guest's linear memory, as the host reports it.
    pub guest_kib: Option<u64>,
    pub descriptors: usize,
    /// CPU since the last sample, in % of one core.
    pub cpu_percent: f64,
    /// Bytes echoed (and checked) since the last sample, per second.
    pub mib_per_s: f64,
}

/// How much a server may grow after the first minute (or the first quarter of a shorter
/// run) before it counts as a leak: RSS by 16 MiB or 10% of the baseline, whichever is
/// more; descriptors by 16. Connections come and go under the traffic, so each side is
/// the peak over its window, not one reading.
pub const RSS_GROWTH_KIB: u64 = 16 * 1024;
pub const RSS_GROWTH_SHARE: f64 = 0.10;
pub const DESCRIPTOR_GROWTH: usize = 16;

/// The baseline window (after warm-up) and the final window's peaks, and the verdict.
pub struct Growth {
    pub baseline_rss_kib: u64,
    pub final_rss_kib: u64,
    pub baseline_descriptors: usize,
    pub final_descriptors: usize,
    pub baseline_guest_kib: Option<u64>,
    pub final_guest_kib: Option<u64>,
    /// Why it counts as a leak, if it does.
    pub leak: Option<String>,
}

/// Compares the peak of the window after warm-up (from `warmup` to twice that) with the
/// peak of the last such window.
pub fn growth(samples: &[Sample], warmup: Duration) -> Option<Growth> {
    let end = samples.last()?.at;
    let window = warmup.min(end / 4).max(Duration::from_secs(1));
    let baseline: Vec<&Sample> = samples.iter().filter(|s| s.at >= window && s.at < window * 2).collect();
    let last: Vec<&Sample> = samples.iter().filter(|s| s.at + window > end).collect();
    if baseline.is_empty() || last.is_empty() {
        return None;
    }
    let peak_rss = |set: &[&Sample]| set.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let peak_fds = |set: &[&Sample]| set.iter().map(|s| s.descriptors).max().unwrap_or(0);
    let peak_guest = |set: &[&Sample]| set.iter().filter_map(|s| s.guest_kib).max();
    let (baseline_rss_kib, final_rss_kib) = (peak_rss(&baseline), peak_rss(&last));
    let (baseline_descriptors, final_descriptors) = (peak_fds(&baseline), peak_fds(&last));
    let allowed_rss =
        baseline_rss_kib + RSS_GROWTH_KIB.max((baseline_rss_kib as f64 * RSS_GROWTH_SHARE) as u64);
    let leak = if final_rss_kib > allowed_rss {
        Some(format!("RSS grew from {} to {} MiB", baseline_rss_kib / 1024, final_rss_kib / 1024))
    } else if final_descriptors > baseline_descriptors + DESCRIPTOR_GROWTH {
        Some(format!("descriptors grew from {baseline_descriptors} to {final_descriptors}"))
    } else {
        None
    };
    Some(Growth {
        baseline_rss_kib,
        final_rss_kib,
        baseline_descriptors,
        final_descriptors,
        baseline_guest_kib: peak_guest(&baseline),
        final_guest_kib: peak_guest(&last),
        leak,
    })
}

/// Whether the echo stalled: a stretch of `window` with no byte echoed.
pub fn stall(samples: &[Sample], window: Duration) -> Option<Duration> {
    let mut quiet_since: Option<Duration> = None;
    for sample in samples {
        if sample.mib_per_s > 0.0 {
            quiet_since = None;
        } else {
            let since = *quiet_since.get_or_insert(sample.at);
            if sample.at - since >= window {
                return Some(since);
            }
        }
    }
    None
}
