//! SO_REUSEPORT on the sockets guests bind, so the `--instances` of one component can all
//! listen on the same address and the kernel spreads the connections over them.
//!
//! The option must be set before `bind`, and wasmtime-wasi 48 has no hook for it and keeps a
//! guest socket's descriptor to itself. So `add_to_linker` shadows
//! `[method]tcp-socket.start-bind` with a wrapper that finds the socket's descriptor and sets
//! SO_REUSEPORT on it, then calls wasmtime-wasi's own `start-bind`.
//!
//! The descriptor is found by [`crate::socket_fd`], once per bind: servers bind a few
//! listeners, clients do not bind at all (the kernel binds a connecting socket itself).
//!
//! Port 0: each instance binding `IP:0` would get a port of its own, and the instances would
//! not share anything. So the host resolves it once: the n-th bind of port 0 to an IP by any
//! instance is made with the port that the first instance to make that n-th bind got
//! ([`SharedPorts`]). An instance restarted by `--restart` counts its binds from zero again,
//! and so binds the same ports again.
//!
//! Linux only (SO_REUSEPORT's load balancing, `/proc/self/fd`); elsewhere `add_to_linker`
//! leaves the linker alone and `--instances` above 1 is refused ([`SHARES_LISTENERS`],
//! checked by [`crate::instances`]): elsewhere SO_REUSEPORT lets several sockets bind one
//! address without spreading the connections over them (FreeBSD has a separate
//! SO_REUSEPORT_LB), and the descriptor lookup needs Linux's `/proc`.

use std::cell::Cell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The ports that binds of port 0 resolved to, shared by every instance of a run.
#[derive(Debug, Default)]
pub(crate) struct SharedPorts {
    /// (the IP bound, which port-0 bind of an instance it is) → the port, once resolved. The
    /// async lock is held across the first bind so that the others wait for its port.
    resolved: Mutex<HashMap<(IpAddr, usize), Arc<tokio::sync::Mutex<Option<u16>>>>>,
}

impl SharedPorts {
    fn slot(&self, ip: IpAddr, nth: usize) -> Arc<tokio::sync::Mutex<Option<u16>>> {
        let mut resolved = self.resolved.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(resolved.entry((ip, nth)).or_default())
    }
}

thread_local! {
    /// How many binds of port 0 the instance on this thread has made (each instance runs on
    /// its own thread, one store at a time).
    static PORT_ZERO_BINDS: Cell<usize> = const { Cell::new(0) };
}

/// Called before each start of an instance on this thread: its binds of port 0 count from
/// zero again, so a restarted instance binds the ports it had before.
pub(crate) fn new_instance_on_this_thread() {
    PORT_ZERO_BINDS.with(|count| count.set(0));
}

fn next_port_zero_bind() -> usize {
    PORT_ZERO_BINDS.with(|count| {
        let nth = count.get();
        count.set(nth + 1);
        nth
    })
}

/// Whether instances can share listening sockets here, with the kernel spreading the
/// connections over them.
pub(crate) const SHARES_LISTENERS: bool = cfg!(target_os = "linux");

#[cfg(target_os = "linux")]
pub(crate) use imp::add_to_linker;

/// Elsewhere: instances cannot share a listening socket's address.
#[cfg(not(target_os = "linux"))]
pub(crate) fn add_to_linker<T>(_: &mut wasmtime::component::Linker<T>) -> wasmtime::Result<()> {
    Ok(())
}

/// The ports of the whole process: every generation of instances ([`crate::reload`]) binds
/// the same ones.
fn shared_ports() -> &'static SharedPorts {
    static PORTS: std::sync::OnceLock<SharedPorts> = std::sync::OnceLock::new();
    PORTS.get_or_init(SharedPorts::default)
}

#[cfg(target_os = "linux")]
mod p3_bind;

#[cfg(target_os = "linux")]
mod imp {
    use std::net::SocketAddr;
    use std::os::fd::AsRawFd;

    use wasmtime::component::{Linker, Resource};
    use wasmtime::StoreContextMut;
    use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpSocketAddress, Network};
    use wasmtime_wasi::p2::bindings::sockets::tcp::HostTcpSocket;
    use wasmtime_wasi::p2::TcpSocket;
    use wasmtime_wasi::sockets::WasiSocketsView;
    use wasmtime_wasi::WasiView;

    use super::{next_port_zero_bind, shared_ports, SharedPorts};
    use crate::socket_fd;

    /// The exact version of wasmtime-wasi 48.0.8's WIT (see `tcp_nodelay.rs`).
    const TCP_INTERFACE: &str = "wasi:sockets/tcp@0.2.12";
    const START_BIND: &str = "[method]tcp-socket.start-bind";

    /// Replaces wasmtime-wasi's `start-bind`, already in `linker`, with one that sets
    /// SO_REUSEPORT first and binds port 0 to the port the instances share. Guests get the
    /// same results and errors as before. Leaves shadowing disallowed (the default).
    pub(crate) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        crate::shadowing::replace(
            linker,
            &[(TCP_INTERFACE, START_BIND)],
            "share p2 listening sockets",
            |linker| {
                linker.instance(TCP_INTERFACE)?.func_wrap_async(
                    START_BIND,
                    move |store: StoreContextMut<'_, T>,
                          (this, network, local): (
                        Resource<TcpSocket>,
                        Resource<Network>,
                        IpSocketAddress,
                    )| {
                        Box::new(async move { start_bind(store, this, network, local, shared_ports()).await })
                    },
                )
            },
        )?;
        super::p3_bind::add_to_linker(linker)
    }

    async fn start_bind<T: WasiView>(
        mut store: StoreContextMut<'_, T>,
        this: Resource<TcpSocket>,
        network: Resource<Network>,
        local: IpSocketAddress,
        ports: &SharedPorts,
    ) -> wasmtime::Result<(Result<(), ErrorCode>,)> {
        let mut sockets = store.data_mut().sockets();
        let rep = this.rep();
        let mut set = false;
        socket_fd::with_descriptor(&mut sockets, rep, |fd| set = socket_fd::set_reuse_port(fd.as_raw_fd()));
        if !set {
            tracing::debug!("SO_REUSEPORT not set: the socket to bind was not found in /proc/self/fd");
        }
        let requested = SocketAddr::from(local);
        let result = if requested.port() != 0 {
            HostTcpSocket::start_bind(&mut sockets, this, network, local).await
        } else {
            let slot = ports.slot(requested.ip(), next_port_zero_bind());
            let mut port = slot.lock().await;
            let address = SocketAddr::new(requested.ip(), port.unwrap_or(0));
            let result = HostTcpSocket::start_bind(&mut sockets, this, network, address.into()).await;
            if result.is_ok() && port.is_none() {
                let bound = HostTcpSocket::local_address(&mut sockets, Resource::new_borrow(rep));
                *port = bound.ok().map(|bound| SocketAddr::from(bound).port());
            }
            result
        };
        Ok((crate::socket_results::p2(&mut sockets, result)?,))
    }
}
