//! The take-over for WASI 0.2 guests: wasmtime-wasi's p2 `[method]tcp-socket.start-listen`
//! shadowed.

use wasmtime::component::{Linker, Resource};
use wasmtime::StoreContextMut;
use wasmtime_wasi::p2::bindings::sockets::network::ErrorCode;
use wasmtime_wasi::p2::bindings::sockets::tcp::HostTcpSocket;
use wasmtime_wasi::p2::TcpSocket;
use wasmtime_wasi::sockets::WasiSocketsView;
use wasmtime_wasi::WasiView;

use super::listeners::Listen;
use crate::socket_fd;

/// The exact version of wasmtime-wasi 48.0.8's WIT (see `tcp_nodelay.rs`).
const TCP_INTERFACE: &str = "wasi:sockets/tcp@0.2.12";
const START_LISTEN: &str = "[method]tcp-socket.start-listen";

/// Replaces wasmtime-wasi's `start-listen`, already in `linker`, with one that takes over
/// an older generation's listener on the same address. Guests get the same results and
/// errors as before. Leaves shadowing disallowed (the default).
pub(super) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    let replaced = [(TCP_INTERFACE, START_LISTEN)];
    crate::shadowing::replace(linker, &replaced, "hand p2 listeners over on reload", |linker| {
        linker.instance(TCP_INTERFACE)?.func_wrap_async(
            START_LISTEN,
            |store: StoreContextMut<'_, T>, (this,): (Resource<TcpSocket>,)| {
                Box::new(async move { start_listen(store, this).await })
            },
        )
    })
}

async fn start_listen<T: WasiView>(
    mut store: StoreContextMut<'_, T>,
    this: Resource<TcpSocket>,
) -> wasmtime::Result<(Result<(), ErrorCode>,)> {
    let mut sockets = store.data_mut().sockets();
    let mut listen = Listen::next();
    socket_fd::with_descriptor(&mut sockets, this.rep(), |fd| listen.take_over(fd));
    let result = HostTcpSocket::start_listen(&mut sockets, this).await;
    if result.is_ok() {
        listen.listening();
    }
    Ok((crate::socket_results::p2(&mut sockets, result)?,))
}
