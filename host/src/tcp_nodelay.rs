//! TCP_NODELAY on the guests' TCP sockets (on by default; `--no-tcp-nodelay` turns it off),
//! for WASI 0.2 and WASI 0.3 guests alike.
//!
//! wasmtime-wasi 48 leaves Nagle's algorithm on for the sockets of its guests, and neither
//! `wasi:sockets/tcp@0.2` nor `wasi:sockets/types@0.3` has an option a guest could use to turn
//! it off. Nagle plus the peer's delayed ACK then stalls a write-write-read exchange by
//! ~40 ms. asyncio (and the tokio servers we compare with) set TCP_NODELAY on every
//! connection, so the host does it for the guest.
//!
//! wasmtime-wasi has no hook for socket options and keeps a guest socket's file descriptor to
//! itself, so `add_to_linker` shadows the functions that create a socket in the linker with
//! wrappers that call wasmtime-wasi's own implementation and then find the socket's
//! descriptor. A new socket gets the lowest free descriptor number, so the wrapper learns
//! that number just before ([`imp::lowest_free_descriptor`]), then checks that the
//! descriptor now there is a fresh TCP socket of the right family and sets the option on it.
//! O(1). The option stays through bind, listen and connect, and Linux copies it from a
//! listening socket to every socket it accepts, so nothing else needs wrapping.
//!
//! - WASI 0.2, `create-tcp-socket`: should the socket not be found that way (another thread
//!   took the number in between), `[method]tcp-socket.finish-bind` and `finish-connect`
//!   look for it among all the process's descriptors (`/proc/self/fd`) by its addresses:
//!   O(open descriptors), about 0.5 µs each (~6 ms with 10,000 open).
//! - WASI 0.3, `[static]tcp-socket.create` ([`p3_create`]): p2 and p3 sockets are the same
//!   wasmtime-wasi `TcpSocket` made by the same `TcpSocket::new`, so the same trick works.
//!   p3's `bind` and `connect` are async functions (no finish-step to catch a miss in), so
//!   a miss is handled at creation instead: the socket, not yet seen by the guest, is closed
//!   and made again.
//!
//! Linux only; elsewhere `add_to_linker` leaves the linker alone.

#[cfg(target_os = "linux")]
mod p3_create;

/// Replaces wasmtime-wasi's socket-creating functions, p2's (with `finish-bind` and
/// `finish-connect`) and p3's, already in `linker` (see [`wasmtime_wasi::p2::add_to_linker_async`]
/// and [`wasmtime_wasi::p3::add_to_linker`]), with versions that also set TCP_NODELAY on the
/// socket. Guests get the same results and errors as before. Fails, naming the function, if
/// one is not there (a wasmtime-wasi upgrade changed a WIT version). Leaves the linker with
/// shadowing disallowed (the default).
#[cfg(target_os = "linux")]
pub(crate) fn add_to_linker<T: wasmtime_wasi::WasiView + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
) -> wasmtime::Result<()> {
    imp::add_to_linker(linker)?;
    p3_create::add_to_linker(linker)
}

/// Elsewhere: nothing to do.
#[cfg(not(target_os = "linux"))]
pub(crate) fn add_to_linker<T>(_: &mut wasmtime::component::Linker<T>) -> wasmtime::Result<()> {
    Ok(())
}

#[cfg(target_os = "linux")]
mod imp {
    use std::net::SocketAddr;
    use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::OnceLock;

