//! `--metrics` counting a WASI 0.3 guest: compose-echo-async (its provider on
//! `wasi:sockets@0.3.0`, bytes as `stream<u8>`) serving real clients over loopback, the
//! connection and byte series checked exactly against what the clients did.
//!
//! Exact, because every byte counted is one the clients saw echoed: the guest reads a byte
//! (counted received) before it echoes it, and hands the echo to the host (counted sent)
//! before the client can read it; a client closes or resets only after its whole echo came.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::host_metrics::{free_address, instance0, scrape, until_value, value};
use crate::support::line_clients::round_trip;
use crate::support::{peer, within, Running};

const CLIENTS: usize = 8;

/// Lines of 64 bytes, `bytes` in all, different for each client.
fn lines(client: usize, bytes: usize) -> Vec<u8> {
    (0..bytes).map(|i| if i % 64 == 63 { b'\n' } else { b'a' + ((i + client) % 26) as u8 }).collect()
}

fn assert_counts(text: &str, accepted: usize, open: usize, bytes_each_way: usize) {
    let expect = [
        ("wasio_connections_accepted_total", accepted),
        ("wasio_connections_open", open),
        ("wasio_bytes_received_total", bytes_each_way),
        ("wasio_bytes_sent_total", bytes_each_way),
    ];
    for (name, expected) in expect {
        assert_eq!(value(text, &instance0(name)), Some(expected as f64), "{name}:\n{text}");
    }
}

/// Every client connected and echoed one line, all open at once: counted exactly.
async fn connect_all(address: SocketAddr, metrics: SocketAddr) -> Vec<TcpStream> {
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
        round_trip(&mut client, b"ping\n").await;
        clients.push(client);
    }
    assert_counts(&scrape(metrics).await, CLIENTS, CLIENTS, CLIENTS * 5);
    clients
}

#[tokio::test]
async fn counts_a_p3_line_echo_exactly_and_closes_every_connection_closed_or_reset() {
    const BYTES: usize = 64 * 1024;
    let metrics = free_address();
    let mut server =
        Running::start("compose-echo-async", &["--metrics", &metrics.to_string()], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    assert_counts(&scrape(metrics).await, 0, 0, 0);
    let clients = connect_all(address, metrics).await;

    // Each echoes BYTES of lines, all at once, reading while it writes; then half the clients
    // close (half-close, EOF back), the other half reset.
    let echoes = clients.into_iter().enumerate().map(|(id, mut client)| async move {
        let data = lines(id, BYTES);
        let (mut reader, mut writer) = client.split();
        let (written, echoed) = tokio::join!(writer.write_all(&data), peer::read_n(&mut reader, BYTES));
        written.unwrap();
        assert!(echoed == data, "client {id}: the echo differs");
        if id % 2 == 0 {
            client.shutdown().await.unwrap();
            assert_eq!(peer::read_to_end(&mut client).await, b"");
        } else {
            peer::reset(client);
        }
    });
    within("the echoes", futures::future::join_all(echoes)).await;

    let text = until_value(metrics, "wasio_connections_open", 0.0).await;
    assert_counts(&text, CLIENTS, 0, CLIENTS * (5 + BYTES));

    // A newcomer after all that counts from where they left off.
    let mut late = within("connect late", TcpStream::connect(address)).await.unwrap();
    round_trip(&mut late, b"late\n").await;
    assert_counts(&scrape(metrics).await, CLIENTS + 1, 1, CLIENTS * (5 + BYTES) + 5);
    peer::reset(late);
    let text = until_value(metrics, "wasio_connections_open", 0.0).await;
    assert_counts(&text, CLIENTS + 1, 0, CLIENTS * (5 + BYTES) + 5);
}

#[tokio::test]
async fn counts_a_p3_bulk_echo_through_the_stream_paths_exactly() {
    const BYTES: usize = 256 * 1024;
    let metrics = free_address();
    let mut server = Running::start(
        "compose-echo-async",
        &["--metrics", &metrics.to_string()],
        &["--bulk", "127.0.0.1", "0"],
    );
    let address = server.serving_address().await;
    let clients = connect_all(address, metrics).await;

    // Each sends BYTES and half-closes while reading the echo to EOF.
    let echoes = clients.into_iter().enumerate().map(|(id, mut client)| async move {
        let data = lines(id, BYTES);
        let (mut reader, mut writer) = client.split();
        let send = async {
            writer.write_all(&data).await.unwrap();
            writer.shutdown().await.unwrap();
        };
        let mut echoed = Vec::new();
        let (_, read) = tokio::join!(send, reader.read_to_end(&mut echoed));
        read.unwrap();
        assert!(echoed == data, "client {id}: the echo differs ({} bytes)", echoed.len());
    });
    within("the echoes", futures::future::join_all(echoes)).await;

    let text = until_value(metrics, "wasio_connections_open", 0.0).await;
    assert_counts(&text, CLIENTS, 0, CLIENTS * (5 + BYTES));
}

#[tokio::test]
async fn does_not_count_a_connection_the_p3_guest_opens_itself() {
    let (listener, address) = peer::listener().await;
    let metrics = free_address();
    let port = address.port().to_string();
    let mut client = Running::start(
        "p3-tcp",
        &["--metrics", &metrics.to_string()],
        &["connect", "127.0.0.1", &port, "hello p3"],
    );
    let mut connection = peer::accept(&listener).await;
    // The guest sent its text and half-closed, and waits for the reply: its connection is
    // live, and not an accepted one.
    assert_eq!(peer::read_to_end(&mut connection).await, b"hello p3");
    assert_counts(&scrape(metrics).await, 0, 0, 0);
    within("reply", connection.write_all(b"hi")).await.unwrap();
    drop(connection);
    assert_eq!(client.next_line().await.as_deref(), Some("received: hi"));
    assert_eq!(client.exit_code().await, 0);
}
