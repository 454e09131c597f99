//! Line echo clients for the echo servers' tests: many at once, every byte checked.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Barrier;

use super::within;

/// `count` clients, all connected at once, each sending several lines and checking every
/// echoed byte, then half-closing and reading to EOF.
pub async fn line_clients(address: SocketAddr, count: usize) -> Result<(), String> {
    // Every client connects and is echoed once before any goes on, so all of them are
    // open at the same time.
    let all_connected = Arc::new(Barrier::new(count));
    let clients = (0..count).map(|id| {
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
    let results = within("all line clients", futures::future::join_all(clients)).await;
    for (id, result) in results.into_iter().enumerate() {
        result.map_err(|error| format!("client {id}: {error}"))?;
    }
    Ok(())
}

/// Writes `data` and reads back exactly as many bytes, which must be the same.
pub async fn round_trip(client: &mut TcpStream, data: &[u8]) {
    within("write", client.write_all(data)).await.unwrap();
    let mut echoed = vec![0; data.len()];
    within("read the echo", client.read_exact(&mut echoed)).await.unwrap();
    assert!(echoed == data, "the echo differs from what was sent: {echoed:?}");
}
