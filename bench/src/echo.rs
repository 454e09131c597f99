//! The two echoes every server runs, so each column compares the same work.

use clap::ValueEnum;

/// How a server reads what it sends back; every server has both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum Echo {
    /// One line at a time: asyncio `readline` + `write` + `drain`; tokio `read_until(b'\n')` +
    /// `write_all`; ours `readline` (`try-readline` in compose-echo, an awaited `async func` in
    /// compose-echo-async) + `write` + `drain`.
    Lines,
    /// What arrives, as it arrives: asyncio `read(64 KiB)` + `write` + `drain`; tokio `read`
    /// into 64 KiB + `write_all`; ours the same as asyncio (compose-echo-async: its `--bulk`).
    Chunks,
}

impl Echo {
    /// For the table: `line` or `chunk`.
    pub fn name(self) -> &'static str {
        match self {
            Echo::Lines => "line",
            Echo::Chunks => "chunk",
        }
    }

    /// Its value for `serve-tokio --echo`.
    pub fn value(self) -> &'static str {
        match self {
            Echo::Lines => "lines",
            Echo::Chunks => "chunks",
        }
    }

    /// The option that selects it on the asyncio server's and ours' command lines.
    pub fn flag(self) -> &'static str {
        match self {
            Echo::Lines => "--lines",
            Echo::Chunks => "--chunks",
        }
    }
}
