//! The soak's mixed traffic against one echo server, every byte checked: persistent
//! connections echoing batches of lines, a bulk stream, churn (connect, one line, close),
//! half-closes (send, shut down writing, read to EOF), resets without reading, a slow
//! reader, and, against a line echo, overlong lines that the server must refuse by closing
//! that connection. Each worker loops until the deadline; every operation is bounded by
//! [`OP_TIMEOUT`], so a stall is a failure, not a hang.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use crate::echo::Echo;

/// No single operation (a batch echoed, a connection closed) may take longer.
pub const OP_TIMEOUT: Duration = Duration::from_secs(20);
/// The servers' reader limit (asyncio's default): a longer line is refused.
const LIMIT: usize = 64 * 1024;

/// What the traffic against one server has done, updated as it goes.
#[derive(Default)]
pub struct Tally {
    /// Bytes that came back and matched.
    pub echoed: AtomicU64,
    /// Operations completed (a batch, a connection, a refused line).
    pub operations: AtomicU64,
    pub failures: AtomicU64,
    /// The first few failures, for the report.
    pub first_failures: Mutex<Vec<String>>,
}

impl Tally {
    fn fail(&self, worker: &str, error: anyhow::Error) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_failures.lock().unwrap();
        if first.len() < 5 {
            first.push(format!("{worker}: {error:#}"));
        }
    }
}

/// Each worker's own seeded sequence (fastrand), and the lines it makes.
struct Rng(fastrand::Rng);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0.u64(..n)
    }

    /// A line of `len` bytes (newline included), its content from `seed`.
    fn line(&mut self, len: usize) -> Vec<u8> {
        let start = self.below(26) as u8;
        let mut line: Vec<u8> = (0..len - 1).map(|i| b'a' + (start + (i % 26) as u8) % 26).collect();
        line.push(b'\n');
        line
    }
}

