//! The chat example's slow-member drop. Under a broadcast flood (one member sends lines
//! as fast as it can, two never read, one reads) the non-readers are dropped at the
//! per-member queue limit, their connections closed, within seconds; the reader keeps
//! receiving, through a hiccup too; the host's memory stays within what the queue
//! limits allow. A member that falls behind short of the limit is dropped by the 5 s
//! slow-reader timeout.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{within, Running};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// examples/chat-server/src/member.rs: MAX_QUEUED, the most a member may leave unread.
const MAX_QUEUED: u64 = 1024 * 1024;
/// How long the flood may take to get both non-readers dropped.
const DROP_BOUND: Duration = Duration::from_secs(10);
/// The flood stops at whichever comes first: this much sent, or this long.
const FLOOD_BYTES: u64 = 256 * 1024 * 1024;
const FLOOD_TIME: Duration = Duration::from_secs(10);
/// After both drops the reader stops reading this long, once.
const READER_HICCUP: Duration = Duration::from_millis(500);
/// After both drops, the reader must still receive this many flood lines (16 MiB):
/// the flood goes on, and memory must stay flat meanwhile.
const LINES_AFTER_DROPS: u64 = 16 * 1024;

/// The host's memory may grow by the live data the limits allow, twice over for the
/// allocator (a queue's buffer may have twice the capacity of its contents, and wasm
/// memory freed stays resident): per recipient the queue (MAX_QUEUED plus one line) and
/// the write the host holds for a socket the kernel will not take (64 KiB, wasmtime's
/// write permit); the flooder's line buffer (the 64 KiB readline limit, plus a read).
/// Plus 16 MiB for what the host allocates under load (wasmtime's stacks, tokio,
/// the allocator's arenas). Measured: 4-5 MiB. The old design (a drain task per line
/// per recipient, no limit) grew 38 -> 551 MiB in 11 s and was stopped at its memory limit.
fn rss_growth_bound() -> u64 {
    let per_recipient = MAX_QUEUED + 2 * 64 * 1024;
    let recipients = 3;
    let reader_buffers = 2 * 64 * 1024;
    2 * (recipients * per_recipient + reader_buffers) + 16 * 1024 * 1024
}

/// The host process's resident memory now (`VmRSS`) or at its peak (`VmHWM`), bytes.
fn process_memory(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    kib * 1024
}

/// Connects and reads the welcome line; returns the stream and the member's name.
async fn join(address: SocketAddr) -> (BufReader<TcpStream>, String) {
    let mut stream = BufReader::new(within("connect", TcpStream::connect(address)).await.unwrap());
    let mut welcome = String::new();
    within("the welcome", stream.read_line(&mut welcome)).await.unwrap();
    let name = welcome
        .trim_end()
        .strip_prefix("Welcome! You are ")
        .and_then(|rest| rest.strip_suffix('.'))
        .unwrap_or_else(|| panic!("unexpected welcome: {welcome:?}"))
        .to_string();
    (stream, name)
}

