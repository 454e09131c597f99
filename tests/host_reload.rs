//! Graceful reload (SIGHUP, `--watch`): new instances take over the listening sockets, the
//! old ones finish their connections, and no connection or byte is lost; a component that
//! fails to start leaves the running one serving. Real loopback, the real host binary.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;
use tokio::sync::mpsc;

use crate::support::{component, host_binary, within, Running, STEP};

/// Sends `signal` (e.g. `-HUP`) to the host.
fn kill(server: &Running, signal: &str) {
    let pid = server.child.id().expect("the host is running").to_string();
    assert!(std::process::Command::new("kill").args([signal, &pid]).status().unwrap().success());
}

/// The host's stderr, line by line, as it comes.
fn stderr_lines(server: &mut Running) -> mpsc::UnboundedReceiver<String> {
    let (send, receive) = mpsc::unbounded_channel();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if send.send(line).is_err() {
                return;
            }
        }
    });
    receive
}

/// Waits for a stderr line containing `text`; returns it.
async fn line_with(lines: &mut mpsc::UnboundedReceiver<String>, text: &str) -> String {
    within(&format!("a host log line with {text:?}"), async {
        loop {
            let line = lines.recv().await.expect("the host's stderr ended");
            if line.contains(text) {
                return line;
            }
        }
    })
    .await
}

/// One client: connections of 10 echoed messages each, every byte checked, until `stop`.
/// Returns how many connections it completed after `reloaded` was set.
async fn echo_client(
    address: SocketAddr,
    id: usize,
    stop: Arc<AtomicBool>,
    reloaded: Arc<AtomicBool>,
) -> Result<usize, String> {
    let mut after_reload = 0;
    for connection in 0.. {
        if stop.load(Ordering::Relaxed) {
            return Ok(after_reload);
        }
        let during_reload = reloaded.load(Ordering::Relaxed);
        let mut stream = TcpStream::connect(address)
            .await
            .map_err(|e| format!("client {id}: connect {connection}: {e}"))?;
        for message in 0..10 {
            let sent = format!("client {id} connection {connection} message {message} {:0>40}\n", "");
            stream.write_all(sent.as_bytes()).await.map_err(|e| format!("client {id}: write: {e}"))?;
            let mut echoed = vec![0u8; sent.len()];
            within("an echo", stream.read_exact(&mut echoed))
                .await
                .map_err(|e| format!("client {id}: connection {connection} message {message}: {e}"))?;
            if echoed != sent.as_bytes() {
                return Err(format!(
                    "client {id}: {sent:?} came back as {:?}",
                    String::from_utf8_lossy(&echoed)
                ));
            }
        }
        stream.shutdown().await.map_err(|e| format!("client {id}: shutdown: {e}"))?;
        let mut rest = Vec::new();
        within("the server's close", stream.read_to_end(&mut rest))
            .await
            .map_err(|e| format!("client {id}: close: {e}"))?;
        if during_reload {
            after_reload += 1;
        }
    }
    unreachable!()
}

