//! A server pushed past what it can hold, as asyncio handles it: at the descriptor limit
//! (the host started with a low RLIMIT_NOFILE) accepting pauses, the cause is logged a few
//! times (not once per retry), the open connections are still served at little CPU, and
//! accepting resumes once descriptors are free; a flood of peer resets is summarised in a
//! line or two instead of a warning each.

mod p3;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use crate::support::{component, host_binary, peer, start_echo_server, within, Running, STEP};

/// The host's descriptor limit in the limit test: a few dozen above what the host opens
/// to run a component, so a hundred clients are more than fit.
const NOFILE_LIMIT: u64 = 64;
/// Clients opened at the limit: enough to exhaust it, few enough to fit in the listen
/// backlog (100) with the ones accepted, so every connect completes.
const EXTRA_CLIENTS: usize = 100;

/// Starts `host <component> -- args` with RLIMIT_NOFILE (soft and hard) at `limit`.
fn start_with_nofile_limit(component_name: &str, args: &[&str], limit: u64) -> Running {
    let mut command = Command::new(host_binary());
    command
        .arg(component(component_name))
        .arg("--")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let rlimit = libc::rlimit { rlim_cur: limit, rlim_max: limit };
    // SAFETY: between fork and exec only setrlimit, which is async-signal-safe, runs.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut child = command.spawn().expect("start the host binary");
    let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let stderr = child.stderr.take();
    Running { child, stdout, stderr }
}

/// The host's stderr lines as they come (read by a task, so the pipe never fills).
fn stderr_lines(server: &mut Running) -> UnboundedReceiver<String> {
    let stderr = server.stderr.take().expect("stderr not taken yet");
    let (sender, receiver) = unbounded_channel();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

/// Waits (bounded by [`STEP`]) for a line containing `text`; returns every line up to it.
async fn wait_for_line(lines: &mut UnboundedReceiver<String>, text: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(STEP, async {
        while let Some(line) = lines.recv().await {
            let found = line.contains(text);
            seen.push(line);
            if found {
                return true;
            }
        }
        false
    })
    .await;
    assert!(found == Ok(true), "no stderr line with {text:?} within {STEP:?}; lines:\n{}", seen.join("\n"));
    seen
}

/// The lines already received, without waiting.
fn lines_so_far(lines: &mut UnboundedReceiver<String>) -> Vec<String> {
    std::iter::from_fn(|| lines.try_recv().ok()).collect()
}

async fn echo(client: &mut TcpStream, text: &[u8], bound: Duration) {
    let exchange = async {
        client.write_all(text).await?;
        let mut echoed = vec![0; text.len()];
        client.read_exact(&mut echoed).await?;
        std::io::Result::Ok(echoed)
    };
    let echoed = tokio::time::timeout(bound, exchange)
        .await
        .unwrap_or_else(|_| panic!("no echo of {:?} within {bound:?}", text.escape_ascii().to_string()))
        .expect("echo exchange");
    assert_eq!(echoed, text);
}

/// The CPU time (user + system) process `pid` has used.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // Fields after the command name (which may hold spaces) in parentheses: state is
    // field 3, utime 14 and stime 15, in clock ticks.
    let fields: Vec<&str> = stat.rsplit_once(')').expect("a stat line").1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_secs_f64(ticks as f64 / per_second as f64)
}

/// Connects [`EXTRA_CLIENTS`] clients to `address`: more than the host's descriptors fit.
async fn connect_over_the_limit(address: SocketAddr) -> Vec<TcpStream> {
    let mut extra = Vec::new();
    for _ in 0..EXTRA_CLIENTS {
        extra.push(within("connect a client over the limit", TcpStream::connect(address)).await.unwrap());
    }
    extra
}

/// At the limit: the open connection `before` is served, and waiting to accept costs the
/// host (`pid`) little CPU.
async fn assert_idle_at_the_limit(pid: u32, before: &mut TcpStream) {
    echo(before, b"at the limit\n", Duration::from_secs(5)).await;
    let (cpu_before, started) = (cpu_time(pid), std::time::Instant::now());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let share = (cpu_time(pid) - cpu_before).as_secs_f64() / started.elapsed().as_secs_f64();
    assert!(share < 0.30, "the host used {:.0}% CPU at the descriptor limit", share * 100.0);
}

/// The `extra` clients go: a new client is served again within a few seconds, and `before`
/// still is.
async fn assert_served_after_the_limit(extra: Vec<TcpStream>, address: SocketAddr, before: &mut TcpStream) {
    drop(extra);
    let mut after = within("connect after the limit", TcpStream::connect(address)).await.unwrap();
    echo(&mut after, b"after the limit\n", Duration::from_secs(10)).await;
    echo(before, b"still here\n", Duration::from_secs(5)).await;
}

#[tokio::test]
async fn at_the_descriptor_limit_accepting_pauses_and_resumes() {
    let mut server = start_with_nofile_limit("echo-server", &["127.0.0.1", "0"], NOFILE_LIMIT);
    let address: SocketAddr = server.serving_address().await;
    let pid = server.child.id().expect("the host's pid");
    let mut stderr = stderr_lines(&mut server);

    let mut before = within("connect before the limit", TcpStream::connect(address)).await.unwrap();
    echo(&mut before, b"before the limit\n", STEP).await;

    let extra = connect_over_the_limit(address).await;
    let mut seen = wait_for_line(&mut stderr, "too many open files").await;

    // At the limit: the open connection is served, and waiting to accept costs little.
    assert_idle_at_the_limit(pid, &mut before).await;

    // The extra clients go: a new client is served again within a few seconds.
    assert_served_after_the_limit(extra, address, &mut before).await;

    seen.extend(lines_so_far(&mut stderr));
    let _ = server.child.start_kill();
    let log = seen.join("\n");
    let cause_lines = seen.iter().filter(|line| line.contains("too many open files")).count();
    assert!((1..=5).contains(&cause_lines), "{cause_lines} lines name the cause:\n{log}");
    assert!(
        seen.iter().any(|line| line.starts_with("warning: accept failed: too many open files (EMFILE")),
        "the host names the cause:\n{log}"
    );
    assert!(
        seen.iter().any(|line| line.contains("not accepting for 1 s")),
        "the guest says it pauses:\n{log}"
    );
    assert!(!log.contains("unknown"), "an error code without a name:\n{log}");
}

#[tokio::test]
async fn peer_resets_are_summarised_not_logged_one_by_one() {
    const RESETS: usize = 20;
    let (mut server, address) = start_echo_server().await;
    let mut stderr = stderr_lines(&mut server);
    for _ in 0..RESETS {
        let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
        // Echoed: the handler is reading again when the reset comes.
        echo(&mut client, b"bye\n", STEP).await;
        peer::reset(client);
    }
    let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
    echo(&mut client, b"still serving\n", STEP).await;

    // The first reset is told at once; the rest in one line after the interval (10 s).
    let seen = wait_for_line(&mut stderr, "more client handlers ended with connection reset").await;
    let _ = server.child.start_kill();
    let log = seen.join("\n");
    assert_eq!(seen.len(), 2, "one line for the first reset, one summary:\n{log}");
    assert!(seen[0].starts_with("wasio: client handler ended: connection reset"), "{log}");
    assert!(seen[1].starts_with(&format!("wasio: {} more client handlers", RESETS - 1)), "{log}");
}
