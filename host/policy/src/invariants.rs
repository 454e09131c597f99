//! What must hold for any rules and any address, checked on inputs made from a fuzzer's
//! bytes (the `network_policy` fuzz target, and the inputs kept from it, which replay in
//! the unit tests):
//! - parsing never panics, and a parsed rule parses again from its display to the same rule;
//! - a use that a `--deny-net` rule covers is never allowed, whatever the allow rules;
//! - an IPv4 address and its IPv4-mapped IPv6 spelling (`::ffff:a.b.c.d`) get the same answer;
//! - with no allow rule, only loopback is allowed; with some, a listen or connect that
//!   no allow rule for it covers is denied.
//!
//! Host names never reach the network: they resolve to addresses made from the name.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::{AddressUse, NetworkPolicy, NetworkRule};

/// Reads the fuzzer's bytes front to back; zeros once they run out.
struct Bytes<'a> {
    rest: &'a [u8],
}

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.rest.split_first().unwrap_or((&0, &[]));
        self.rest = rest;
        *first
    }

    fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

/// A stand-in resolver: a name resolves to one or two addresses made from its bytes,
/// or fails for names that start with `x`.
fn fake_resolve(name: &str) -> Result<Vec<IpAddr>, String> {
    if name.starts_with('x') {
        return Err(format!("host name `{name}` does not resolve"));
    }
    let sum = name.bytes().fold(0u32, |sum, b| sum.wrapping_mul(31).wrapping_add(u32::from(b)));
    let v4 = IpAddr::V4(Ipv4Addr::from(sum));
    if sum % 2 == 0 {
        Ok(vec![v4])
    } else {
        Ok(vec![v4, IpAddr::V6(Ipv6Addr::from(u128::from(sum) << 64))])
    }
}

fn parse(text: &str) -> Result<NetworkRule, String> {
    NetworkRule::parse_with(text, fake_resolve).map_err(|e| e.to_string())
}

/// An address related to earlier ones now and then, so rules and addresses meet.
fn ip(input: &mut Bytes, seen: &[IpAddr]) -> IpAddr {
    match input.below(8) {
        0 | 1 if !seen.is_empty() => seen[input.below(seen.len())],
        2 if !seen.is_empty() => match seen[input.below(seen.len())] {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4).wrapping_add(u32::from(input.byte())))),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) ^ u128::from(input.byte()))),
        },
        3 => IpAddr::V4(Ipv4Addr::new(127, input.byte(), input.byte(), input.byte())),
        4 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        5 => IpAddr::V6(Ipv4Addr::new(input.byte(), input.byte(), input.byte(), input.byte()).to_ipv6_mapped()),
        6 => {
            let words: Vec<u16> = (0..8).map(|_| if input.byte() % 2 == 0 { 0 } else { input.u16() }).collect();
            IpAddr::V6(Ipv6Addr::new(
                words[0], words[1], words[2], words[3], words[4], words[5], words[6], words[7],
            ))
        }
        _ => IpAddr::V4(Ipv4Addr::new(input.byte(), input.byte(), input.byte(), input.byte())),
    }
}

fn port(input: &mut Bytes) -> u16 {
    match input.below(4) {
        0 => 0,
        1 => 80 + input.below(4) as u16,
        _ => input.u16(),
    }
}

/// A rule's text: mostly well formed, sometimes not.
fn rule_text(input: &mut Bytes, seen: &mut Vec<IpAddr>) -> String {
    let address = ip(input, seen);
    seen.push(address);
    let host = match input.below(7) {
        0 => "*".to_string(),
        1 => format!("{address}/{}", input.below(140)),
        2 => ["localhost", "example", "db.internal", "xfails"][input.below(4)].to_string(),
        3 => {
            // Raw text from the fuzzer: anything at all.
            let len = input.below(24);
            String::from_utf8_lossy(&(0..len).map(|_| input.byte()).collect::<Vec<u8>>()).into_owned()
        }
        _ => address.to_string(),
    };
    let ports = match input.below(4) {
        0 => None,
        1 => Some(port(input).to_string()),
        2 => Some(format!("{}-{}", port(input), port(input))),
        _ => Some(format!("{}", input.byte() as char)),
    };
    match (ports, host.contains(':')) {
        (None, _) => host,
        (Some(ports), true) => format!("[{host}]:{ports}"),
        (Some(ports), false) => format!("{host}:{ports}"),
    }
}

