//! The host CLI's contract: what it runs, how it passes arguments and environment, and
//! the one-line errors and exit codes for bad input (issue: the skeleton).

use std::ffi::OsStr;
use std::path::Path;

use crate::support::{component, run_host};

fn scratch_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Exactly one line on stderr, starting with `error: `.
fn assert_one_error_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0]
}

#[tokio::test]
async fn passes_arguments_and_environment() {
    let misbehave = component("misbehave");
    let (code, stdout, stderr) = run_host(&[
        OsStr::new("--env"),
        OsStr::new("GREETING=hello wasio"),
        misbehave.as_os_str(),
        OsStr::new("--"),
        OsStr::new("env"),
        OsStr::new("GREETING"),
    ])
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "hello wasio\n");

    let (code, stdout, _) =
        run_host(&[misbehave.as_os_str(), OsStr::new("--"), OsStr::new("args"), OsStr::new("x y")]).await;
    assert_eq!(code, 0);
    assert_eq!(stdout, "[\"misbehave.wasm\", \"args\", \"x y\"]\n");
}

#[tokio::test]
async fn exit_codes_follow_the_guest() {
    let misbehave = component("misbehave");
    let run = |mode: &'static [&'static str]| {
        let misbehave = misbehave.clone();
        async move {
            let mut args: Vec<&OsStr> = vec![misbehave.as_os_str(), OsStr::new("--")];
            args.extend(mode.iter().map(OsStr::new));
            run_host(&args).await
        }
    };
    assert_eq!(run(&["ok"]).await.0, 0);
    assert_eq!(run(&["exit", "0"]).await.0, 0);
    // WASI 0.2's stable `exit` carries only success or failure (the code-carrying
    // `exit-with-code` is unstable), so any non-zero code arrives as 1.
    assert_eq!(run(&["exit", "7"]).await.0, 1);
    let (code, _, stderr) = run(&["fail"]).await;
    assert_eq!(code, 1, "{stderr}");
}

#[tokio::test]
async fn a_trap_is_one_line_and_exit_3_with_the_backtrace_under_verbose() {
    let misbehave = component("misbehave");
    let (code, _, stderr) = run_host(&[misbehave.as_os_str(), OsStr::new("--"), OsStr::new("trap")]).await;
    assert_eq!(code, 3);
    let line = assert_one_error_line(&stderr);
    assert!(line.contains("trap"), "{line}");

    let (code, _, verbose) =
        run_host(&[OsStr::new("-v"), misbehave.as_os_str(), OsStr::new("--"), OsStr::new("trap")]).await;
    assert_eq!(code, 3);
    assert!(verbose.lines().count() > 1, "no backtrace under -v:\n{verbose}");
    assert!(verbose.contains("misbehave"), "the backtrace names the guest's functions:\n{verbose}");
}

#[tokio::test]
async fn a_file_that_is_not_wasm_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = scratch_file(&dir, "notes.wasm", b"just some text\n");
    let (code, _, stderr) = run_host(&[path.as_os_str()]).await;
    assert_eq!(code, 2);
    assert!(assert_one_error_line(&stderr).contains("is not a WebAssembly file"), "{stderr}");
}

#[tokio::test]
async fn a_core_module_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = scratch_file(&dir, "core.wasm", b"\0asm\x01\0\0\0");
    let (code, _, stderr) = run_host(&[path.as_os_str()]).await;
    assert_eq!(code, 2);
    assert!(assert_one_error_line(&stderr).contains("core WebAssembly module"), "{stderr}");
}

#[tokio::test]
async fn a_component_with_unmet_imports_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // A command (it exports wasi:cli/run) that also imports an interface no host has.
    let bytes = wat::parse_str(
        r#"(component
            (import "foo:bar/baz" (instance (export "f" (func))))
            (core module $m (func (export "run") (result i32) i32.const 0))
            (core instance $i (instantiate $m))
            (func $run (result (result)) (canon lift (core func $i "run")))
            (instance $run (export "run" (func $run)))
            (export "wasi:cli/run@0.2.0" (instance $run)))"#,
    )
    .unwrap();
    let path = scratch_file(&dir, "needs-foo.wasm", &bytes);
    let (code, _, stderr) = run_host(&[path.as_os_str()]).await;
    assert_eq!(code, 2);
    assert!(assert_one_error_line(&stderr).contains("foo:bar/baz"), "{stderr}");
}

#[tokio::test]
async fn a_missing_component_says_where_it_looked_and_how_to_build() {
    let (code, _, stderr) = run_host(&[OsStr::new("no-such-component.wasm")]).await;
    assert_eq!(code, 2);
    let line = assert_one_error_line(&stderr);
    assert!(line.contains("no-such-component.wasm"), "{line}");
    assert!(line.contains("scripts/build-guests"), "{line}");
}

#[tokio::test]
async fn a_bare_name_resolves_to_the_built_example() {
    // Run from a directory without the file: the host finds the built component.
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(crate::support::host_binary())
        .args(["misbehave.wasm", "--", "ok"])
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(!Path::new("misbehave.wasm").exists());
}

#[tokio::test]
async fn dir_preopens_are_read_only_unless_dir_rw() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "from the host\n").unwrap();
    let misbehave = component("misbehave");
    let mapping = format!("{}::/data", dir.path().display());
    let run = |flag: &'static str, mode: &'static [&'static str]| {
        let (misbehave, mapping) = (misbehave.clone(), mapping.clone());
        async move {
            let mut args: Vec<&OsStr> = vec![OsStr::new(flag), OsStr::new(&mapping), misbehave.as_os_str()];
            args.push(OsStr::new("--"));
            args.extend(mode.iter().map(OsStr::new));
            run_host(&args).await
        }
    };
    let (code, stdout, stderr) = run("--dir", &["cat", "/data/hello.txt"]).await;
    assert_eq!((code, stdout.as_str()), (0, "from the host\n"), "{stderr}");
    let (code, _, stderr) = run("--dir", &["write", "/data/new.txt", "nope"]).await;
    assert_eq!(code, 1, "a read-only preopen refuses writes: {stderr}");
    assert!(!dir.path().join("new.txt").exists());
    let (code, _, stderr) = run("--dir-rw", &["write", "/data/new.txt", "yes"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.path().join("new.txt")).unwrap(), "yes");
    // Without a preopen the guest sees no file system at all.
    let (code, _, _) = run_host(&[
        misbehave.as_os_str(),
        OsStr::new("--"),
        OsStr::new("cat"),
        OsStr::new("/data/hello.txt"),
    ])
    .await;
    assert_eq!(code, 1);
}
