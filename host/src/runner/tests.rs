//! The error paths of [`run`] on small components written in WAT.

use std::path::PathBuf;

use super::*;
use crate::error::{EXIT_HOST_ERROR, EXIT_TRAP};
use crate::run;

/// A file in a temp dir of its own, removed with it on drop (one dir per fixture: a shared
/// one could be removed by another test's drop between its creation and this write).
struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Fixture {
    fn path(&self) -> PathBuf {
        self.path.clone()
    }
}

/// Writes `bytes` to a fresh file under the temp dir.
fn fixture(name: &str, bytes: &[u8]) -> Fixture {
    let dir = tempfile::Builder::new().prefix("host-runner-tests-").tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    Fixture { _dir: dir, path }
}

fn config(path: PathBuf) -> RunConfig {
    RunConfig { cache: false, ..RunConfig::new(path) }
}

async fn run_wat(name: &str, wat: &str) -> Result<RunOutcome, HostError> {
    let bytes = wat::parse_str(wat).unwrap();
    let file = fixture(name, &bytes);
    run(&config(file.path())).await
}

/// A command whose `run` executes `body` (a core function body returning the `result`
/// discriminant: 0 = ok, 1 = err), optionally with `wasi:cli/exit` imported as core func `$exit`.
fn command(body: &str) -> String {
    format!(
        r#"(component
  (import "wasi:cli/exit@0.2.0" (instance $exit_i
    (export "exit" (func (param "status" (result))))))
  (core func $exit (canon lower (func $exit_i "exit")))
  (core module $m
    (import "wasi" "exit" (func $exit (param i32)))
    (func (export "run") (result i32) {body}))
  (core instance $i (instantiate $m
    (with "wasi" (instance (export "exit" (func $exit))))))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $run_i (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run_i)))"#
    )
}

#[tokio::test]
async fn not_wasm() {
    let file = fixture("not-wasm.wasm", b"#!/bin/sh\necho hello\n");
    let path = file.path();
    let err = run(&config(path.clone())).await.unwrap_err();
    assert_eq!(err.to_string(), format!("{} is not a WebAssembly file", path.display()));
    assert_eq!(err.exit_code(), EXIT_HOST_ERROR);
}

#[tokio::test]
async fn core_module() {
    let file = fixture("core.wasm", b"\0asm\x01\0\0\0");
    let path = file.path();
    let err = run(&config(path.clone())).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{} is a core WebAssembly module, not a component; build it for wasm32-wasip2",
            path.display()
        )
    );
    assert_eq!(err.exit_code(), EXIT_HOST_ERROR);
}

#[tokio::test]
async fn missing_file() {
    let err = run(&config("/nonexistent/x.wasm".into())).await.unwrap_err();
    assert!(matches!(err, HostError::Read { .. }), "{err}");
    assert_eq!(err.exit_code(), EXIT_HOST_ERROR);
}

#[tokio::test]
async fn invalid_component() {
    // Component header, then garbage.
    let file = fixture("broken.wasm", b"\0asm\x0d\0\x01\0\xff\xff\xff");
    let path = file.path();
    let err = run(&config(path.clone())).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("{} is not a valid component: ", path.display())), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
    assert_eq!(err.exit_code(), EXIT_HOST_ERROR);
}

#[tokio::test]
async fn unmet_import() {
    let err = run_wat("unmet.wasm", r#"(component (import "foo:bar/baz" (instance (export "f" (func)))))"#)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "component imports `foo:bar/baz`, which this host does not provide (missing `f`)"
    );
    assert_eq!(err.exit_code(), EXIT_HOST_ERROR);
}

#[tokio::test]
async fn unmet_import_of_a_bare_function() {
    let err = run_wat("unmet-func.wasm", r#"(component (import "frob" (func)))"#).await.unwrap_err();
    assert_eq!(err.to_string(), "component imports `frob`, which this host does not provide");
}

#[tokio::test]
async fn wasi_import_with_the_wrong_type() {
    let err = run_wat(
        "mismatch.wasm",
        r#"(component (import "wasi:cli/environment@0.2.0" (instance
              (export "get-arguments" (func (result u32))))))"#,
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "component imports `wasi:cli/environment@0.2.0`, which this host does not provide \
             in a compatible form: `get-arguments`: "
        ),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "{msg}");
}

#[tokio::test]
async fn not_a_command() {
    let file = fixture("empty.wasm", &wat::parse_str("(component)").unwrap());
    let path = file.path();
    let err = run(&config(path.clone())).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("{} is not a command: it does not export `wasi:cli/run`", path.display())),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "{msg}");
}

#[tokio::test]
async fn run_ok_and_err() {
    assert_eq!(run_wat("ok.wasm", &command("i32.const 0")).await.unwrap(), RunOutcome::Success);
    let outcome = run_wat("err.wasm", &command("i32.const 1")).await.unwrap();
    assert_eq!(outcome, RunOutcome::RunFailed);
    assert_eq!(outcome.exit_code(), 1);
}

#[tokio::test]
async fn guest_exit() {
    // exit(err) is exit code 1 in wasmtime-wasi.
    let outcome = run_wat("exit.wasm", &command("i32.const 1 call $exit unreachable")).await.unwrap();
    assert_eq!(outcome, RunOutcome::Exit(1));
    let outcome = run_wat("exit0.wasm", &command("i32.const 0 call $exit unreachable")).await.unwrap();
    assert_eq!(outcome, RunOutcome::Exit(0));
}

#[tokio::test]
async fn trap() {
    let err = run_wat("trap.wasm", &command("unreachable")).await.unwrap_err();
    assert_eq!(err.to_string(), "component trapped: wasm trap: wasm `unreachable` instruction executed");
    assert_eq!(err.exit_code(), EXIT_TRAP);
    let detail = err.detail().unwrap();
    assert!(detail.contains("wasm backtrace"), "{detail}");
}
