//! A process's CPU use, from /proc/PID/stat: user + system time of all its threads (for ours,
//! the host's wasmtime and tokio threads too). The kernel counts it in clock ticks, 10 ms at
//! the usual 100 Hz, so a reading over 100 ms is only good to 10% of a core, over 1 s to 1%.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

/// utime + stime of process `pid` so far.
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let ticks = user_plus_system_ticks(&stat).ok_or_else(|| anyhow!("no utime and stime in {path}"))?;
    Ok(Duration::from_secs_f64(ticks as f64 / ticks_per_second()? as f64))
}

/// Fields 14 (utime) and 15 (stime). Field 2, the command name in parentheses, may contain
/// spaces and parentheses itself, so the fields are counted from the last `)`.
fn user_plus_system_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // The first field after the name is field 3.
    let mut fields = after_name.split_whitespace().skip(14 - 3);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn ticks_per_second() -> Result<u64> {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks <= 0 {
        bail!("sysconf(_SC_CLK_TCK) returned {ticks}");
    }
    Ok(ticks as u64)
}

/// The CPU time a process used over a stretch of wall-clock time.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuSample {
    pub cpu: Duration,
    pub wall: Duration,
}

impl CpuSample {
    /// CPU use as a percentage of one core: a thread spinning shows 100, two show 200.
    pub fn percent_of_core(&self) -> f64 {
        if self.wall.is_zero() {
            return 0.0;
        }
        100.0 * self.cpu.as_secs_f64() / self.wall.as_secs_f64()
    }

    /// Consecutive samples as one.
    pub fn combined<'a>(samples: impl IntoIterator<Item = &'a CpuSample>) -> CpuSample {
        samples.into_iter().fold(CpuSample::default(), |total, sample| CpuSample {
            cpu: total.cpu + sample.cpu,
            wall: total.wall + sample.wall,
        })
    }
}

/// Reads a process's CPU time, each time giving what it used since the previous reading.
pub struct CpuMeter {
    pid: u32,
    at: Instant,
    cpu: Duration,
}

impl CpuMeter {
    pub fn start(pid: u32) -> Result<CpuMeter> {
        let cpu = cpu_time(pid)?;
        Ok(CpuMeter { pid, at: Instant::now(), cpu })
    }

    /// The CPU used since the previous sample (or the start), and over what wall time.
    pub fn sample(&mut self) -> Result<CpuSample> {
        let cpu = cpu_time(self.pid)?;
        let at = Instant::now();
        let sample = CpuSample { cpu: cpu.saturating_sub(self.cpu), wall: at - self.at };
        (self.at, self.cpu) = (at, cpu);
        Ok(sample)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_ticks_are_fields_14_and_15() {
        let stat = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 1200 0 0 0 37 5 0 0 20 0 9 0 \
                    123456 1000000 500 18446744073709551615";
        assert_eq!(user_plus_system_ticks(stat), Some(42));
        assert_eq!(user_plus_system_ticks("4242 (truncated) S 1"), None);
    }

    #[test]
    fn this_process_has_a_cpu_time() {
        let mut meter = CpuMeter::start(std::process::id()).unwrap();
        let sample = meter.sample().unwrap();
        assert!(sample.percent_of_core() >= 0.0);
    }

    #[test]
    fn combined_samples_add_up() {
        let ms = Duration::from_millis;
        let samples = [CpuSample { cpu: ms(10), wall: ms(100) }, CpuSample { cpu: ms(0), wall: ms(100) }];
        let total = CpuSample::combined(&samples);
        assert_eq!(total.percent_of_core(), 5.0);
    }
}
