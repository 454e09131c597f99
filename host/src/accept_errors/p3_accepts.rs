//! Descriptor shortages named for WASI 0.3 guests.
//!
//! A p3 guest accepts by reading sockets from the `stream<tcp-socket>` that `listen` returned.
//! When `accept(2)` fails, wasmtime-wasi 48 still hands out a socket, already closed with
//! the error (`TcpListenStream::poll_accept`), and the guest learns of it from that socket's
//! `receive` and `send` futures. EMFILE and ENFILE are not in wasmtime-wasi's errno table, so
//! they arrive as `other(none)`. WASI 0.3's `error-code` has no `new-socket-limit`, so the
//! name goes in `other`'s text: `other(some("new-socket-limit: too many open files
//! (EMFILE)"))`, which a guest can tell by its prefix.
//!
//! The stream is wasmtime-wasi's own, out of reach; so `add_to_linker` shadows the calls
//! that report a closed socket's error: `get-remote-address` (how a guest can tell at once
//! that what it accepted is not a connection, and pause accepting as asyncio does),
//! `receive` and `send`. They hand wasmtime-wasi's result on unchanged unless the socket is
//! closed with `other(none)` and the probe of the parent module
//! ([`super::imp::descriptor_shortage`]) finds descriptors short right now: then the guest
//! gets the named error (for `receive` and `send` an empty stream and the error in the
//! future, as wasmtime-wasi does for a closed socket) and the shortage goes to the same
//! rate-limited log as p2's `accept`. A guest asking more than one of them about the same
//! failed accept counts it more than once in that log's "N more" figure. `receive` and
//! `send` cost one more call into the socket (wasmtime-wasi's `get-remote-address`, which
//! reads the stored error, or `getpeername`), the probe runs on that error path only.
//!
//! A guest that does not pause accepting spins at the descriptor limit: wasmtime-wasi
//! hands out a closed socket per attempt at once, and such a loop ran a 0.3 echo server
//! (tests/guests/p3-tcp before its pause) into the store's handle limit (100,000 live
//! handles: "cannot allocate another handle: store handle limit exceeded", a trap) within
//! seconds, with or without these wrappers.
//!
//! What this cannot do: tell a failed accept from a failed `connect` closed with an unnamed
//! error (the socket's state is wasmtime-wasi's own). A connect does not make descriptors,
//! so such a socket is named only if its `receive` is called while descriptors happen to be
//! short, which is then still true. Nor can it name a failed accept's `out-of-memory`
//! in the log: wasmtime-wasi names that one itself, and a failed connect may carry it too.

use wasmtime::component::{Access, FutureReader, Linker, Resource, StreamReader};
use wasmtime::{AsContextMut, StoreContextMut};
use wasmtime_wasi::p3::bindings::sockets::types::{
    ErrorCode, HostTcpSocket, HostTcpSocketWithStore, IpSocketAddress,
};
use wasmtime_wasi::sockets::{TcpSocket, WasiSockets, WasiSocketsView};
use wasmtime_wasi::WasiView;

use super::imp::{descriptor_shortage, Shortage, FAILURE_LOG};
use crate::metrics::counting_streams::CountsConnections;
use crate::metrics::p3_counting_streams;

/// The interface of p3's TCP functions, with the exact version of wasmtime-wasi 48.0.8's WIT
/// (see `TYPES_INTERFACE` in `tcp_nodelay/p3_create.rs`): an upgrade that changes it makes
/// [`add_to_linker`] fail instead of leaving the wrappers where no guest calls them.
pub(super) const TYPES_INTERFACE: &str = "wasi:sockets/types@0.3.0";
pub(super) const RECEIVE: &str = "[method]tcp-socket.receive";
pub(super) const SEND: &str = "[method]tcp-socket.send";
pub(super) const GET_REMOTE_ADDRESS: &str = "[method]tcp-socket.get-remote-address";

type Done = FutureReader<Result<(), ErrorCode>>;

/// Replaces wasmtime-wasi's p3 `receive` and `send`, already in `linker` (see
/// [`wasmtime_wasi::p3::add_to_linker`]); they also count the connection and its bytes
/// ([`crate::metrics::p3_counting_streams`]). Leaves shadowing disallowed (the default).
pub(super) fn add_to_linker<T: WasiView + CountsConnections + Send + 'static>(
    linker: &mut Linker<T>,
) -> wasmtime::Result<()> {
    // Without shadowing, defining a name that exists fails: that checks it is there.
    let replaced = [RECEIVE, SEND, GET_REMOTE_ADDRESS].map(|name| (TYPES_INTERFACE, name));
    crate::shadowing::replace(linker, &replaced, "name p3 accept errors", |linker| {
        let mut types = linker.instance(TYPES_INTERFACE)?;
        types.func_wrap(RECEIVE, receive::<T>)?;
        types.func_wrap(SEND, send::<T>)?;
        types.func_wrap(GET_REMOTE_ADDRESS, get_remote_address::<T>)
    })
}

