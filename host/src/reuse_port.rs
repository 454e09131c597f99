//! SO_REUSEPORT on the sockets guests bind, so the `--instances` of one component can all
//! listen on the same address and the kernel spreads the connections over them.
//!
//! The option must be set before `bind`, and wasmtime-wasi 48 has no hook for it and keeps a
//! guest socket's descriptor to itself. So `add_to_linker` shadows
//! `[method]tcp-socket.start-bind` with a wrapper that finds the socket's descriptor and sets
//! SO_REUSEPORT on it, then calls wasmtime-wasi's own `start-bind`.
//!
//! Finding the descriptor: the wrapper marks the socket through wasmtime-wasi itself (it sets
//! the unicast hop limit, IP_TTL / IPV6_UNICAST_HOPS, to [`MARKER`]), looks among the
//! process's descriptors (`/proc/self/fd`) for the unbound TCP socket of that family carrying
//! the mark, sets the option on it, and puts the hop limit back. A process-wide lock around
//! those steps keeps two instances from marking at the same time. O(open descriptors), about
//! 0.5 µs each, once per bind: servers bind a few listeners, clients do not bind at all (the
//! kernel binds a connecting socket itself).
//!
//! Port 0: each instance binding `IP:0` would get a port of its own, and the instances would
//! not share anything. So the host resolves it once: the n-th bind of port 0 to an IP by any
//! instance is made with the port that the first instance to make that n-th bind got
//! ([`SharedPorts`]). An instance restarted by `--restart` counts its binds from zero again,
//! and so binds the same ports again.
//!
//! Linux only (SO_REUSEPORT's load balancing, `/proc/self/fd`); elsewhere `add_to_linker`
//! fails, so `--instances` above 1 is refused instead of running instances that cannot share.

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

#[cfg(target_os = "linux")]
pub(crate) use imp::add_to_linker;

/// Elsewhere: instances cannot share a listening socket's address.
#[cfg(not(target_os = "linux"))]
pub(crate) fn add_to_linker<T>(
    _: &mut wasmtime::component::Linker<T>,
    _: Arc<SharedPorts>,
) -> wasmtime::Result<()> {
    wasmtime::bail!("--instances above 1 needs Linux (SO_REUSEPORT)")
}

/// The hop limit that marks the socket being looked for: any value a guest is unlikely to
/// have set on an unbound socket (a wrong match only gets SO_REUSEPORT too, which a guest
/// socket tolerates).
const MARKER: u8 = 201;

#[cfg(target_os = "linux")]
mod imp {
    use std::net::SocketAddr;
    use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
    use std::sync::{Arc, Mutex};

    use socket2::{Domain, SockRef, Type};
    use wasmtime::component::{Linker, Resource};
    use wasmtime::StoreContextMut;
    use wasmtime_wasi::p2::bindings::sockets::network::{
        self, ErrorCode, IpAddressFamily, IpSocketAddress, Network,
    };
    use wasmtime_wasi::p2::bindings::sockets::tcp::HostTcpSocket;
    use wasmtime_wasi::p2::{SocketResult, TcpSocket};
    use wasmtime_wasi::sockets::{WasiSocketsCtxView, WasiSocketsView};
    use wasmtime_wasi::WasiView;

    use super::{next_port_zero_bind, SharedPorts, MARKER};

    /// The exact version of wasmtime-wasi 48.0.8's WIT (see `tcp_nodelay.rs`).
    const TCP_INTERFACE: &str = "wasi:sockets/tcp@0.2.12";
    const START_BIND: &str = "[method]tcp-socket.start-bind";

    /// Held while a socket carries the mark, so only one does.
    static MARKING: Mutex<()> = Mutex::new(());

