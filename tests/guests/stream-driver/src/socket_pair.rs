//! `s.socketpair [plain|unconnected|shutdown]`: a connected pair over a loopback listener
//! made with plain `wasi:sockets` calls, one end wrapped with `connect_socket` (asyncio's
//! `connect(sock=...)`), the other kept to send with `s.pair_send`. `unconnected` hands
//! over a fresh socket with the accepted streams; `shutdown` shuts the socket down first.
//! Also the sockets of `ss.new_socket`.

use wasio::{Error, TcpConnection};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress};
use wasip2::sockets::tcp::{ShutdownType, TcpSocket};
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

fn finish<T>(socket: &TcpSocket, call: impl Fn(&TcpSocket) -> Result<T, ErrorCode>) -> Result<T, ErrorCode> {
    let ready = socket.subscribe();
    loop {
        match call(socket) {
            Err(ErrorCode::WouldBlock) => ready.block(),
            result => return result,
        }
    }
}

fn pair() -> Result<(TcpConnection, TcpConnection), ErrorCode> {
    let network = instance_network();
    let loopback = IpSocketAddress::Ipv4(Ipv4SocketAddress { port: 0, address: (127, 0, 0, 1) });
    let listener = create_tcp_socket(IpAddressFamily::Ipv4)?;
    listener.start_bind(&network, loopback)?;
    finish(&listener, TcpSocket::finish_bind)?;
    listener.start_listen()?;
    finish(&listener, TcpSocket::finish_listen)?;
    let sender = create_tcp_socket(IpAddressFamily::Ipv4)?;
    sender.start_connect(&network, listener.local_address()?)?;
    let (input, output) = finish(&sender, TcpSocket::finish_connect)?;
    let accepted = finish(&listener, TcpSocket::accept)?;
    Ok((accepted.into(), TcpConnection { socket: sender, input, output }))
}

/// A socket for `StreamServer::with_socket`: bound to 127.0.0.1:0 and listening
/// (`listening`), only bound (`bound`), or neither (`unbound`).
pub fn server_socket(how: &str) -> Result<TcpSocket, Error> {
    let failed = |code: ErrorCode| Error::Other(format!("driver: server socket: {}", code.name()));
    let network = instance_network();
    let loopback = IpSocketAddress::Ipv4(Ipv4SocketAddress { port: 0, address: (127, 0, 0, 1) });
    let socket = create_tcp_socket(IpAddressFamily::Ipv4).map_err(failed)?;
    if how == "unbound" {
        return Ok(socket);
    }
    socket.start_bind(&network, loopback).map_err(failed)?;
    finish(&socket, TcpSocket::finish_bind).map_err(failed)?;
    if how == "listening" {
        socket.start_listen().map_err(failed)?;
        finish(&socket, TcpSocket::finish_listen).map_err(failed)?;
    }
    Ok(socket)
}

/// The connection to wrap, prepared as `how` says, and the sending end.
pub fn prepared(how: &str) -> Result<(TcpConnection, TcpConnection), Error> {
    let failed = |code: ErrorCode| Error::Other(format!("driver: socketpair: {}", code.name()));
    let (mut wrapped, sender) = pair().map_err(failed)?;
    match how {
        "plain" => {}
        "unconnected" => {
            let fresh = create_tcp_socket(IpAddressFamily::Ipv4).map_err(failed)?;
            // The accepted socket goes after its streams are handed to the fresh one.
            let TcpConnection { socket, input, output } = wrapped;
            wrapped = TcpConnection { socket: fresh, input, output };
            std::mem::forget(socket);
        }
        "shutdown" => wrapped.socket.shutdown(ShutdownType::Both).map_err(failed)?,
        other => return Err(Error::InvalidArgument(format!("driver: socketpair {other}?"))),
    }
    Ok((wrapped, sender))
}
