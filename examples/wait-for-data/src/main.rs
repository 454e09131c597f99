//! Register an open socket to wait for data using streams, the asyncio 3.8 document's
//! example line for line: a connected pair of sockets, one wrapped with
//! `connect(sock=...)` ([`connect_socket`]), the other sending `abc` from a task that
//! runs once the reader waits (`loop.call_soon`).
//!
//! WASI has no `socketpair()`: [`socketpair`] makes the pair over a loopback listener
//! inside the component, with plain `wasi:sockets` calls.
//!
//! Usage: wait-for-data   (prints `Received: abc`)

use std::process::ExitCode;
use std::rc::Rc;

use wasio::{connect_socket, runtime, ConnectOptions, TcpConnection};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress};
use wasip2::sockets::tcp::TcpSocket;
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

/// Repeats a two-phase `wasi:sockets` call's `finish` until it stops would-blocking.
fn finish<T>(socket: &TcpSocket, call: impl Fn(&TcpSocket) -> Result<T, ErrorCode>) -> Result<T, ErrorCode> {
    let ready = socket.subscribe();
    loop {
        match call(socket) {
            Err(ErrorCode::WouldBlock) => ready.block(),
            result => return result,
        }
    }
}

/// Two connected TCP sockets on 127.0.0.1 (`socket.socketpair()`): (rsock, wsock).
fn socketpair() -> Result<(TcpConnection, TcpConnection), ErrorCode> {
    let network = instance_network();
    let loopback = IpSocketAddress::Ipv4(Ipv4SocketAddress { port: 0, address: (127, 0, 0, 1) });
    let listener = create_tcp_socket(IpAddressFamily::Ipv4)?;
    listener.start_bind(&network, loopback)?;
    finish(&listener, TcpSocket::finish_bind)?;
    listener.start_listen()?;
    finish(&listener, TcpSocket::finish_listen)?;

    let wsock = create_tcp_socket(IpAddressFamily::Ipv4)?;
    wsock.start_connect(&network, listener.local_address()?)?;
    let (input, output) = finish(&wsock, TcpSocket::finish_connect)?;
    let rsock = finish(&listener, TcpSocket::accept)?;
    Ok((rsock.into(), TcpConnection { input, output, socket: wsock }))
}

async fn wait_for_data() -> Result<(), String> {
    // Create a pair of connected sockets.
    let (rsock, wsock) = socketpair().map_err(|code| format!("socketpair: {}", code.name()))?;
    let wsock = Rc::new(wsock);

    // Register the open socket to wait for data.
    let stream = connect_socket(rsock, ConnectOptions::default()).await.map_err(|e| e.to_string())?;
    stream
        .scope(async |stream| {
            // Simulate the reception of data from the network
            let sender = Rc::clone(&wsock);
            runtime::spawn(async move {
                if let Err(error) = sender.output.blocking_write_and_flush(b"abc") {
                    eprintln!("wait-for-data: sending: {error:?}");
                }
            });

            // Wait for data
            let data = stream.read(100).await?;

            // Got data, we are done: close the socket
            println!("Received: {}", String::from_utf8_lossy(&data));
            Ok::<(), wasio::Error>(())
        })
        .await
        .map_err(|e| e.to_string())?;

    // Close the second socket (its streams before the socket they belong to).
    let TcpConnection { socket, input, output } =
        Rc::into_inner(wsock).ok_or("the sending task still runs")?;
    drop((output, input));
    drop(socket);
    Ok(())
}

fn main() -> ExitCode {
    match runtime::block_on(wait_for_data()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("wait-for-data: {error}");
            ExitCode::FAILURE
        }
    }
}