const USES: [AddressUse; 6] = [
    AddressUse::TcpBind,
    AddressUse::TcpListen,
    AddressUse::TcpConnect,
    AddressUse::TcpAccept,
    AddressUse::UdpBind,
    AddressUse::UdpSend,
];

/// The IPv4-mapped IPv6 spelling of an IPv4 address, or the IPv4 address of one.
fn other_spelling(addr: SocketAddr) -> Option<SocketAddr> {
    match addr.ip() {
        IpAddr::V4(v4) => Some(SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), addr.port())),
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(|v4| SocketAddr::new(IpAddr::V4(v4), addr.port())),
    }
}

/// The bind of the unspecified address that a connect performs first: allowed whenever
/// TCP is (the connect after it is checked).
fn is_implicit_bind(addr: SocketAddr, use_: AddressUse) -> bool {
    use_ == AddressUse::TcpBind && addr.ip().is_unspecified() && addr.port() == 0
}

/// Runs the checks (see the module docs) on one input.
pub fn replay(bytes: &[u8]) -> Result<(), String> {
    let mut input = Bytes { rest: bytes };
    let mut seen = Vec::new();
    let (mut allow_net, mut allow_listen, mut allow_connect, mut deny) = (vec![], vec![], vec![], vec![]);
    for _ in 0..input.below(8) {
        let text = rule_text(&mut input, &mut seen);
        let Ok(rule) = parse(&text) else { continue };
        let again = parse(&rule.to_string()).map_err(|e| format!("`{text}` parsed, its display did not: {e}"))?;
        if again != rule {
            return Err(format!("`{text}` parsed to {rule:?}, its display to {again:?}"));
        }
        match input.below(4) {
            0 => allow_net.push(rule),
            1 => allow_listen.push(rule),
            2 => allow_connect.push(rule),
            _ => deny.push(rule),
        }
    }
    let no_allow_rule = allow_net.is_empty() && allow_listen.is_empty() && allow_connect.is_empty();
    let policy = NetworkPolicy::loopback_only()
        .allow_net(allow_net.clone())
        .allow_listen(allow_listen.clone())
        .allow_connect(allow_connect.clone())
        .deny_net(deny.clone());

    while !input.is_empty() {
        let addr = SocketAddr::new(ip(&mut input, &seen), port(&mut input));
        let use_ = USES[input.below(USES.len())];
        let allowed = policy.allows(addr, use_);
        let implicit_bind = is_implicit_bind(addr, use_);
        if allowed && !implicit_bind {
            let denied_by = deny.iter().find(|rule| match use_ {
                AddressUse::TcpAccept => rule.matches_host(addr.ip()),
                _ => rule.matches(addr),
            });
            if let Some(rule) = denied_by {
                return Err(format!("{use_:?} {addr} allowed though --deny-net {rule} covers it"));
            }
            if matches!(use_, AddressUse::UdpBind | AddressUse::UdpSend) {
                return Err(format!("{use_:?} {addr} allowed with UDP off"));
            }
            let covered = |rules: &[NetworkRule]| rules.iter().any(|rule| rule.matches(addr));
            let loopback = match addr.ip() {
                IpAddr::V4(v4) => v4.is_loopback(),
                IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
            };
            let reason = match use_ {
                _ if no_allow_rule => (!loopback).then_some("no allow rule and not loopback"),
                AddressUse::TcpBind | AddressUse::TcpListen => {
                    (!covered(&allow_net) && !covered(&allow_listen)).then_some("no listen rule covers it")
                }
                AddressUse::TcpConnect => {
                    (!covered(&allow_net) && !covered(&allow_connect)).then_some("no connect rule covers it")
                }
                _ => None,
            };
            if let Some(reason) = reason {
                return Err(format!("{use_:?} {addr} allowed: {reason}"));
            }
        }
        if let Some(other) = other_spelling(addr) {
            if policy.allows(other, use_) != allowed && !implicit_bind && !is_implicit_bind(other, use_) {
                return Err(format!("{use_:?}: {addr} allowed {allowed}, {other} the opposite"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// The inputs kept from fuzzing (`fuzz/regressions/network_policy/`) replay here.
    #[test]
    fn inputs_kept_from_fuzzing_pass() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/network_policy");
        let mut paths: Vec<PathBuf> =
            std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().path()).collect();
        paths.sort();
        assert!(!paths.is_empty(), "{}: no inputs kept", dir.display());
        for path in paths {
            if let Err(failure) = super::replay(&std::fs::read(&path).unwrap()) {
                panic!("{}: {failure}", path.display());
            }
        }
    }
}
