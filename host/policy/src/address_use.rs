/// What a guest asks to do with a socket address: wasmtime-wasi's `SocketAddrUse`, as
/// a plain value so the policy does not need wasmtime (the fuzz target builds without
/// it). The names are wasmtime's, as the denial lines print them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressUse {
    /// Bind a TCP socket (also the implicit bind of the unspecified address before a
    /// connect or listen).
    TcpBind,
    /// Listen on a TCP socket's address.
    TcpListen,
    /// Connect a TCP socket.
    TcpConnect,
    /// Accept a client (the address is the client's).
    TcpAccept,
    /// Bind a UDP socket.
    UdpBind,
    /// Send a datagram to an address.
    UdpSend,
    /// Receive a datagram from an address.
    UdpReceive,
}