fn receive<T: WasiView + CountsConnections + Send + 'static>(
    mut store: StoreContextMut<'_, T>,
    (socket,): (Resource<TcpSocket>,),
) -> wasmtime::Result<((StreamReader<u8>, Done),)> {
    if let Some(shortage) = failed_for_want_of_descriptors(&mut store, &socket) {
        FAILURE_LOG.record(shortage, "other");
        let nothing = StreamReader::new(&mut store, std::iter::empty())?;
        return Ok(((nothing, failed(&mut store, shortage)?),));
    }
    let rep = socket.rep();
    let (received, done) =
        <WasiSockets as HostTcpSocketWithStore<T>>::receive(access(store.as_context_mut()), socket)?;
    Ok(((p3_counting_streams::count_receiving(store, rep, received)?, done),))
}

fn send<T: WasiView + CountsConnections + Send + 'static>(
    mut store: StoreContextMut<'_, T>,
    (socket, mut data): (Resource<TcpSocket>, StreamReader<u8>),
) -> wasmtime::Result<(Done,)> {
    if let Some(shortage) = failed_for_want_of_descriptors(&mut store, &socket) {
        FAILURE_LOG.record(shortage, "other");
        data.close(&mut store)?; // what wasmtime-wasi does with the data of a closed socket
        return Ok((failed(&mut store, shortage)?,));
    }
    let data = p3_counting_streams::count_sending(store.as_context_mut(), socket.rep(), data)?;
    let sent = <WasiSockets as HostTcpSocketWithStore<T>>::send(access(store), socket, data)?;
    Ok((sent,))
}

fn get_remote_address<T: WasiView>(
    mut store: StoreContextMut<'_, T>,
    (socket,): (Resource<TcpSocket>,),
) -> wasmtime::Result<(Result<IpSocketAddress, ErrorCode>,)> {
    let mut sockets = store.data_mut().sockets();
    let error = match HostTcpSocket::get_remote_address(&mut sockets, socket) {
        Ok(address) => return Ok((Ok(address),)),
        // What the generated bindings do: an error code goes to the guest, the rest traps.
        Err(error) => error.downcast()?,
    };
    let shortage = matches!(error, ErrorCode::Other(None)).then(descriptor_shortage).flatten();
    let Some(shortage) = shortage else { return Ok((Err(error),)) };
    FAILURE_LOG.record(shortage, "other");
    Ok((Err(ErrorCode::Other(Some(shortage.p3_text()))),))
}

/// What wasmtime-wasi's store-taking functions are called with (as its bindings do).
fn access<T: WasiView + 'static>(store: StoreContextMut<'_, T>) -> Access<'_, T, WasiSockets> {
    Access::<T, WasiSockets>::new(store, T::sockets)
}

/// The shortage `socket` (borrowed) failed for: it is closed with wasmtime-wasi's unnamed
/// error, and a descriptor cannot be had now.
fn failed_for_want_of_descriptors<T: WasiView>(
    store: &mut StoreContextMut<'_, T>,
    socket: &Resource<TcpSocket>,
) -> Option<Shortage> {
    let mut sockets = store.data_mut().sockets();
    let error = HostTcpSocket::get_remote_address(&mut sockets, Resource::new_borrow(socket.rep())).err()?;
    matches!(error.downcast_ref(), Some(ErrorCode::Other(None))).then(descriptor_shortage).flatten()
}

/// A future already resolved with the shortage's name.
fn failed<T: WasiView + 'static>(
    store: &mut StoreContextMut<'_, T>,
    shortage: Shortage,
) -> wasmtime::Result<Done> {
    let code = ErrorCode::Other(Some(shortage.p3_text()));
    FutureReader::new(store, async move { wasmtime::error::Ok(Err(code)) })
}

impl Shortage {
    /// The text of the `other` error a p3 guest gets: p2's code name, then the cause.
    pub(super) fn p3_text(self) -> String {
        let cause = match self {
            Shortage::ProcessDescriptors => "too many open files (EMFILE)",
            Shortage::SystemDescriptors => "too many open files in the system (ENFILE)",
            Shortage::Memory => "out of memory",
        };
        format!("{}: {cause}", self.error_code().name())
    }
}

#[cfg(test)]
mod tests {
    use wasmtime::component::Linker;
    use wasmtime::Engine;

    use super::{Shortage, GET_REMOTE_ADDRESS, RECEIVE, SEND, TYPES_INTERFACE};
    use crate::runner::HostState;

    #[test]
    fn shadows_receive_and_send_of_wasmtime_wasi() {
        let mut linker: Linker<HostState> = Linker::new(&Engine::default());
        wasmtime_wasi::p3::add_to_linker(&mut linker).unwrap();
        super::add_to_linker(&mut linker).unwrap();
        // Shadowing is off again afterwards.
        for name in [RECEIVE, SEND, GET_REMOTE_ADDRESS] {
            assert!(linker.instance(TYPES_INTERFACE).unwrap().func_wrap(name, |_, (): ()| Ok(())).is_err());
        }
    }

    #[test]
    fn the_p3_text_starts_with_the_p2_name() {
        assert_eq!(Shortage::ProcessDescriptors.p3_text(), "new-socket-limit: too many open files (EMFILE)");
    }
}
