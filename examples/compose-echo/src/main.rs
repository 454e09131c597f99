//! TCP echo server written against the WIT interface `wasio:streams/types` alone: it
//! imports the streams (world `consumer`) instead of linking the `wasio` library, so
//! it must be composed with a provider before it runs:
//!
//!     compose --plug streams-provider.wasm compose-echo-consumer.wasm -o compose-echo.wasm
//!
//! Usage: compose-echo [HOST] [PORT] [--chunks | --lines]
//!   (default 127.0.0.1 8890 --chunks; port 0 picks a free one)
//!   --chunks  echo what arrives as it arrives: `try-read`, `write`, `try-drain`
//!   --lines   echo line by line: `try-readline`, `write`, `try-drain`
//! Prints `Serving on HOST:PORT` for each bound address when ready. Run it with
//! `cargo run -p host -- compose-echo.wasm`, or with any WASI 0.2 runtime, e.g.
//! `wasmtime run -S inherit-network=y -S tcp=y compose-echo.wasm`.
//!
//! The provider's blocking calls (`accept`, `read`, `drain`, ...) hold it until they
//! complete, so a consumer that serves several clients uses the `try-*` forms and waits
//! on `subscribe` pollables with `wasi:io/poll`: see [`serve`].

mod accept_pause;
mod connection;
mod poller;

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::process::ExitCode;

use wasip2::clocks::monotonic_clock;
use wasip2::sockets::network::IpSocketAddress;

use accept_pause::{AcceptFailures, ACCEPT_RETRY_DELAY};
use bindings::wasio::streams::types::{start_server, Error, Server};
use connection::{Connection, Echo, Progress};
use poller::Poller;

mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "wasio:streams/consumer",
        // Use wasip2's types for the WASI interfaces the streams WIT refers to, so
        // a pollable from `subscribe` is a `wasip2::io::poll::Pollable`.
        with: {
            "wasi:io/poll@0.2.12": wasip2::io::poll,
            "wasi:sockets/network@0.2.12": wasip2::sockets::network,
        },
    });
}

const USAGE: &str = "usage: compose-echo [HOST] [PORT] [--chunks | --lines]";

fn main() -> ExitCode {
    let mut echo = Echo::Chunks;
    let mut positional = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--chunks" => echo = Echo::Chunks,
            "--lines" => echo = Echo::Lines,
            _ if arg.starts_with("--") => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let host = positional.next().unwrap_or_else(|| "127.0.0.1".to_string());
    let port = match positional.next().map(|p| p.parse::<u16>()) {
        None => 8890,
        Some(Ok(port)) => port,
        Some(Err(_)) => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if positional.next().is_some() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let server = match start_server(&host, port, None) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("compose-echo: cannot serve on {host}:{port}: {error:?}");
            return ExitCode::FAILURE;
        }
    };
    for address in server.sockets() {
        println!("Serving on {}", socket_addr(address));
    }
    let _ = std::io::stdout().flush();
    match serve(&server, echo) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("compose-echo: {error:?}");
            ExitCode::FAILURE
        }
    }
}

/// What a pollable in the poller was subscribed for.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Waiter {
    Server,
    /// Accepting is paused after a failed accept until this timer fires.
    AcceptPause,
    Reader(u64),
    Writer(u64),
}

/// While connections that yielded are served, the poller is asked what is ready at least
/// this often (nanoseconds), so a connection whose pollable fires waits at most about
/// this long behind busy ones (the wasio runtime does the same: `HOST_TURN_INTERVAL`).
const POLL_INTERVAL: u64 = 250_000;