    /// Replaces wasmtime-wasi's `start-bind`, already in `linker`, with one that sets
    /// SO_REUSEPORT first and binds port 0 to the port the instances share. Guests get the
    /// same results and errors as before. Leaves shadowing disallowed (the default).
    pub(crate) fn add_to_linker<T: WasiView + 'static>(
        linker: &mut Linker<T>,
        ports: Arc<SharedPorts>,
    ) -> wasmtime::Result<()> {
        linker.allow_shadowing(false);
        if linker.instance(TCP_INTERFACE)?.func_wrap(START_BIND, |_, (): ()| Ok(())).is_ok() {
            wasmtime::bail!(
                "cannot share listening sockets: wasmtime-wasi does not define `{START_BIND}` in \
                 `{TCP_INTERFACE}` (has its WIT version changed? see host/src/reuse_port.rs)"
            );
        }
        linker.allow_shadowing(true);
        let defined = linker.instance(TCP_INTERFACE)?.func_wrap_async(
            START_BIND,
            move |store: StoreContextMut<'_, T>,
                  (this, network, local): (Resource<TcpSocket>, Resource<Network>, IpSocketAddress)| {
                let ports = Arc::clone(&ports);
                Box::new(async move { start_bind(store, this, network, local, &ports).await })
            },
        );
        linker.allow_shadowing(false);
        defined
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
        if !set_reuse_port(&mut sockets, rep) {
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
        Ok((guest_result(&mut sockets, result)?,))
    }

    /// Marks the socket `rep` (not yet bound), finds its descriptor by the mark and sets
    /// SO_REUSEPORT on it; whether it did. The hop limit is put back either way.
    fn set_reuse_port(sockets: &mut WasiSocketsCtxView<'_>, rep: u32) -> bool {
        let socket = || Resource::<TcpSocket>::new_borrow(rep);
        let Ok(family) = HostTcpSocket::address_family(sockets, socket()) else { return false };
        let Ok(before) = HostTcpSocket::hop_limit(sockets, socket()) else { return false };
        let _marking = MARKING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if HostTcpSocket::set_hop_limit(sockets, socket(), MARKER).is_err() {
            return false;
        }
        let count = set_on_marked(family);
        let _ = HostTcpSocket::set_hop_limit(sockets, socket(), before);
        count > 0
    }

    /// Sets SO_REUSEPORT on every unbound, unconnected TCP socket of `family` in this process
    /// whose hop limit is [`MARKER`]; how many.
    ///
    /// The descriptors are borrowed, never closed. Another thread may close a listed
    /// descriptor and its number be reused before the checks below: they then look at an
    /// unrelated descriptor, which does not carry the mark. The marked socket cannot go away
    /// meanwhile: the caller holds the store that owns it.
    fn set_on_marked(family: IpAddressFamily) -> usize {
        let Ok(dir) = std::fs::read_dir("/proc/self/fd") else { return 0 };
        let mut count = 0;
        for entry in dir.flatten() {
            let Some(fd) = entry.file_name().to_str().and_then(|name| name.parse::<RawFd>().ok()) else {
                continue;
            };
            // SAFETY: only used for the few syscalls below, never closed; see the race above.
            let fd = unsafe { BorrowedFd::borrow_raw(fd) };
            if is_marked(&SockRef::from(&fd), family) && enable(fd.as_raw_fd()) {
                count += 1;
            }
        }
        count
    }

    fn is_marked(socket: &SockRef<'_>, family: IpAddressFamily) -> bool {
        // getsockname first: it fails at once on the files and pipes that make up most of
        // the list.
        let Some(local) = socket.local_addr().ok().and_then(|a| a.as_socket()) else { return false };
        let hops = match family {
            IpAddressFamily::Ipv4 => socket.ttl_v4(),
            IpAddressFamily::Ipv6 => socket.unicast_hops_v6(),
        };
        let domain = match family {
            IpAddressFamily::Ipv4 => Domain::IPV4,
            IpAddressFamily::Ipv6 => Domain::IPV6,
        };
        local.port() == 0
            && hops.is_ok_and(|hops| hops == u32::from(MARKER))
            && socket.r#type().is_ok_and(|t| t == Type::STREAM)
            && socket.domain().is_ok_and(|d| d == domain)
            && socket.peer_addr().is_err()
    }

    /// SO_REUSEPORT on (socket2 has it only behind its `all` feature).
    fn enable(fd: RawFd) -> bool {
        let on: libc::c_int = 1;
        // SAFETY: a valid pointer to a c_int and its size.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_REUSEPORT,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        rc == 0
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
