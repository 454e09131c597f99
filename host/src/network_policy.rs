//! Which socket addresses a guest may use.
//!
//! wasmtime-wasi 48 denies all networking unless the embedder opts in: TCP, UDP and name
//! lookups are separate switches, and every address a socket is bound, connected, listened or
//! accepted on goes through a `socket_addr_check`. [`NetworkPolicy`] is that decision as a plain
//! value, so it can be unit-tested and later extended with `--allow-net` / `--deny-net` rules.
//!
//! The default, [`NetworkPolicy::loopback_only`], lets a guest serve and connect on this machine
//! only:
//! - TCP on the loopback range: `127.0.0.0/8`, `::1` (and `::ffff:127.x.y.z`, which is the same
//!   traffic spelled as IPv6);
//! - the implicit bind that `connect` performs first: wasmtime checks `TcpBind` of the unspecified
//!   address (`0.0.0.0:0` or `[::]:0`) before it checks `TcpConnect` — only port 0 is allowed, so a
//!   guest still cannot listen on all interfaces;
//! - DNS lookups (`wasi:sockets/ip-name-lookup`), since resolving `localhost` is common;
//! - no UDP.

use std::fmt;
use std::future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

pub use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::WasiCtxBuilder;

/// The network access a guest is granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkPolicy {
    tcp: bool,
    udp: bool,
    ip_name_lookup: bool,
    addresses: AddressRule,
}

/// Which addresses pass the check (for now the only rule is the built-in default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AddressRule {
    /// Loopback addresses, plus the implicit wildcard bind with port 0.
    LoopbackOnly,
    /// Nothing.
    DenyAll,
}

impl NetworkPolicy {
    /// The default policy: TCP and DNS on loopback addresses only, no UDP (see the module docs).
    pub fn loopback_only() -> Self {
        NetworkPolicy {
            tcp: true,
            udp: false,
            ip_name_lookup: true,
            addresses: AddressRule::LoopbackOnly,
        }
    }

    /// No networking at all (what wasmtime-wasi does when left alone).
    pub fn deny_all() -> Self {
        NetworkPolicy {
            tcp: false,
            udp: false,
            ip_name_lookup: false,
            addresses: AddressRule::DenyAll,
        }
    }

    /// Whether TCP sockets may be created at all.
    pub fn tcp_enabled(&self) -> bool {
        self.tcp
    }

    /// Whether UDP sockets may be created at all.
    pub fn udp_enabled(&self) -> bool {
        self.udp
    }

    /// Whether `wasi:sockets/ip-name-lookup` may be used.
    pub fn ip_name_lookup_enabled(&self) -> bool {
        self.ip_name_lookup
    }

    /// Whether the guest may use `addr` for `use_`.
    pub fn allows(&self, addr: SocketAddr, use_: SocketAddrUse) -> bool {
        let protocol_enabled = if is_tcp(use_) { self.tcp } else { self.udp };
        if !protocol_enabled {
            return false;
        }
        match self.addresses {
            AddressRule::DenyAll => false,
            AddressRule::LoopbackOnly => {
                is_loopback(addr.ip())
                    || (matches!(use_, SocketAddrUse::TcpBind)
                        && addr.ip().is_unspecified()
                        && addr.port() == 0)
            }
        }
    }

    /// Why `allows(addr, use_)` is false, for the warning line; `None` if it is allowed.
    pub fn denial(&self, addr: SocketAddr, use_: SocketAddrUse) -> Option<Denial> {
        if self.allows(addr, use_) {
            return None;
        }
        let reason = if is_tcp(use_) && !self.tcp {
            "TCP is disabled".to_string()
        } else if !is_tcp(use_) && !self.udp {
            "UDP is disabled".to_string()
        } else {
            format!("no rule allows it (default policy: {})", self.describe())
        };
        Some(Denial { addr, use_, reason })
    }

    /// A short description of the address rule, e.g. `loopback only`.
    pub fn describe(&self) -> &'static str {
        match self.addresses {
            AddressRule::LoopbackOnly => "loopback only",
            AddressRule::DenyAll => "no network",
        }
    }

    /// Configures `builder` with this policy: the TCP / UDP / name-lookup switches and an address
    /// check that logs a warning for every denied use.
    pub fn apply(&self, builder: &mut WasiCtxBuilder) {
        builder
            .allow_tcp(self.tcp)
            .allow_udp(self.udp)
            .allow_ip_name_lookup(self.ip_name_lookup);
        let policy = Arc::new(self.clone());
        builder.socket_addr_check(move |addr, use_| {
            let allowed = match policy.denial(addr, use_) {
                None => {
                    tracing::debug!("allowed {:?} {} {addr}", use_, preposition(use_));
                    true
                }
                Some(denial) => {
                    tracing::warn!("{denial}");
                    false
                }
            };
            Box::pin(future::ready(allowed))
        });
    }
}

