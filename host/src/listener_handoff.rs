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
//! `add_to_linker` shadows the listen of both WASI versions, p2's
//! `[method]tcp-socket.start-listen` ([`p2_start_listen`]) and p3's `[method]tcp-socket.listen`
//! ([`p3_listen`]), which do the same on wasmtime-wasi's one `TcpSocket` and differ only in
//! how the guest then accepts. The n-th listen of instance k finds its socket's descriptor
//! ([`crate::socket_fd`]; bound, not yet listening, so it has no queue and has received
//! nothing), and if instance k of an older generation listens on the same address as its
//! n-th listener, puts that listening socket under the new descriptor number (`dup3`,
//! closing the new unused socket; [`listeners`], shared by both). wasmtime-wasi's `listen`
//! then calls `listen(2)` on a socket that already listens, which Linux allows (it only
//! updates the backlog), and registers it with the new instance's runtime. Both generations
//! now accept from one queue. When the new generation listens on everything the old one did,
//! [`retire`] puts, under each old descriptor number, a placeholder listener nobody connects
//! to (non-blocking, so an old guest's `accept`, or a p3 guest's read of its stream of
//! accepted sockets, only ever finds nothing): the old instances stop accepting, without a
//! syscall on the shared socket and so without a reset, and keep serving the connections
//! they have until they are stopped.
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
pub(crate) use listeners::{caught_up, retire};

/// Replaces wasmtime-wasi's p2 `start-listen` and p3 `listen`, already in `linker`, with
/// ones that take over an older generation's listener on the same address. Guests get the
/// same results and errors as before. Leaves shadowing disallowed (the default).
#[cfg(target_os = "linux")]
pub(crate) fn add_to_linker<T>(linker: &mut wasmtime::component::Linker<T>) -> wasmtime::Result<()>
where
    T: wasmtime_wasi::WasiView + Send + 'static,
{
    p2_start_listen::add_to_linker(linker)?;
    p3_listen::add_to_linker(linker)
}

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
mod listeners;
#[cfg(target_os = "linux")]
mod p2_start_listen;
#[cfg(target_os = "linux")]
mod p3_listen;