/// Starts the workers against `address` (a server running `echo`) until `deadline`.
pub fn start(
    address: SocketAddr,
    echo: Echo,
    deadline: Instant,
    tally: Arc<Tally>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut workers: Vec<(&'static str, u64)> = vec![
        ("lines", 1),
        ("lines", 2),
        ("lines", 3),
        ("lines", 4),
        ("bulk", 5),
        ("churn", 6),
        ("churn", 7),
        ("half-close", 8),
        ("reset", 9),
        ("slow-reader", 10),
    ];
    if echo == Echo::Lines {
        workers.push(("overlong", 11));
    }
    workers
        .into_iter()
        .map(|(name, seed)| {
            let tally = tally.clone();
            tokio::spawn(async move {
                let mut rng = Rng(fastrand::Rng::with_seed(seed));
                while Instant::now() < deadline {
                    let result = timeout(OP_TIMEOUT, operation(name, address, &mut rng, &tally)).await;
                    match result {
                        Ok(Ok(())) => {
                            tally.operations.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(Err(error)) => tally.fail(name, error),
                        Err(_) => tally.fail(name, anyhow::anyhow!("stalled: no progress in {OP_TIMEOUT:?}")),
                    }
                }
            })
        })
        .collect()
}

async fn operation(name: &str, address: SocketAddr, rng: &mut Rng, tally: &Tally) -> Result<()> {
    match name {
        "lines" => lines(address, rng, tally).await,
        "bulk" => echo_all(address, 8 << 20, 16 * 1024, tally, rng).await,
        "churn" => echo_all(address, 64, 64, tally, rng).await,
        "half-close" => echo_all(address, 256 * 1024, 4096, tally, rng).await,
        "reset" => reset(address, rng).await,
        "slow-reader" => slow_reader(address, rng, tally).await,
        "overlong" => overlong(address, rng).await,
        _ => unreachable!("no worker {name}"),
    }
}

/// A persistent connection: batches of 1-20 lines of 10 B to 2 KiB, each batch echoed
/// and checked before the next; 100 batches, then a new connection.
async fn lines(address: SocketAddr, rng: &mut Rng, tally: &Tally) -> Result<()> {
    let mut stream = TcpStream::connect(address).await.context("connect")?;
    stream.set_nodelay(true)?;
    let mut received = vec![0; 64 * 1024];
    for _ in 0..100 {
        let mut batch = Vec::new();
        for _ in 0..1 + rng.below(20) {
            let len = 10 + rng.below(2038) as usize;
            batch.extend(rng.line(len));
        }
        stream.write_all(&batch).await.context("send a batch")?;
        stream.read_exact(&mut received[..batch.len()]).await.context("read the batch back")?;
        ensure!(received[..batch.len()] == batch[..], "a batch came back different");
        tally.echoed.fetch_add(batch.len() as u64, Ordering::Relaxed);
    }
    Ok(())
}

/// Sends `total` bytes of lines (`line_len` each) while reading them back, shuts down
/// writing, and checks the whole echo and the EOF after it.
async fn echo_all(
    address: SocketAddr,
    total: usize,
    line_len: usize,
    tally: &Tally,
    rng: &mut Rng,
) -> Result<()> {
    let stream = TcpStream::connect(address).await.context("connect")?;
    let (mut reader, mut writer) = stream.into_split();
    let payload: Vec<u8> = (0..total.div_ceil(line_len)).flat_map(|_| rng.line(line_len)).collect();
    let sent = payload.clone();
    let sender = tokio::spawn(async move {
        writer.write_all(&sent).await?;
        writer.shutdown().await
    });
    let mut echoed = Vec::with_capacity(payload.len());
    reader.read_to_end(&mut echoed).await.context("read the echo to EOF")?;
    sender.await?.context("send")?;
    ensure!(echoed.len() == payload.len(), "{} of {} bytes came back", echoed.len(), payload.len());
    ensure!(echoed == payload, "the echo differs from what was sent");
    tally.echoed.fetch_add(echoed.len() as u64, Ordering::Relaxed);
    Ok(())
}

/// Sends up to 64 KiB and resets the connection (SO_LINGER 0) without reading.
async fn reset(address: SocketAddr, rng: &mut Rng) -> Result<()> {
    let mut stream = TcpStream::connect(address).await.context("connect")?;
    let data: Vec<u8> = (0..1 + rng.below(64)).flat_map(|_| rng.line(1024)).collect();
    stream.write_all(&data).await.context("send")?;
    tokio::time::sleep(Duration::from_millis(rng.below(20))).await;
    // Deprecated because a linger time blocks the drop; a zero one resets at once.
    #[allow(deprecated)]
    stream.set_linger(Some(Duration::ZERO))?;
    drop(stream);
    Ok(())
}

/// Sends 1 MiB of lines and reads the echo 16 KiB at a time, 20 ms apart (the server's
/// writer must hold back, not buffer without bound or lose bytes).
async fn slow_reader(address: SocketAddr, rng: &mut Rng, tally: &Tally) -> Result<()> {
    let stream = TcpStream::connect(address).await.context("connect")?;
    let (mut reader, mut writer) = stream.into_split();
    let payload: Vec<u8> = (0..1024).flat_map(|_| rng.line(1024)).collect();
    let sent = payload.clone();
    let sender = tokio::spawn(async move {
        writer.write_all(&sent).await?;
        writer.shutdown().await
    });
    let mut echoed = Vec::with_capacity(payload.len());
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let n = reader.read(&mut buffer).await.context("read slowly")?;
        if n == 0 {
            break;
        }
        echoed.extend_from_slice(&buffer[..n]);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sender.await?.context("send")?;
    ensure!(
        echoed == payload,
        "the slow reader's echo differs ({} of {} bytes)",
        echoed.len(),
        payload.len()
    );
    tally.echoed.fetch_add(echoed.len() as u64, Ordering::Relaxed);
    Ok(())
}

/// A line echo server refuses a line over its limit (asyncio's `readline` raises), so the
/// line never comes back whole. What the server does next is its own: asyncio's echo and
/// echo-server end the connection (EOF or reset); compose-echo-async reads on, so the
/// line's last piece under the limit (its end) comes back as a line, then a short line
/// sent after it.
async fn overlong(address: SocketAddr, rng: &mut Rng) -> Result<()> {
    const AFTER: &[u8] = b"after the overlong line\n";
    let mut stream = TcpStream::connect(address).await.context("connect")?;
    let len = LIMIT * 2 + rng.below(LIMIT as u64) as usize;
    let line = rng.line(len);
    // The server may close before taking it all: a failed send is expected then.
    if stream.write_all(&line).await.is_ok() {
        let _ = stream.write_all(AFTER).await;
    }
    let mut echoed = Vec::new();
    let mut buffer = vec![0; 4096];
    while !echoed.ends_with(AFTER) && echoed.len() < line.len() + AFTER.len() {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => echoed.extend_from_slice(&buffer[..n]),
        }
    }
    if echoed.is_empty() {
        return Ok(()); // refused by closing
    }
    let Some(piece) = echoed.strip_suffix(AFTER) else {
        bail!("{} bytes came back, not ending with the line sent after the overlong one", echoed.len());
    };
    ensure!(
        piece.len() <= LIMIT + 1 && line.ends_with(piece),
        "an overlong line was echoed ({} bytes came back before the line after it)",
        piece.len()
    );
    Ok(())
}
