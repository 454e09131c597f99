//! The library's log lines (stderr). A line that cannot be written is dropped: `eprintln!`
//! would panic, and a server must not die because its log pipe broke or a write to stderr
//! failed (asyncio's `logging` reports such an error and goes on).

/// Writes one line to stderr, like `eprintln!`, ignoring a failure to write.
macro_rules! log_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub(crate) use log_line;
