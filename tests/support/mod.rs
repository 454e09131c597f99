//! Shared by the integration tests: find the built components, run them under the
//! `host` binary, and talk to them over loopback with bounded waits.
#![allow(dead_code)] // each test file uses a different part

pub mod certs;
pub mod driver;
pub mod line_clients;
pub mod over;
pub mod peer;
pub mod provider;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, ChildStdout, Command};

/// The longest any single step of a test may take before it fails.
pub const STEP: Duration = Duration::from_secs(20);

/// Where `scripts/build-guests` put the components (the newest build wins when both the
/// rustup and the Debian toolchain built them).
pub fn component(name: &str) -> PathBuf {
    let file = format!("{name}.wasm");
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("WASIO_COMPONENT_DIR") {
        candidates.push(PathBuf::from(dir).join(&file));
    }
    for dir in ["target/guests", "target/guests-debian"] {
        candidates.push(repo.join(dir).join("wasm32-wasip2/release").join(&file));
    }
    candidates
        .iter()
        .filter_map(|path| Some((path.metadata().ok()?.modified().ok()?, path)))
        .max()
        .map(|(_, path)| path.clone())
        .unwrap_or_else(|| {
            panic!("component {file} not built (looked at {candidates:?}); run ./scripts/build-guests")
        })
}

pub fn host_binary() -> &'static str {
    env!("CARGO_BIN_EXE_host")
}

/// A component running under the host CLI; killed when dropped.
pub struct Running {
    pub child: Child,
    pub stdout: Lines<BufReader<ChildStdout>>,
    pub stderr: Option<ChildStderr>,
}

impl Running {
    /// Starts `host [host_args] <component> -- [args]`.
    pub fn start(component_name: &str, host_args: &[&str], args: &[&str]) -> Running {
        Self::start_with_stdin(component_name, host_args, args, Stdio::null())
    }

    pub fn start_with_stdin(
        component_name: &str,
        host_args: &[&str],
        args: &[&str],
        stdin: Stdio,
    ) -> Running {
        let mut command = Command::new(host_binary());
        command
            .args(host_args)
            .arg(component(component_name))
            .arg("--")
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("start the host binary");
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let stderr = child.stderr.take();
        Running { child, stdout, stderr }
    }

    /// The next stdout line, failing the test after [`STEP`].
    pub async fn next_line(&mut self) -> Option<String> {
        tokio::time::timeout(STEP, self.stdout.next_line())
            .await
            .expect("timed out waiting for the component's output")
            .expect("read the component's stdout")
    }

    /// Reads stdout until a `Serving on ADDR` line and returns ADDR.
    pub async fn serving_address(&mut self) -> SocketAddr {
        loop {
            match self.next_line().await {
                Some(line) => {
                    if let Some(address) = line.strip_prefix("Serving on ") {
                        return address.trim().parse().expect("a socket address after 'Serving on'");
                    }
                }
                None => {
                    let stderr = self.stderr_text().await;
                    panic!("the component ended before it was serving; stderr:\n{stderr}")
                }
            }
        }
    }

    pub async fn stderr_text(&mut self) -> String {
        let mut text = String::new();
        if let Some(mut stderr) = self.stderr.take() {
            let _ = tokio::time::timeout(STEP, stderr.read_to_string(&mut text)).await;
        }
        text
    }

    /// Waits for the process to exit and returns its exit code.
    pub async fn exit_code(&mut self) -> i32 {
        let status = tokio::time::timeout(STEP, self.child.wait())
            .await
            .expect("timed out waiting for the host to exit")
            .expect("wait for the host");
        status.code().expect("the host exited by a signal")
    }
}

/// Starts the echo-server component on a free loopback port; returns it and its address.
pub async fn start_echo_server() -> (Running, SocketAddr) {
    let mut server = Running::start("echo-server", &[], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    (server, address)
}

/// Runs the host CLI to completion: (exit code, stdout, stderr).
pub async fn run_host(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let output = tokio::time::timeout(
        STEP,
        Command::new(host_binary()).args(args).stdin(Stdio::null()).kill_on_drop(true).output(),
    )
    .await
    .expect("timed out waiting for the host")
    .expect("run the host binary");
    (
        output.status.code().expect("the host exited by a signal"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Bounds a future by [`STEP`], failing the test with `what` on timeout.
pub async fn within<F: std::future::Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(STEP, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out: {what}"),
    }
}
