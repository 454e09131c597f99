//! Arbitrary call sequences on one provider instance, against live loopback peers that
//! send, read, half-close, close and reset at random: every call on readers, writers and
//! servers, in any order, with sizes and counts out of range (negative, zero, huge),
//! separators empty or long, calls after close, resources dropped in any order. Whatever
//! the sequence: never a trap, every call returns within a bound, and the instance still
//! serves a fresh connection afterwards.
//!
//! A seeded random walk rather than a libFuzzer target: the provider runs as wasm, whose
//! branches libFuzzer's coverage does not see. `WASIO_CHAOS_RUNS=N` walks more seeds
//! (CI walks a few), `WASIO_CHAOS_SEED=S` replays one; a failure names its seed and step.

use std::net::SocketAddr;

use host::provider::{
    ConnectOptions, PollableHandle, Provider, ReaderHandle, ServerHandle, ServerOptions, WriterHandle,
};
use tokio::net::TcpStream;

use super::{peer, provider, settle, still_usable, within, Duration};

/// Steps per walk.
const STEPS: usize = 80;
/// Walks in the normal test run.
const DEFAULT_RUNS: u64 = 8;

/// A seeded generator (fastrand's: the same sequence everywhere) and the choices a walk makes.
struct Rng(fastrand::Rng);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0.usize(..n)
    }

    fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        choices[self.below(choices.len())]
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.pick(b"ab\nxyz")).collect()
    }
}

/// What the peer of a connection has done to it.
#[derive(Clone, Copy, PartialEq)]
enum PeerState {
    Open,
    /// Sent its FIN, still reads.
    HalfClosed,
    /// Gone: closed or reset. Every blocking call on the connection now completes (when
    /// the test knows which socket is its peer: see `Connection::known_peer`).
    Gone,
}

/// One connection under test: our ends (until dropped), the native peer, our pollables.
struct Connection {
    reader: Option<ReaderHandle>,
    writer: Option<WriterHandle>,
    peer: Option<TcpStream>,
    state: PeerState,
    /// Whether `peer` is surely this connection's peer (an accepted connection may be
    /// another pending client's): only then may a blocking call rely on `state`.
    known_peer: bool,
    pollables: Vec<PollableHandle>,
}

/// Runs one walk; `Err` names the step that failed.
async fn walk(seed: u64) {
    let mut rng = Rng(fastrand::Rng::with_seed(seed));
    let mut p = provider().await;
    let mut connections: Vec<Connection> = Vec::new();
    let mut servers: Vec<(ServerHandle, SocketAddr, Vec<TcpStream>)> = Vec::new();

    for step in 0..STEPS {
        let what = format!("seed {seed}, step {step}");
        let choice = rng.below(100);
        if connections.is_empty() || choice < 8 {
            open(&mut p, &mut rng, &mut connections, &what).await;
        } else if choice < 12 {
            serve(&mut p, &mut rng, &mut servers, &mut connections, &what).await;
        } else if choice < 30 {
            let index = rng.below(connections.len());
            act_as_peer(&mut rng, &mut connections[index]).await;
        } else {
            let index = rng.below(connections.len());
            let finished = call(&mut p, &mut rng, &mut connections[index], &what).await;
            if finished {
                let connection = connections.swap_remove(index);
                for pollable in connection.pollables {
                    p.drop_pollable(pollable).expect("drop a pollable");
                }
            }
        }
    }
    // Tear down in a random order; blocking calls only once every peer is gone.
    for connection in &mut connections {
        connection.peer.take().map(peer::reset);
        connection.state = PeerState::Gone;
    }
    for (_, _, clients) in &mut servers {
        clients.drain(..).for_each(peer::reset);
    }
    settle().await;
    while !connections.is_empty() {
        let mut connection = connections.swap_remove(rng.below(connections.len()));
        if let Some(r) = &connection.reader {
            let rest = within(&format!("seed {seed}: read(-1) after the peer left"), p.read(r, -1)).await;
            rest.expect("no trap").ok();
        }
        if let Some(w) = &connection.writer {
            p.close(w).await.expect("no trap");
            let closed =
                within(&format!("seed {seed}: wait-closed after the peer left"), p.wait_closed(w)).await;
            closed.expect("no trap").ok();
        }
        for pollable in connection.pollables.drain(..) {
            p.drop_pollable(pollable).expect("drop a pollable");
        }
        if rng.below(2) == 0 {
            if let Some(w) = connection.writer.take() {
                p.drop_writer(w).await.expect("drop the writer");
            }
        }
        if let Some(r) = connection.reader.take() {
            p.drop_reader(r).await.expect("drop the reader");
        }
        if let Some(w) = connection.writer.take() {
            p.drop_writer(w).await.expect("drop the writer");
        }
    }
    for (server, _, _) in servers {
        p.close_server(&server).await.expect("no trap");
        p.drop_server(server).await.expect("drop the server");
    }
    still_usable(&mut p).await;
}

