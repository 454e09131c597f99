//! examples/compose-echo composed with the streams provider (compose-echo.wasm, made by
//! scripts/build-guests with tools/compose) under the host, talked to by native tokio
//! clients over loopback. The consumer serves every client from one poll loop over
//! the provider's `try-*` calls and pollables.
//!
//! One server for all the clients: compose-echo.wasm holds two components, and
//! compiling it once instead of once per test keeps the start well within the step
//! timeout on a loaded machine.

use crate::support::line_clients::line_clients;
use crate::support::{peer, within, Running};
use tokio::net::TcpStream;

#[tokio::test]
async fn serves_50_line_clients_and_a_half_closed_one_concurrently() {
    let mut server = Running::start("compose-echo", &[], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    // An idle client must not hold up the others.
    let _idle = within("connect the idle client", TcpStream::connect(address)).await.unwrap();
    let (lines, half_closed) = tokio::join!(line_clients(address, 50), peer::half_closed_megabyte(address));
    lines.unwrap();
    half_closed.unwrap();
}
