//! The guests' listening sockets, every generation's: taking one over for a new listen,
//! telling when a generation has caught up with another, retiring one. Shared by the p2 and
//! p3 `listen` shadows ([`super::p2_start_listen`], [`super::p3_listen`]).

use std::collections::HashMap;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::{Mutex, OnceLock};

use socket2::SockRef;

use super::{IDENTITY, LISTENS};
use crate::socket_fd;

/// A guest's listening socket: whose, which of its listens, and where.
#[derive(Clone, Copy, Debug)]
struct Listener {
    generation: u64,
    instance: usize,
    nth: usize,
    fd: RawFd,
    inode: u64,
}

impl Listener {
    /// Whether `fd` still is this listening socket.
    fn is_open(&self) -> bool {
        inode(self.fd) == Some(self.inode) && socket_fd::is_listening(self.fd)
    }
}

static LISTENERS: Mutex<Vec<Listener>> = Mutex::new(Vec::new());

fn listeners() -> std::sync::MutexGuard<'static, Vec<Listener>> {
    LISTENERS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One listen of a guest, under way: which listen of which instance, and its socket's
/// descriptor once found.
pub(super) struct Listen {
    generation: u64,
    instance: usize,
    nth: usize,
    fd: Option<RawFd>,
}

impl Listen {
    /// The next listen of the instance on this thread (counted whether or not its socket's
    /// descriptor is then found, so the n-th listen of each generation stays the n-th).
    pub(super) fn next() -> Listen {
        let (generation, instance) = IDENTITY.with(|identity| identity.get());
        let nth = LISTENS.with(|count| {
            let nth = count.get();
            count.set(nth + 1);
            nth
        });
        Listen { generation, instance, nth, fd: None }
    }

    /// `fd` is this listen's socket, bound and not yet listening: if the same listen of the
    /// same instance of an older generation listens on `fd`'s address, puts the newest such
    /// listening socket under `fd` (closing the unused one), for wasmtime-wasi to listen on.
    pub(super) fn take_over(&mut self, fd: BorrowedFd<'_>) {
        self.fd = Some(fd.as_raw_fd());
        let Some(address) = SockRef::from(&fd).local_addr().ok().and_then(|a| a.as_socket()) else {
            return;
        };
        let mut listeners = listeners();
        listeners.retain(Listener::is_open);
        let older = listeners
            .iter()
            .filter(|l| l.generation < self.generation && l.instance == self.instance && l.nth == self.nth)
            .max_by_key(|l| l.generation);
        let Some(older) = older else { return };
        // SAFETY: borrowed for getsockname only; checked open just above, under the lock.
        let older_fd = unsafe { BorrowedFd::borrow_raw(older.fd) };
        let same = SockRef::from(&older_fd).local_addr().ok().and_then(|a| a.as_socket()) == Some(address);
        if same && dup_onto(older.fd, fd.as_raw_fd()) {
            tracing::debug!("instance {}: took over the listener on {address}", self.instance);
        }
    }

    /// wasmtime-wasi listened: the socket found by [`Listen::take_over`], if any, is this
    /// instance's listener from now on.
    pub(super) fn listening(self) {
        let Some(fd) = self.fd else { return };
        if let Some(inode) = inode(fd) {
            let Listen { generation, instance, nth, .. } = self;
            listeners().push(Listener { generation, instance, nth, fd, inode });
        }
    }
}

/// Whether generation `new` listens on as many sockets as `old` does, instance by instance.
pub(crate) fn caught_up(new: u64, old: u64) -> bool {
    let mut listeners = listeners();
    listeners.retain(Listener::is_open);
    let mut per_instance: HashMap<usize, (usize, usize)> = HashMap::new();
    for listener in listeners.iter() {
        let counts = per_instance.entry(listener.instance).or_default();
        if listener.generation == new {
            counts.0 += 1;
        } else if listener.generation == old {
            counts.1 += 1;
        }
    }
    per_instance.values().all(|(new, old)| new >= old)
}

/// Stops `generation` accepting: a placeholder listener goes under each of its listening
/// descriptors (the sockets themselves stay open under the new generation's).
pub(crate) fn retire(generation: u64) {
    let Some(placeholder) = placeholder() else {
        tracing::warn!("reload: no placeholder listener; the old instances keep accepting");
        return;
    };
    let mut listeners = listeners();
    for listener in listeners.iter().filter(|l| l.generation == generation && l.is_open()) {
        dup_onto(placeholder.as_raw_fd(), listener.fd);
    }
    listeners.retain(|l| l.generation != generation);
}

/// A listener on 127.0.0.1 that nobody connects to (its port is never published), so
/// `accept` on it finds nothing; non-blocking, as tokio's sockets are.
fn placeholder() -> Option<&'static TcpListener> {
    static PLACEHOLDER: OnceLock<Option<TcpListener>> = OnceLock::new();
    PLACEHOLDER
        .get_or_init(|| {
            let listener = TcpListener::bind("127.0.0.1:0").ok()?;
            listener.set_nonblocking(true).ok()?;
            Some(listener)
        })
        .as_ref()
}

/// `dup3(from, onto, O_CLOEXEC)`: `onto` now names `from`'s socket; whether it worked.
fn dup_onto(from: RawFd, onto: RawFd) -> bool {
    // SAFETY: both are open descriptors of this process; `onto` is replaced atomically.
    unsafe { libc::dup3(from, onto, libc::O_CLOEXEC) == onto }
}

fn inode(fd: RawFd) -> Option<u64> {
    // SAFETY: fstat writes into the zeroed struct it is given.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    (unsafe { libc::fstat(fd, &mut stat) } == 0).then_some(stat.st_ino)
}
