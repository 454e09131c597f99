//! Calls that return at once leave nothing behind: wasmtime 48 kept the task of every
//! `async func` call completed in the callee's first turn (about 400 bytes of host memory
//! each, a trap after a million); the provider's `returned_at_once` guard lets it go.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use crate::support::Running;

/// The host's resident memory, in KiB (Linux).
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the host's /proc status");
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).expect("a VmRSS line");
    line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("VmRSS in kB")
}

/// A guest consumer (tests/guests/returned-calls) makes rounds of 25,000 `drain`s that
/// return at once, waiting on its stdin between rounds. Leaked, the last three rounds'
/// 75,000 tasks would hold about 30 MB (measured: ~300 bytes each); the host's memory
/// grows by less than half of that from the first round to the last.
#[tokio::test]
#[cfg(target_os = "linux")]
async fn calls_that_return_at_once_leave_the_hosts_memory_flat() {
    const CALLS: u64 = 25_000;
    const ROUNDS: u64 = 4;
    let mut consumer =
        Running::start_with_stdin("returned-calls", &[], &[&CALLS.to_string()], Stdio::piped());
    let mut stdin = consumer.child.stdin.take().expect("the consumer's stdin");
    let pid = consumer.child.id().expect("the host's pid");
    let mut after_first = 0;
    for round in 1..=ROUNDS {
        stdin.write_all(b"go\n").await.expect("start a round");
        let Some(line) = consumer.next_line().await else {
            let stderr = consumer.stderr_text().await;
            panic!("the consumer ended before round {round}; stderr:\n{stderr}");
        };
        assert_eq!(line, format!("round {round}"));
        if round == 1 {
            after_first = resident_kib(pid);
        }
    }
    let after_last = resident_kib(pid);
    let grown = after_last.saturating_sub(after_first);
    assert!(
        grown < 15 * 1024,
        "the host grew by {grown} KiB over {} calls that returned at once ({after_first} -> {after_last} KiB)",
        CALLS * (ROUNDS - 1)
    );
    drop(stdin); // EOF: it ends
    let stderr = consumer.stderr_text().await;
    assert_eq!(consumer.exit_code().await, 0, "stderr: {stderr}");
}
