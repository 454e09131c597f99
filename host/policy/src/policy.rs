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
//!   address (`0.0.0.0:0` or `[::]:0`) before it checks `TcpConnect`. That bind only picks a
//!   local port, so it is allowed under every policy that allows TCP: the connect after it, or a
//!   listen (`TcpListen` on `0.0.0.0:<port>`), is checked with its real address — a guest still
//!   cannot listen on all interfaces, and a denial names the address it tried to reach;
//! - DNS lookups (`wasi:sockets/ip-name-lookup`), since resolving `localhost` is common;
//! - no UDP.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::address_use::AddressUse;
use crate::rule::NetworkRule;

/// The network access a guest is granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkPolicy {
    tcp: bool,
    udp: bool,
    ip_name_lookup: bool,
    /// `--allow-net`: bind, listen and connect.
    allow_net: Vec<NetworkRule>,
    /// `--allow-listen`: bind and listen.
    allow_listen: Vec<NetworkRule>,
    /// `--allow-connect`: connect.
    allow_connect: Vec<NetworkRule>,
    /// `--deny-net`: wins over every allow, for every use.
    deny: Vec<NetworkRule>,
    /// With no allow rule at all: loopback only.
    default_loopback: bool,
}

/// What a use of an address asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    /// Bind or listen on an address.
    Listen,
    /// The bind of the unspecified address with port 0 that a connect performs first.
    ImplicitBind,
    Connect,
    /// A client connecting to a listening guest (the address is the client's).
    Accept,
}

impl NetworkPolicy {
    /// The default policy: TCP and DNS on loopback addresses only, no UDP (see the module docs).
    pub fn loopback_only() -> Self {
        NetworkPolicy {
            tcp: true,
            udp: false,
            ip_name_lookup: true,
            allow_net: Vec::new(),
            allow_listen: Vec::new(),
            allow_connect: Vec::new(),
            deny: Vec::new(),
            default_loopback: true,
        }
    }

    /// No networking at all (what wasmtime-wasi does when left alone).
    pub fn deny_all() -> Self {
        NetworkPolicy { tcp: false, ip_name_lookup: false, default_loopback: false, ..Self::loopback_only() }
    }

    /// Adds `--allow-net` rules (bind, listen and connect). Any allow rule replaces the
    /// loopback-only default.
    pub fn allow_net(mut self, rules: impl IntoIterator<Item = NetworkRule>) -> Self {
        self.allow_net.extend(rules);
        self.settle_default();
        self
    }

    /// Adds `--allow-listen` rules (bind and listen).
    pub fn allow_listen(mut self, rules: impl IntoIterator<Item = NetworkRule>) -> Self {
        self.allow_listen.extend(rules);
        self.settle_default();
        self
    }

    /// Adds `--allow-connect` rules.
    pub fn allow_connect(mut self, rules: impl IntoIterator<Item = NetworkRule>) -> Self {
        self.allow_connect.extend(rules);
        self.settle_default();
        self
    }

    /// Adds `--deny-net` rules: they win over any allow, for every use.
    pub fn deny_net(mut self, rules: impl IntoIterator<Item = NetworkRule>) -> Self {
        self.deny.extend(rules);
        self
    }

    /// `--deny-dns`: turns `wasi:sockets/ip-name-lookup` off.
    pub fn deny_dns(mut self) -> Self {
        self.ip_name_lookup = false;
        self
    }

