//! What a guest learns when `accept` fails for lack of resources, and the one log line the
//! host writes about it.
//!
//! wasmtime-wasi 48 turns the errno of a failed `accept(2)` into a WASI error code through its
//! own table (`impl From<&Errno> for sockets::ErrorCode`): ENOBUFS and ENOMEM become
//! `out-of-memory`, but EMFILE (this process is at RLIMIT_NOFILE) and ENFILE (the system's
//! file table is full) are not in it and reach the guest as `unknown`. A guest cannot tell
//! "out of descriptors, back off" from a bug, and the operator sees nothing (wasmtime-wasi
//! logs "unknown I/O error" at debug level only).
//!
//! The errno is not kept anywhere: the p2 `accept` makes the failed accept a closed socket
//! holding only the error code, fails on it and drops it. Reading `errno` after the call would
//! be a guess too: between the failed `accept4` and our wrapper, wasmtime-wasi, tokio and
//! tracing run code that may set `errno` (C allows that even of calls that succeed).
//!
//! So `add_to_linker` shadows `[method]tcp-socket.accept` with a wrapper that calls
//! wasmtime-wasi's own `accept` and, only when it answers `unknown`, finds the cause by
//! opening a descriptor itself ([`imp::descriptor_shortage`]): an `eventfd` needs exactly what
//! `accept` needed that can run out — a free descriptor number below RLIMIT_NOFILE and an
//! entry in the system's file table — so it fails with EMFILE or ENFILE for as long as the
//! shortage lasts. That is one syscall pair, on the error path only. The guest then gets
//! `new-socket-limit` (the WASI code for "a new socket cannot be created: descriptor limit
//! reached"). If the probe succeeds, the cause was something else (on Linux the other errnos
//! wasmtime-wasi leaves unnamed are EBADF, EFAULT, ENOTSOCK and EINTR), or a descriptor was
//! freed by another thread in between; the code stays `unknown` then, which is still true.
//!
//! Every shortage (descriptors or memory) is logged as one warning naming the cause, at most
//! once per [`LOG_INTERVAL`], with the number of failures not logged since: a server at the
//! limit retries accepting, and a line per retry would flood the log (issue 9 saw 785,301
//! lines in 20 s).
//!
//! The wrapper is also where `--metrics` learns of each accepted connection
//! ([`crate::metrics::counting_streams`]): one shadowing of `accept`, two uses. Likewise
//! p3's `receive` and `send` wrappers are where a 0.3 guest's accepted connections are
//! counted and their streams relayed for the byte counts ([`crate::metrics::p3_connections`]).
//!
//! WASI 0.3 guests accept from a `stream<tcp-socket>`, and a failed accept reaches them as a
//! socket that is already closed with the error; [`p3_accepts`] names the shortage where the
//! guest learns of it (that socket's `receive` and `send`), with the same probe and log.
//!
//! Linux only (the errnos and `eventfd`); elsewhere `add_to_linker` leaves the linker alone.

#[cfg(target_os = "linux")]
mod p3_accepts;

/// Replaces wasmtime-wasi's p2 `accept` and p3 `receive` and `send`, already in `linker`,
/// with versions that name descriptor shortages and log them, rate-limited; every other
/// result is passed on unchanged. Fails, naming the function, if one is not there (a
/// wasmtime-wasi upgrade changed a WIT version). Leaves shadowing disallowed (the default).
#[cfg(target_os = "linux")]
pub(crate) fn add_to_linker<T>(linker: &mut wasmtime::component::Linker<T>) -> wasmtime::Result<()>
where
    T: wasmtime_wasi::WasiView + crate::metrics::counting_streams::CountsConnections + Send + 'static,
{
    imp::add_to_linker(linker)?;
    p3_accepts::add_to_linker(linker)
}

/// Elsewhere: nothing to do.
#[cfg(not(target_os = "linux"))]
pub(crate) fn add_to_linker<T>(_: &mut wasmtime::component::Linker<T>) -> wasmtime::Result<()> {
    Ok(())
}

/// At most one warning about failed accepts per this interval.
pub(crate) const LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

#[cfg(target_os = "linux")]
mod imp {
    use std::sync::Mutex;
    use std::time::Instant;