/// `open-connection` to a new listener, with an odd limit now and then.
async fn open(p: &mut Provider, rng: &mut Rng, connections: &mut Vec<Connection>, what: &str) {
    let (listener, address) = peer::listener().await;
    let limit = rng.pick(&[None, Some(0), Some(1), Some(7), Some(65536), Some(u64::MAX)]);
    let options = Some(ConnectOptions { limit, ..ConnectOptions::default() });
    let opened =
        within(what, p.open_connection("127.0.0.1", address.port(), options)).await.expect("no trap");
    if let Ok((reader, writer)) = opened {
        let socket = peer::accept(&listener).await;
        connections.push(Connection {
            reader: Some(reader),
            writer: Some(writer),
            peer: Some(socket),
            state: PeerState::Open,
            known_peer: true,
            pollables: Vec::new(),
        });
    }
}

/// Server calls: start one, connect a client to one and `try-accept` it, or close one.
async fn serve(
    p: &mut Provider,
    rng: &mut Rng,
    servers: &mut Vec<(ServerHandle, SocketAddr, Vec<TcpStream>)>,
    connections: &mut Vec<Connection>,
    what: &str,
) {
    if servers.is_empty() || rng.below(4) == 0 {
        let limit = rng.pick(&[None, Some(0), Some(3), Some(u64::MAX)]);
        let options =
            Some(ServerOptions { limit, start_serving: Some(rng.below(4) != 0), ..ServerOptions::default() });
        if let Ok(server) = within(what, p.start_server("127.0.0.1", 0, options)).await.expect("no trap") {
            let address = p.sockets(&server).await.expect("no trap")[0];
            servers.push((server, address, Vec::new()));
        }
        return;
    }
    let index = rng.below(servers.len());
    let (server, address, clients) = &mut servers[index];
    match rng.below(6) {
        0 => {
            p.close_server(server).await.expect("no trap");
            p.is_serving(server).await.expect("no trap");
            p.try_wait_closed_server(server).await.expect("no trap");
        }
        1 => {
            let _ = p.start_serving(server).await.expect("no trap");
        }
        2 => {
            let pollable = p.subscribe_server(server).await.expect("no trap");
            p.poll_for(&[&pollable], Duration::from_millis(rng.below(5) as u64)).await.expect("poll");
            p.drop_pollable(pollable).expect("drop a pollable");
        }
        _ => {
            if let Ok(client) = TcpStream::connect(*address).await {
                clients.push(client);
            }
            settle().await;
            if let Ok(Some((reader, writer))) = within(what, p.try_accept(server)).await.expect("no trap") {
                // The accepted side's peer is the client the test holds.
                let peer = clients.pop();
                connections.push(Connection {
                    reader: Some(reader),
                    writer: Some(writer),
                    peer,
                    state: PeerState::Open,
                    known_peer: false,
                    pollables: Vec::new(),
                });
            }
        }
    }
}

/// The peer sends (a line, a partial line, a lot), reads what is there, half-closes,
/// closes or resets.
async fn act_as_peer(rng: &mut Rng, connection: &mut Connection) {
    let Some(socket) = &mut connection.peer else { return };
    match rng.below(10) {
        0..=3 if connection.state == PeerState::Open => {
            let len = rng.pick(&[1, 5, 100, 70_000]);
            let data = rng.bytes(len);
            // Never blocks: what the socket does not take now is not sent.
            let _ = socket.try_write(&data);
        }
        4..=6 => {
            let mut buffer = vec![0; 256 * 1024];
            let _ = socket.try_read(&mut buffer);
        }
        7 if connection.state == PeerState::Open => {
            use tokio::io::AsyncWriteExt;
            let _ = socket.shutdown().await;
            connection.state = PeerState::HalfClosed;
        }
        8 => {
            connection.peer = None;
            connection.state = PeerState::Gone;
        }
        9 => {
            connection.peer.take().map(peer::reset);
            connection.state = PeerState::Gone;
        }
        _ => {}
    }
}

