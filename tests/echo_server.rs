//! examples/echo-server under the host, talked to by native tokio clients over loopback.

use crate::support::{peer, start_echo_server, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn echoes_a_line_byte_for_byte() {
    let (_server, address) = start_echo_server().await;
    let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
    let message = b"hello, wasio \x00\xff\n";
    client.write_all(message).await.unwrap();
    let mut echoed = vec![0; message.len()];
    within("read the echo", client.read_exact(&mut echoed)).await.unwrap();
    assert_eq!(&echoed, message);
}

#[tokio::test]
async fn closes_after_the_client_half_closes() {
    let (_server, address) = start_echo_server().await;
    let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
    client.write_all(b"last words").await.unwrap();
    client.shutdown().await.unwrap();
    let mut rest = Vec::new();
    within("read to EOF", client.read_to_end(&mut rest)).await.unwrap();
    assert_eq!(rest, b"last words");
}

#[tokio::test]
async fn echoes_a_megabyte_in_one_go() {
    let (_server, address) = start_echo_server().await;
    peer::half_closed_megabyte(address).await.unwrap();
}

#[tokio::test]
async fn serves_50_clients_concurrently() {
    let (_server, address) = start_echo_server().await;
    let clients = (0..50).map(|id| {
        tokio::spawn(async move {
            let mut client = TcpStream::connect(address).await.unwrap();
            for round in 0..10 {
                let line = format!("client {id} round {round}\n");
                client.write_all(line.as_bytes()).await.unwrap();
                let mut echoed = vec![0; line.len()];
                client.read_exact(&mut echoed).await.unwrap();
                assert_eq!(echoed, line.as_bytes());
            }
        })
    });
    let results = within("50 clients", futures::future::join_all(clients)).await;
    for result in results {
        result.unwrap();
    }
}
