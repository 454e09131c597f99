//! Counting a WASI 0.3 guest's accepted connections.
//!
//! A p3 guest accepts by reading sockets from the `stream<tcp-socket>` that `listen`
//! returned, a stream wasmtime-wasi 48 makes and keeps to itself (its producer and the
//! socket's state are crate-private). What the host does see is every call the guest makes on
//! a socket. So a connection is counted as accepted when the guest first calls `receive` or
//! `send` on a socket it did not `connect` itself (`add_to_linker` shadows `connect` to note
//! those; the accept-error wrappers of `receive` and `send`, in
//! `accept_errors/p3_accepts.rs`, call [`P3Connections::accepted`]); and it stays open until
//! the guest has dropped the socket ([`add_to_linker`] shadows the resource's destructor) and,
//! under `--metrics`, both counting streams ([`super::p3_counting_streams`]). A socket out of
//! the listen stream that the guest drops without receiving or sending (a failed accept, a
//! peer gone before it was served) is not counted.
//!
//! Socket handles (`rep`s) are reused once dropped: the destructor forgets a handle before
//! wasmtime-wasi frees it, so the sets below always describe the live socket.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use wasmtime::component::{Accessor, Linker, Resource, ResourceType};
use wasmtime_wasi::p3::bindings::sockets::types::{HostTcpSocket, HostTcpSocketWithStore, IpSocketAddress};
use wasmtime_wasi::sockets::{TcpSocket, WasiSockets, WasiSocketsView};
use wasmtime_wasi::WasiView;

use super::counting_streams::{CountsConnections, OpenConnection};
use super::InstanceMetrics;
use crate::open_connections::OpenConnections;

/// wasmtime-wasi 48.0.8's p3 socket interface (see `tcp_nodelay/p3_create.rs`).
const TYPES_INTERFACE: &str = "wasi:sockets/types@0.3.0";
const CONNECT: &str = "[method]tcp-socket.connect";
const TCP_SOCKET: &str = "tcp-socket";

/// One store's p3 connections: which sockets are the guest's own, which are accepted ones
/// being counted.
pub(crate) struct P3Connections {
    metrics: Option<Arc<InstanceMetrics>>,
    held_by: Option<Arc<OpenConnections>>,
    /// Sockets the guest called `connect` on.
    connected_by_guest: HashSet<u32>,
    /// Accepted sockets the guest still holds, each with its connection.
    accepted: HashMap<u32, Arc<OpenConnection>>,
}

impl P3Connections {
    /// Counts into `metrics` (`--metrics`) and `held_by` (a reload's drain); `None` if neither.
    pub(crate) fn new(
        metrics: Option<Arc<InstanceMetrics>>,
        held_by: Option<Arc<OpenConnections>>,
    ) -> Option<P3Connections> {
        (metrics.is_some() || held_by.is_some()).then(|| P3Connections {
            metrics,
            held_by,
            connected_by_guest: HashSet::new(),
            accepted: HashMap::new(),
        })
    }

    /// The series bytes are counted into, under `--metrics`.
    pub(crate) fn metrics(&self) -> Option<&Arc<InstanceMetrics>> {
        self.metrics.as_ref()
    }

    /// The connection of socket `rep`, which the guest receives or sends on, if it is an
    /// accepted one: counted as accepted the first time.
    pub(crate) fn accepted(&mut self, rep: u32) -> Option<Arc<OpenConnection>> {
        if self.connected_by_guest.contains(&rep) {
            return None;
        }
        let (metrics, held_by) = (self.metrics.as_deref(), self.held_by.as_ref());
        Some(self.accepted.entry(rep).or_insert_with(|| OpenConnection::accepted(metrics, held_by)).clone())
    }

    fn connecting(&mut self, rep: u32) {
        self.connected_by_guest.insert(rep);
    }

