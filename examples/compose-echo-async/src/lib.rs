//! TCP echo server written against the WASI 0.3 face of the streams,
//! `wasio:streams/types@0.2.0`, alone: it imports them (world `consumer`) instead of
//! linking the `wasio` library, so it runs composed with a provider:
//!
//!     compose --plug streams-provider-async.wasm compose-echo-async-consumer.wasm -o compose-echo-async.wasm
//!
//! Usage: compose-echo-async [--bulk] [HOST] [PORT]
//!   (default 127.0.0.1 8890; port 0 picks a free one)
//!   (lines)  echo line by line: `readline`, `write` (a plain call), `drain`
//!   --bulk   forward what arrives as it arrives, as `stream<u8>` (see [`echo::bulk`])
//! Prints `Serving on HOST:PORT` for each bound address when ready. Run it with
//! `cargo run -p host -- compose-echo-async.wasm`.
//!
//! Unlike `examples/compose-echo` (0.1.0, a hand-written poller over `try-*` calls and
//! pollables), every connection is its own async task awaiting the provider's
//! `async func`s: the component model runs the calls of all of them concurrently.

mod accept_pause;
mod budget;
mod echo;
mod serve;

use std::io::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use wasip3::sockets::types::IpSocketAddress;

use bindings::wasio::streams::types::start_server;
use echo::Echo;

mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/v0.2",
        world: "wasio:streams/consumer@0.2.0",
        // wasip3's types for the WASI interfaces the streams WIT refers to.
        with: {
            "wasi:sockets/types@0.3.2": wasip3::sockets::types,
            "wasi:clocks/types@0.3.2": wasip3::clocks::types,
        },
    });
}

const USAGE: &str = "usage: compose-echo-async [--bulk] [HOST] [PORT]";

struct ComposeEchoAsync;

wasip3::cli::command::export!(ComposeEchoAsync);

impl wasip3::exports::cli::run::Guest for ComposeEchoAsync {
    async fn run() -> Result<(), ()> {
        let Some((echo, host, port)) = parse_args(wasip3::cli::environment::get_arguments()) else {
            eprintln!("{USAGE}");
            return Err(());
        };
        let server = match start_server(host.clone(), port, None).await {
            Ok(server) => server,
            Err(error) => {
                eprintln!("compose-echo-async: cannot serve on {host}:{port}: {error:?}");
                return Err(());
            }
        };
        for address in server.sockets() {
            println!("Serving on {}", socket_addr(address));
        }
        let _ = std::io::stdout().flush();
        serve::serve(server, echo).await.map_err(|error| eprintln!("compose-echo-async: {error:?}"))
    }
}

/// `[--bulk] [HOST] [PORT]` after the program name; `None` on anything else.
fn parse_args(args: Vec<String>) -> Option<(Echo, String, u16)> {
    let mut echo = Echo::Lines;
    let mut positional = Vec::new();
    for arg in args.into_iter().skip(1) {
        match arg.as_str() {
            "--bulk" => echo = Echo::Bulk,
            _ if arg.starts_with("--") => return None,
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let host = positional.next().unwrap_or_else(|| "127.0.0.1".to_string());
    let port = match positional.next() {
        None => 8890,
        Some(port) => port.parse().ok()?,
    };
    positional.next().is_none().then_some((echo, host, port))
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
