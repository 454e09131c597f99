//! TCP_NODELAY for WASI 0.3 guests: wasmtime-wasi's p3 `[static]tcp-socket.create`, shadowed
//! by a wrapper that finds the new socket by its descriptor number (see the parent module).
//!
//! p3 has no finish-step where a missed socket could be looked for later (`bind` and `connect`
//! are async functions with no second call), so a miss is mended at once: the socket, which
//! the guest has not seen, is dropped (closing it) and made again, up to [`ATTEMPTS`] times.
//! A miss takes another thread opening a descriptor between the guess and the socket, so
//! three in a row do not happen in practice (unless a descriptor below 3 is free: see
//! [`lowest_free_descriptor`]); if they do, the guest still gets its socket, without the
//! option, and `-v` logs it.

use socket2::Domain;
use wasmtime::component::{Linker, Resource};
use wasmtime::StoreContextMut;
use wasmtime_wasi::p3::bindings::sockets::types::{ErrorCode, HostTcpSocket, IpAddressFamily};
use wasmtime_wasi::sockets::{TcpSocket, WasiSocketsView};
use wasmtime_wasi::WasiView;

use super::imp::{lowest_free_descriptor, set_nodelay_on_fresh_socket};

/// The interface of p3's TCP functions, with the exact version of wasmtime-wasi 48.0.8's WIT
/// (`package wasi:sockets@0.3.0` in its `src/p3/wit/deps/sockets.wit`). Guests importing any
/// `wasi:sockets/types@0.3.x` are linked to it by semver. Should an upgrade of wasmtime-wasi
/// change the version, [`add_to_linker`] fails instead of defining the wrapper where no guest
/// calls it.
pub(super) const TYPES_INTERFACE: &str = "wasi:sockets/types@0.3.0";
pub(super) const CREATE: &str = "[static]tcp-socket.create";

/// How many sockets `create` makes at most to get one on the descriptor it expects.
const ATTEMPTS: usize = 3;

/// Replaces wasmtime-wasi's p3 `create`, already in `linker` (see
/// [`wasmtime_wasi::p3::add_to_linker`]), with one that also sets TCP_NODELAY. Guests get the
/// same results and errors as before. Leaves shadowing disallowed (the default).
pub(super) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    // Without shadowing, defining a name that exists fails: that checks it is there.
    crate::shadowing::replace(
        linker,
        &[(TYPES_INTERFACE, CREATE)],
        "set TCP_NODELAY on p3 sockets",
        |linker| linker.instance(TYPES_INTERFACE)?.func_wrap(CREATE, create::<T>),
    )
}

fn create<T: WasiView>(
    mut store: StoreContextMut<'_, T>,
    (family,): (IpAddressFamily,),
) -> wasmtime::Result<(Result<Resource<TcpSocket>, ErrorCode>,)> {
    let domain = match family {
        IpAddressFamily::Ipv4 => Domain::IPV4,
        IpAddressFamily::Ipv6 => Domain::IPV6,
    };
    let mut sockets = store.data_mut().sockets();
    let mut attempt = 1;
    loop {
        let expected = lowest_free_descriptor();
        let socket = match HostTcpSocket::create(&mut sockets, family) {
            Ok(socket) => socket,
            // What the generated bindings do: an error code goes to the guest, the rest traps.
            Err(error) => return Ok((Err(error.downcast()?),)),
        };
        if expected.is_some_and(|fd| set_nodelay_on_fresh_socket(fd, domain)) {
            return Ok((Ok(socket),));
        }
        if attempt == ATTEMPTS {
            tracing::debug!("TCP_NODELAY not set: {ATTEMPTS} new p3 sockets in a row not where expected");
            return Ok((Ok(socket),));
        }
        sockets.table.delete(socket)?; // closes it: the guest never saw it
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use wasmtime::component::Linker;
    use wasmtime::Engine;

    use super::{CREATE, TYPES_INTERFACE};
    use crate::runner::HostState;

    #[test]
    fn shadows_create_of_wasmtime_wasi() {
        let mut linker: Linker<HostState> = Linker::new(&Engine::default());
        wasmtime_wasi::p3::add_to_linker(&mut linker).unwrap();
        super::add_to_linker(&mut linker).unwrap();
        // Shadowing is off again afterwards.
        assert!(linker.instance(TYPES_INTERFACE).unwrap().func_wrap(CREATE, |_, (): ()| Ok(())).is_err());
    }
}
