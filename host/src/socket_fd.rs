//! Finding the descriptor of a guest's TCP socket that is not yet listening or connected.
//!
//! wasmtime-wasi 48 keeps a guest socket's descriptor to itself. So the socket is marked
//! through wasmtime-wasi itself (its unicast hop limit, IP_TTL / IPV6_UNICAST_HOPS, is set to
//! [`MARKER`]), the process's descriptors (`/proc/self/fd`) are searched for the unconnected,
//! non-listening TCP socket of that family carrying the mark, and the hop limit is put back.
//! A process-wide lock around those steps keeps two instances from marking at the same time.
//! O(open descriptors), about 0.5 µs each: done once per bind and listen, which servers do
//! for a few listeners and clients not at all.
//!
//! Linux only (`/proc/self/fd`).

#![cfg(target_os = "linux")]

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::Mutex;

use socket2::{Domain, SockRef, Type};
use wasmtime::component::Resource;
use wasmtime_wasi::p2::bindings::sockets::network::IpAddressFamily;
use wasmtime_wasi::p2::bindings::sockets::tcp::HostTcpSocket;
use wasmtime_wasi::p2::TcpSocket;
use wasmtime_wasi::sockets::WasiSocketsCtxView;

/// The hop limit that marks the socket being looked for: a value a guest is unlikely to have
/// set on a socket it has not yet used.
const MARKER: u8 = 201;

/// Held while a socket carries the mark, so only one does.
static MARKING: Mutex<()> = Mutex::new(());

/// Calls `found` with the descriptor of the guest socket `rep` (neither listening nor
/// connected), while the caller's store keeps it open; whether it was found. The hop limit is
/// put back either way.
pub(crate) fn with_descriptor(
    sockets: &mut WasiSocketsCtxView<'_>,
    rep: u32,
    found: impl FnOnce(BorrowedFd<'_>),
) -> bool {
    let socket = || Resource::<TcpSocket>::new_borrow(rep);
    let Ok(family) = HostTcpSocket::address_family(sockets, socket()) else { return false };
    let Ok(before) = HostTcpSocket::hop_limit(sockets, socket()) else { return false };
    let _marking = MARKING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if HostTcpSocket::set_hop_limit(sockets, socket(), MARKER).is_err() {
        return false;
    }
    let fd = find_marked(family);
    if let Some(fd) = fd {
        // SAFETY: the marked socket is the guest's, open while the caller holds its store.
        found(unsafe { BorrowedFd::borrow_raw(fd) });
    }
    let _ = HostTcpSocket::set_hop_limit(sockets, socket(), before);
    fd.is_some()
}

/// [`with_descriptor`] for a WASI 0.3 guest's socket (wasmtime-wasi's p3 `tcp-socket`: the
/// same marking, through p3's calls).
pub(crate) fn with_descriptor_p3(
    sockets: &mut WasiSocketsCtxView<'_>,
    rep: u32,
    found: impl FnOnce(BorrowedFd<'_>),
) -> bool {
    use wasmtime_wasi::p3::bindings::sockets::types::{HostTcpSocket as P3, IpAddressFamily as P3Family};
    let socket = || Resource::<wasmtime_wasi::sockets::TcpSocket>::new_borrow(rep);
    let Ok(family) = P3::get_address_family(sockets, socket()) else { return false };
    let family = match family {
        P3Family::Ipv4 => IpAddressFamily::Ipv4,
        P3Family::Ipv6 => IpAddressFamily::Ipv6,
    };
    let Ok(before) = P3::get_hop_limit(sockets, socket()) else { return false };
    let _marking = MARKING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if P3::set_hop_limit(sockets, socket(), MARKER).is_err() {
        return false;
    }
    let fd = find_marked(family);
    if let Some(fd) = fd {
        // SAFETY: the marked socket is the guest's, open while the caller holds its store.
        found(unsafe { BorrowedFd::borrow_raw(fd) });
    }
    let _ = P3::set_hop_limit(sockets, socket(), before);
    fd.is_some()
}

/// The first unconnected, non-listening TCP socket of `family` in this process whose hop
/// limit is [`MARKER`].
///
/// The descriptors are borrowed, never closed. Another thread may close a listed descriptor
/// and its number be reused before the checks below: they then look at an unrelated
/// descriptor, which does not carry the mark.
fn find_marked(family: IpAddressFamily) -> Option<RawFd> {
    let dir = std::fs::read_dir("/proc/self/fd").ok()?;
    dir.flatten().find_map(|entry| {
        let fd = entry.file_name().to_str()?.parse::<RawFd>().ok()?;
        // SAFETY: only used for the few syscalls below, never closed; see the race above.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        is_marked(&SockRef::from(&borrowed), family).then_some(fd)
    })
}

fn is_marked(socket: &SockRef<'_>, family: IpAddressFamily) -> bool {
    // getsockname first: it fails at once on the files and pipes that make up most of the list.
    if socket.local_addr().is_err() {
        return false;
    }
    let (hops, domain) = match family {
        IpAddressFamily::Ipv4 => (socket.ttl_v4(), Domain::IPV4),
        IpAddressFamily::Ipv6 => (socket.unicast_hops_v6(), Domain::IPV6),
    };
    hops.is_ok_and(|hops| hops == u32::from(MARKER))
        && socket.r#type().is_ok_and(|t| t == Type::STREAM)
        && socket.domain().is_ok_and(|d| d == domain)
        && socket.peer_addr().is_err()
        && !is_listening(socket.as_raw_fd())
}

/// SO_ACCEPTCONN (socket2 has it only behind its `all` feature).
pub(crate) fn is_listening(fd: RawFd) -> bool {
    int_option(fd, libc::SO_ACCEPTCONN).is_some_and(|on| on != 0)
}

fn int_option(fd: RawFd, option: libc::c_int) -> Option<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: valid pointers to a c_int and its size.
    let rc = unsafe {
        libc::getsockopt(fd, libc::SOL_SOCKET, option, (&mut value as *mut libc::c_int).cast(), &mut len)
    };
    (rc == 0).then_some(value)
}

/// SO_REUSEPORT on (socket2 has it only behind its `all` feature); whether it worked.
pub(crate) fn set_reuse_port(fd: RawFd) -> bool {
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