    /// The guest dropped socket `rep`: its connection is left to its streams.
    fn dropped(&mut self, rep: u32) {
        self.connected_by_guest.remove(&rep);
        self.accepted.remove(&rep);
    }
}

/// Replaces wasmtime-wasi's p3 `connect` and the `tcp-socket` destructor, already in
/// `linker`, with versions that tell [`P3Connections`] first; guests get the same results.
/// Leaves shadowing disallowed (the default).
pub(crate) fn add_to_linker<T>(linker: &mut Linker<T>) -> wasmtime::Result<()>
where
    T: WasiView + CountsConnections + Send + 'static,
{
    crate::shadowing::replace(linker, &[(TYPES_INTERFACE, CONNECT)], "count p3 connections", |linker| {
        let mut types = linker.instance(TYPES_INTERFACE)?;
        types.func_wrap_concurrent(CONNECT, |accessor: &Accessor<T>, (socket, remote)| {
            Box::pin(connect(accessor, socket, remote))
        })?;
        types.resource(TCP_SOCKET, ResourceType::host::<TcpSocket>(), |mut store, rep| {
            if let Some(connections) = store.data_mut().p3_connections() {
                connections.dropped(rep);
            }
            HostTcpSocket::drop(&mut store.data_mut().sockets(), Resource::new_own(rep))
        })
    })
}

async fn connect<T>(
    accessor: &Accessor<T>,
    socket: Resource<TcpSocket>,
    remote: IpSocketAddress,
) -> wasmtime::Result<(Result<(), wasmtime_wasi::p3::bindings::sockets::types::ErrorCode>,)>
where
    T: WasiView + CountsConnections + Send + 'static,
{
    accessor.with(|mut access| {
        if let Some(connections) = access.get().p3_connections() {
            connections.connecting(socket.rep());
        }
    });
    let sockets = accessor.with_getter::<WasiSockets>(T::sockets);
    let result = <WasiSockets as HostTcpSocketWithStore<T>>::connect(&sockets, socket, remote).await;
    Ok((crate::socket_results::p3(result)?,))
}

#[cfg(test)]
mod tests {
    use wasmtime::component::Linker;
    use wasmtime::Engine;

    use super::{P3Connections, CONNECT, TYPES_INTERFACE};
    use crate::metrics::Metrics;
    use crate::runner::HostState;

    #[test]
    fn shadows_connect_of_wasmtime_wasi() {
        let mut linker: Linker<HostState> = Linker::new(&Engine::default());
        wasmtime_wasi::p3::add_to_linker(&mut linker).unwrap();
        super::add_to_linker(&mut linker).unwrap();
        // Shadowing is off again afterwards.
        assert!(linker.instance(TYPES_INTERFACE).unwrap().func_wrap(CONNECT, |_, (): ()| Ok(())).is_err());
    }

    #[test]
    fn an_accepted_socket_counts_once_and_stays_open_until_dropped_and_released() {
        let metrics = Metrics::new();
        let instance = metrics.instance("0");
        let mut connections = P3Connections::new(Some(instance.clone()), None).unwrap();
        connections.connecting(7);
        assert!(connections.accepted(7).is_none(), "the guest's own connection");
        let stream = connections.accepted(8).unwrap();
        let _again = connections.accepted(8).unwrap();
        assert_eq!((instance.accepted.get(), instance.open.get()), (1, 1));
        connections.dropped(8);
        drop(_again);
        assert_eq!(instance.open.get(), 1, "a stream still holds it");
        drop(stream);
        assert_eq!(instance.open.get(), 0);
        // The handles are free for new sockets: 7 is now an accepted one.
        connections.dropped(7);
        let reused = connections.accepted(7).unwrap();
        assert_eq!((instance.accepted.get(), instance.open.get()), (2, 1));
        drop(reused);
        connections.dropped(7);
        assert_eq!(instance.open.get(), 0);
        assert!(P3Connections::new(None, None).is_none(), "nothing to count into");
    }
}