/// One poll loop for the server and all its connections. A pollable is kept until it
/// fires (it stays valid and becomes ready when the non-waiting call may make
/// progress), so a round costs what is ready, not what is open: only the server or
/// connections whose pollables fired make progress, then subscribe again to what
/// they wait for.
///
/// A connection that stopped after its share of work with more to do ([`Progress::Yielded`])
/// goes into a queue instead, served after those whose pollables fired, and the poller is
/// asked again at least every [`POLL_INTERVAL`] meanwhile: a client sending now and then is
/// answered promptly however many others keep the loop busy (tokio's and the wasio
/// runtime's cooperative scheduling, by hand).
fn serve(server: &Server, echo: Echo) -> Result<(), Error> {
    let mut connections: HashMap<u64, Connection> = HashMap::new();
    let mut next_id = 0;
    let mut accept_failures = AcceptFailures::default();
    let mut yielded = Yielded::default();
    // Declared after what its pollables come from, so it is dropped before them.
    let mut poller = Poller::new();
    poller.insert(Waiter::Server, server.subscribe());
    loop {
        let ready = if yielded.is_empty() { poller.wait() } else { poller.poll_now() };
        for waiter in ready {
            let id = match waiter {
                Waiter::Server => {
                    let mut paused = false;
                    loop {
                        match server.try_accept() {
                            Ok(Some((reader, writer))) => {
                                accept_failures.succeeded();
                                let connection = Connection::new(echo, reader, writer);
                                watch(&mut poller, next_id, &connection);
                                connections.insert(next_id, connection);
                                next_id += 1;
                            }
                            Ok(None) => break,
                            Err(error) => {
                                accept_failures.failed(&error);
                                paused = true;
                                break;
                            }
                        }
                    }
                    if server.try_wait_closed() {
                        return Ok(());
                    }
                    if paused {
                        let timer = monotonic_clock::subscribe_duration(ACCEPT_RETRY_DELAY);
                        poller.insert(Waiter::AcceptPause, timer);
                    } else {
                        poller.insert(Waiter::Server, server.subscribe());
                    }
                    continue;
                }
                Waiter::AcceptPause => {
                    poller.insert(Waiter::Server, server.subscribe());
                    continue;
                }
                Waiter::Reader(id) | Waiter::Writer(id) => id,
            };
            // Gone if it finished when its other pollable fired in this round.
            let Some(connection) = connections.get_mut(&id) else { continue };
            let progress = connection.make_progress(matches!(waiter, Waiter::Reader(_)));
            after_step(&mut poller, &mut connections, &mut yielded, id, progress);
        }
        // Then those that yielded, in turn, until the poller is due again.
        let pass_started = monotonic_clock::now();
        for _ in 0..yielded.len() {
            if monotonic_clock::now().saturating_sub(pass_started) >= POLL_INTERVAL {
                break;
            }
            let Some(id) = yielded.pop() else { break };
            let Some(connection) = connections.get_mut(&id) else { continue };
            let progress = connection.make_progress(true);
            after_step(&mut poller, &mut connections, &mut yielded, id, progress);
        }
    }
}

/// The connections that yielded, in the order they go on, each at most once.
#[derive(Default)]
struct Yielded {
    queue: VecDeque<u64>,
    queued: HashSet<u64>,
}

impl Yielded {
    fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    fn len(&self) -> usize {
        self.queue.len()
    }

    fn push(&mut self, id: u64) {
        if self.queued.insert(id) {
            self.queue.push_back(id);
        }
    }

    fn pop(&mut self) -> Option<u64> {
        let id = self.queue.pop_front()?;
        self.queued.remove(&id);
        Some(id)
    }
}

/// After a step of connection `id`: wait on its pollables, queue it to go on, or drop it.
fn after_step(
    poller: &mut Poller<Waiter>,
    connections: &mut HashMap<u64, Connection>,
    yielded: &mut Yielded,
    id: u64,
    progress: Progress,
) {
    match progress {
        Progress::Waiting => watch(poller, id, &connections[&id]),
        Progress::Yielded => {
            // It goes on from the queue, not from its reader's pollable.
            poller.remove(Waiter::Reader(id));
            watch_writer(poller, id, &connections[&id]);
            yielded.push(id);
        }
        Progress::Finished => {
            // A pollable must go before the resource it came from.
            poller.remove(Waiter::Reader(id));
            poller.remove(Waiter::Writer(id));
            connections.remove(&id);
        }
    }
}

/// Makes `poller` wait on what connection `id` waits for: subscribes where there is no
/// pollable (a new connection, or one that fired), drops those no longer needed, and
/// keeps those that have not fired, which still tell when there is progress to make.
fn watch(poller: &mut Poller<Waiter>, id: u64, connection: &Connection) {
    let reader = Waiter::Reader(id);
    match (connection.waits_to_read(), poller.contains(reader)) {
        (true, false) => poller.insert(reader, connection.subscribe_reader()),
        (false, true) => poller.remove(reader),
        _ => {}
    }
    watch_writer(poller, id, connection);
}

/// The writer's part of [`watch`].
fn watch_writer(poller: &mut Poller<Waiter>, id: u64, connection: &Connection) {
    let writer = Waiter::Writer(id);
    match (connection.waits_to_write(), poller.contains(writer)) {
        (true, false) => poller.insert(writer, connection.subscribe_writer()),
        (false, true) => poller.remove(writer),
        _ => {}
    }
}

fn socket_addr(address: IpSocketAddress) -> SocketAddr {
    match address {
        IpSocketAddress::Ipv4(v4) => {
            let (a, b, c, d) = v4.address;
            SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), v4.port).into()
        }
        IpSocketAddress::Ipv6(v6) => {
            let (a, b, c, d, e, f, g, h) = v6.address;
            let ip = Ipv6Addr::new(a, b, c, d, e, f, g, h);
            SocketAddrV6::new(ip, v6.port, v6.flow_info, v6.scope_id).into()
        }
    }
}
