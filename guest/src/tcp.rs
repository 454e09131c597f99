//! `wasi:sockets` TCP's two-phase operations (start, wait, finish) as async functions.

use std::net::SocketAddr;

use wasip2::io::streams::{InputStream, OutputStream};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::ErrorCode;
use wasip2::sockets::tcp::TcpSocket;
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

use crate::error::Result;
use crate::net;
use crate::runtime::Registration;

/// Repeats `finish` until it stops answering `would-block`, waiting on the socket.
async fn finish<T>(
    socket: &TcpSocket,
    context: &str,
    mut finish: impl FnMut(&TcpSocket) -> Result<T, ErrorCode>,
) -> Result<T> {
    let mut ready: Option<Registration> = None;
    loop {
        match finish(socket) {
            Err(ErrorCode::WouldBlock) => {
                ready.get_or_insert_with(|| Registration::new(socket.subscribe())).wait().await
            }
            // The pollable (a child of the socket) is dropped here, before the socket.
            result => return result.map_err(|code| net::socket_error(code, context)),
        }
    }
}

pub(crate) fn new_socket(addr: &SocketAddr) -> Result<TcpSocket> {
    create_tcp_socket(net::family_of(addr)).map_err(|code| net::socket_error(code, &addr.to_string()))
}

pub(crate) async fn bind(socket: &TcpSocket, addr: SocketAddr) -> Result<()> {
    let context = format!("bind {addr}");
    socket
        .start_bind(&instance_network(), net::to_wasi(addr))
        .map_err(|code| net::socket_error(code, &context))?;
    finish(socket, &context, TcpSocket::finish_bind).await
}

/// Connects a new socket to `addr`, bound first to `local` if given.
///
/// An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is connected to as the IPv4 address it
/// stands for: `wasi:sockets` refuses mapped addresses (`invalid-argument`), where asyncio's
/// dual-stack IPv6 socket reaches the same IPv4 peer. The host's network policy then sees
/// the IPv4 address, so a rule about it covers both spellings.
pub(crate) async fn connect(
    addr: SocketAddr,
    local: Option<SocketAddr>,
) -> Result<(TcpSocket, InputStream, OutputStream)> {
    let (addr, local) = (net::unmapped(addr), local.map(net::unmapped));
    let socket = new_socket(&addr)?;
    if let Some(local) = local {
        bind(&socket, local).await?;
    }
    let context = format!("connect to {addr}");
    socket
        .start_connect(&instance_network(), net::to_wasi(addr))
        .map_err(|code| net::socket_error(code, &context))?;
    let (input, output) = finish(&socket, &context, TcpSocket::finish_connect).await?;
    Ok((socket, input, output))
}

pub(crate) async fn listen(socket: &TcpSocket, backlog: Option<u32>) -> Result<()> {
    let context = "listen";
    if let Some(backlog) = backlog {
        socket
            .set_listen_backlog_size(u64::from(backlog.max(1)))
            .map_err(|code| net::socket_error(code, context))?;
    }
    socket.start_listen().map_err(|code| net::socket_error(code, context))?;
    finish(socket, context, TcpSocket::finish_listen).await
}
