//! Python's `repr()` of the values asyncio's examples print (`{message!r}`,
//! `{addr!r}`), so a component ported from them prints what the document shows:
//! `Received: 'Hello World!'`, `from ('127.0.0.1', 52614)`.

use std::fmt::Write as _;
use std::net::SocketAddr;

/// `repr(text)` for a Python `str`: single quotes, or double quotes when the text has a
/// single quote and no double one; backslashes, the quote and control characters
/// escaped as Python escapes them.
pub fn repr_str(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `repr(addr)` for the address tuple asyncio's `get_extra_info('peername')` returns:
/// `('127.0.0.1', 8888)` for IPv4, `('::1', 8888, 0, 0)` (with flow info and scope id)
/// for IPv6.
pub fn repr_address(address: SocketAddr) -> String {
    match address {
        SocketAddr::V4(v4) => format!("('{}', {})", v4.ip(), v4.port()),
        SocketAddr::V6(v6) => format!("('{}', {}, {}, {})", v6.ip(), v6.port(), v6.flowinfo(), v6.scope_id()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_as_python_shows_them() {
        // Checked against CPython 3.13's repr().
        assert_eq!(repr_str("Hello World!"), "'Hello World!'");
        assert_eq!(repr_str("it's"), "\"it's\"");
        assert_eq!(repr_str("'\""), "'\\'\"'");
        assert_eq!(repr_str("a\\b\n\r\t\x00\x7f"), "'a\\\\b\\n\\r\\t\\x00\\x7f'");
        assert_eq!(repr_str("héllo ☃"), "'héllo ☃'");
        assert_eq!(repr_str(""), "''");
    }

    #[test]
    fn addresses_as_asyncio_gives_them() {
        assert_eq!(repr_address("127.0.0.1:52614".parse().unwrap()), "('127.0.0.1', 52614)");
        assert_eq!(repr_address("[::1]:8888".parse().unwrap()), "('::1', 8888, 0, 0)");
    }
}