    use wasmtime::component::{Linker, Resource};
    use wasmtime::StoreContextMut;
    use wasmtime_wasi::p2::bindings::sockets::network::{self, ErrorCode};
    use wasmtime_wasi::p2::bindings::sockets::tcp::HostTcpSocket;
    use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, TcpSocket};
    use wasmtime_wasi::sockets::WasiSocketsView;
    use wasmtime_wasi::WasiView;

    use super::LOG_INTERVAL;
    use crate::metrics::counting_streams::CountsConnections;

    /// The interface of `accept`, with the exact version of wasmtime-wasi 48.0.8's WIT (see
    /// `TCP_INTERFACE` in `tcp_nodelay.rs`): an upgrade that changes it makes
    /// [`add_to_linker`] fail instead of leaving the wrapper where no guest calls it.
    pub(super) const TCP_INTERFACE: &str = "wasi:sockets/tcp@0.2.12";
    pub(super) const ACCEPT: &str = "[method]tcp-socket.accept";

    type Accepted = (Resource<TcpSocket>, Resource<DynInputStream>, Resource<DynOutputStream>);

    /// Replaces wasmtime-wasi's p2 `accept`, already in `linker` (see
    /// [`wasmtime_wasi::p2::add_to_linker_async`]), with one that names descriptor shortages
    /// (`new-socket-limit` instead of `unknown`) and logs shortages, rate-limited. Every
    /// other result is passed on unchanged. Leaves shadowing disallowed (the default).
    pub(super) fn add_to_linker<T: WasiView + CountsConnections + 'static>(
        linker: &mut Linker<T>,
    ) -> wasmtime::Result<()> {
        // Without shadowing, defining a name that exists fails: that checks it is there.
        crate::shadowing::replace(linker, &[(TCP_INTERFACE, ACCEPT)], "name p2 accept errors", |linker| {
            linker.instance(TCP_INTERFACE)?.func_wrap(ACCEPT, accept::<T>)
        })
    }

    fn accept<T: WasiView + CountsConnections>(
        mut store: StoreContextMut<'_, T>,
        (this,): (Resource<TcpSocket>,),
    ) -> wasmtime::Result<(Result<Accepted, ErrorCode>,)> {
        let mut sockets = store.data_mut().sockets();
        let result = match HostTcpSocket::accept(&mut sockets, this) {
            Ok(accepted) => Ok(accepted),
            // What the generated bindings do: an error code goes to the guest, the rest traps.
            Err(error) => Err(network::Host::convert_error_code(&mut sockets, error)?),
        };
        if let Ok((_, input, output)) = &result {
            store.data_mut().accepted(input, output)?;
        }
        let shortage = match &result {
            Err(ErrorCode::Unknown) => descriptor_shortage(),
            Err(ErrorCode::OutOfMemory) => Some(Shortage::Memory),
            _ => None,
        };
        let Some(shortage) = shortage else { return Ok((result,)) };
        let told = shortage.error_code();
        FAILURE_LOG.record(shortage, told.name());
        Ok((Err(told),))
    }

    /// What an `accept` ran out of.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Shortage {
        /// EMFILE: this process has RLIMIT_NOFILE descriptors open.
        ProcessDescriptors,
        /// ENFILE: the system's file table is full.
        SystemDescriptors,
        /// ENOBUFS / ENOMEM (wasmtime-wasi's `out-of-memory`).
        Memory,
    }

    impl Shortage {
        /// The WASI code the guest gets.
        pub(super) fn error_code(self) -> ErrorCode {
            match self {
                Shortage::ProcessDescriptors | Shortage::SystemDescriptors => ErrorCode::NewSocketLimit,
                Shortage::Memory => ErrorCode::OutOfMemory,
            }
        }

        /// The log line's cause, with what the operator can do about it.
        pub(super) fn describe(self) -> String {
            match self {
                Shortage::ProcessDescriptors => {
                    let limit = open_files_limit().map_or(String::new(), |n| format!(" of {n}"));
                    format!(
                        "too many open files (EMFILE: the host process reached its limit{limit} \
                         open descriptors; raise it with `ulimit -n`)"
                    )
                }
                Shortage::SystemDescriptors => {
                    "too many open files in the system (ENFILE: the kernel's file table is full)".to_string()
                }
                Shortage::Memory => {
                    "out of memory (ENOBUFS/ENOMEM: no kernel memory for the socket)".to_string()
                }
            }
        }
    }

    /// Whether a new descriptor cannot be opened now, and why: EMFILE or ENFILE from opening
    /// an `eventfd` (a descriptor and an open file, nothing else: no file system, no network,
    /// not a TCP socket that `tcp_nodelay`'s fresh-socket check could mistake for a guest's).
    pub(super) fn descriptor_shortage() -> Option<Shortage> {
        // SAFETY: plain syscalls on a descriptor this function owns and closes.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd >= 0 {
            unsafe { libc::close(fd) };
            return None;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EMFILE) => Some(Shortage::ProcessDescriptors),
            Some(libc::ENFILE) => Some(Shortage::SystemDescriptors),
            _ => None,
        }
    }

    /// This process's soft RLIMIT_NOFILE.
    fn open_files_limit() -> Option<u64> {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes the struct it is given.
        (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0).then_some(limit.rlim_cur)
    }

    /// The process-wide record of accept shortages (the limits are process- or system-wide,
    /// so one log serves every guest).
    pub(super) static FAILURE_LOG: FailureLog = FailureLog::new();

    /// Logs a shortage at once if none was logged in the last [`LOG_INTERVAL`]; otherwise
    /// counts it for the next line.
    pub(super) struct FailureLog {
        state: Mutex<LogState>,
    }

    struct LogState {
        last_logged: Option<Instant>,
        /// Failures since the last line that were not logged.
        unlogged: u64,
    }

    impl FailureLog {
        pub(super) const fn new() -> Self {
            FailureLog { state: Mutex::new(LogState { last_logged: None, unlogged: 0 }) }
        }

        /// Logs (or counts) a shortage of which the guest is told `told` (a WIT error code).
        pub(super) fn record(&self, shortage: Shortage, told: &str) {
            if let Some(line) = self.line_for(shortage, told, Instant::now()) {
                tracing::warn!("{line}");
            }
        }

        /// The line to log for a failure at `now`, if one is due.
        pub(super) fn line_for(&self, shortage: Shortage, told: &str, now: Instant) -> Option<String> {
            let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let due = state.last_logged.is_none_or(|last| now.duration_since(last) >= LOG_INTERVAL);
            if !due {
                state.unlogged += 1;
                return None;
            }
            let unlogged = std::mem::take(&mut state.unlogged);
            state.last_logged = Some(now);
            let repeats = match unlogged {
                0 => String::new(),
                n => format!(" ({n} more failed accepts in the last {} s)", LOG_INTERVAL.as_secs()),
            };
            Some(format!(
                "accept failed: {}; the guest is told `{told}` and should pause accepting{repeats}",
                shortage.describe(),
            ))
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::time::{Duration, Instant};

    use wasmtime::component::Linker;
    use wasmtime::Engine;

    use super::imp::{descriptor_shortage, FailureLog, Shortage, ACCEPT, TCP_INTERFACE};
    use super::LOG_INTERVAL;
    use crate::runner::HostState;

    #[test]
    fn shadows_accept_of_wasmtime_wasi() {
        let mut linker: Linker<HostState> = Linker::new(&Engine::default());
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
        wasmtime_wasi::p3::add_to_linker(&mut linker).unwrap();
        super::add_to_linker(&mut linker).unwrap();
        // Shadowing is off again afterwards.
        assert!(linker.instance(TCP_INTERFACE).unwrap().func_wrap(ACCEPT, |_, (): ()| Ok(())).is_err());
    }

    #[test]
    fn refuses_a_linker_without_accept() {
        let mut linker: Linker<HostState> = Linker::new(&Engine::default());
        let error = super::add_to_linker(&mut linker).unwrap_err();
        assert!(error.to_string().contains(ACCEPT), "{error}");
    }

    #[test]
    fn no_shortage_while_descriptors_are_free() {
        assert_eq!(descriptor_shortage(), None);
    }

    #[test]
    fn one_line_per_interval_counting_the_rest() {
        let log = FailureLog::new();
        let start = Instant::now();
        let first = log.line_for(Shortage::ProcessDescriptors, "new-socket-limit", start).unwrap();
        assert!(first.starts_with("accept failed: too many open files (EMFILE"), "{first}");
        assert!(first.contains("`new-socket-limit`"), "{first}");
        for i in 1..=5 {
            assert_eq!(
                log.line_for(
                    Shortage::ProcessDescriptors,
                    "new-socket-limit",
                    start + Duration::from_millis(i)
                ),
                None
            );
        }
        let next = log.line_for(Shortage::Memory, "out-of-memory", start + LOG_INTERVAL).unwrap();
        assert!(next.starts_with("accept failed: out of memory"), "{next}");
        assert!(next.contains("`out-of-memory`") && next.contains("(5 more failed accepts"), "{next}");
    }
}