/// One call on the connection's reader or writer (or dropping one of them). Returns
/// true once both are dropped.
async fn call(p: &mut Provider, rng: &mut Rng, connection: &mut Connection, what: &str) -> bool {
    let gone = connection.state == PeerState::Gone && connection.known_peer;
    if let (true, Some(r)) = (rng.below(2) == 0, &connection.reader) {
        let result = match rng.below(14) {
            0 => p.try_read(r, rng.pick(&[-5, -1, 0, 1, 7, 65536, i64::MAX])).await.map(drop),
            1 => p.try_readline(r).await.map(drop),
            2 => p.try_readexactly(r, rng.pick(&[0, 1, 100, u64::MAX])).await.map(drop),
            3 => {
                let separators: [&[u8]; 4] = [b"", b"\n", b"ab", &[b'z'; 100]];
                p.try_readuntil(r, rng.pick(&separators)).await.map(drop)
            }
            4 => {
                let lists = [vec![], vec![Vec::new()], vec![b"\n".to_vec(), b"xy".to_vec()]];
                p.try_readuntil_any(r, &lists[rng.below(lists.len())]).await.map(drop)
            }
            5 => p.at_eof(r).await.map(drop),
            6 => p.limit(r).await.map(drop),
            7 => p.exception(r).await.map(drop),
            8 => p.buffer_size(r).await.map(drop),
            9 => {
                let pollable = p.subscribe_reader(r).await.expect("no trap");
                connection.pollables.push(pollable);
                Ok(())
            }
            10 if gone => within(what, p.read(r, rng.pick(&[-1, 0, 10]))).await.map(drop),
            11 if gone => within(what, p.readline(r)).await.map(drop),
            12 => {
                for pollable in connection.pollables.drain(..) {
                    p.drop_pollable(pollable).expect("drop a pollable");
                }
                p.drop_reader(connection.reader.take().unwrap()).await
            }
            _ => Ok(()),
        };
        result.unwrap_or_else(|trap| panic!("{what}: the provider trapped: {trap:?}"));
    } else if let Some(w) = &connection.writer {
        let result = match rng.below(18) {
            0 | 1 => {
                let len = rng.pick(&[0, 1, 100, 70_000, 1 << 20]);
                p.write(w, &rng.bytes(len)).await.map(drop)
            }
            2 => {
                let lines: Vec<Vec<u8>> = (0..rng.below(4)).map(|_| rng.bytes(10)).collect();
                p.writelines(w, &lines).await.map(drop)
            }
            3 | 4 => p.try_drain(w).await.map(drop),
            5 => p.write_eof(w).await.map(drop),
            6 => p.can_write_eof(w).await.map(drop),
            7 => p.close(w).await,
            8 => p.is_closing(w).await.map(drop),
            9 if rng.below(3) == 0 => p.abort(w).await,
            10 => p.try_wait_closed(w).await.map(drop),
            11 => p.get_write_buffer_size(w).await.map(drop),
            12 => p.get_write_buffer_limits(w).await.map(drop),
            13 => {
                let high = rng.pick(&[None, Some(0), Some(10), Some(u64::MAX)]);
                let low = rng.pick(&[None, Some(0), Some(20), Some(u64::MAX)]);
                p.set_write_buffer_limits(w, high, low).await.map(drop)
            }
            14 => p.peername(w).await.map(drop).and(p.sockname(w).await.map(drop)),
            15 => {
                let pollable = p.subscribe_writer(w).await.expect("no trap");
                let ready = p.poll_for(&[&pollable], Duration::from_millis(rng.below(3) as u64)).await;
                ready.expect("poll");
                connection.pollables.push(pollable);
                Ok(())
            }
            16 if gone => within(what, p.drain(w)).await.map(drop),
            17 => {
                for pollable in connection.pollables.drain(..) {
                    p.drop_pollable(pollable).expect("drop a pollable");
                }
                p.drop_writer(connection.writer.take().unwrap()).await
            }
            _ => Ok(()),
        };
        result.unwrap_or_else(|trap| panic!("{what}: the provider trapped: {trap:?}"));
    }
    connection.reader.is_none() && connection.writer.is_none()
}

#[tokio::test]
async fn test_arbitrary_call_sequences_never_trap() {
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
