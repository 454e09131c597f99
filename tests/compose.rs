//! examples/compose-echo composed with the streams provider (compose-echo.wasm, made by
//! scripts/build-guests with tools/compose) under the host, talked to by native tokio
//! clients over loopback. The consumer serves every client from one poll loop over
//! the provider's `try-*` calls and pollables.
//!
//! One server for all the clients: compose-echo.wasm holds two components, and
//! compiling it once instead of once per test keeps the start well within the step
//! timeout on a loaded machine.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::support::{peer, within, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Barrier;

#[tokio::test]
async fn serves_50_line_clients_and_a_half_closed_one_concurrently() {
    let mut server = Running::start("compose-echo", &[], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    // An idle client must not hold up the others.
    let _idle = within("connect the idle client", TcpStream::connect(address)).await.unwrap();
    let (lines, half_closed) = tokio::join!(fifty_line_clients(address), peer::half_closed_megabyte(address));
    lines.unwrap();
    half_closed.unwrap();
}

/// 50 clients, all connected at once, each sending several lines and checking every
/// echoed byte, then half-closing and reading to EOF.
async fn fifty_line_clients(address: SocketAddr) -> Result<(), String> {
    const CLIENTS: usize = 50;
    // Every client connects and is echoed once before any goes on, so all 50
    // connections are open at the same time.
    let all_connected = Arc::new(Barrier::new(CLIENTS));
    let clients = (0..CLIENTS).map(|id| {
        let all_connected = Arc::clone(&all_connected);
        tokio::spawn(async move {
            let mut client = TcpStream::connect(address).await.unwrap();
            round_trip(&mut client, format!("client {id} says hello\n").as_bytes()).await;
            all_connected.wait().await;
            for round in 0..5 {
                let line = format!("client {id} round {round} \x00\u{fe}\n");
                round_trip(&mut client, line.as_bytes()).await;
            }
            // Several lines in one go, each with every byte value.
            let burst: Vec<u8> = (0..8)
                .flat_map(|line| (0..=255u8).map(move |byte| byte ^ line ^ id as u8).chain([b'\n']))
                .collect();
            round_trip(&mut client, &burst).await;
            client.shutdown().await.unwrap();
            let mut rest = Vec::new();
            client.read_to_end(&mut rest).await.unwrap();
            assert!(rest.is_empty(), "client {id}: bytes after the echo: {rest:?}");
        })
    });
    let results = within("50 clients", futures::future::join_all(clients)).await;
    for (id, result) in results.into_iter().enumerate() {
        result.map_err(|error| format!("client {id}: {error}"))?;
    }
    Ok(())
}

/// Writes `data` and reads back exactly as many bytes, which must be the same.
async fn round_trip(client: &mut TcpStream, data: &[u8]) {
    client.write_all(data).await.unwrap();
    let mut echoed = vec![0; data.len()];
    client.read_exact(&mut echoed).await.unwrap();
    assert!(echoed == data, "the echo differs from what was sent: {echoed:?}");
}
