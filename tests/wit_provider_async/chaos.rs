//! Arbitrary call sequences on one 0.2.0 provider instance (the 0.1.0 suite's chaos walk,
//! tests/wit_provider/chaos.rs, with async calls): against live loopback peers that send,
//! read, half-close and reset at random, every reader, writer and server call in any
//! order, with sizes out of range (negative, zero, huge), separators empty or long, calls
//! after close, resources dropped in any order. A call that waits is given up after
//! [`PATIENCE`] (wasmtime 48 runs a host-dropped call on, so later reads may be `busy`).
//! Whatever the sequence: never a trap, and the instance still serves a fresh connection.
//!
//! `WASIO_CHAOS_RUNS=N` walks more seeds, `WASIO_CHAOS_SEED=S` replays one; a failure
//! names its seed and step.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use wasmtime::component::ResourceAny;

use host::provider_async::{AsyncProvider, ServerOptions};

use super::conn::{connect, drop_resource, limit, still_usable};
use super::provider;
use crate::support::{peer, within};

const STEPS: usize = 60;
const DEFAULT_RUNS: u64 = 6;
/// How long a call may wait before the walk moves on.
const PATIENCE: Duration = Duration::from_millis(50);

struct Rng(fastrand::Rng);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0.usize(..n)
    }
    fn pick<T: Clone>(&mut self, choices: &[T]) -> T {
        choices[self.below(choices.len())].clone()
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.pick(b"ab\nxyz")).collect()
    }
}

/// One connection under test: our ends (until dropped) and the native peer (until gone).
struct Connection {
    reader: Option<ResourceAny>,
    writer: Option<ResourceAny>,
    peer: Option<TcpStream>,
    /// A call given up on may still run (and borrow our ends): no drop until the end.
    stuck: bool,
}

/// Runs `call` in the store, given up after [`PATIENCE`]; a trap fails the walk.
async fn attempt<R: Send + 'static>(
    p: &mut AsyncProvider,
    what: &str,
    call: impl AsyncFnOnce(
            &wasmtime::component::Accessor<host::provider_async::HostState>,
            &host::provider_async::Api,
        ) -> wasmtime::Result<R>
        + Send,
) -> Option<R> {
    let bounded = p.run(async move |acc, api| tokio::time::timeout(PATIENCE, call(acc, api)).await.ok());
    match within(what, bounded).await {
        Ok(Some(Ok(done))) => Some(done),
        Ok(Some(Err(trap))) | Err(trap) => panic!("{what}: {trap:?}"),
        Ok(None) => None,
    }
}

/// Drops `resource` once no call given up on still borrows it (each such call ends now
/// that the peers are gone: the store runs meanwhile); a trap or a call that never ends
/// fails the walk.
async fn drop_when_free(p: &mut AsyncProvider, resource: ResourceAny, what: &str) {
    for _ in 0..50 {
        match within(what, p.drop_resource(resource)).await {
            Ok(()) => return,
            Err(error) if error.to_string().contains("while borrowed") => {
                let settle = p.run(async |_, _| tokio::time::sleep(Duration::from_millis(100)).await);
                within(what, settle).await.expect("no trap");
            }
            Err(trap) => panic!("{what}: {trap:?}"),
        }
    }
    panic!("{what}: a call on the resource still runs after 5 s");
}

async fn walk(seed: u64) {
    let mut rng = Rng(fastrand::Rng::with_seed(seed));
    let mut p = provider().await;
    let mut connections: Vec<Connection> = Vec::new();
    let mut servers: Vec<(ResourceAny, Vec<TcpStream>)> = Vec::new();
    for step in 0..STEPS {
        let what = format!("seed {seed}, step {step}");
        let choice = rng.below(100);
        if connections.is_empty() || choice < 8 {
            let options = rng.pick(&[None, limit(1), limit(7), limit(65536)]);
            let (reader, writer, socket) = connect(&mut p, options).await;
            connections.push(Connection {
                reader: Some(reader),
                writer: Some(writer),
                peer: Some(socket),
                stuck: false,
            });
        } else if choice < 12 {
            serve(&mut p, &mut rng, &mut servers, &mut connections, &what).await;
        } else if choice < 30 {
            let index = rng.below(connections.len());
            act_as_peer(&mut rng, &mut connections[index]).await;
        } else if choice < 34 {
            let index = rng.below(connections.len());
            let connection = &mut connections[index];
            if connection.stuck {
                continue;
            }
            let end = if rng.below(2) == 0 { connection.reader.take() } else { connection.writer.take() };
            if let Some(end) = end {
                drop_resource(&mut p, end).await;
            }
        } else {
            let index = rng.below(connections.len());
            if call(&mut p, &mut rng, &mut connections[index], &what).await.is_none() {
                connections[index].stuck = true;
            }
        }
    }
    // The peers leave, so every call still running ends; then everything is dropped.
    for connection in &mut connections {
        connection.peer.take().map(peer::reset);
    }
    for (server, clients) in &mut servers {
        clients.drain(..).for_each(peer::reset);
        let server = *server;
        attempt(&mut p, "close a server", async move |acc, api| api.server().call_close(acc, server).await)
            .await;
    }
    let settle = p.run(async |_, _| tokio::time::sleep(Duration::from_millis(300)).await);
    within("settle", settle).await.expect("no trap");
    while !connections.is_empty() {
        let mut connection = connections.swap_remove(rng.below(connections.len()));
        // A reader paused at 2 x limit does not see its peer's reset (nor does asyncio's,
        // which stops reading): close or abort ends what still waits, as in asyncio.
        if let Some(w) = connection.writer {
            let abort = rng.below(2) == 0;
            let what = format!("seed {seed}: close at the end");
            attempt(&mut p, &what, async move |acc, api| match abort {
                true => api.writer().call_abort(acc, w).await,
                false => api.writer().call_close(acc, w).await,
            })
            .await;
        }
        for end in [connection.reader.take(), connection.writer.take()].into_iter().flatten() {
            drop_when_free(&mut p, end, &format!("seed {seed}: drop at the end")).await;
        }
    }
    for (server, _) in servers {
        drop_when_free(&mut p, server, &format!("seed {seed}: drop a server at the end")).await;
    }
    still_usable(&mut p).await;
}

