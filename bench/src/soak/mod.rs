//! The soak (`./scripts/bench --scenario soak --minutes N`, i.e. `bench soak`; never in
//! CI): echo-server.wasm, compose-echo.wasm and compose-echo-async.wasm, each with its
//! chunk and its line echo, under the release host for N minutes of mixed traffic with
//! every byte checked ([`traffic`]). Every few seconds it samples each host's RSS, guest
//! memory, descriptors, CPU and echo rate ([`samples`]). It fails on any lost or wrong
//! byte, on a stall (an operation stuck for 20 s, or a server echoing nothing for 10 s),
//! on a server that dies, and on a leak: RSS or descriptors after the first minute growing
//! past
//! [`samples::RSS_GROWTH_KIB`] / [`samples::DESCRIPTOR_GROWTH`]. It prints a table and
//! writes it with a plot ([`plot`]) to target/bench/soak.md and soak.svg.

mod plot;
mod samples;
mod traffic;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use tokio::time::Instant;

use crate::cli::ServerChoice;
use crate::echo::Echo;
use crate::servers::{Launcher, RunningServer, StartOptions};
use samples::Sample;
use traffic::Tally;

/// A server echoing nothing for this long counts as a stall.
const STALL: Duration = Duration::from_secs(10);
/// Growth is measured from the end of this warm-up.
const WARMUP: Duration = Duration::from_secs(60);

#[derive(Debug, Args)]
pub struct SoakArgs {
    /// Minutes of traffic.
    #[arg(long, default_value_t = 5.0)]
    pub minutes: f64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 2.0)]
    pub sample_secs: f64,
    /// The release host binary (default <workspace>/target/release/host).
    #[arg(long, value_name = "PATH")]
    pub host_bin: Option<PathBuf>,
    /// Where echo-server.wasm and compose-echo.wasm are (default: the newest build).
    #[arg(long, value_name = "DIR")]
    pub guest_dir: Option<PathBuf>,
    /// Where soak.md and soak.svg go (default <workspace>/target/bench).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// One server under the soak.
struct Soaked {
    name: String,
    server: RunningServer,
    tally: Arc<Tally>,
    samples: Vec<Sample>,
    cpu: crate::process_cpu::CpuMeter,
    echoed_before: u64,
    died: Option<String>,
}

pub fn run(args: SoakArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(soak(args))
}

async fn soak(args: SoakArgs) -> Result<()> {
    let out_dir = args.out_dir.clone().unwrap_or_else(|| crate::workspace_root().join("target/bench"));
    let launcher = Launcher::for_components(
        args.host_bin.clone(),
        args.guest_dir.clone(),
        out_dir.join("logs"),
        Duration::from_secs(120),
    )?;
    let (kinds, notes) = launcher.select(&[
        ServerChoice::EchoServer,
        ServerChoice::ComposeEcho,
        ServerChoice::ComposeEchoAsync,
    ]);
    notes.iter().for_each(|note| eprintln!("soak: {note}"));
    if kinds.is_empty() {
        bail!("nothing to soak: build the host and the components first (./scripts/bench builds them)");
    }
    let duration = Duration::from_secs_f64(args.minutes * 60.0);
    let interval = Duration::from_secs_f64(args.sample_secs.max(0.5));
    let mut soaked = Vec::new();
    for kind in kinds {
        for echo in [Echo::Chunks, Echo::Lines] {
            let name = format!("{} ({} echo)", kind.name(), echo.name());
            let log = format!("soak-{}-{}", kind.name().trim_end_matches(".wasm"), echo.name());
            let options = StartOptions { echo: Some(echo), ..StartOptions::default() };
            let server =
                launcher.start(kind, &log, &options).await.with_context(|| format!("starting {name}"))?;
            let cpu = server.cpu_meter()?;
            soaked.push((
                echo,
                Soaked {
                    name,
                    server,
                    tally: Arc::default(),
                    samples: Vec::new(),
                    cpu,
                    echoed_before: 0,
                    died: None,
                },
            ));
        }
    }
    let start = Instant::now();
    let deadline = start + duration;
    let mut workers = Vec::new();
    for (echo, one) in &soaked {
        workers.extend(traffic::start(one.server.address, *echo, deadline, one.tally.clone()));
    }
    eprintln!(
        "soak: {} servers, {:.1} min of traffic, a sample every {:?}",
        soaked.len(),
        args.minutes,
        interval
    );
    let mut next_report = start + Duration::from_secs(60);
    while Instant::now() < deadline {
        tokio::time::sleep(interval.min(deadline - Instant::now())).await;
        let at = start.elapsed();
        for (_, one) in &mut soaked {
            sample(one, at, interval)?;
        }
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(60);
            for (_, one) in &soaked {
                let last = one.samples.last().unwrap();
                eprintln!(
                    "soak: {:.0} s {}: RSS {} MiB, {} descriptors, {:.0}% CPU, {} MiB echoed, {} failures",
                    at.as_secs_f64(),
                    one.name,
                    last.rss_kib / 1024,
                    last.descriptors,
                    last.cpu_percent,
                    one.tally.echoed.load(Ordering::Relaxed) >> 20,
                    one.tally.failures.load(Ordering::Relaxed)
                );
            }
        }
    }
    for worker in workers {
        let _ = tokio::time::timeout(traffic::OP_TIMEOUT + Duration::from_secs(5), worker).await;
    }
    let (markdown, passed) = report(&soaked, args.minutes);
    print!("{markdown}");
    std::fs::create_dir_all(&out_dir)?;
    std::fs::write(out_dir.join("soak.md"), &markdown)?;
    let series: Vec<(String, Vec<Sample>)> =
        soaked.iter().map(|(_, one)| (one.name.clone(), one.samples.clone())).collect();
    std::fs::write(out_dir.join("soak.svg"), plot::svg(&series))?;
    eprintln!("soak: wrote {} and soak.svg", out_dir.join("soak.md").display());
    for (_, one) in soaked {
        one.server.stop().await;
    }
    if !passed {
        bail!("the soak failed (see the table)");
    }
    Ok(())
}

