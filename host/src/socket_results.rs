//! What wasmtime-wasi's generated bindings do with a socket call's trappable `error-code`,
//! for the host's shadows of its socket functions (`reuse_port`, `tcp_nodelay`,
//! `listener_handoff`, `accept_errors`, `metrics`): the error code goes to the guest,
//! anything else traps.

use wasmtime_wasi::p2::bindings::sockets::network;
use wasmtime_wasi::p3::bindings::sockets::types as p3_types;
use wasmtime_wasi::sockets::WasiSocketsCtxView;

/// WASI 0.2: `network::Host::convert_error_code`.
pub(crate) fn p2<R>(
    sockets: &mut WasiSocketsCtxView<'_>,
    result: wasmtime_wasi::p2::SocketResult<R>,
) -> wasmtime::Result<Result<R, network::ErrorCode>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(error) => Ok(Err(network::Host::convert_error_code(sockets, error)?)),
    }
}

/// WASI 0.3.
pub(crate) fn p3<R>(
    result: wasmtime_wasi::p3::sockets::SocketResult<R>,
) -> wasmtime::Result<Result<R, p3_types::ErrorCode>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(error) => Ok(Err(error.downcast()?)),
    }
}