    use socket2::{Domain, SockRef, Type};
    use wasmtime::component::{Linker, Resource};
    use wasmtime::StoreContextMut;
    use wasmtime_wasi::p2::bindings::sockets::network::{self, ErrorCode, IpAddressFamily};
    use wasmtime_wasi::p2::bindings::sockets::tcp::HostTcpSocket;
    use wasmtime_wasi::p2::bindings::sockets::tcp_create_socket;
    use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, SocketResult, TcpSocket};
    use wasmtime_wasi::sockets::WasiSocketsView;
    use wasmtime_wasi::WasiView;

    /// The interface whose functions are shadowed, with the exact version of wasmtime-wasi
    /// 48.0.8's WIT (`package wasi:sockets@0.2.12` in its `src/p2/wit/deps/sockets.wit`).
    /// Guests importing any `wasi:sockets/tcp@0.2.x` are linked to it by semver. Should an
    /// upgrade of wasmtime-wasi change the version, [`add_to_linker`] fails (the host does not
    /// start) instead of defining the wrappers in a second instance that no guest uses.
    pub(super) const TCP_INTERFACE: &str = "wasi:sockets/tcp@0.2.12";

    /// The interface of `create-tcp-socket`, same version.
    pub(super) const TCP_CREATE_INTERFACE: &str = "wasi:sockets/tcp-create-socket@0.2.12";
    pub(super) const CREATE: &str = "create-tcp-socket";

    pub(super) const FINISH_BIND: &str = "[method]tcp-socket.finish-bind";
    pub(super) const FINISH_CONNECT: &str = "[method]tcp-socket.finish-connect";

    type Streams = (Resource<DynInputStream>, Resource<DynOutputStream>);

    /// Replaces wasmtime-wasi's p2 `create-tcp-socket`, `finish-bind` and `finish-connect`,
    /// already in `linker` (see [`wasmtime_wasi::p2::add_to_linker_async`]), with versions
    /// that also set TCP_NODELAY on the socket. Guests get the same results and errors as
    /// before. Leaves the linker with shadowing disallowed (the default).
    pub(super) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        // Check the functions are there: without shadowing, defining an existing name fails.
        let replaced =
            [(TCP_INTERFACE, FINISH_BIND), (TCP_INTERFACE, FINISH_CONNECT), (TCP_CREATE_INTERFACE, CREATE)];
        crate::shadowing::replace(linker, &replaced, "set TCP_NODELAY on p2 sockets", define)
    }

    fn define<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        let mut tcp = linker.instance(TCP_INTERFACE)?;
        tcp.func_wrap(FINISH_BIND, finish_bind::<T>)?;
        tcp.func_wrap(FINISH_CONNECT, finish_connect::<T>)?;
        linker.instance(TCP_CREATE_INTERFACE)?.func_wrap(CREATE, create_tcp_socket::<T>)?;
        Ok(())
    }

    /// Set once a new socket could not be found by its descriptor number: from then on,
    /// `finish-bind` and `finish-connect` look for their socket the slow way.
    static MISSED_AT_CREATION: AtomicBool = AtomicBool::new(false);

    fn create_tcp_socket<T: WasiView>(
        mut store: StoreContextMut<'_, T>,
        (family,): (IpAddressFamily,),
    ) -> wasmtime::Result<(Result<Resource<TcpSocket>, ErrorCode>,)> {
        let expected = lowest_free_descriptor();
        let mut sockets = store.data_mut().sockets();
        let result = tcp_create_socket::Host::create_tcp_socket(&mut sockets, family);
        if result.is_ok() {
            let set = expected.is_some_and(|fd| set_nodelay_on_fresh_socket(fd, domain(family)));
            if !set {
                MISSED_AT_CREATION.store(true, Ordering::Relaxed);
                tracing::debug!(
                    "TCP_NODELAY: new socket not at descriptor {expected:?}; falling back to scans"
                );
            }
        }
        Ok((crate::socket_results::p2(&mut sockets, result)?,))
    }

    /// The number the next new descriptor gets (the lowest free one), if it is ≥ 3: what a
    /// duplicate of a descriptor of our own gets (`F_DUPFD_CLOEXEC` from 3), which is then
    /// closed again. Descriptors 0-2 are normally open (stdio; and were one closed when the
    /// host started, the first descriptors it opens fill it); if one is not, the guess is
    /// wrong and the check after creating the socket ([`set_nodelay_on_fresh_socket`]) says
    /// so: p2 then takes the slow way, p3 goes without the option (logged under `-v`).
    pub(super) fn lowest_free_descriptor() -> Option<RawFd> {
        static PROBE: OnceLock<Option<std::fs::File>> = OnceLock::new();
        let probe = PROBE.get_or_init(|| std::fs::File::open("/dev/null").ok()).as_ref()?;
        let duplicate = probe.try_clone().ok()?;
        let fd = duplicate.as_raw_fd();
        drop(duplicate); // frees the number again
        Some(fd)
    }

    /// Sets TCP_NODELAY on descriptor `fd` if it is a fresh (unbound, unconnected) TCP socket
    /// of `domain`, as one that a socket-creating function just made; whether it did.
    pub(super) fn set_nodelay_on_fresh_socket(fd: RawFd, domain: Domain) -> bool {
        // SAFETY: borrowed for the few syscalls below, never closed. The guest thread made
        // the socket at this number a moment ago and nothing has used it yet; had another
        // thread taken the number first, the checks below fail on its descriptor.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = SockRef::from(&fd);
        let fresh = socket.r#type().is_ok_and(|t| t == Type::STREAM)
            && socket.domain().is_ok_and(|d| d == domain)
            && socket.local_addr().ok().and_then(|a| a.as_socket()).is_some_and(|a| a.port() == 0)
            && socket.peer_addr().is_err();
        fresh && socket.set_tcp_nodelay(true).is_ok()
    }

    fn domain(family: IpAddressFamily) -> Domain {
        match family {
            IpAddressFamily::Ipv4 => Domain::IPV4,
            IpAddressFamily::Ipv6 => Domain::IPV6,
        }
    }

    fn finish_bind<T: WasiView>(
        mut store: StoreContextMut<'_, T>,
        (this,): (Resource<TcpSocket>,),
    ) -> wasmtime::Result<(Result<(), ErrorCode>,)> {
        let mut sockets = store.data_mut().sockets();
        let rep = this.rep();
        let result = HostTcpSocket::finish_bind(&mut sockets, this);
        if result.is_ok() && MISSED_AT_CREATION.load(Ordering::Relaxed) {
            if let Some(local) =
                address(HostTcpSocket::local_address(&mut sockets, Resource::new_borrow(rep)))
            {
                let count = set_nodelay(local, None);
                log_count(count, local, None);
            }
        }
        Ok((crate::socket_results::p2(&mut sockets, result)?,))
    }

    fn finish_connect<T: WasiView>(
        mut store: StoreContextMut<'_, T>,
        (this,): (Resource<TcpSocket>,),
    ) -> wasmtime::Result<(Result<Streams, ErrorCode>,)> {
        let mut sockets = store.data_mut().sockets();
        let rep = this.rep();
        let result = HostTcpSocket::finish_connect(&mut sockets, this);
        if result.is_ok() && MISSED_AT_CREATION.load(Ordering::Relaxed) {
            let local = address(HostTcpSocket::local_address(&mut sockets, Resource::new_borrow(rep)));
            let peer = address(HostTcpSocket::remote_address(&mut sockets, Resource::new_borrow(rep)));
            if let (Some(local), Some(peer)) = (local, peer) {
                let count = set_nodelay(local, Some(peer));
                log_count(count, local, Some(peer));
            }
        }
        Ok((crate::socket_results::p2(&mut sockets, result)?,))
    }

    fn address(result: SocketResult<network::IpSocketAddress>) -> Option<SocketAddr> {
        result.ok().map(SocketAddr::from)
    }

    /// No socket found is unexpected (no /proc?): worth a line under `-v`.
    fn log_count(count: usize, local: SocketAddr, peer: Option<SocketAddr>) {
        let peer = peer.map_or(String::new(), |peer| format!(" -> {peer}"));
        if count == 0 {
            tracing::debug!("TCP_NODELAY not set: no socket {local}{peer} found in /proc/self/fd");
        } else {
            tracing::trace!("TCP_NODELAY set on {count} socket(s) {local}{peer}");
        }
    }

    /// Sets TCP_NODELAY on every TCP socket of this process whose local address is `local` and
    /// whose peer is `peer` (`None`: not connected); returns how many.
    ///
    /// An unconnected bound socket is not unique (wasmtime-wasi binds with SO_REUSEADDR, so
    /// another guest socket may be bound to the same address while neither listens): every
    /// match gets the option, all of them being guest sockets. A connection is unique.
    ///
    /// The descriptors are borrowed, never closed. The (tiny) race: another thread may close
    /// a listed descriptor, and its number may be reused, between the listing and the calls
    /// below; those calls then fail or look at an unrelated descriptor, whose addresses do not
    /// match, so nothing is changed on it. The guest's own socket cannot go away meanwhile:
    /// the caller holds the store that owns it.
    pub(super) fn set_nodelay(local: SocketAddr, peer: Option<SocketAddr>) -> usize {
        let Ok(dir) = std::fs::read_dir("/proc/self/fd") else { return 0 };
        let mut count = 0;
        for entry in dir.flatten() {
            let Some(fd) = entry.file_name().to_str().and_then(|name| name.parse::<RawFd>().ok()) else {
                continue;
            };
            // SAFETY: only used for the few syscalls below, never closed; see the race above.
            let fd = unsafe { BorrowedFd::borrow_raw(fd) };
            let socket = SockRef::from(&fd);
            if is_tcp_socket_on(&socket, local, peer) && socket.set_tcp_nodelay(true).is_ok() {
                count += 1;
                if peer.is_some() {
                    break;
                }
            }
        }
        count
    }

    /// Whether `socket` is a TCP socket on `local` connected to `peer` (or not connected).
    /// `getsockname` first: it fails at once (ENOTSOCK) on the files, pipes and epoll
    /// descriptors that make up most of the list.
    fn is_tcp_socket_on(socket: &SockRef<'_>, local: SocketAddr, peer: Option<SocketAddr>) -> bool {
        let Some(socket_local) = socket.local_addr().ok().and_then(|a| a.as_socket()) else {
            return false;
        };
        if !same(socket_local, local) || !socket.r#type().is_ok_and(|t| t == Type::STREAM) {
            return false;
        }
        let socket_peer = socket.peer_addr().ok().and_then(|a| a.as_socket());
        match (socket_peer, peer) {
            (Some(a), Some(b)) => same(a, b),
            (None, None) => true,
            _ => false,
        }
    }

    /// Same IP and port (IPv6 flow info and scope are not part of the identity we match on).
    fn same(a: SocketAddr, b: SocketAddr) -> bool {
        a.ip() == b.ip() && a.port() == b.port()
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::net::{SocketAddr, TcpListener, TcpStream};

    use socket2::{Domain, Socket, Type};
    use wasmtime::component::Linker;
    use wasmtime::Engine;

    use super::imp::{
        lowest_free_descriptor, set_nodelay, set_nodelay_on_fresh_socket, FINISH_BIND, TCP_INTERFACE,
    };
    use crate::runner::HostState;

    fn linker() -> Linker<HostState> {
        Linker::new(&Engine::default())
    }

    #[test]
    fn shadows_the_functions_of_wasmtime_wasi() {
        let mut linker = linker();
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
        wasmtime_wasi::p3::add_to_linker(&mut linker).unwrap();
        super::add_to_linker(&mut linker).unwrap();
        // Shadowing is off again afterwards.
        assert!(linker.instance(TCP_INTERFACE).unwrap().func_wrap(FINISH_BIND, |_, (): ()| Ok(())).is_err());
    }

    #[test]
    fn refuses_a_linker_without_the_p3_interface() {
        let mut linker = linker();
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
        let error = super::add_to_linker(&mut linker).unwrap_err();
        assert!(error.to_string().contains(super::p3_create::TYPES_INTERFACE), "{error}");
    }

    #[test]
    fn refuses_a_linker_without_the_tcp_interface() {
        let error = super::add_to_linker(&mut linker()).unwrap_err();
        assert!(error.to_string().contains(TCP_INTERFACE), "{error}");
    }

    fn nodelay(socket: &impl std::os::fd::AsFd) -> bool {
        socket2::SockRef::from(socket).tcp_nodelay().unwrap()
    }

    #[test]
    fn sets_nodelay_on_the_connection_with_both_addresses() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        let (local, peer) = (client.local_addr().unwrap(), client.peer_addr().unwrap());
        assert!(!nodelay(&client) && !nodelay(&accepted));
        assert_eq!(set_nodelay(local, Some(peer)), 1);
        assert!(nodelay(&client));
        assert!(!nodelay(&accepted), "the other end has the addresses the other way round");
        let elsewhere: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(set_nodelay(local, Some(elsewhere)), 0);
    }

    /// The Linux behaviour the bind wrapper relies on: set on a bound socket before `listen`,
    /// TCP_NODELAY is copied to every accepted socket.
    #[test]
    fn a_bound_socket_passes_nodelay_to_the_sockets_it_accepts() {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        socket.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into()).unwrap();
        let local = socket.local_addr().unwrap().as_socket().unwrap();
        assert!(!nodelay(&socket));
        assert_eq!(set_nodelay(local, None), 1);
        assert!(nodelay(&socket));
        socket.listen(8).unwrap();
        let listener: TcpListener = socket.into();
        let _client = TcpStream::connect(local).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert!(nodelay(&accepted));
    }

    /// What the `create-tcp-socket` wrapper relies on: the next socket lands on the number
    /// predicted. Other tests open descriptors on other threads meanwhile, so one miss is
    /// allowed for; five in a row would mean the prediction is wrong.
    #[test]
    fn a_new_socket_lands_on_the_predicted_descriptor() {
        use std::os::fd::AsRawFd;
        let landed = (0..5).any(|_| {
            let expected = lowest_free_descriptor().unwrap();
            let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            socket.as_raw_fd() == expected
                && set_nodelay_on_fresh_socket(expected, Domain::IPV4)
                && nodelay(&socket)
        });
        assert!(landed);
    }

    #[test]
    fn only_a_fresh_tcp_socket_of_the_family_is_taken() {
        use std::os::fd::AsRawFd;
        let udp = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        assert!(!set_nodelay_on_fresh_socket(udp.as_raw_fd(), Domain::IPV4));
        let v6 = Socket::new(Domain::IPV6, Type::STREAM, None).unwrap();
        assert!(!set_nodelay_on_fresh_socket(v6.as_raw_fd(), Domain::IPV4));
        let bound = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        bound.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into()).unwrap();
        assert!(!set_nodelay_on_fresh_socket(bound.as_raw_fd(), Domain::IPV4));
        assert!(!nodelay(&bound));
    }
}
