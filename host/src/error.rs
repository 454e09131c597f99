//! [`HostError`]: everything that can stop the host before or while it runs a component, each
//! with a one-line message and an exit code; plus the classification of wasmtime's errors into it.
//!
//! Exit codes (also in `host --help`):
//! - the guest's own `exit(n)` → `n`;
//! - `wasi:cli/run` returned `Err` → 1;
//! - a host error (component not found, not wasm, core module, unmet import, …) → 2;
//! - the component trapped, or was stopped at `--max-memory` / `--max-busy` → 3;
//! - `--timeout` passed → 124 (as coreutils' `timeout`);
//! - SIGINT / SIGTERM → 130 / 143 (128 + the signal).

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

/// The exit code when `wasi:cli/run` returns `Err(())` (what a Rust guest's `main` returning
/// `Err` produces).
pub const EXIT_RUN_FAILED: i32 = 1;
/// The exit code for host errors: bad file, unmet import, engine set-up, …
pub const EXIT_HOST_ERROR: i32 = 2;
/// The exit code when the component traps or is stopped for exceeding a limit.
pub const EXIT_TRAP: i32 = 3;
/// The exit code when `--timeout` passes.
pub const EXIT_TIMEOUT: i32 = 124;

/// Why the host could not run a component to completion.
///
/// `Display` is always a single line; [`HostError::detail`] has wasmtime's full error (with its
/// cause chain and, for traps, the wasm backtrace) for `-v`.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A component name that resolves to no file.
    #[error(
        "component `{name}` not found (looked in: {}){}",
        display_paths(.searched),
        if *.bare_name { "; build the examples with `./scripts/build-guests`" } else { "" }
    )]
    ComponentNotFound {
        /// The name as given on the command line.
        name: String,
        /// The directories (or, for a path, the file) that were tried, in order.
        searched: Vec<PathBuf>,
        /// Whether `name` was a bare file name (looked up among the built examples).
        bare_name: bool,
    },

    /// The component file exists but cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The file has no `\0asm` magic.
    #[error("{} is not a WebAssembly file", .path.display())]
    NotWasm { path: PathBuf },

    /// The file is a core module (layer 0), not a component.
    #[error(
        "{} is a core WebAssembly module, not a component; build it for wasm32-wasip2",
        .path.display()
    )]
    CoreModule { path: PathBuf },

    /// wasmtime could not compile the component (invalid binary, unsupported feature, …).
    #[error("{} is not a valid component: {message}", .path.display())]
    Compile { path: PathBuf, message: String, error: wasmtime::Error },

    /// The component imports something the host's linker does not define (or defines with
    /// another type).
    #[error("component imports `{import}`, which this host does not provide{reason}")]
    UnmetImport {
        /// The import's name, e.g. `foo:bar/baz` or `wasi:cli/environment@0.2.12`.
        import: String,
        /// Empty, or e.g. ` (missing `f`)` / ` in a compatible form: …`.
        reason: String,
        error: wasmtime::Error,
    },

    /// The component links but does not export `wasi:cli/run`.
    #[error("{} is not a command: it does not export `wasi:cli/run` ({message})", .path.display())]
    NotACommand { path: PathBuf, message: String, error: wasmtime::Error },

    /// Linking failed for another reason than a missing import.
    #[error("cannot link component: {message}")]
    Link { message: String, error: wasmtime::Error },

    /// The Tokio runtime could not be started.
    #[error("cannot start the async runtime: {source}")]
    Runtime {
        #[source]
        source: io::Error,
    },

    /// `--metrics ADDR` could not be listened on.
    #[error("cannot serve metrics on {address}: {source}")]
    MetricsListen {
        address: std::net::SocketAddr,
        #[source]
        source: io::Error,
    },

    /// `--instances` above 1 where the listening sockets cannot be shared (SO_REUSEPORT's
    /// spreading of connections over them is what the host uses, on Linux only).
    #[error(
        "--instances {count}: several instances share their listening sockets through \
         SO_REUSEPORT, which this host does on Linux only; run one instance per process \
         (--instances 1)"
    )]
    InstancesUnsupported { count: usize },

    /// The engine (or its compilation cache) could not be set up.
    #[error("cannot set up wasmtime: {message}")]
    Engine { message: String, error: wasmtime::Error },

    /// A growth past `--max-memory` was refused and the component then failed.
    #[error(
        "component stopped: it reached the memory limit (--max-memory {}{}): {message}",
        size(*.limit),
        if *.instances > 1 { format!(", all {} instances together", .instances) } else { String::new() }
    )]
    MemoryLimit {
        limit: u64,
        /// 1: one memory reached the limit; N: the N `--instances` together did.
        instances: usize,
        /// The trap that followed, e.g. `wasm trap: wasm 'unreachable' instruction executed`.
        message: String,
        error: wasmtime::Error,
    },

    /// The component ran wasm for longer than `--max-busy` without a host call.
    #[error(
        "component stopped: busy in wasm for more than {} without returning to the host \
         (no I/O, no poll; --max-busy)",
        humantime(.limit)
    )]
    Busy { limit: std::time::Duration },

    /// The whole run took longer than `--timeout`.
    #[error("component stopped: still running after {} (--timeout)", humantime(.limit))]
    Timeout { limit: std::time::Duration },

    /// A `--dir` preopen could not be opened.
    #[error("cannot preopen {}: {message}", .path.display())]
    Preopen { path: PathBuf, message: String },

    /// The component trapped (or a host call it made failed fatally) during instantiation or
    /// while running.
    #[error("component trapped: {message}")]
    Trap {
        /// e.g. `wasm trap: wasm 'unreachable' instruction executed`.
        message: String,
        /// wasmtime's error, including the wasm backtrace when there is one.
        error: wasmtime::Error,
    },
}

