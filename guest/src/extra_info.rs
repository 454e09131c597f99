//! `get_extra_info(name)`: asyncio's optional transport details, by name.

use std::fmt;
use std::net::SocketAddr;

use crate::transport::Transport;

/// One of asyncio's `get_extra_info` values. New kinds (TLS details) may be added, so
/// match with a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtraInfo {
    /// `'peername'` or `'sockname'`: a socket address.
    Address(SocketAddr),
}

impl ExtraInfo {
    /// The address, for `'peername'` / `'sockname'`.
    pub fn as_address(&self) -> Option<SocketAddr> {
        match self {
            ExtraInfo::Address(address) => Some(*address),
        }
    }
}

impl fmt::Display for ExtraInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtraInfo::Address(address) => address.fmt(f),
        }
    }
}

/// The names this transport knows: `peername` and `sockname` for a socket (kept after
/// it closes, as asyncio keeps them). Any other name, or a pipe, gives `None`
/// (asyncio's `default`).
pub(crate) fn lookup(transport: &Transport, name: &str) -> Option<ExtraInfo> {
    match name {
        "peername" => transport.peername().map(ExtraInfo::Address),
        "sockname" => transport.sockname().map(ExtraInfo::Address),
        _ => None,
    }
}