    fn settle_default(&mut self) {
        self.default_loopback =
            self.allow_net.is_empty() && self.allow_listen.is_empty() && self.allow_connect.is_empty();
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
    pub fn allows(&self, addr: SocketAddr, use_: impl Into<AddressUse>) -> bool {
        self.denial(addr, use_.into()).is_none()
    }

    /// Why `allows(addr, use_)` is false, for the warning line; `None` if it is allowed.
    pub fn denial(&self, addr: SocketAddr, use_: AddressUse) -> Option<Denial> {
        let deny = |rule: String, reason: String| Some(Denial { addr, use_, rule, reason });
        let need = match use_ {
            AddressUse::TcpBind if addr.ip().is_unspecified() && addr.port() == 0 => Need::ImplicitBind,
            AddressUse::TcpBind | AddressUse::TcpListen => Need::Listen,
            AddressUse::TcpConnect => Need::Connect,
            AddressUse::TcpAccept => Need::Accept,
            _ => return deny("udp-disabled".to_string(), "UDP is disabled".to_string()),
        };
        if !self.tcp {
            return deny("tcp-disabled".to_string(), "TCP is disabled".to_string());
        }
        // The implicit bind only picks a local port; the connect (or a listen) that follows
        // is checked with its real address, so the log names what the guest tried to reach.
        if need == Need::ImplicitBind {
            return None;
        }
        // A client's port is whatever its system picked: deny rules match its host.
        let denied_by = self.deny.iter().find(|rule| match need {
            Need::Accept => rule.matches_host(addr.ip()),
            _ => rule.matches(addr),
        });
        if let Some(rule) = denied_by {
            return deny(format!("--deny-net {rule}"), format!("denied by rule --deny-net {rule}"));
        }
        let allowed = if self.default_loopback {
            is_loopback(addr.ip())
        } else {
            let any_match = |rules: &[NetworkRule]| rules.iter().any(|rule| rule.matches(addr));
            match need {
                Need::Listen => any_match(&self.allow_net) || any_match(&self.allow_listen),
                Need::Connect => any_match(&self.allow_net) || any_match(&self.allow_connect),
                // Listening was allowed; clients are limited only by deny rules.
                Need::Accept | Need::ImplicitBind => true,
            }
        };
        if allowed {
            None
        } else {
            deny("no-allow-rule".to_string(), format!("no rule allows it ({})", self.describe()))
        }
    }

    /// A short description of the address rules, e.g. `default policy: loopback only`.
    pub fn describe(&self) -> String {
        if !self.tcp {
            return "no network".to_string();
        }
        if self.default_loopback {
            return "default policy: loopback only".to_string();
        }
        let mut parts = Vec::new();
        for (flag, rules) in [
            ("--allow-net", &self.allow_net),
            ("--allow-listen", &self.allow_listen),
            ("--allow-connect", &self.allow_connect),
        ] {
            if !rules.is_empty() {
                let list: Vec<String> = rules.iter().map(ToString::to_string).collect();
                parts.push(format!("{flag} {}", list.join(",")));
            }
        }
        format!("rules: {}", parts.join("; "))
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
    pub use_: AddressUse,
    /// Which rule denied it, short and stable enough for a metric label:
    /// `--deny-net RULE`, `no-allow-rule`, `tcp-disabled` or `udp-disabled`.
    pub rule: String,
    pub reason: String,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "denied {:?} {} {}: {}", self.use_, preposition(self.use_), self.addr, self.reason)
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// "denied TcpConnect to …", "denied TcpBind on …", "denied TcpAccept from …".
pub(crate) fn preposition(use_: AddressUse) -> &'static str {
    match use_ {
        AddressUse::TcpConnect | AddressUse::UdpSend => "to",
        AddressUse::TcpAccept | AddressUse::UdpReceive => "from",
        _ => "on",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressUse::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn loopback_is_allowed_for_every_tcp_use() {
        let p = NetworkPolicy::loopback_only();
        for use_ in [TcpBind, TcpListen, TcpAccept, TcpConnect] {
            for addr in ["127.0.0.1:8080", "127.1.2.3:1", "[::1]:8080", "[::ffff:127.0.0.1]:80"] {
                assert!(p.allows(a(addr), use_), "{addr} {use_:?}");
            }
        }
    }

    #[test]
    fn other_addresses_are_denied() {
        let p = NetworkPolicy::loopback_only();
        for use_ in [TcpBind, TcpListen, TcpAccept, TcpConnect] {
            for addr in ["10.0.0.1:80", "192.168.1.1:80", "8.8.8.8:53", "[2001:db8::1]:80"] {
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

    #[test]
    fn denial_names_its_rule_for_the_metric_label() {
        let rule = |p: &NetworkPolicy, addr: &str, use_| p.denial(a(addr), use_).unwrap().rule;
        let p = NetworkPolicy::loopback_only().deny_net(rules("127.0.0.1:22"));
        assert_eq!(rule(&p, "127.0.0.1:22", TcpConnect), "--deny-net 127.0.0.1:22");
        assert_eq!(rule(&p, "10.0.0.1:80", TcpConnect), "no-allow-rule");
        assert_eq!(rule(&p, "127.0.0.1:53", UdpSend), "udp-disabled");
        assert_eq!(rule(&NetworkPolicy::deny_all(), "127.0.0.1:80", TcpConnect), "tcp-disabled");
    }

    fn rules(text: &str) -> Vec<NetworkRule> {
        NetworkRule::parse_list(text).unwrap()
    }

    #[test]
    fn allow_rules_replace_the_loopback_default() {
        let p = NetworkPolicy::loopback_only().allow_connect(rules("127.0.0.1:9000"));
        assert!(p.allows(a("127.0.0.1:9000"), TcpConnect));
        assert!(p.allows(a("0.0.0.0:0"), TcpBind), "the implicit bind of a connect");
        assert!(!p.allows(a("127.0.0.1:9001"), TcpConnect));
        assert!(!p.allows(a("127.0.0.1:9000"), TcpListen), "connect rules do not allow listening");
        assert_eq!(
            p.denial(a("127.0.0.1:9001"), TcpConnect).unwrap().to_string(),
            "denied TcpConnect to 127.0.0.1:9001: no rule allows it (rules: --allow-connect 127.0.0.1:9000)"
        );
    }

    #[test]
    fn listen_rules_cover_bind_and_listen_and_then_any_client() {
        let p = NetworkPolicy::loopback_only().allow_listen(rules("0.0.0.0:8080"));
        assert!(p.allows(a("0.0.0.0:8080"), TcpBind) && p.allows(a("0.0.0.0:8080"), TcpListen));
        assert!(p.allows(a("192.0.2.7:50123"), TcpAccept));
        assert!(!p.allows(a("127.0.0.1:8080"), TcpConnect));
        assert!(!p.allows(a("0.0.0.0:40000"), TcpListen), "a port 0 bind cannot widen a listen rule");
    }

    #[test]
    fn allow_net_covers_both_directions() {
        let p = NetworkPolicy::loopback_only().allow_net(rules("10.0.0.0/8:80-90,[::1]"));
        for use_ in [TcpBind, TcpListen, TcpConnect] {
            assert!(p.allows(a("10.1.2.3:85"), use_), "{use_:?}");
            assert!(p.allows(a("[::1]:5000"), use_), "{use_:?}");
            assert!(!p.allows(a("10.1.2.3:91"), use_), "{use_:?}");
        }
    }

    #[test]
    fn deny_wins_over_allow_and_names_the_rule() {
        let p =
            NetworkPolicy::loopback_only().allow_net(rules("*")).deny_net(rules("127.0.0.1:22,10.0.0.0/8"));
        assert!(p.allows(a("127.0.0.1:80"), TcpConnect));
        assert_eq!(
            p.denial(a("127.0.0.1:22"), TcpConnect).unwrap().to_string(),
            "denied TcpConnect to 127.0.0.1:22: denied by rule --deny-net 127.0.0.1:22"
        );
        assert_eq!(
            p.denial(a("10.9.9.9:50000"), TcpAccept).unwrap().reason,
            "denied by rule --deny-net 10.0.0.0/8"
        );
        // Deny rules also apply under the loopback default.
        let p = NetworkPolicy::loopback_only().deny_net(rules("127.0.0.1:6379"));
        assert!(!p.allows(a("127.0.0.1:6379"), TcpConnect));
        assert!(p.allows(a("127.0.0.1:6380"), TcpConnect));
    }

    #[test]
    fn deny_dns_turns_lookups_off() {
        let p = NetworkPolicy::loopback_only().deny_dns();
        assert!(!p.ip_name_lookup_enabled());
        assert!(p.allows(a("127.0.0.1:80"), TcpConnect));
    }
}