#[tokio::test]
async fn fifty_clients_echo_through_a_reload_without_losing_a_byte() {
    let mut server = Running::start("echo-server", &["--drain-timeout", "2s"], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    let mut log = stderr_lines(&mut server);
    let (stop, reloaded) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let clients: Vec<_> =
        (0..50).map(|id| tokio::spawn(echo_client(address, id, stop.clone(), reloaded.clone()))).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    reloaded.store(true, Ordering::Relaxed);
    kill(&server, "-HUP");
    // The new instance prints its address: the same one, whose socket it took over.
    assert_eq!(server.serving_address().await, address);
    line_with(&mut log, "reloaded: the new component serves").await;
    // Past the drain: the old instance is stopped, the new one serves alone.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let mut after_reload = 0;
    for client in clients {
        after_reload += within("a client", client).await.unwrap().unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(after_reload >= 50, "the clients went on through the reload: {after_reload} connections");
    assert!(server.child.try_wait().unwrap().is_none(), "the host still runs");
    kill(&server, "-TERM");
    assert_eq!(server.exit_code().await, 143);
}

/// Starts the host on a component file of the test's own (so it can be replaced).
fn start_on_file(path: &Path, host_args: &[&str]) -> Running {
    let mut child = Command::new(host_binary())
        .args(host_args)
        .arg(path)
        .args(["--", "127.0.0.1", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the host binary");
    let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let stderr = child.stderr.take();
    Running { child, stdout, stderr }
}

async fn echoes(address: SocketAddr) -> bool {
    let Ok(Ok(mut stream)) = tokio::time::timeout(STEP, TcpStream::connect(address)).await else {
        return false;
    };
    if stream.write_all(b"still here\n").await.is_err() {
        return false;
    }
    let mut echoed = [0u8; 11];
    matches!(tokio::time::timeout(STEP, stream.read_exact(&mut echoed)).await, Ok(Ok(_)))
        && &echoed == b"still here\n"
}

/// Replaces `path` with `bytes` in one step (a rename), as a deployment would.
fn replace(path: &Path, bytes: &[u8]) {
    let staged = path.with_extension("staged");
    std::fs::write(&staged, bytes).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

#[tokio::test]
async fn a_component_that_fails_to_start_keeps_the_old_one_serving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.wasm");
    std::fs::copy(component("echo-server"), &path).unwrap();
    let mut server = start_on_file(&path, &[]);
    let address = server.serving_address().await;
    let mut log = stderr_lines(&mut server);

    replace(&path, b"not a component");
    kill(&server, "-HUP");
    let failed = line_with(&mut log, "reload failed").await;
    assert!(failed.contains("keeps serving"), "{failed}");
    assert!(echoes(address).await, "the old instance serves on");

    // A component that ends before it listens (misbehave takes `127.0.0.1` for an unknown mode).
    replace(&path, &std::fs::read(component("misbehave")).unwrap());
    kill(&server, "-HUP");
    let failed = line_with(&mut log, "reload failed: the new component").await;
    assert!(failed.contains("before it listened"), "{failed}");
    assert!(echoes(address).await, "the old instance serves on");

    // A good one takes over.
    replace(&path, &std::fs::read(component("echo-server")).unwrap());
    kill(&server, "-HUP");
    assert_eq!(server.serving_address().await, address);
    line_with(&mut log, "reloaded: the new component serves").await;
    assert!(echoes(address).await);
    kill(&server, "-TERM");
    assert_eq!(server.exit_code().await, 143);
}

#[tokio::test]
async fn watch_reloads_when_the_file_changes_and_instances_hand_over_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.wasm");
    std::fs::copy(component("echo-server"), &path).unwrap();
    let mut server = start_on_file(&path, &["--watch", "--instances", "2", "--drain-timeout", "1s"]);
    let address = server.serving_address().await;
    assert_eq!(server.serving_address().await, address);
    let mut log = stderr_lines(&mut server);
    // The modification time must differ from the first one's.
    tokio::time::sleep(Duration::from_millis(20)).await;
    replace(&path, &std::fs::read(component("echo-server")).unwrap());
    line_with(&mut log, "changed: reloading the component").await;
    for _ in 0..2 {
        assert_eq!(server.serving_address().await, address, "both new instances serve the address");
    }
    line_with(&mut log, "reloaded: the new component serves").await;
    for _ in 0..20 {
        assert!(echoes(address).await);
    }
    kill(&server, "-TERM");
    assert_eq!(server.exit_code().await, 143);
}

/// The drain ends when the old instance's last connection does, not at `--drain-timeout`.
#[tokio::test]
async fn the_drain_ends_when_the_old_connections_do() {
    drain_ends_with_the_old_connections("echo-server", true).await;
}

/// The same for a WASI 0.3 guest (compose-echo-async): its accepted connections count too,
/// so the old instance keeps serving one open across the reload instead of being stopped;
/// and the new instance took over its listener, so a connection after the drain is served.
#[tokio::test]
async fn the_drain_waits_for_a_p3_guests_connections() {
    drain_ends_with_the_old_connections("compose-echo-async", true).await;
}

/// Serves `component` with a 60 s drain timeout, reloads it with a connection open, and
/// checks the old instance serves that connection and the drain ends when it closes; with
/// `serves_after_the_drain`, also that the new instance serves a new connection after it.
async fn drain_ends_with_the_old_connections(component: &str, serves_after_the_drain: bool) {
    let mut server = Running::start(component, &["--drain-timeout", "60s"], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    let mut log = stderr_lines(&mut server);
    // A connection of the old instance, open across the reload.
    let mut old = within("connect", TcpStream::connect(address)).await.unwrap();
    let mut echoed = [0u8; 7];
    old.write_all(b"before\n").await.unwrap();
    within("an echo", old.read_exact(&mut echoed)).await.unwrap();
    kill(&server, "-HUP");
    assert_eq!(server.serving_address().await, address);
    line_with(&mut log, "reloaded: the new component serves").await;
    // The old instance still serves it, and stays while it is open.
    old.write_all(b"during\n").await.unwrap();
    within("an echo", old.read_exact(&mut echoed)).await.unwrap();
    assert_eq!(&echoed, b"during\n");
    assert!(echoes(address).await, "the new instance serves new connections");
    drop(old);
    // Within a test step (20 s), far before the 60 s timeout.
    let done = line_with(&mut log, "reload done").await;
    assert!(done.contains("connections all ended"), "{done}");
    if serves_after_the_drain {
        assert!(echoes(address).await);
    }
    kill(&server, "-TERM");
    assert_eq!(server.exit_code().await, 143);
}