/// `start-server` with odd options, or a call on a server: accept, close, ...
async fn serve(
    p: &mut AsyncProvider,
    rng: &mut Rng,
    servers: &mut Vec<(ResourceAny, Vec<TcpStream>)>,
    connections: &mut Vec<Connection>,
    what: &str,
) {
    if servers.is_empty() || rng.below(4) == 0 {
        let options = ServerOptions {
            limit: rng.pick(&[None, Some(0), Some(3), Some(65536)]),
            backlog: rng.pick(&[None, Some(0), Some(1), Some(u32::MAX)]),
            start_serving: rng.pick(&[None, Some(false), Some(true)]),
            ssl: None,
            ssl_handshake_timeout_ms: None,
            ssl_shutdown_timeout_ms: None,
        };
        let started = attempt(p, what, async move |acc, api| {
            api.call_start_server(acc, "127.0.0.1".into(), 0, Some(options)).await
        });
        if let Some(Ok(server)) = started.await {
            servers.push((server, Vec::new()));
        }
        return;
    }
    let index = rng.below(servers.len());
    let server = servers[index].0;
    match rng.below(9) {
        0..=2 => {
            let sockets =
                attempt(p, what, async move |acc, api| api.server().call_sockets(acc, server).await);
            let port = match sockets.await.unwrap_or_default().first() {
                Some(host::provider_async::bindings::wasi::sockets::types::IpSocketAddress::Ipv4(a)) => {
                    a.port
                }
                _ => return,
            };
            if let Ok(Ok(client)) =
                tokio::time::timeout(PATIENCE, TcpStream::connect(("127.0.0.1", port))).await
            {
                servers[index].1.push(client);
            }
            let accepted =
                attempt(p, what, async move |acc, api| api.server().call_accept(acc, server).await).await;
            if let Some(Ok((reader, writer))) = accepted {
                let peer = servers[index].1.pop();
                connections.push(Connection {
                    reader: Some(reader),
                    writer: Some(writer),
                    peer,
                    stuck: false,
                });
            }
        }
        3 => drop(
            attempt(p, what, async move |acc, api| api.server().call_start_serving(acc, server).await).await,
        ),
        4 => attempt(p, what, async move |acc, api| api.server().call_close(acc, server).await)
            .await
            .unwrap_or(()),
        5 => attempt(p, what, async move |acc, api| api.server().call_close_clients(acc, server).await)
            .await
            .unwrap_or(()),
        6 => attempt(p, what, async move |acc, api| api.server().call_abort_clients(acc, server).await)
            .await
            .unwrap_or(()),
        7 => drop(
            attempt(p, what, async move |acc, api| api.server().call_is_serving(acc, server).await).await,
        ),
        _ => attempt(p, what, async move |acc, api| api.server().call_wait_closed(acc, server).await)
            .await
            .unwrap_or(()),
    }
}

/// The native peer sends, reads what is there, half-closes or resets.
async fn act_as_peer(rng: &mut Rng, connection: &mut Connection) {
    let Some(socket) = connection.peer.as_mut() else { return };
    match rng.below(10) {
        0..=4 => {
            let len = rng.pick(&[1, 5, 100, 70_000]);
            let data = rng.bytes(len);
            let _ = tokio::time::timeout(PATIENCE, socket.write_all(&data)).await;
        }
        5..=6 => {
            let mut buffer = vec![0; 65536];
            let _ = socket.try_read(&mut buffer);
        }
        7..=8 => {
            let _ = tokio::time::timeout(PATIENCE, socket.shutdown()).await;
        }
        _ => peer::reset(connection.peer.take().expect("a peer")),
    }
}