impl Default for NetworkPolicy {
    fn default() -> Self {
        NetworkPolicy::loopback_only()
    }
}

/// A denied use of an address, displayed as the warning line
/// `denied TcpConnect to 10.0.0.1:80: no rule allows it (default policy: loopback only)`.
#[derive(Clone, Debug)]
pub struct Denial {
    pub addr: SocketAddr,
    pub use_: SocketAddrUse,
    pub reason: String,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "denied {:?} {} {}: {}",
            self.use_,
            preposition(self.use_),
            self.addr,
            self.reason
        )
    }
}

fn is_tcp(use_: SocketAddrUse) -> bool {
    matches!(
        use_,
        SocketAddrUse::TcpBind
            | SocketAddrUse::TcpListen
            | SocketAddrUse::TcpAccept
            | SocketAddrUse::TcpConnect
    )
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// "denied TcpConnect to …", "denied TcpBind on …", "denied TcpAccept from …".
fn preposition(use_: SocketAddrUse) -> &'static str {
    match use_ {
        SocketAddrUse::TcpConnect | SocketAddrUse::UdpSend => "to",
        SocketAddrUse::TcpAccept | SocketAddrUse::UdpReceive => "from",
        _ => "on",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SocketAddrUse::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn loopback_is_allowed_for_every_tcp_use() {
        let p = NetworkPolicy::loopback_only();
        for use_ in [TcpBind, TcpListen, TcpAccept, TcpConnect] {
            for addr in [
                "127.0.0.1:8080",
                "127.1.2.3:1",
                "[::1]:8080",
                "[::ffff:127.0.0.1]:80",
            ] {
                assert!(p.allows(a(addr), use_), "{addr} {use_:?}");
            }
        }
    }

    #[test]
    fn other_addresses_are_denied() {
        let p = NetworkPolicy::loopback_only();
        for use_ in [TcpBind, TcpListen, TcpAccept, TcpConnect] {
            for addr in [
                "10.0.0.1:80",
                "192.168.1.1:80",
                "8.8.8.8:53",
                "[2001:db8::1]:80",
            ] {
                assert!(!p.allows(a(addr), use_), "{addr} {use_:?}");
            }
        }
    }

    #[test]
    fn implicit_wildcard_bind_only_with_port_zero() {
        let p = NetworkPolicy::loopback_only();
        assert!(p.allows(a("0.0.0.0:0"), TcpBind));
        assert!(p.allows(a("[::]:0"), TcpBind));
        assert!(!p.allows(a("0.0.0.0:8080"), TcpBind));
        assert!(!p.allows(a("[::]:8080"), TcpBind));
        assert!(!p.allows(a("0.0.0.0:0"), TcpListen));
        assert!(!p.allows(a("0.0.0.0:0"), TcpConnect));
    }

    #[test]
    fn udp_is_off() {
        let p = NetworkPolicy::loopback_only();
        assert!(!p.udp_enabled());
        for use_ in [UdpBind, UdpSend, UdpReceive] {
            assert!(!p.allows(a("127.0.0.1:53"), use_));
        }
        assert!(p.tcp_enabled() && p.ip_name_lookup_enabled());
    }

    #[test]
    fn deny_all_denies_everything() {
        let p = NetworkPolicy::deny_all();
        assert!(!p.allows(a("127.0.0.1:80"), TcpConnect));
        assert!(!p.allows(a("0.0.0.0:0"), TcpBind));
    }

    #[test]
    fn denial_message() {
        let p = NetworkPolicy::loopback_only();
        assert!(p.denial(a("127.0.0.1:80"), TcpConnect).is_none());
        assert_eq!(
            p.denial(a("10.0.0.1:80"), TcpConnect).unwrap().to_string(),
            "denied TcpConnect to 10.0.0.1:80: no rule allows it (default policy: loopback only)"
        );
        assert_eq!(
            p.denial(a("0.0.0.0:8080"), TcpBind).unwrap().to_string(),
            "denied TcpBind on 0.0.0.0:8080: no rule allows it (default policy: loopback only)"
        );
        assert_eq!(
            p.denial(a("127.0.0.1:53"), UdpSend).unwrap().to_string(),
            "denied UdpSend to 127.0.0.1:53: UDP is disabled"
        );
    }
}