impl HostError {
    /// The process exit code for this error: 3 for a trap, 2 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            HostError::Trap { .. } | HostError::MemoryLimit { .. } | HostError::Busy { .. } => EXIT_TRAP,
            HostError::Timeout { .. } => EXIT_TIMEOUT,
            _ => EXIT_HOST_ERROR,
        }
    }

    /// Whether the guest itself failed while running (a trap or a limit), as opposed to the
    /// host failing to load it: what `--restart on-failure` restarts.
    pub fn is_guest_failure(&self) -> bool {
        matches!(self, HostError::Trap { .. } | HostError::MemoryLimit { .. } | HostError::Busy { .. })
    }

    /// wasmtime's full error report (cause chain, wasm backtrace), when there is one: what `-v`
    /// prints after the one-line message.
    pub fn detail(&self) -> Option<String> {
        match self {
            HostError::Compile { error, .. }
            | HostError::UnmetImport { error, .. }
            | HostError::NotACommand { error, .. }
            | HostError::Link { error, .. }
            | HostError::Engine { error, .. }
            | HostError::MemoryLimit { error, .. }
            | HostError::Trap { error, .. } => Some(report(error)),
            HostError::Busy { .. } | HostError::Timeout { .. } | HostError::Preopen { .. } => None,
            HostError::ComponentNotFound { .. }
            | HostError::Read { .. }
            | HostError::Runtime { .. }
            | HostError::MetricsListen { .. }
            | HostError::InstancesUnsupported { .. }
            | HostError::NotWasm { .. }
            | HostError::CoreModule { .. } => None,
        }
    }

    /// Whether this is a trap (exit code 3).
    pub fn is_trap(&self) -> bool {
        matches!(self, HostError::Trap { .. })
    }
}

/// The error and its causes, one per line, like `{:?}` but without the host's Rust stack
/// backtrace (which wasmtime captures when `RUST_BACKTRACE` is set and which says nothing about
/// the guest). For a trap, the first line is wasmtime's wasm backtrace.
fn report(error: &wasmtime::Error) -> String {
    let mut out = error.to_string();
    let causes: Vec<String> = error.chain().skip(1).map(|e| e.to_string()).collect();
    if !causes.is_empty() {
        out.push_str("\n\nCaused by:");
        for (i, cause) in causes.iter().enumerate() {
            let _ = write!(out, "\n    {i}: {cause}");
        }
    }
    out
}

/// `64 MiB`, `512 KiB`, `1000 bytes`.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// `2s`, `1.5s`, `250ms`.
fn humantime(duration: &std::time::Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else if duration.as_millis() < 1000 {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{:.3}s", duration.as_secs_f64())
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    let mut out = String::new();
    for (i, p) in paths.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{}", p.display());
    }
    out
}

/// The error's message with its causes joined by `: `, on one line.
pub(crate) fn one_line(error: &wasmtime::Error) -> String {
    flatten(&format!("{error:#}"))
}

