//! examples/compose-echo-async composed with the WASI 0.3 provider
//! (compose-echo-async.wasm: a `wasio:streams@0.2.0` consumer plugged into
//! streams-provider-async.wasm by scripts/build-guests) under the host, talked to by native
//! tokio clients over loopback. Every connection is its own async task in the consumer,
//! awaiting the provider's `readline`/`write`/`drain` (or, with `--bulk`, its chunk
//! path), so all of them progress at once inside one instance.

use std::sync::Arc;

use crate::support::line_clients::{line_clients, round_trip};
use crate::support::{peer, within, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn lines_serve_200_concurrent_clients_with_every_byte_back() {
    let mut server = Running::start("compose-echo-async", &[], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    // An idle client must not hold up the others.
    let _idle = within("connect the idle client", TcpStream::connect(address)).await.unwrap();
    line_clients(address, 200).await.unwrap();
    // Still serving afterwards.
    let mut late = within("connect late", TcpStream::connect(address)).await.unwrap();
    round_trip(&mut late, b"late\n").await;
}

#[tokio::test]
async fn lines_half_close_delivers_the_echo_and_the_unterminated_last_line_then_eof() {
    let mut server = Running::start("compose-echo-async", &[], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;

    // Lines, then an unterminated tail, then the client half-closes at once without
    // reading: the whole echo still comes, tail included, then EOF.
    let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
    client.write_all(b"one\ntwo\nno newline at the end").await.unwrap();
    client.shutdown().await.unwrap();
    assert_eq!(peer::read_to_end(&mut client).await, b"one\ntwo\nno newline at the end");

    // A half-close with nothing sent: EOF back at once.
    let mut silent = within("connect", TcpStream::connect(address)).await.unwrap();
    silent.shutdown().await.unwrap();
    assert_eq!(peer::read_to_end(&mut silent).await, b"");

    // A client that resets mid-line costs the others nothing.
    let mut reset = within("connect", TcpStream::connect(address)).await.unwrap();
    reset.write_all(b"half a line").await.unwrap();
    peer::reset(reset);

    // A megabyte of lines (more than the writer's high mark: the echo goes through drain)
    // with the client reading the echo while it still sends.
    peer::half_closed_megabyte(address).await.unwrap();

    let mut after = within("connect", TcpStream::connect(address)).await.unwrap();
    round_trip(&mut after, b"still serving\n").await;
}

#[tokio::test]
async fn lines_serve_a_newcomer_while_50_peers_send_and_never_read() {
    let mut server = Running::start("compose-echo-async", &[], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    const PEERS: usize = 50;
    // Lines of 1 KiB, 64 to a write; each peer sends at most 64 MiB.
    let burst: Arc<Vec<u8>> =
        Arc::new((0..64).flat_map(|_| [b'x'; 1023].into_iter().chain([b'\n'])).collect());
    // All served once before any floods.
    let mut connected = Vec::new();
    for id in 0..PEERS {
        let mut peer = within("connect a peer", TcpStream::connect(address)).await.unwrap();
        round_trip(&mut peer, format!("peer {id}\n").as_bytes()).await;
        connected.push(peer);
    }
    let mut peers = Vec::new();
    for mut peer in connected {
        let burst = Arc::clone(&burst);
        // Writes until its writes block (the server stopped reading it), then holds on.
        peers.push(tokio::spawn(async move {
            for _ in 0..1024 {
                if peer.write_all(&burst).await.is_err() {
                    break;
                }
            }
            peer
        }));
    }
    // The server is busy with the peers' lines until their echoes back up; a newcomer must
    // still be served in its turn (without each connection yielding, it waited for minutes).
    let mut newcomer = within("connect the newcomer", TcpStream::connect(address)).await.unwrap();
    for round in 0..3 {
        round_trip(&mut newcomer, format!("newcomer {round}\n").as_bytes()).await;
    }
    // Closes the peers' connections, their echoes unread.
    peers.iter().for_each(|peer| peer.abort());
}

#[tokio::test]
async fn bulk_echoes_a_half_closed_mebibyte_and_concurrent_clients() {
    let mut server = Running::start("compose-echo-async", &[], &["--bulk", "127.0.0.1", "0"]);
    let address = server.serving_address().await;
    peer::half_closed_megabyte(address).await.unwrap();
    // Several bulk clients at once, each with its own bytes.
    const CLIENTS: usize = 16;
    const LEN: usize = 256 * 1024;
    let clients = (0..CLIENTS).map(|client| {
        tokio::spawn(async move {
            let (mut rx, mut tx) = TcpStream::connect(address).await.unwrap().into_split();
            let writer = tokio::spawn(async move {
                tx.write_all(&payload(client, LEN)).await.unwrap();
                tx.shutdown().await.unwrap();
            });
            let mut echoed = Vec::with_capacity(LEN);
            rx.read_to_end(&mut echoed).await.unwrap();
            writer.await.unwrap();
            assert!(
                echoed == payload(client, LEN),
                "client {client}: {} bytes back, not its own",
                echoed.len()
            );
        })
    });
    within("16 bulk clients echoed", futures::future::try_join_all(clients)).await.unwrap();
    // A client that resets while its bytes are still being forwarded ends only itself.
    let mut reset = within("connect", TcpStream::connect(address)).await.unwrap();
    reset.write_all(&payload(99, LEN)).await.unwrap();
    peer::reset(reset);
    // Lines mean nothing to the bulk echo: an unterminated write comes back as it is.
    let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
    round_trip(&mut client, b"no newline").await;
}

/// Each client's bytes: distinct per client and position, so a mix-up shows.
fn payload(client: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) ^ client.wrapping_mul(7)) as u8).collect()
}

/// A WASI 0.3 consumer holds ~17 component-model handles per idle connection; the host's
/// `--max-handles` (default a million, where wasmtime's 100,000 stopped compose-echo-async
/// at ~5,900 idle connections) bounds them, and reaching it is a trap that names the flag.
#[tokio::test]
async fn the_handle_cap_is_the_hosts_max_handles() {
    let mut server = Running::start("compose-echo-async", &["--max-handles", "400"], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    let mut held = Vec::new();
    for _ in 0..200 {
        let Ok(Ok(mut client)) =
            tokio::time::timeout(std::time::Duration::from_secs(5), TcpStream::connect(address)).await
        else {
            break;
        };
        if client.write_all(b"hi\n").await.is_err() {
            break;
        }
        let mut echo = [0u8; 3];
        match tokio::time::timeout(std::time::Duration::from_secs(5), client.read_exact(&mut echo)).await {
            Ok(Ok(_)) => held.push(client),
            _ => break,
        }
    }
    assert!(held.len() >= 5, "served {} connections under 400 handles", held.len());
    assert!(held.len() < 200, "400 handles held 200 idle connections: the cap did not apply");
    assert_ne!(within("the host's exit", server.exit_code()).await, 0);
    let stderr = server.stderr_text().await;
    assert!(stderr.contains("store handle limit exceeded (--max-handles raises it)"), "stderr: {stderr}");
}

/// A server that only accepts must not keep the connections it served: 2,000 short
/// connections (4 clients at a time, each one line and close) under `--max-memory 3M`,
/// where the provider starts at about 1.3 MiB. Its list of clients kept each served
/// connection's 1.3 KiB until `close-clients` or `wait-closed`, which a server that
/// serves forever never calls: it reached 3 MiB after some 1,400 and trapped.
#[tokio::test]
async fn short_connections_do_not_grow_the_providers_memory() {
    let mut server = Running::start("compose-echo-async", &["--max-memory", "3M"], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    let clients = (0..4).map(|client| {
        tokio::spawn(async move {
            for n in 0..500 {
                let mut connection = within("connect", TcpStream::connect(address)).await.unwrap();
                let line = format!("client {client} connection {n}\n");
                round_trip(&mut connection, line.as_bytes()).await;
            }
        })
    });
    // Each connection's steps are bounded by `within` and `round_trip`.
    for client in clients.collect::<Vec<_>>() {
        client.await.unwrap();
    }
    let mut after = within("connect", TcpStream::connect(address)).await.unwrap();
    round_trip(&mut after, b"still serving\n").await;
}
