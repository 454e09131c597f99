//! One network rule as an operator writes it: `*`, an IP, a CIDR or a host name, each
//! with an optional `:port` or `:port-port`; IPv6 in brackets when a port follows
//! (`[::1]:8080`, `[fd00::/8]:443`). Host names are resolved once, when parsed.

use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::ops::RangeInclusive;

/// Which hosts a rule covers.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Hosts {
    Any,
    /// A network: the address and how many leading bits must match.
    Network {
        base: IpAddr,
        prefix: u8,
    },
    /// The addresses a host name resolved to.
    Resolved(Vec<IpAddr>),
}

/// A parsed rule. Displays as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkRule {
    text: String,
    hosts: Hosts,
    ports: Option<RangeInclusive<u16>>,
}

/// Why a rule could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad network rule `{rule}`: {reason}")]
pub struct RuleError {
    pub rule: String,
    pub reason: String,
}

impl NetworkRule {
    /// Parses one rule (see the module docs), resolving a host name with the system's
    /// resolver.
    pub fn parse(text: &str) -> Result<NetworkRule, RuleError> {
        NetworkRule::parse_with(text, resolve_host_name)
    }

    /// Parses one rule, resolving a host name with `resolve` (the fuzz target's never
    /// touches the network).
    pub fn parse_with(
        text: &str,
        resolve: impl FnOnce(&str) -> Result<Vec<IpAddr>, String>,
    ) -> Result<NetworkRule, RuleError> {
        let text = text.trim();
        let fail = |reason: &str| RuleError { rule: text.to_string(), reason: reason.to_string() };
        if text.is_empty() {
            return Err(fail("empty"));
        }
        let (host, port) = split_host_port(text).map_err(|reason| fail(&reason))?;
        let ports = port.map(parse_ports).transpose().map_err(|reason| fail(&reason))?;
        let hosts = parse_hosts(host, resolve).map_err(|reason| fail(&reason))?;
        Ok(NetworkRule { text: text.to_string(), hosts, ports })
    }

    /// Parses a flag's value: one or more rules separated by commas.
    pub fn parse_list(text: &str) -> Result<Vec<NetworkRule>, RuleError> {
        text.split(',').filter(|part| !part.trim().is_empty()).map(NetworkRule::parse).collect()
    }

    /// Whether `addr` (host and port) is covered.
    pub fn matches(&self, addr: SocketAddr) -> bool {
        self.matches_host(addr.ip()) && self.ports.as_ref().is_none_or(|ports| ports.contains(&addr.port()))
    }

    /// Whether the host part covers `ip`, whatever the port.
    pub fn matches_host(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match &self.hosts {
            Hosts::Any => true,
            Hosts::Network { base, prefix } => in_network(ip, *base, *prefix),
            Hosts::Resolved(addresses) => addresses.contains(&ip),
        }
    }
}

impl fmt::Display for NetworkRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `host[:ports]`, with IPv6 in brackets when ports follow; a bare IPv6 address or
/// CIDR (several colons, no brackets) has no port.
fn split_host_port(text: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("unclosed `[`")?;
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(format!("unexpected `{after}` after `]`")),
            },
        };
    }
    if text.matches(':').count() > 1 {
        return Ok((text, None));
    }
    Ok(match text.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    })
}

fn parse_ports(text: &str) -> Result<RangeInclusive<u16>, String> {
    let port = |p: &str| p.parse::<u16>().map_err(|_| format!("bad port `{p}`"));
    let (low, high) = match text.split_once('-') {
        Some((low, high)) => (port(low)?, port(high)?),
        None => (port(text)?, port(text)?),
    };
    if low > high {
        return Err(format!("port range {low}-{high} is empty"));
    }
    Ok(low..=high)
}

fn parse_hosts(text: &str, resolve: impl FnOnce(&str) -> Result<Vec<IpAddr>, String>) -> Result<Hosts, String> {
    if text == "*" {
        return Ok(Hosts::Any);
    }
    if let Some((base, prefix)) = text.split_once('/') {
        let base: IpAddr = base.parse().map_err(|_| format!("bad network address `{base}`"))?;
        let bits = if base.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = prefix.parse().map_err(|_| format!("bad prefix length `{prefix}`"))?;
        if prefix > bits {
            return Err(format!("prefix /{prefix} is longer than {bits} bits"));
        }
        return Ok(network(base, prefix));
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        return Ok(network(ip, bits));
    }
    let resolved: Vec<IpAddr> = resolve(text)?.into_iter().map(canonical).collect();
    if resolved.is_empty() {
        return Err(format!("host name `{text}` resolves to no address"));
    }
    Ok(Hosts::Resolved(resolved))
}

/// The network of `prefix` leading bits of `base`. An IPv4-mapped IPv6 network
/// (`::ffff:10.0.0.0/104`) that lies within the mapped range is the IPv4 network
/// (`10.0.0.0/8`), as addresses are matched in their IPv4 form; a wider one stays IPv6
/// and IPv4 addresses are matched against it in their mapped form.
fn network(base: IpAddr, prefix: u8) -> Hosts {
    match base {
        IpAddr::V6(v6) if prefix >= 96 && v6.to_ipv4_mapped().is_some() => {
            Hosts::Network { base: canonical(base), prefix: prefix - 96 }
        }
        _ => Hosts::Network { base, prefix },
    }
}