/// Takes one sample of `one`; a server that died is noted, not sampled.
fn sample(one: &mut Soaked, at: Duration, interval: Duration) -> Result<()> {
    if one.died.is_some() {
        return Ok(());
    }
    if let Err(error) = one.server.check_alive() {
        one.died = Some(format!("{error:#}"));
        return Ok(());
    }
    let echoed = one.tally.echoed.load(Ordering::Relaxed);
    let delta = echoed - std::mem::replace(&mut one.echoed_before, echoed);
    one.samples.push(Sample {
        at,
        rss_kib: one.server.resident_kib()?,
        guest_kib: one.server.guest_memory_kib().and_then(Result::ok),
        descriptors: one.server.open_descriptors()?,
        cpu_percent: one.cpu.sample()?.percent_of_core(),
        mib_per_s: delta as f64 / (1 << 20) as f64 / interval.as_secs_f64(),
    });
    Ok(())
}

/// The table, and whether every server passed.
fn report(soaked: &[(Echo, Soaked)], minutes: f64) -> (String, bool) {
    let mut out = format!(
        "### Soak: {minutes:.1} min of mixed traffic, every byte checked\n\n\
         | server | MiB echoed | operations | failures | CPU % | RSS MiB (after warm-up → end) | \
         guest MiB | descriptors | verdict |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n"
    );
    let mut all_passed = true;
    for (_, one) in soaked {
        let failures = one.tally.failures.load(Ordering::Relaxed);
        let growth = samples::growth(&one.samples, WARMUP);
        let mut problems: Vec<String> = one.tally.first_failures.lock().unwrap().clone();
        if let Some(died) = &one.died {
            problems.push(format!("died: {died}"));
        }
        if let Some(leak) = growth.as_ref().and_then(|g| g.leak.clone()) {
            problems.push(format!("leak: {leak}"));
        }
        if let Some(since) = samples::stall(&one.samples, STALL) {
            problems.push(format!("stall: nothing echoed for {STALL:?} from {:.0} s", since.as_secs_f64()));
        }
        let passed = problems.is_empty() && failures == 0;
        all_passed &= passed;
        let cpu = one.samples.iter().map(|s| s.cpu_percent).sum::<f64>() / one.samples.len().max(1) as f64;
        let mib = |kib: u64| format!("{:.1}", kib as f64 / 1024.0);
        let (rss, guest, fds) = match &growth {
            Some(g) => (
                format!("{} → {}", mib(g.baseline_rss_kib), mib(g.final_rss_kib)),
                match (g.baseline_guest_kib, g.final_guest_kib) {
                    (Some(a), Some(b)) => format!("{} → {}", mib(a), mib(b)),
                    _ => "—".to_string(),
                },
                format!("{} → {}", g.baseline_descriptors, g.final_descriptors),
            ),
            None => ("—".into(), "—".into(), "—".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {:.0} | {} | {failures} | {cpu:.0} | {rss} | {guest} | {fds} | {} |",
            one.name,
            one.tally.echoed.load(Ordering::Relaxed) as f64 / (1 << 20) as f64,
            one.tally.operations.load(Ordering::Relaxed),
            if passed { "PASS".to_string() } else { format!("FAIL: {}", problems.join("; ")) },
        );
    }
    let _ = writeln!(
        out,
        "\n- Traffic per server: 4 connections echoing batches of lines, an 8 MiB bulk stream, \
         churn (connect, one line, close), 256 KiB half-closed echoes, resets without reading, a \
         reader taking 16 KiB every 20 ms, and (line echo) lines over the 64 KiB limit, which \
         must never come back whole (the server ends the connection, or echoes only the \
         line's end under the limit and then the next line); all at once, in loops.\n\
         - RSS, guest memory and descriptors: the peak of the minute after a {}-s warm-up, then \
         the peak of the last minute; a leak is RSS growing by more than {} MiB or {:.0}%, or \
         descriptors by more than {}. Plot: soak.svg.",
        WARMUP.as_secs(),
        samples::RSS_GROWTH_KIB / 1024,
        samples::RSS_GROWTH_SHARE * 100.0,
        samples::DESCRIPTOR_GROWTH
    );
    (out, all_passed)
}