/// One reader or writer call with arguments in and out of range.
async fn call(p: &mut AsyncProvider, rng: &mut Rng, connection: &mut Connection, what: &str) -> Option<()> {
    if let (Some(r), true) = (connection.reader, rng.below(2) == 0 || connection.writer.is_none()) {
        return match rng.below(9) {
            0 => {
                let n = rng.pick(&[-5, -1, 0, 1, 7, 65536, i64::MAX]);
                attempt(p, what, async move |acc, api| api.reader().call_read(acc, r, n).await)
                    .await
                    .map(drop)
            }
            1 => attempt(p, what, async move |acc, api| api.reader().call_readline(acc, r).await)
                .await
                .map(drop),
            2 => {
                let n = rng.pick(&[0, 1, 7, 1 << 20, u64::MAX]);
                attempt(p, what, async move |acc, api| api.reader().call_readexactly(acc, r, n).await)
                    .await
                    .map(drop)
            }
            3 => {
                let separator = rng.pick(&[Vec::new(), b"\n".to_vec(), b"xyz".to_vec(), vec![b'a'; 70_000]]);
                attempt(p, what, async move |acc, api| api.reader().call_readuntil(acc, r, separator).await)
                    .await
                    .map(drop)
            }
            4 => {
                let separators = rng.pick(&[vec![], vec![Vec::new()], vec![b"\n".to_vec(), b"xy".to_vec()]]);
                let call = async move |acc: &_, api: &host::provider_async::Api| {
                    api.reader().call_readuntil_any(acc, r, separators).await
                };
                attempt(p, what, call).await.map(drop)
            }
            5 => {
                attempt(p, what, async move |acc, api| api.reader().call_at_eof(acc, r).await).await.map(drop)
            }
            6 => attempt(p, what, async move |acc, api| api.reader().call_exception(acc, r).await)
                .await
                .map(drop),
            7 => attempt(p, what, async move |acc, api| api.reader().call_buffer_size(acc, r).await)
                .await
                .map(drop),
            _ => {
                attempt(p, what, async move |acc, api| api.reader().call_limit(acc, r).await).await.map(drop)
            }
        };
    }
    let Some(w) = connection.writer else { return Some(()) };
    match rng.below(12) {
        0..=2 => {
            let len = rng.pick(&[0, 1, 100, 100_000]);
            let data = rng.bytes(len);
            attempt(p, what, async move |acc, api| api.writer().call_write(acc, w, data).await)
                .await
                .map(drop)
        }
        3 => {
            let lines = vec![rng.bytes(3), Vec::new(), rng.bytes(10)];
            attempt(p, what, async move |acc, api| api.writer().call_writelines(acc, w, lines).await)
                .await
                .map(drop)
        }
        4 => attempt(p, what, async move |acc, api| api.writer().call_drain(acc, w).await).await.map(drop),
        5 => {
            attempt(p, what, async move |acc, api| api.writer().call_write_eof(acc, w).await).await.map(drop)
        }
        6 => attempt(p, what, async move |acc, api| api.writer().call_close(acc, w).await).await.map(drop),
        7 => attempt(p, what, async move |acc, api| api.writer().call_abort(acc, w).await).await.map(drop),
        8 => attempt(p, what, async move |acc, api| api.writer().call_wait_closed(acc, w).await)
            .await
            .map(drop),
        9 => {
            let (high, low) =
                rng.pick(&[(None, None), (Some(0), Some(0)), (Some(1), Some(2)), (Some(u64::MAX), None)]);
            let call = async move |acc: &_, api: &host::provider_async::Api| {
                api.writer().call_set_write_buffer_limits(acc, w, high, low).await
            };
            attempt(p, what, call).await.map(drop)
        }
        10 => {
            attempt(p, what, async move |acc, api| api.writer().call_peername(acc, w).await).await.map(drop)
        }
        _ => attempt(p, what, async move |acc, api| api.writer().call_get_write_buffer_size(acc, w).await)
            .await
            .map(drop),
    }
}

#[tokio::test]
async fn arbitrary_call_sequences_never_trap() {
    let seeds: Vec<u64> = match std::env::var("WASIO_CHAOS_SEED") {
        Ok(seed) => vec![seed.parse().expect("WASIO_CHAOS_SEED: a number")],
        Err(_) => {
            let runs =
                std::env::var("WASIO_CHAOS_RUNS").ok().and_then(|n| n.parse().ok()).unwrap_or(DEFAULT_RUNS);
            (1..=runs).collect()
        }
    };
    for seed in seeds {
        walk(seed).await;
    }
}
