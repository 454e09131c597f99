//! TCP echo server written against the WIT interface `wasio:streams/types` alone: it
//! imports the streams (world `consumer`) instead of linking the `wasio` library, so
//! it must be composed with a provider before it runs:
//!
//!     compose --plug streams-provider.wasm compose-echo-consumer.wasm -o compose-echo.wasm
//!
//! Usage: compose-echo [HOST] [PORT]   (default 127.0.0.1 8890; port 0 picks a free one)
//! Prints `Serving on HOST:PORT` for each bound address when ready. Run it with
//! `cargo run -p host -- compose-echo.wasm`, or with any WASI 0.2 runtime, e.g.
//! `wasmtime run -S inherit-network=y -S tcp=y compose-echo.wasm`.
//!
//! The provider's blocking calls (`accept`, `read`, `drain`, ...) hold it until they
//! complete, so a consumer that serves several clients uses the `try-*` forms and waits
//! on `subscribe` pollables with `wasi:io/poll`: see [`serve`].

mod connection;

use std::io::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::process::ExitCode;

use wasip2::io::poll::{poll, Pollable};
use wasip2::sockets::network::IpSocketAddress;

use bindings::wasio::streams::types::{start_server, Error, Server};
use connection::Connection;

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

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_string());
    let port = match args.next().map(|p| p.parse::<u16>()) {
        None => 8890,
        Some(Ok(port)) => port,
        Some(Err(_)) => {
            eprintln!("usage: compose-echo [HOST] [PORT]");
            return ExitCode::from(2);
        }
    };
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
    match serve(&server) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("compose-echo: {error:?}");
            ExitCode::FAILURE
        }
    }
}

/// Who is waiting on a pollable of this round.
#[derive(Clone, Copy)]
enum Waiter {
    Server,
    Connection(usize),
}

/// One poll loop for the server and all its connections. Each round subscribes
/// afresh (a pollable reflects what its resource waited for when it was made),
/// waits until any pollable is ready, drops them all, then lets the ready ones
/// make progress with non-waiting calls.
fn serve(server: &Server) -> Result<(), Error> {
    let mut connections: Vec<Connection> = Vec::new();
    while !server.try_wait_closed() {
        let mut pollables: Vec<Pollable> = vec![server.subscribe()];
        let mut waiters = vec![Waiter::Server];
        for (index, connection) in connections.iter().enumerate() {
            for pollable in connection.subscribe() {
                pollables.push(pollable);
                waiters.push(Waiter::Connection(index));
            }
        }

        let ready = poll(&pollables.iter().collect::<Vec<_>>());
        // A pollable must go before the resource it came from: drop them all now,
        // before any connection can finish and be dropped.
        drop(pollables);

        let mut server_ready = false;
        let mut connection_ready = vec![false; connections.len()];
        for index in ready {
            match waiters[index as usize] {
                Waiter::Server => server_ready = true,
                Waiter::Connection(index) => connection_ready[index] = true,
            }
        }
        let mut ready = connection_ready.into_iter();
        connections.retain_mut(|connection| {
            let is_ready = ready.next().unwrap_or(false);
            !is_ready || connection.make_progress()
        });
        if server_ready {
            while let Some((reader, writer)) = server.try_accept()? {
                connections.push(Connection::new(reader, writer));
            }
        }
        // Serve a different connection first each round. A runtime may let one turn do
        // only so much (stock wasmtime 48 answers "not ready" after 128 readiness checks
        // per turn, wasmtime#14174): in a fixed order the last connections would starve.
        let step = usize::from(!connections.is_empty());
        connections.rotate_left(step);
    }
    Ok(())
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
