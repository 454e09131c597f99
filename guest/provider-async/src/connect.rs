//! `open-connection`'s connecting part, as asyncio's `create_connection`: each address
//! of `host` in turn, or with `happy-eyeballs-delay-ms` staggered attempts over them
//! interleaved by family (RFC 8305); the library's [`happy_eyeballs::connect_first`],
//! shared with the 0.1.0 provider, over WASI 0.3's sockets and clock.

use std::net::SocketAddr;
use std::time::Duration;

use wasio::happy_eyeballs;
use wasip3::clocks::monotonic_clock::wait_for;
use wasip3::sockets::types::{IpAddressFamily, TcpSocket};

use crate::connection::resolve;
use crate::{convert, wit};

/// The first connection to `host:port` (each socket bound to `local` first, when given:
/// `local_addr=`); the last error when every address fails.
pub(crate) async fn connect(
    host: &str,
    port: u16,
    local: Option<SocketAddr>,
    happy_eyeballs_delay: Option<Duration>,
) -> Result<TcpSocket, wit::Error> {
    let addresses: Vec<SocketAddr> =
        resolve(host).await?.into_iter().map(|ip| SocketAddr::new(ip, port)).collect();
    happy_eyeballs::connect_first(
        &addresses,
        happy_eyeballs_delay,
        |address| attempt(address, local),
        |delay| wait_for(u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX)),
        wit::Error::NameUnresolvable(host.to_string()),
    )
    .await
}

/// One address's attempt; dropped (the connect cancelled, the socket closed) when
/// another wins.
async fn attempt(address: SocketAddr, local: Option<SocketAddr>) -> Result<TcpSocket, wit::Error> {
    let family = if address.is_ipv4() { IpAddressFamily::Ipv4 } else { IpAddressFamily::Ipv6 };
    let socket = TcpSocket::create(family).map_err(convert::socket_wit_error)?;
    if let Some(local) = local {
        socket.bind(convert::to_wasi(local)).map_err(convert::socket_wit_error)?;
    }
    socket.connect(convert::to_wasi(address)).await.map_err(convert::socket_wit_error)?;
    Ok(socket)
}
