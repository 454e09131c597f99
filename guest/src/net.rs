//! Conversions between `std::net` addresses and `wasi:sockets`, and from `wasi` error
//! codes to [`Error`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use wasip2::io::streams::StreamError;
use wasip2::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};

use crate::error::Error;

pub(crate) fn to_wasi(addr: SocketAddr) -> IpSocketAddress {
    match addr {
        SocketAddr::V4(v4) => {
            let [a, b, c, d] = v4.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress { port: v4.port(), address: (a, b, c, d) })
        }
        SocketAddr::V6(v6) => {
            let s = v6.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: v6.port(),
                flow_info: v6.flowinfo(),
                address: (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
                scope_id: v6.scope_id(),
            })
        }
    }
}

pub(crate) fn from_wasi(addr: IpSocketAddress) -> SocketAddr {
    match addr {
        IpSocketAddress::Ipv4(v4) => {
            let (a, b, c, d) = v4.address;
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), v4.port))
        }
        IpSocketAddress::Ipv6(v6) => {
            let (a, b, c, d, e, f, g, h) = v6.address;
            SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::new(a, b, c, d, e, f, g, h),
                v6.port,
                v6.flow_info,
                v6.scope_id,
            ))
        }
    }
}

pub(crate) fn ip_from_wasi(addr: IpAddress) -> IpAddr {
    match addr {
        IpAddress::Ipv4((a, b, c, d)) => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
        IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h)),
    }
}

/// `addr`, with an IPv4-mapped IPv6 address (`[::ffff:a.b.c.d]:port`) as the IPv4 address it
/// stands for. `wasi:sockets` rejects mapped addresses in `bind` and `connect`
/// (`invalid-argument`), where a dual-stack IPv6 socket would reach the IPv4 address.
pub(crate) fn unmapped(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::V4(SocketAddrV4::new(v4, v6.port())),
            None => addr,
        },
        SocketAddr::V4(_) => addr,
    }
}

pub(crate) fn family_of(addr: &SocketAddr) -> IpAddressFamily {
    match addr {
        SocketAddr::V4(_) => IpAddressFamily::Ipv4,
        SocketAddr::V6(_) => IpAddressFamily::Ipv6,
    }
}

/// Maps a `wasi:sockets` error code, with the address or name it concerned.
pub(crate) fn socket_error(code: ErrorCode, context: &str) -> Error {
    let detail = context.to_string();
    match code {
        ErrorCode::AccessDenied => Error::AccessDenied(detail),
        ErrorCode::ConnectionRefused => Error::ConnectionRefused(detail),
        ErrorCode::ConnectionReset => Error::ConnectionReset(detail),
        ErrorCode::ConnectionAborted => Error::ConnectionAborted(detail),
        ErrorCode::Timeout => Error::TimedOut,
        ErrorCode::AddressInUse => Error::AddressInUse(detail),
        ErrorCode::AddressNotBindable => Error::AddressNotAvailable(detail),
        ErrorCode::NameUnresolvable
        | ErrorCode::TemporaryResolverFailure
        | ErrorCode::PermanentResolverFailure => Error::NameUnresolvable(detail),
        ErrorCode::InvalidArgument => Error::InvalidArgument(format!("invalid argument: {detail}")),
        ErrorCode::NewSocketLimit => Error::TooManyOpenFiles(detail),
        ErrorCode::OutOfMemory => Error::OutOfMemory(detail),
        other => Error::Other(format!("{} ({detail})", code_name(other))),
    }
}

/// The name of an error code for a message: its WIT name, except `unknown`, which alone
/// would tell a reader nothing.
pub(crate) fn code_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Unknown => "error the host did not name (wasi:sockets `unknown`)",
        other => other.name(),
    }
}

/// Maps a stream failure. WASI 0.2 reports only a debug string for stream errors (the
/// error-code accessor is unstable), so resets and aborts are recognised by its text.
pub(crate) fn stream_error(error: StreamError) -> Error {
    match error {
        // Writing to a socket the peer closed (EPIPE) is reported as `closed`.
        StreamError::Closed => Error::ConnectionReset("broken pipe".into()),
        StreamError::LastOperationFailed(e) => {
            // The host's debug text may carry a backtrace after the first line.
            let text = e.to_debug_string();
            classify_debug_string(text.lines().next().unwrap_or_default())
        }
    }
}

fn classify_debug_string(text: &str) -> Error {
    let lower = text.to_ascii_lowercase();
    if lower.contains("reset") || lower.contains("broken pipe") || lower.contains("brokenpipe") {
        Error::ConnectionReset(text.to_string())
    } else if lower.contains("abort") {
        Error::ConnectionAborted(text.to_string())
    } else if lower.contains("refused") {
        Error::ConnectionRefused(text.to_string())
    } else if lower.contains("timed out") || lower.contains("timeout") {
        Error::TimedOut
    } else {
        Error::Other(text.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_host_error_strings() {
        assert!(matches!(classify_debug_string("ConnectionReset"), Error::ConnectionReset(_)));
        assert!(matches!(
            classify_debug_string(
                "Os { code: 104, kind: ConnectionReset, message: \"Connection reset by peer\" }"
            ),
            Error::ConnectionReset(_)
        ));
        assert!(matches!(classify_debug_string("ConnectionAborted"), Error::ConnectionAborted(_)));
        assert!(matches!(classify_debug_string("something else"), Error::Other(_)));
    }

    #[test]
    fn resource_shortages_are_named() {
        let error = socket_error(ErrorCode::NewSocketLimit, "accept on 127.0.0.1:80");
        assert_eq!(error, Error::TooManyOpenFiles("accept on 127.0.0.1:80".into()));
        assert_eq!(error.to_string(), "too many open files: accept on 127.0.0.1:80");
        assert!(error.is_resource_exhaustion());
        let error = socket_error(ErrorCode::OutOfMemory, "accept on 127.0.0.1:80");
        assert_eq!(error.to_string(), "out of memory: accept on 127.0.0.1:80");
        let error = socket_error(ErrorCode::Unknown, "accept on 127.0.0.1:80").to_string();
        assert!(!error.starts_with("unknown"), "{error}");
        assert_eq!(socket_error(ErrorCode::RemoteUnreachable, "x").to_string(), "remote-unreachable (x)");
    }

    #[test]
    fn mapped_addresses_are_unmapped() {
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:80".parse().unwrap();
        assert_eq!(unmapped(mapped), "127.0.0.1:80".parse().unwrap());
        for plain in ["[::1]:80", "127.0.0.1:80", "[fe80::1%3]:9"] {
            let addr: SocketAddr = plain.parse().unwrap();
            assert_eq!(unmapped(addr), addr);
        }
    }

    #[test]
    fn addresses_round_trip() {
        for text in ["127.0.0.1:8888", "[::1]:80", "[fe80::1%3]:9"] {
            let addr: SocketAddr = text.parse().unwrap();
            assert_eq!(from_wasi(to_wasi(addr)), addr);
        }
    }
}