/// Sends 1 KiB lines as fast as the server takes them until `stop`, [`FLOOD_BYTES`] or
/// [`FLOOD_TIME`]; then one `done` line. Returns the bytes sent, and the stream (kept
/// open: closing it would tell the reader the flooder left).
async fn flood(mut stream: TcpStream, stop: Arc<AtomicBool>) -> (u64, TcpStream) {
    let mut line = vec![b'x'; 1023];
    line.push(b'\n');
    let chunk = line.repeat(64);
    let started = Instant::now();
    let mut sent = 0u64;
    while !stop.load(Ordering::Relaxed) && sent < FLOOD_BYTES && started.elapsed() < FLOOD_TIME {
        within("flood", stream.write_all(&chunk)).await.unwrap();
        sent += chunk.len() as u64;
    }
    within("the last line", stream.write_all(b"done\n")).await.unwrap();
    (sent, stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_that_never_read_are_dropped_under_a_flood() {
    let mut server = Running::start("chat-server", &["--max-memory", "64M"], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    let pid = server.child.id().expect("the host's pid");

    let (mut reader, _) = join(address).await;
    let mut idle = Vec::new();
    for _ in 0..2 {
        idle.push(join(address).await);
    }
    let (flooder, flooder_name) = join(address).await;
    // Everyone is in once the reader has seen the three joins.
    for _ in 0..3 {
        let mut notice = String::new();
        within("a join notice", reader.read_line(&mut notice)).await.unwrap();
        assert!(notice.ends_with(" joined\n"), "{notice:?}");
    }
    let baseline = process_memory(pid, "VmRSS");

    let stop = Arc::new(AtomicBool::new(false));
    let flooding = tokio::spawn(flood(flooder.into_inner(), Arc::clone(&stop)));
    let started = Instant::now();
    let flood_prefix = format!("{flooder_name}: x");
    let done = format!("{flooder_name}: done\n");
    let mut left = Vec::new();
    let mut flood_lines = 0u64;
    let mut lines_at_second_drop = None;
    let mut line = String::new();
    loop {
        line.clear();
        let n = within("a line for the reader", reader.read_line(&mut line)).await.unwrap();
        if n == 0 {
            let exited = server.child.try_wait().unwrap();
            panic!(
                "the reader was dropped ({flood_lines} flood lines in, {left:?} left; host exit: {exited:?})"
            );
        }
        if line.starts_with(&flood_prefix) {
            flood_lines += 1;
        } else if let Some(name) = line.strip_suffix(" left\n") {
            left.push((name.to_string(), started.elapsed()));
            if left.len() == 2 {
                lines_at_second_drop = Some(flood_lines);
                // A hiccup shorter than the server's patience with a member that fell
                // behind (1 s): the flood waits for the reader instead of dropping it.
                tokio::time::sleep(READER_HICCUP).await;
            }
        } else if line == done {
            break;
        } else {
            panic!("unexpected line for the reader: {line:?}");
        }
        if lines_at_second_drop.is_some_and(|at| flood_lines >= at + LINES_AFTER_DROPS) {
            stop.store(true, Ordering::Relaxed);
        }
    }
    let (flooded, _flooder) = within("the flood's end", flooding).await.unwrap();
    let elapsed = started.elapsed();
    let peak = process_memory(pid, "VmHWM");
    eprintln!(
        "chat flood: {} MiB in {elapsed:.1?}; the reader got {flood_lines} lines; left: {left:?}; \
         RSS {} MiB before, peak {} MiB (bound: growth {} MiB)",
        flooded >> 20,
        baseline >> 20,
        peak >> 20,
        rss_growth_bound() >> 20,
    );

    let mut idle_names: Vec<String> = idle.iter().map(|(_, name)| name.clone()).collect();
    let mut left_names: Vec<String> = left.iter().map(|(name, _)| name.clone()).collect();
    idle_names.sort();
    left_names.sort();
    assert_eq!(left_names, idle_names, "exactly the members that never read were dropped");
    for (name, at) in &left {
        assert!(*at < DROP_BOUND, "{name} was dropped only after {at:?}");
    }
    assert!(
        lines_at_second_drop.is_some_and(|at| flood_lines >= at + LINES_AFTER_DROPS),
        "the reader stopped receiving: {flood_lines} lines, {lines_at_second_drop:?} at the second drop"
    );
    assert!(
        peak.saturating_sub(baseline) <= rss_growth_bound(),
        "the host grew from {} to {} MiB",
        baseline >> 20,
        peak >> 20
    );

    // The server closed the non-readers' connections: once they read what the kernel
    // holds for them (no more than its socket buffers), they see EOF.
    for (stream, name) in &mut idle {
        let mut unread = 0u64;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = within("EOF for a dropped member", stream.read(&mut buffer)).await.unwrap();
            if n == 0 {
                break;
            }
            unread += n as u64;
            assert!(unread < 64 * MAX_QUEUED, "{name}'s connection is still open after {unread} bytes");
        }
    }
    assert!(server.child.try_wait().unwrap().is_none(), "the host is still running");
    server.child.kill().await.unwrap();
    let stderr = server.stderr_text().await;
    for name in idle_names {
        assert!(
            stderr.contains(&format!("chat-server: dropped {name}: ")),
            "no drop logged for {name}:\n{stderr}"
        );
    }
}

/// What the kernel holds on the loopback connection from `local` to `remote` (ports):
/// `(tx_queue, rx_queue)` from /proc/net/tcp, or None if there is no such socket.
fn kernel_queues(local: u16, remote: u16) -> Option<(u64, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    let port = |address: &str| u16::from_str_radix(address.rsplit(':').next()?, 16).ok();
    table.lines().skip(1).find_map(|row| {
        let fields: Vec<&str> = row.split_whitespace().collect();
        if port(fields.get(1)?)? != local || port(fields.get(2)?)? != remote {
            return None;
        }
        let (tx, rx) = fields.get(4)?.split_once(':')?;
        Some((u64::from_str_radix(tx, 16).ok()?, u64::from_str_radix(rx, 16).ok()?))
    })
}

#[tokio::test]
async fn a_member_that_falls_behind_is_dropped_after_the_slow_reader_timeout() {
    // Over the high-water mark (64 KiB) and short of the queue limit: only the 5 s
    // timeout can drop this member. The kernel takes megabytes for a peer that does not
    // read (send buffers autotune up to tcp_wmem's maximum), so the talker sends until
    // what the kernel does not hold, the server's queue for the sleeper, is well over.
    let mut server = Running::start("chat-server", &[], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    let (mut talker, talker_name) = join(address).await;
    let sleeper = within("connect", TcpStream::connect(address)).await.unwrap();
    let sleeper_port = sleeper.local_addr().unwrap().port();
    let mut notice = String::new();
    within("the join notice", talker.read_line(&mut notice)).await.unwrap();
    let sleeper_name = notice.strip_suffix(" joined\n").expect("a join notice").to_string();

    let mut line = vec![b'y'; 1023];
    line.push(b'\n');
    let chunk = line.repeat(64);
    let relayed_per_chunk = 64 * (line.len() + talker_name.len() + 2) as u64;
    let mut relayed = 0u64;
    let backlog = |relayed: u64| {
        let (held, _) = kernel_queues(address.port(), sleeper_port).expect("the server's socket");
        let (_, received) = kernel_queues(sleeper_port, address.port()).expect("the sleeper's socket");
        relayed.saturating_sub(held + received)
    };
    // Counts lines the server has not read yet as queued: 320 KiB leaves at least
    // 192 KiB queued once it has (less its 64 KiB read and the host's 64 KiB write).
    while backlog(relayed) < 320 * 1024 {
        assert!(relayed < 64 * MAX_QUEUED, "the kernel took {relayed} bytes for the sleeper");
        within("a chunk", talker.get_mut().write_all(&chunk)).await.unwrap();
        relayed += relayed_per_chunk;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent = Instant::now();
    let mut notice = String::new();
    within("the sleeper's drop", talker.read_line(&mut notice)).await.unwrap();
    let dropped_after = sent.elapsed();
    assert_eq!(notice, format!("{sleeper_name} left\n"));
    eprintln!("chat slow reader: {} KiB relayed, dropped after {dropped_after:.1?}", relayed >> 10);

    let mut sleeper = sleeper;
    let mut unread = 0u64;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = within("EOF for the dropped member", sleeper.read(&mut buffer)).await.unwrap();
        if n == 0 {
            break;
        }
        unread += n as u64;
        assert!(unread <= relayed + 4096, "more arrived than was sent: {unread} bytes");
    }
    server.child.kill().await.unwrap();
    let stderr = server.stderr_text().await;
    assert!(
        stderr.contains(&format!("chat-server: dropped {sleeper_name}: fell behind for 5 s")),
        "the drop is logged, for slowness:\n{stderr}"
    );
}