/// The system's resolver: the addresses `name` resolves to.
fn resolve_host_name(name: &str) -> Result<Vec<IpAddr>, String> {
    let addresses = (name, 0).to_socket_addrs().map_err(|e| format!("host name `{name}` does not resolve: {e}"))?;
    Ok(addresses.map(|addr| addr.ip()).collect())
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_network(ip: IpAddr, base: IpAddr, prefix: u8) -> bool {
    match (ip, base) {
        (IpAddr::V4(ip), IpAddr::V4(base)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(base) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(base)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(base) & mask
        }
        // An IPv6 network wider than the IPv4-mapped range covers IPv4 addresses too.
        (IpAddr::V4(ip), IpAddr::V6(_)) => in_network(IpAddr::V6(ip.to_ipv6_mapped()), base, prefix),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ip_with_and_without_port() {
        let rule = NetworkRule::parse("127.0.0.1:8080").unwrap();
        assert!(rule.matches(addr("127.0.0.1:8080")));
        assert!(!rule.matches(addr("127.0.0.1:8081")));
        assert!(!rule.matches(addr("127.0.0.2:8080")));
        let rule = NetworkRule::parse("127.0.0.1").unwrap();
        assert!(rule.matches(addr("127.0.0.1:1")) && rule.matches(addr("127.0.0.1:65535")));
    }

    #[test]
    fn cidr_and_port_ranges() {
        let rule = NetworkRule::parse("10.0.0.0/8:8000-8099").unwrap();
        assert!(rule.matches(addr("10.200.3.4:8000")));
        assert!(rule.matches(addr("10.200.3.4:8099")));
        assert!(!rule.matches(addr("10.200.3.4:8100")));
        assert!(!rule.matches(addr("11.0.0.1:8000")));
        assert!(NetworkRule::parse("0.0.0.0/0").unwrap().matches(addr("203.0.113.9:1")));
    }

    #[test]
    fn ipv6_in_brackets_bare_and_as_cidr() {
        let rule = NetworkRule::parse("[::1]:443").unwrap();
        assert!(rule.matches(addr("[::1]:443")));
        assert!(!rule.matches(addr("[::1]:444")));
        assert!(NetworkRule::parse("::1").unwrap().matches(addr("[::1]:9")));
        let rule = NetworkRule::parse("[fd00::/8]:1-1024").unwrap();
        assert!(rule.matches(addr("[fd12::5]:80")));
        assert!(!rule.matches(addr("[fe80::1]:80")));
        assert!(NetworkRule::parse("fd00::/8").unwrap().matches(addr("[fd00::1]:9999")));
    }

    #[test]
    fn star_with_and_without_port() {
        assert!(NetworkRule::parse("*").unwrap().matches(addr("[2001:db8::1]:5")));
        let rule = NetworkRule::parse("*:53").unwrap();
        assert!(rule.matches(addr("192.0.2.1:53")) && !rule.matches(addr("192.0.2.1:54")));
    }

    #[test]
    fn host_names_resolve_once() {
        let rule = NetworkRule::parse("localhost:8080").unwrap();
        assert!(rule.matches(addr("127.0.0.1:8080")));
        assert!(!rule.matches(addr("127.0.0.1:8081")));
        assert_eq!(rule.to_string(), "localhost:8080");
    }

    #[test]
    fn ipv4_mapped_ipv6_counts_as_ipv4() {
        let rule = NetworkRule::parse("127.0.0.0/8").unwrap();
        assert!(rule.matches(addr("[::ffff:127.0.0.1]:80")));
    }

    /// Found by the `network_policy` fuzz target: a rule spelled as an IPv4-mapped IPv6
    /// address or network matched every IPv4 address (its prefix, counted in IPv6 bits,
    /// overflowed the IPv4 mask to nothing), so `--allow-connect ::ffff:10.0.0.1`
    /// allowed connecting anywhere.
    #[test]
    fn ipv4_mapped_rules_cover_only_their_addresses() {
        let one = NetworkRule::parse("::ffff:10.0.0.1").unwrap();
        assert!(one.matches(addr("10.0.0.1:80")));
        assert!(one.matches(addr("[::ffff:10.0.0.1]:80")));
        assert!(!one.matches(addr("10.0.0.2:80")));
        assert!(!one.matches(addr("93.184.216.34:443")));
        let net = NetworkRule::parse("[::ffff:10.0.0.0/104]:443").unwrap();
        assert!(net.matches(addr("10.255.0.1:443")));
        assert!(!net.matches(addr("11.0.0.1:443")));
        // Wider than the mapped range: every IPv4 address, and IPv6 ones as well.
        let wide = NetworkRule::parse("::ffff:0:0/80").unwrap();
        assert!(wide.matches(addr("11.0.0.1:443")));
        assert!(wide.matches(addr("[::1:2]:443")));
        assert!(!wide.matches(addr("[fd00::1]:443")));
    }

    #[test]
    fn lists_and_errors() {
        let rules = NetworkRule::parse_list("127.0.0.1:80, [::1]:80,").unwrap();
        assert_eq!(rules.len(), 2);
        for bad in ["", "1.2.3.4:99999", "1.2.3.4:90-80", "[::1", "[::1]x", "10.0.0.0/33", "1.2.3.4:http"] {
            assert!(NetworkRule::parse(bad).is_err(), "{bad:?} should not parse");
        }
        let error = NetworkRule::parse("10.0.0.0/33").unwrap_err();
        assert_eq!(error.to_string(), "bad network rule `10.0.0.0/33`: prefix /33 is longer than 32 bits");
    }
}
