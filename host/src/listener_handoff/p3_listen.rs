//! The take-over for WASI 0.3 guests: wasmtime-wasi's p3 `[method]tcp-socket.listen`
//! shadowed. p3's `listen` is p2's on the same `TcpSocket` (one `listen(2)`, then the
//! listener registered with the calling instance's runtime), and returns the stream of
//! accepted sockets where p2 leaves them to `accept`: a socket taken over just before it is
//! registered with the new instance's runtime as on p2, and that stream accepts from the
//! shared queue.

use wasmtime::component::{Access, Linker, Resource, StreamReader};
use wasmtime::StoreContextMut;
use wasmtime_wasi::p3::bindings::sockets::types::{ErrorCode, HostTcpSocketWithStore};
use wasmtime_wasi::sockets::{TcpSocket, WasiSockets, WasiSocketsView};
use wasmtime_wasi::WasiView;

use super::listeners::Listen;
use crate::socket_fd;

/// wasmtime-wasi 48.0.8's p3 socket interface (see `tcp_nodelay/p3_create.rs`).
const TYPES_INTERFACE: &str = "wasi:sockets/types@0.3.0";
const LISTEN: &str = "[method]tcp-socket.listen";

type Accepted = StreamReader<Resource<TcpSocket>>;

/// Replaces wasmtime-wasi's p3 `listen`, already in `linker`, with one that takes over an
/// older generation's listener on the same address. Guests get the same results and errors
/// as before. Leaves shadowing disallowed (the default).
pub(super) fn add_to_linker<T: WasiView + Send + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    crate::shadowing::replace(
        linker,
        &[(TYPES_INTERFACE, LISTEN)],
        "hand p3 listeners over on reload",
        |linker| {
            linker.instance(TYPES_INTERFACE)?.func_wrap_async(
                LISTEN,
                |store: StoreContextMut<'_, T>, (this,): (Resource<TcpSocket>,)| {
                    Box::new(listen(store, this))
                },
            )
        },
    )
}

async fn listen<T: WasiView + Send + 'static>(
    mut store: StoreContextMut<'_, T>,
    this: Resource<TcpSocket>,
) -> wasmtime::Result<(Result<Accepted, ErrorCode>,)> {
    let mut listen = Listen::next();
    socket_fd::with_descriptor_p3(&mut store.data_mut().sockets(), this.rep(), |fd| listen.take_over(fd));
    let access = Access::<T, WasiSockets>::new(store, T::sockets);
    let result = <WasiSockets as HostTcpSocketWithStore<T>>::listen(access, this).await;
    if result.is_ok() {
        listen.listening();
    }
    Ok((crate::socket_results::p3(result)?,))
}

#[cfg(test)]
mod tests {
    use wasmtime::component::Linker;
    use wasmtime::Engine;

    use super::{LISTEN, TYPES_INTERFACE};
    use crate::runner::HostState;

    #[test]
    fn shadows_listen_of_wasmtime_wasi() {
        let mut linker: Linker<HostState> = Linker::new(&Engine::default());
        wasmtime_wasi::p3::add_to_linker(&mut linker).unwrap();
        super::add_to_linker(&mut linker).unwrap();
        // Shadowing is off again afterwards.
        assert!(linker.instance(TYPES_INTERFACE).unwrap().func_wrap(LISTEN, |_, (): ()| Ok(())).is_err());
    }
}
