//! bench/call-floor (call-floor.wasm: its consumer plugged into its provider by
//! scripts/build-guests) run with tiny operation counts, so the measurement the README
//! cites keeps building, composing and running: every kind, across the component boundary
//! and inside one component, with one caller and with several, each line a real figure.

use std::ffi::OsStr;

use crate::support::{component, run_host};

/// `(kind, where, callers)` of each line, in the order the consumer prints them, for
/// `--callers 4`.
const LINES: &[(&str, &str, u64)] = &[
    ("add", "cross", 1),
    ("add", "local", 1),
    ("add-async", "cross", 1),
    ("add-async", "cross", 4),
    ("add-async", "local", 1),
    ("add-async", "local", 4),
    ("add-after-yield", "cross", 1),
    ("add-after-yield", "cross", 4),
    ("add-after-yield", "local", 1),
    ("add-after-yield", "local", 4),
    ("take-list-100", "cross", 1),
    ("take-list-100", "cross", 4),
    ("take-list-100", "local", 1),
    ("take-list-100", "local", 4),
    ("take-list-sync-100", "cross", 1),
    ("take-list-sync-100", "local", 1),
    ("give-list-100", "cross", 1),
    ("give-list-100", "cross", 4),
    ("give-list-100", "local", 1),
    ("give-list-100", "local", 4),
    ("give-list-sync-100", "cross", 1),
    ("give-list-sync-100", "local", 1),
    ("stream-write-100", "cross", 1),
    ("stream-write-100", "cross", 4),
    ("stream-write-100", "local", 1),
    ("stream-write-100", "local", 4),
    ("stream-write-64k", "cross", 1),
    ("stream-write-64k", "local", 1),
    ("stream-read-100", "cross", 1),
    ("stream-read-100", "cross", 4),
    ("stream-read-100", "local", 1),
    ("stream-read-100", "local", 4),
];

#[tokio::test]
async fn prints_every_kind_across_and_inside_a_component() {
    let wasm = component("call-floor");
    let args = [
        wasm.as_os_str(),
        OsStr::new("--"),
        "--ops".as_ref(),
        "64".as_ref(),
        "--callers".as_ref(),
        "4".as_ref(),
    ];
    let (code, stdout, stderr) = run_host(&args).await;
    assert_eq!(code, 0, "call-floor failed; stdout:\n{stdout}\nstderr:\n{stderr}");

    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), LINES.len() + 1, "stdout:\n{stdout}");
    for (line, (kind, place, callers)) in lines.iter().zip(LINES) {
        // `KIND WHERE xCALLERS: NS ns/op (OPS ops)`; 64 operations, rounded up to a
        // multiple of the callers.
        let prefix = format!("{kind} {place} x{callers}: ");
        let figures = line.strip_prefix(&prefix).unwrap_or_else(|| panic!("{line:?} is not {prefix:?}..."));
        let (ns, ops) = figures.split_once(" ns/op (").unwrap_or_else(|| panic!("no ns/op in {line:?}"));
        let ns: f64 = ns.parse().unwrap_or_else(|_| panic!("no figure in {line:?}"));
        assert!(ns.is_finite() && ns >= 0.0, "{line:?}");
        assert_eq!(ops, "64 ops)", "{line:?}");
    }
    assert_eq!(lines.last(), Some(&"done"), "stdout:\n{stdout}");
}

#[tokio::test]
async fn an_unknown_option_prints_the_usage_and_fails() {
    let wasm = component("call-floor");
    let args = [wasm.as_os_str(), OsStr::new("--"), "--kind".as_ref(), "no-such-kind".as_ref()];
    let (code, stdout, stderr) = run_host(&args).await;
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("usage: call-floor"), "stderr:\n{stderr}");
}

/// `--repro started-late` pins down a wasmtime 48 bug that provider-async steers clear of
/// (it never blocks while calls come in): a call that waited to start, whose task exits a
/// turn after its result (as the `returned_at_once` guard makes it), is deleted before its
/// caller drops it, and the caller's `subtask.drop` traps. When a wasmtime upgrade fixes
/// it, this fails: the reproduction then prints `started-late: survived`, and the caveat
/// in returned_at_once.rs and the README can go.
#[tokio::test]
async fn wasmtime_48_deletes_a_late_started_calls_task_before_its_caller_drops_it() {
    let wasm = component("call-floor");
    let args = [wasm.as_os_str(), OsStr::new("--"), "--repro".as_ref(), "started-late".as_ref()];
    let (code, stdout, stderr) = run_host(&args).await;
    assert!(!stdout.contains("started-late: survived"), "fixed upstream? stdout:\n{stdout}");
    assert_eq!(code, 3, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("resource not present"), "stderr:\n{stderr}");
}
