//! Talks to the stream-driver component: one command in, one result line out, with
//! `bg` commands' results collected separately.

use std::collections::HashMap;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::ChildStdin;

use super::{within, Running};

pub struct Driver {
    running: Running,
    stdin: ChildStdin,
    background: HashMap<u32, String>,
}

impl Driver {
    pub fn start() -> Driver {
        Self::start_with(&[])
    }

    /// Starts the driver with options for the host (e.g. a network policy).
    pub fn start_with(host_args: &[&str]) -> Driver {
        let mut running = Running::start_with_stdin("stream-driver", host_args, &[], Stdio::piped());
        let stdin = running.child.stdin.take().expect("piped stdin");
        Driver { running, stdin, background: HashMap::new() }
    }

    /// A driver whose connection (its `conn=0`) goes to a native peer on a free loopback
    /// port, with `connect` options such as `limit=4`; returns the peer's end too.
    pub async fn connected_to_peer(options: &str) -> (Driver, tokio::net::TcpStream) {
        let (listener, address) = super::peer::listener().await;
        let mut driver = Driver::start();
        driver.ok(&format!("connect 127.0.0.1 {} {options}", address.port())).await;
        let socket = super::peer::accept(&listener).await;
        (driver, socket)
    }

    /// Connects to a fresh HTTP test server (`peer::http_test_server`), sends a GET and
    /// reads the status line: a connection with a response still to read.
    pub async fn http_exchange(&mut self) {
        let address = super::peer::http_test_server().await;
        self.ok(&format!("connect 127.0.0.1 {}", address.port())).await;
        self.ok("write GET\\s/\\sHTTP/1.0\\r\\n\\r\\n").await;
        assert_eq!(self.ok("readline").await, r#""HTTP/1.0 200 OK\r\n""#);
    }

    /// Sends commands without waiting for their results (read them with [`Driver::line`]):
    /// the driver then runs them back to back, in one executor turn when it can.
    pub async fn send(&mut self, commands: &[&str]) {
        let text: String = commands.iter().map(|command| format!("{command}\n")).collect();
        self.stdin.write_all(text.as_bytes()).await.expect("write commands");
        self.stdin.flush().await.unwrap();
    }

    /// Sends one command and returns its result line (`ok ...` / `err ...`).
    pub async fn cmd(&mut self, command: &str) -> String {
        self.stdin.write_all(format!("{command}\n").as_bytes()).await.expect("write a command");
        self.stdin.flush().await.unwrap();
        loop {
            let line = self.next_line(command).await;
            if !self.stash_background(&line) {
                return line;
            }
        }
    }

    /// Sends a command that must succeed and returns what follows `ok`.
    pub async fn ok(&mut self, command: &str) -> String {
        let line = self.cmd(command).await;
        match line.strip_prefix("ok") {
            Some(rest) => rest.trim_start().to_string(),
            None => panic!("`{command}` failed: {line}"),
        }
    }

    /// The next output line that is not a background result.
    pub async fn line(&mut self) -> String {
        loop {
            let line = self.next_line("output").await;
            if !self.stash_background(&line) {
                return line;
            }
        }
    }

    /// Starts `command` as its own task in the component; returns its id.
    pub async fn bg(&mut self, command: &str) -> u32 {
        let started = self.ok(&format!("bg {command}")).await;
        started.strip_prefix("bg=").and_then(|n| n.parse().ok()).expect("bg id")
    }

    /// Waits for the result of background command `id`.
    pub async fn bg_result(&mut self, id: u32) -> String {
        loop {
            if let Some(result) = self.background.remove(&id) {
                return result;
            }
            let line = self.next_line(&format!("bg{id}")).await;
            if !self.stash_background(&line) {
                panic!("unexpected output while waiting for bg{id}: {line}");
            }
        }
    }

    /// The result of `id` if it already arrived (without waiting).
    pub fn bg_done(&mut self, id: u32) -> Option<String> {
        self.background.remove(&id)
    }

    /// Checks whether bg `id` finished within `millis` (false: still pending).
    pub async fn bg_finishes_within(&mut self, id: u32, millis: u64) -> Option<String> {
        if let Some(result) = self.background.remove(&id) {
            return Some(result);
        }
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(millis);
        loop {
            let line = match tokio::time::timeout_at(deadline, self.running.stdout.next_line()).await {
                Err(_) => return None,
                Ok(line) => line.expect("read driver output").expect("driver ended"),
            };
            if !self.stash_background(&line) {
                panic!("unexpected output while waiting for bg{id}: {line}");
            }
            if let Some(result) = self.background.remove(&id) {
                return Some(result);
            }
        }
    }

    fn stash_background(&mut self, line: &str) -> bool {
        let Some(rest) = line.strip_prefix("bg") else { return false };
        let Some((id, result)) = rest.split_once(": ") else { return false };
        let Ok(id) = id.parse() else { return false };
        self.background.insert(id, result.to_string());
        true
    }

    async fn next_line(&mut self, waiting_for: &str) -> String {
        match within(&format!("driver result of `{waiting_for}`"), self.running.stdout.next_line()).await {
            Ok(Some(line)) => line,
            other => {
                let stderr = self.running.stderr_text().await;
                panic!("driver ended while waiting for `{waiting_for}` ({other:?}); stderr:\n{stderr}")
            }
        }
    }

    /// Ends the driver and returns what the host printed on stderr.
    pub async fn finish_with_stderr(mut self) -> String {
        self.stdin.write_all(b"quit\n").await.unwrap();
        drop(self.stdin);
        let code = self.running.exit_code().await;
        let stderr = self.running.stderr_text().await;
        assert_eq!(code, 0, "driver exit code; stderr:\n{stderr}");
        stderr
    }

    /// The underlying process, e.g. to read its stderr after killing it.
    pub fn into_running(self) -> Running {
        self.running
    }

    /// Ends the driver and checks it exits cleanly.
    pub async fn finish(mut self) {
        self.stdin.write_all(b"quit\n").await.unwrap();
        drop(self.stdin);
        let code = self.running.exit_code().await;
        assert_eq!(code, 0, "driver exit code; stderr:\n{}", self.running.stderr_text().await);
    }
}
