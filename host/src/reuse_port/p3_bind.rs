//! SO_REUSEPORT and the shared port-0 ports for WASI 0.3 guests: wasmtime-wasi's p3
//! `[method]tcp-socket.bind` shadowed the way the parent module shadows p2's `start-bind`.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use wasmtime::component::{Linker, Resource};
use wasmtime::StoreContextMut;
use wasmtime_wasi::p3::bindings::sockets::types::{ErrorCode, HostTcpSocket, IpSocketAddress};
use wasmtime_wasi::sockets::{TcpSocket, WasiSocketsView};
use wasmtime_wasi::WasiView;

use super::{next_port_zero_bind, shared_ports};
use crate::socket_fd;

/// wasmtime-wasi 48.0.8's p3 socket interface (see `tcp_nodelay/p3_create.rs`).
const TYPES_INTERFACE: &str = "wasi:sockets/types@0.3.0";
const BIND: &str = "[method]tcp-socket.bind";

/// Replaces wasmtime-wasi's p3 `bind`, already in `linker`, with one that sets SO_REUSEPORT
/// first and binds port 0 to the port the instances share. Guests get the same results and
/// errors as before. Leaves shadowing disallowed (the default).
pub(super) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    crate::shadowing::replace(linker, &[(TYPES_INTERFACE, BIND)], "share p3 listening sockets", |linker| {
        linker.instance(TYPES_INTERFACE)?.func_wrap_async(
            BIND,
            |store: StoreContextMut<'_, T>, (this, local): (Resource<TcpSocket>, IpSocketAddress)| {
                Box::new(bind(store, this, local))
            },
        )
    })
}

async fn bind<T: WasiView>(
    mut store: StoreContextMut<'_, T>,
    this: Resource<TcpSocket>,
    local: IpSocketAddress,
) -> wasmtime::Result<(Result<(), ErrorCode>,)> {
    let mut sockets = store.data_mut().sockets();
    let rep = this.rep();
    let mut set = false;
    socket_fd::with_descriptor_p3(&mut sockets, rep, |fd| set = socket_fd::set_reuse_port(fd.as_raw_fd()));
    if !set {
        tracing::debug!("SO_REUSEPORT not set: the p3 socket to bind was not found in /proc/self/fd");
    }
    let requested = SocketAddr::from(local);
    let result = if requested.port() != 0 {
        HostTcpSocket::bind(&mut sockets, this, local).await
    } else {
        let slot = shared_ports().slot(requested.ip(), next_port_zero_bind());
        let mut port = slot.lock().await;
        let address = SocketAddr::new(requested.ip(), port.unwrap_or(0));
        let result = HostTcpSocket::bind(&mut sockets, this, address.into()).await;
        if result.is_ok() && port.is_none() {
            let bound = HostTcpSocket::get_local_address(&mut sockets, Resource::new_borrow(rep));
            *port = bound.ok().map(|bound| SocketAddr::from(bound).port());
        }
        result
    };
    Ok((crate::socket_results::p3(result)?,))
}
