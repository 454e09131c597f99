//! The notes under the tables: how each selected scenario is made, the limits in force, and
//! where the logs are.

use std::path::Path;
use std::time::Duration;

use crate::bulk_payload::BulkPayload;
use crate::cli::ScenarioName;
use crate::limits::ConnectionLimits;
use crate::metric::with_separators;
use crate::scenario::idle::{FRESH_CONCURRENCY, FRESH_CONNECTIONS, QUIET_LIMIT};
use crate::scenario::probe::{PROBE_GAP, PROBE_LINE_LEN};
use crate::scenario::{fdlimit, noread};
use crate::settings::Settings;

/// The notes for the `scenarios` run (those for no scenario in particular always).
pub fn standing_notes(
    scenarios: &[ScenarioName],
    settings: &Settings,
    limits: &ConnectionLimits,
    payload: &BulkPayload,
    log_dir: &Path,
) -> Vec<String> {
    use ScenarioName as S;
    let seconds = |d: Duration| format!("{:.1} s", d.as_secs_f64());
    let counts: Vec<String> = settings.idle_counts.iter().map(|&c| with_separators(c as i64)).collect();
    let notes: Vec<(Option<&[ScenarioName]>, String)> = vec![
        (
            Some(&[S::Lines]),
            format!(
                "lines: newline-terminated lines, a new one sent for each echo received (so ×D stay in \
                 flight), {} warm-up then {} measured; every echoed byte is checked; latency from write to \
                 the read completing the echo; fairness = fewest / most lines echoed on one connection.",
                seconds(settings.warmup),
                seconds(settings.duration)
            ),
        ),
        (
            Some(&[S::Bulk]),
            format!(
                "bulk: {:.1} MiB of 8–24 KiB lines (asyncio's readline takes at most 64 KiB) in {} KiB \
                 writes, read back concurrently and compared.",
                payload.total() as f64 / (1 << 20) as f64,
                settings.bulk_write_size >> 10
            ),
        ),
        (
            Some(&[S::Churn]),
            format!(
                "churn: {} connections, {} at a time: connect, one 64-byte line, read it back, close.",
                with_separators(settings.churn_connections as i64),
                settings.churn_concurrency
            ),
        ),
        (
            Some(&[S::Idle]),
            format!(
                "idle: {} connections opened {} at a time, each echoing one 64-byte line, then silent; \
                 KiB/idle conn = growth of the server's VmRSS (for ours, the host process) over a baseline \
                 taken after {} warm-up connections and a 1-connection lines run, per connection; then \
                 1-connection lines with them held. Slowdown = req/s of the run before ÷ with them held, \
                 on the same server (median of the per-repetition ratios).",
                counts.join(" then "),
                settings.idle_open_concurrency,
                16
            ),
        ),
        (
            Some(&[S::Idle]),
            format!(
                "idle, after: then all {} vanish at once (closed in one go, every other one with SO_LINGER 0 \
                 so it resets). Quiet after = time until the server's CPU use (utime + stime from \
                 /proc/PID/stat, all threads, in 10 ms ticks) over 3 consecutive 100 ms samples is below 5% \
                 of a core (≥{:.1} = still busy at that bound); CPU % = its use over the following 1 s, in % \
                 of one core (about 100 = spinning; ratios to a reference at 0 show —). Then, as a stall \
                 check: echo after vanish = connect + one 64-byte line echoed on a new connection; {} new \
                 conns = {} fresh connections, {} at a time, each echoing one line, as in churn. Each must \
                 finish within the {} I/O timeout, or the run fails.",
                counts.last().map_or("", String::as_str),
                QUIET_LIMIT.as_secs_f64(),
                FRESH_CONNECTIONS,
                FRESH_CONNECTIONS,
                FRESH_CONCURRENCY,
                seconds(settings.io_timeout)
            ),
        ),
        (
            None,
            "Echoes: every server runs the one each column's `echo` row names — line: asyncio \
             `readline` + `write` + `drain`, tokio `read_until(b'\\n')` + `write_all`, echo-server \
             `readline` + `write` + `drain`, compose-echo `try-readline` + `write` + `try-drain`, \
             compose-echo-async an awaited `readline`, a `write` (a plain func) and `drain` awaited only \
             over the low mark (below it asyncio's returns at once); chunk: asyncio `read(64 KiB)` + \
             `write` + `drain`, tokio `read` into 64 KiB + `write_all`, ours as asyncio (compose-echo: \
             `try-read` + `write` + `try-drain`; compose-echo-async: its `--bulk`); at EOF asyncio and ours \
             `close` and await `wait-closed` (as the asyncio docs' echo does), tokio drops the socket. \
             Ratios compare the same echo."
                .into(),
        ),
        (
            Some(&[S::Flood, S::Noread, S::Slowloris]),
            format!(
                "Probe (flood, noread, slowloris): one more client echoing {PROBE_LINE_LEN}-byte lines one at a \
                 time, {} ms apart, checked, for as long as the misbehaving clients run; p50/p99/max of its \
                 round trips.",
                PROBE_GAP.as_millis()
            ),
        ),
        (
            Some(&[S::Flood]),
            format!(
                "flood: one connection streams {} MiB of the bulk payload's lines (--flood-mib) and reads its echo \
                 back while the probe runs; flood MiB/s is that stream's rate.",
                settings.flood_bytes >> 20
            ),
        ),
        (
            Some(&[S::Noread]),
            format!(
                "noread: {} peers each echo one line, then send the bulk payload's lines and never read, for \
                 {}, until their writes block (the server stops reading them, its echo backing up) or the \
                 window ends; then they close with the echo unread (resets).",
                noread::PEERS,
                seconds(settings.noread_duration)
            ),
        ),
        (
            Some(&[S::Slowloris]),
            format!(
                "slowloris: {} connections each echo one line, then send one byte a second (no newline), \
                 spread evenly over each second, for {}; server CPU % over that window, in % of one core.",
                with_separators(settings.slowloris_connections as i64),
                seconds(settings.slowloris_duration)
            ),
        ),
        (
            Some(&[S::Fdlimit]),
            format!(
                "fdlimit: the server started with RLIMIT_NOFILE {} (soft and hard, as `ulimit -n`); {} \
                 clients connect (the first 100 echo a line first); after 0.5 s, for {}: its CPU % and the \
                 lines it prints (stdout + stderr) per second; halfway, one of the first clients echoes a \
                 line (echo at fd limit). Then all clients close; recovery = until a new connection echoes \
                 (retried, at most {:.0} s).",
                settings.fdlimit_open_files,
                with_separators(settings.fdlimit_clients as i64),
                seconds(settings.fdlimit_window),
                fdlimit::RECOVERY_LIMIT.as_secs_f64()
            ),
        ),
        (
            Some(&[S::Tls]),
            format!(
                "tls: every server presents one ECDSA P-256 certificate for localhost made at run time \
                 (rcgen, its own CA), with its TLS library's defaults — tokio-rustls (ring), asyncio \
                 `start_server(ssl=)` (CPython's OpenSSL), ours rustls (ring) compiled to wasm inside the \
                 component; compose-echo and compose-echo-async serve no TLS. The client is rustls (ring), verifying the chain \
                 and the name, session resumption off: every connection is a full TLS 1.3 handshake. \
                 Handshakes/s = {} connections, {} at a time: connect, handshake, one 64-byte line echoed, \
                 close (close_notify + FIN); the client's own handshake work shares the machine, so server \
                 CPU µs/handshake (its utime + stime over the run ÷ connections) says what a handshake \
                 costs the server whether or not the client kept it busy. 1 conn = \
                 as `lines` (handshake before the clock). Bulk = the bulk payload over one connection, \
                 closed only after the whole echo came back (asyncio's SSL transport stops writing at the \
                 peer's close_notify); server CPU ms/MiB = its CPU time meanwhile ÷ MiB echoed. A server closing without close_notify is noted in the progress \
                 log (stderr), not failed.",
                with_separators(settings.tls_handshakes as i64),
                settings.tls_handshake_concurrency
            ),
        ),
        (
            Some(&[S::Idle]),
            "guest KiB/idle conn (ours only): growth of the guest's linear memory per idle connection, as \
             the host reports it (WASIO_MEMORY_REPORT: the sum of the component's memories, which only \
             grow); part of the host's RSS figure, the rest is the host's own per-connection state."
                .into(),
        ),
        (
            None,
            format!(
                "Limits: open files {} (raised to the hard limit; the servers inherit it), {} ephemeral ports, \
                 somaxconn {}.",
                limits.open_files,
                limits.ephemeral_ports.map_or("unknown".into(), |p| p.to_string()),
                limits.somaxconn.map_or("unknown".into(), |n| n.to_string()),
            ),
        ),
        (
            None,
            format!("Server logs (stderr): {}.", log_dir.display()),
        ),
    ];
    notes
        .into_iter()
        .filter(|(about, _)| about.is_none_or(|about| about.iter().any(|s| scenarios.contains(s))))
        .map(|(_, note)| note)
        .collect()
}
