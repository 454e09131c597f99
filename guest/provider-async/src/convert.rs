//! Between wasio's types, WASI 0.3's and the WIT's. The error mapping is the 0.1.0
//! provider's ([`wasio::wit_error`]) over the 0.2.0 package's generated types.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use wasio::core::DEFAULT_LIMIT;
use wasio::error::Error;
use wasip3::sockets::types::{ErrorCode, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress};

use crate::wit;

pub(crate) fn error(error: Error) -> wit::Error {
    wasio::wit_error!(crate::exports::wasio::streams::types, error)
}

/// A WASI 0.3 socket error as wasio's (asyncio's exception) error.
pub(crate) fn socket_error(code: ErrorCode) -> Error {
    match code {
        ErrorCode::AccessDenied => Error::AccessDenied("Permission denied".into()),
        ErrorCode::ConnectionRefused => Error::ConnectionRefused("Connect call failed".into()),
        ErrorCode::ConnectionReset | ErrorCode::ConnectionBroken => {
            Error::ConnectionReset("Connection reset by peer".into())
        }
        ErrorCode::ConnectionAborted => Error::ConnectionAborted("Connection aborted".into()),
        ErrorCode::Timeout => Error::TimedOut,
        ErrorCode::AddressInUse => Error::AddressInUse("Address already in use".into()),
        ErrorCode::AddressNotBindable => Error::AddressNotAvailable("Cannot assign requested address".into()),
        ErrorCode::InvalidArgument => Error::invalid_argument("Invalid argument"),
        ErrorCode::OutOfMemory => Error::OutOfMemory("Out of memory".into()),
        other => Error::Other(format!("{other:?}")),
    }
}

pub(crate) fn socket_wit_error(code: ErrorCode) -> wit::Error {
    error(socket_error(code))
}

/// `connect-options.limit`, asyncio's check included.
pub(crate) fn connect_limit(options: Option<&wit::ConnectOptions>) -> Result<usize, wit::Error> {
    limit(options.and_then(|o| o.limit))
}

pub(crate) fn limit(value: Option<u64>) -> Result<usize, wit::Error> {
    let limit = value.map_or(Ok(DEFAULT_LIMIT), |limit| {
        usize::try_from(limit).map_err(|_| Error::invalid_argument("limit is too large"))
    });
    let limit = limit.map_err(error)?;
    if limit == 0 {
        return Err(error(Error::invalid_argument("Limit cannot be <= 0")));
    }
    Ok(limit)
}

pub(crate) fn to_wasi(addr: SocketAddr) -> IpSocketAddress {
    match addr {
        SocketAddr::V4(a) => {
            let [x, y, z, w] = a.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress { port: a.port(), address: (x, y, z, w) })
        }
        SocketAddr::V6(a) => {
            let s = a.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: a.port(),
                flow_info: a.flowinfo(),
                address: (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
                scope_id: a.scope_id(),
            })
        }
    }
}

pub(crate) fn from_wasi(addr: IpSocketAddress) -> SocketAddr {
    match addr {
        IpSocketAddress::Ipv4(a) => {
            let (x, y, z, w) = a.address;
            SocketAddr::new(Ipv4Addr::new(x, y, z, w).into(), a.port)
        }
        IpSocketAddress::Ipv6(a) => {
            let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
            SocketAddr::new(Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7).into(), a.port)
        }
    }
}
