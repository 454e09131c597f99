//! Handing a listening socket from the instances of one component to those of the next, on
//! a reload ([`crate::reload`]), without losing a connection.
//!
//! Why not simply let the new instances bind their own listeners (SO_REUSEPORT) and close the
//! old ones: on Linux, closing a listener in a SO_REUSEPORT group resets the connections in
//! its accept queue (handshake done, not yet accepted), unless the `tcp_migrate_req` sysctl
//! or an eBPF program (privileged) migrates them; and a listener cannot leave the group
//! without closing.
//!
//! So the listener is never closed: the new instance takes over the old one's socket.
//! `add_to_linker` shadows `[method]tcp-socket.start-listen`: the n-th listen of instance k
//! finds its socket's descriptor ([`crate::socket_fd`]; bound, not yet listening, so it has
//! no queue and has received nothing), and if instance k of an older generation listens on
//! the same address as its n-th listener, puts that listening socket under the new
//! descriptor number (`dup3`, closing the new unused socket). wasmtime-wasi's `listen` then
//! calls `listen(2)` on a socket that already listens, which Linux allows (it only updates
//! the backlog), and registers it with the new instance's runtime. Both generations now
//! accept from one queue. When the new generation listens on everything the old one did,
//! [`retire`] puts, under each old descriptor number, a placeholder listener nobody connects
//! to (non-blocking, so an old guest's `accept` only ever finds nothing): the old instances
//! stop accepting, without a syscall on the shared socket and so without a reset, and keep
//! serving the connections they have until they are stopped.
//!
//! Descriptor numbers are remembered with the socket's inode, checked before each use: a
//! number the guest closed and the process reused is skipped.
//!
//! Linux only; elsewhere `add_to_linker` leaves the linker alone, and on a reload the old
//! instances keep accepting until their drain ends.

use std::cell::Cell;

thread_local! {
    /// (generation, instance) of the instance running on this thread.
    static IDENTITY: Cell<(u64, usize)> = const { Cell::new((0, 0)) };
    /// How many listens the instance on this thread made since it started.
    static LISTENS: Cell<usize> = const { Cell::new(0) };
}

/// From now on, instances started on this thread are instance `instance` of `generation`.
pub(crate) fn set_identity_on_this_thread(generation: u64, instance: usize) {
    IDENTITY.with(|identity| identity.set((generation, instance)));
}

/// Called before each start of an instance: its listens count from zero again.
pub(crate) fn new_instance_on_this_thread() {
    LISTENS.with(|count| count.set(0));
}

#[cfg(target_os = "linux")]
pub(crate) use imp::{add_to_linker, caught_up, retire};

#[cfg(not(target_os = "linux"))]
pub(crate) fn add_to_linker<T>(_: &mut wasmtime::component::Linker<T>) -> wasmtime::Result<()> {
    Ok(())
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn caught_up(_new: u64, _old: u64) -> bool {
    true
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn retire(_generation: u64) {}

#[cfg(target_os = "linux")]
mod imp {
    use std::collections::HashMap;
    use std::net::TcpListener;
    use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
    use std::sync::{Mutex, OnceLock};

    use socket2::SockRef;
    use wasmtime::component::{Linker, Resource};
    use wasmtime::StoreContextMut;
    use wasmtime_wasi::p2::bindings::sockets::network::{self, ErrorCode};
    use wasmtime_wasi::p2::bindings::sockets::tcp::HostTcpSocket;
    use wasmtime_wasi::p2::{SocketResult, TcpSocket};
    use wasmtime_wasi::sockets::{WasiSocketsCtxView, WasiSocketsView};
    use wasmtime_wasi::WasiView;

    use super::{IDENTITY, LISTENS};
    use crate::socket_fd;

    const TCP_INTERFACE: &str = "wasi:sockets/tcp@0.2.12";
    const START_LISTEN: &str = "[method]tcp-socket.start-listen";

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

    /// Replaces wasmtime-wasi's `start-listen`, already in `linker`, with one that takes over
    /// an older generation's listener on the same address. Guests get the same results and
    /// errors as before. Leaves shadowing disallowed (the default).
    pub(crate) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        linker.allow_shadowing(false);
        if linker.instance(TCP_INTERFACE)?.func_wrap(START_LISTEN, |_, (): ()| Ok(())).is_ok() {
            wasmtime::bail!(
                "cannot hand listeners over on reload: wasmtime-wasi does not define \
                 `{START_LISTEN}` in `{TCP_INTERFACE}` (see host/src/listener_handoff.rs)"
            );
        }
        linker.allow_shadowing(true);
        let defined = linker.instance(TCP_INTERFACE)?.func_wrap_async(
            START_LISTEN,
            |store: StoreContextMut<'_, T>, (this,): (Resource<TcpSocket>,)| {
                Box::new(async move { start_listen(store, this).await })
            },
        );
        linker.allow_shadowing(false);
        defined
    }

    async fn start_listen<T: WasiView>(
        mut store: StoreContextMut<'_, T>,
        this: Resource<TcpSocket>,
    ) -> wasmtime::Result<(Result<(), ErrorCode>,)> {
        let mut sockets = store.data_mut().sockets();
        let (generation, instance) = IDENTITY.with(|identity| identity.get());
        let nth = LISTENS.with(|count| {
            let nth = count.get();
            count.set(nth + 1);
            nth
        });
        let mut own = None;
        socket_fd::with_descriptor(&mut sockets, this.rep(), |fd| {
            take_over(fd, generation, instance, nth);
            own = Some(fd.as_raw_fd());
        });
        let result = HostTcpSocket::start_listen(&mut sockets, this).await;
        if let (Ok(()), Some(fd)) = (&result, own) {
            if let Some(inode) = inode(fd) {
                listeners().push(Listener { generation, instance, nth, fd, inode });
            }
        }
        Ok((guest_result(&mut sockets, result)?,))
    }

    /// Puts the newest older generation's n-th listener of `instance`, if it is open and on
    /// `fd`'s address, under `fd`.
    fn take_over(fd: BorrowedFd<'_>, generation: u64, instance: usize, nth: usize) {
        let Some(address) = SockRef::from(&fd).local_addr().ok().and_then(|a| a.as_socket()) else {
            return;
        };
        let mut listeners = listeners();
        listeners.retain(Listener::is_open);
        let older = listeners
            .iter()
            .filter(|l| l.generation < generation && l.instance == instance && l.nth == nth)
            .max_by_key(|l| l.generation);
        let Some(older) = older else { return };
        // SAFETY: borrowed for getsockname only; checked open just above, under the lock.
        let older_fd = unsafe { BorrowedFd::borrow_raw(older.fd) };
        let same = SockRef::from(&older_fd).local_addr().ok().and_then(|a| a.as_socket()) == Some(address);
        if same && dup_onto(older.fd, fd.as_raw_fd()) {
            tracing::debug!("instance {instance}: took over the listener on {address}");
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

    /// What wasmtime-wasi's bindings do with a trappable `error-code` (see `tcp_nodelay.rs`).
    fn guest_result<R>(
        sockets: &mut WasiSocketsCtxView<'_>,
        result: SocketResult<R>,
    ) -> wasmtime::Result<Result<R, ErrorCode>> {
        match result {
            Ok(value) => Ok(Ok(value)),
            Err(error) => Ok(Err(network::Host::convert_error_code(sockets, error)?)),
        }
    }
}
