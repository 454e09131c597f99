//! The host keeps a misbehaving guest in bounds and stops cleanly: --max-memory,
//! --max-busy, --timeout, --restart on-failure, and SIGINT/SIGTERM with open
//! connections. Each run is bounded; the host always exits with a code (never a crash).

use std::ffi::OsStr;
use std::time::{Duration, Instant};

use crate::support::{component, run_host, within, Running};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

async fn host(args: &[&str]) -> (i32, String, String) {
    let misbehave = component("misbehave");
    let mut all: Vec<&OsStr> = Vec::new();
    let (flags, guest) = args.split_at(args.iter().position(|a| *a == "--").unwrap());
    all.extend(flags.iter().map(OsStr::new));
    all.push(misbehave.as_os_str());
    all.extend(guest.iter().map(OsStr::new));
    run_host(&all).await
}

#[tokio::test]
async fn unbounded_allocation_stops_at_max_memory() {
    let (code, stdout, stderr) = host(&["--max-memory", "32M", "--", "alloc"]).await;
    assert_eq!(code, 3, "{stderr}");
    assert!(stdout.contains("allocated 30 MiB"), "the guest ran until near the limit: {stdout}");
    assert!(!stdout.contains("allocated 40 MiB"), "{stdout}");
    assert!(
        stderr.contains("error: component stopped: it reached the memory limit (--max-memory 32 MiB)"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_spinning_guest_is_stopped_at_max_busy() {
    let started = Instant::now();
    let (code, stdout, stderr) = host(&["--max-busy", "300ms", "--", "spin"]).await;
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(stdout, "spinning\n");
    assert!(stderr.contains("busy in wasm for more than 300ms without returning to the host"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn timeout_stops_the_run() {
    let started = Instant::now();
    let (code, _, stderr) = host(&["--timeout", "500ms", "--", "spin"]).await;
    assert_eq!(code, 124, "{stderr}");
    assert!(stderr.contains("still running after 500ms (--timeout)"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_waiting_server_is_not_busy() {
    // Waiting in poll is time spent in the host: --max-busy does not stop an idle server.
    let mut server = Running::start("echo-server", &["--max-busy", "100ms"], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
    client.write_all(b"still serving\n").await.unwrap();
    let mut echoed = [0u8; 14];
    within("echo", client.read_exact(&mut echoed)).await.unwrap();
    assert_eq!(&echoed, b"still serving\n");
}

/// A line client of `misbehave serve`: connects (retrying while the server restarts).
async fn line_client(port: u16) -> BufReader<TcpStream> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect(("127.0.0.1", port)).await {
            Ok(stream) => return BufReader::new(stream),
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("the server did not come back: {e}"),
        }
    }
}

async fn echo_line(client: &mut BufReader<TcpStream>, line: &str) -> String {
    client.get_mut().write_all(line.as_bytes()).await.unwrap();
    let mut echoed = String::new();
    within("an echoed line", client.read_line(&mut echoed)).await.unwrap();
    echoed
}

#[tokio::test]
async fn restart_on_failure_brings_a_crashed_server_back_until_the_limit() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let port_arg = port.to_string();
    let mut server = Running::start(
        "misbehave",
        &["--restart", "on-failure", "--max-restarts", "1"],
        &["serve", &port_arg],
    );
    server.serving_address().await;
    for round in 0..2 {
        let mut client = line_client(port).await;
        assert_eq!(echo_line(&mut client, &format!("hello {round}\n")).await, format!("hello {round}\n"));
        assert_eq!(echo_line(&mut client, "crash\n").await, "", "the crash ends the connection");
    }
    // The second crash used up the one restart: the host exits with the trap.
    assert_eq!(server.exit_code().await, 3);
    let stderr = server.stderr_text().await;
    assert!(stderr.contains("restarting in 100ms (restart 1 of 1)"), "{stderr}");
    assert!(stderr.contains("no restarts left (1 made)"), "{stderr}");
}

#[tokio::test]
async fn sigint_with_100_open_connections_stops_fast_and_frees_the_port() {
    let mut server = Running::start("echo-server", &[], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    let mut clients = Vec::new();
    for _ in 0..100 {
        let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
        client.write_all(b"x\n").await.unwrap();
        let mut echoed = [0u8; 2];
        within("echo", client.read_exact(&mut echoed)).await.unwrap();
        clients.push(client);
    }
    let pid = server.child.id().expect("the host is running").to_string();
    let started = Instant::now();
    let killed = std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(killed.success());
    assert_eq!(server.exit_code().await, 130);
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    for client in &mut clients {
        let mut rest = Vec::new();
        // EOF, or a reset: either way the connection is over.
        let _ = within("the connection ends", client.read_to_end(&mut rest)).await;
        assert!(rest.is_empty());
    }
    // The port can be bound again at once (as servers bind: with SO_REUSEADDR).
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket.bind(address).expect("the port is free again");
    socket.listen(16).unwrap();
}

#[tokio::test]
async fn sigterm_exits_with_143() {
    let mut server = Running::start("echo-server", &[], &["127.0.0.1", "0"]);
    server.serving_address().await;
    let pid = server.child.id().unwrap().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert_eq!(server.exit_code().await, 143);
}
