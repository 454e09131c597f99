//! Host names to addresses through `wasi:sockets/ip-name-lookup`.

use std::net::{IpAddr, SocketAddr};

use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::resolve_addresses;
use wasip2::sockets::network::ErrorCode;

use crate::error::{Error, Result};
use crate::net;
use crate::runtime::Registration;

/// Every address `host` stands for, in the resolver's order, each with `port`.
/// IP literals (`127.0.0.1`, `::1`, `[::1]`) are used as they are, except that an
/// IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is given as its IPv4 address, the only
/// form `wasi:sockets` binds and connects (see [`net::unmapped`]).
pub async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>> {
    let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![net::unmapped(SocketAddr::new(ip, port))]);
    }
    let network = instance_network();
    let stream = resolve_addresses(&network, host).map_err(|code| net::socket_error(code, host))?;
    let ready = Registration::new(stream.subscribe());
    let mut addresses = Vec::new();
    loop {
        match stream.resolve_next_address() {
            Ok(Some(ip)) => {
                let addr = net::unmapped(SocketAddr::new(net::ip_from_wasi(ip), port));
                if !addresses.contains(&addr) {
                    addresses.push(addr);
                }
            }
            Ok(None) => break,
            Err(ErrorCode::WouldBlock) => ready.wait().await,
            Err(code) => return Err(net::socket_error(code, host)),
        }
    }
    drop(ready);
    if addresses.is_empty() {
        return Err(Error::NameUnresolvable(host.to_string()));
    }
    Ok(addresses)
}
