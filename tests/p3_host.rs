//! The host runs WASI 0.3 components (tests/guests/p3-tcp, on `wasi:sockets@0.3` with
//! `stream<u8>`) without a flag, under the same network policy as WASI 0.2 ones: real
//! loopback TCP both ways, many connections progressing at once inside one instance, and a
//! denied connect that the guest sees as `access-denied` and the host logs.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{peer, within, Running};

/// Each client's bytes: distinct per client and position, so a mix-up shows.
fn payload(client: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) ^ client.wrapping_mul(7)) as u8).collect()
}

#[tokio::test]
async fn p3_echo_serves_many_clients_at_once_with_every_byte_back() {
    let mut server = Running::start("p3-tcp", &[], &["serve", "127.0.0.1", "0"]);
    let address = server.serving_address().await;
    const CLIENTS: usize = 64;
    const LEN: usize = 256 * 1024; // more than socket buffers hold: echo must interleave
    let clients = (0..CLIENTS).map(|client| {
        tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(address).await.unwrap();
            let (mut rx, mut tx) = stream.into_split();
            let sent = payload(client, LEN);
            let writer = tokio::spawn(async move {
                tx.write_all(&sent).await.unwrap();
                tx.shutdown().await.unwrap(); // half-close: the echo ends after our bytes
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
    within("64 clients echoed", futures::future::try_join_all(clients)).await.unwrap();
    // Still serving afterwards.
    let mut late = tokio::net::TcpStream::connect(address).await.unwrap();
    late.write_all(b"late\n").await.unwrap();
    late.shutdown().await.unwrap();
    assert_eq!(peer::read_to_end(&mut late).await, b"late\n");
}

#[tokio::test]
async fn p3_client_connects_sends_and_reads_over_loopback() {
    let (listener, address) = peer::listener().await;
    let port = address.port().to_string();
    let mut client = Running::start("p3-tcp", &[], &["connect", "127.0.0.1", &port, "hello p3"]);
    let mut accepted = peer::accept(&listener).await;
    let got = peer::read_to_end(&mut accepted).await; // the guest half-closes after its text
    assert_eq!(got, b"hello p3");
    accepted.write_all(b"HELLO P3").await.unwrap();
    drop(accepted);
    assert_eq!(client.next_line().await.as_deref(), Some("received: HELLO P3"));
    assert_eq!(client.exit_code().await, 0);
}

#[tokio::test]
async fn p3_sockets_pass_the_same_network_policy() {
    let (_listener, address) = peer::listener().await;
    let (_other, other) = peer::listener().await;
    let rule = format!("127.0.0.1:{}", address.port());
    // Connect to a port the rule does not name: refused by the policy before any syscall.
    let other_port = other.port().to_string();
    let mut client =
        Running::start("p3-tcp", &["--allow-connect", &rule], &["connect", "127.0.0.1", &other_port, "x"]);
    assert_eq!(client.next_line().await.as_deref(), Some("error: access-denied"));
    assert_eq!(client.exit_code().await, 1);
    let stderr = client.stderr_text().await;
    let expected = format!("denied TcpConnect to 127.0.0.1:{other_port}: no rule allows it");
    assert!(stderr.contains(&expected), "stderr:\n{stderr}");
    // Connect rules do not allow listening: the p3 bind is checked too.
    let mut server = Running::start("p3-tcp", &["--allow-connect", &rule], &["serve", "127.0.0.1", "0"]);
    assert_eq!(server.next_line().await.as_deref(), Some("error: access-denied"));
    assert_eq!(server.exit_code().await, 1);
    let stderr = server.stderr_text().await;
    assert!(stderr.contains("denied TcpBind on 127.0.0.1:0"), "stderr:\n{stderr}");
}