/// `s` with line breaks (and the indentation after them) collapsed to single spaces.
pub(crate) fn flatten(s: &str) -> String {
    s.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Classifies an error from `Linker::instantiate_pre`.
///
/// wasmtime 48 reports a missing import as the chain
/// "component imports instance `foo:bar/baz`, but a matching implementation was not found in the
/// linker" → "instance export `f` has the wrong type" (repeated for nesting) → a root cause such
/// as "function implementation is missing" or "expected func found instance".
pub(crate) fn classify_link_error(error: wasmtime::Error) -> HostError {
    let chain: Vec<String> = error.chain().map(|e| e.to_string()).collect();
    let Some(start) = chain
        .iter()
        .position(|m| m.starts_with("component imports ") && m.contains("matching implementation"))
    else {
        return HostError::Link { message: one_line(&error), error };
    };
    let Some(import) = first_backticked(&chain[start]) else {
        return HostError::Link { message: one_line(&error), error };
    };
    let import = import.to_string();
    let path: Vec<&str> = chain[start + 1..]
        .iter()
        .filter(|m| m.starts_with("instance export ") && m.ends_with("has the wrong type"))
        .filter_map(|m| first_backticked(m))
        .collect();
    let root = chain.last().map(String::as_str).unwrap_or_default();
    let reason = if root.ends_with("implementation is missing") {
        if path.is_empty() {
            String::new()
        } else {
            format!(" (missing `{}`)", path.join("/"))
        }
    } else if path.is_empty() {
        format!(" in a compatible form: {}", flatten(root))
    } else {
        format!(" in a compatible form: `{}`: {}", path.join("/"), flatten(root))
    };
    HostError::UnmetImport { import, reason, error }
}

/// The text between the first pair of backticks in `s`.
fn first_backticked(s: &str) -> Option<&str> {
    let start = s.find('`')? + 1;
    let len = s[start..].find('`')?;
    Some(&s[start..start + len])
}

/// What an error from instantiating or running the guest means.
pub(crate) enum RuntimeFailure {
    /// The guest called `exit` (wasmtime-wasi reports it as an `I32Exit` error).
    Exit(i32),
    /// Anything else ends the guest abnormally.
    Trap(HostError),
}

/// Classifies an error from `instantiate_async` or `call_run`.
pub(crate) fn classify_runtime_error(error: wasmtime::Error) -> RuntimeFailure {
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return RuntimeFailure::Exit(exit.0);
    }
    let message = match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        // A host function failing fatally (e.g. "resource has children") also kills the guest;
        // its root cause is the informative part (the outer layers are the wasm backtrace).
        None => flatten(&error.root_cause().to_string()),
    };
    let message = if message.contains("store handle limit exceeded") {
        format!("{message} (--max-handles raises it)")
    } else {
        message
    };
    RuntimeFailure::Trap(HostError::Trap { message, error })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_lists_places_and_the_build_command() {
        let e = HostError::ComponentNotFound {
            name: "echo-server.wasm".into(),
            searched: vec!["echo-server.wasm".into(), "/r/target/guests/wasm32-wasip2/release".into()],
            bare_name: true,
        };
        assert_eq!(
            e.to_string(),
            "component `echo-server.wasm` not found (looked in: echo-server.wasm, \
             /r/target/guests/wasm32-wasip2/release); build the examples with `./scripts/build-guests`"
        );
        assert_eq!(e.exit_code(), EXIT_HOST_ERROR);
        let e = HostError::ComponentNotFound {
            name: "dir/x.wasm".into(),
            searched: vec!["dir/x.wasm".into()],
            bare_name: false,
        };
        assert_eq!(e.to_string(), "component `dir/x.wasm` not found (looked in: dir/x.wasm)");
    }

    #[test]
    fn exit_is_recognised_through_context() {
        let e = wasmtime::Error::new(wasmtime_wasi::I32Exit(7)).context("while running");
        assert!(matches!(classify_runtime_error(e), RuntimeFailure::Exit(7)));
    }

    #[test]
    fn trap_message_is_the_trap() {
        let e = wasmtime::Error::new(wasmtime::Trap::UnreachableCodeReached)
            .context("error while executing at wasm backtrace:\n    0: 0x1 - f");
        let RuntimeFailure::Trap(h) = classify_runtime_error(e) else { panic!("not a trap") };
        assert_eq!(h.to_string(), "component trapped: wasm trap: wasm `unreachable` instruction executed");
        assert_eq!(h.exit_code(), EXIT_TRAP);
        assert!(h.detail().unwrap().contains("wasm backtrace"));
    }

    #[test]
    fn host_error_is_a_thread_safe_std_error() {
        fn check<T: std::error::Error + Send + Sync + 'static>() {}
        check::<HostError>();
    }

    #[test]
    fn flatten_joins_lines() {
        assert_eq!(flatten("a\n   b\n\nc"), "a b c");
    }

    #[test]
    fn link_error_without_the_known_shape_is_kept_whole() {
        let e = wasmtime::Error::msg("something else\nsecond line");
        let h = classify_link_error(e);
        assert_eq!(h.to_string(), "cannot link component: something else second line");
    }
}
