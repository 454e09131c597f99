//! The same for WASI 0.3 guests (tests/guests/p3-tcp, on `wasi:sockets/types@0.3`): the host
//! sets TCP_NODELAY on the sockets they accept and connect, `--no-tcp-nodelay` leaves Nagle
//! on, and a request whose response is written in two parts is not stalled by Nagle plus the
//! client's delayed ACK.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::host_socket_nodelay;
use crate::support::{peer, within, Running};

/// p3-tcp serving under the host with `host_args`: TCP_NODELAY of the host's end of a
/// client's connection (accepted by the guest, which has echoed a line on it).
async fn accepted_nodelay(host_args: &[&str]) -> bool {
    let mut server = Running::start("p3-tcp", host_args, &["serve", "127.0.0.1", "0"]);
    let address = server.serving_address().await;
    let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
    client.write_all(b"ping\n").await.unwrap();
    let mut echoed = [0; 5];
    within("read the echo", client.read_exact(&mut echoed)).await.unwrap();
    assert_eq!(&echoed, b"ping\n");
    host_socket_nodelay(address, client.local_addr().unwrap())
}

/// p3-tcp connecting under the host with `host_args` to a native listener: TCP_NODELAY of
/// the host's end (read while the guest waits for the reply, then the exchange is finished).
async fn connected_nodelay(host_args: &[&str]) -> bool {
    let (listener, address) = peer::listener().await;
    let port = address.port().to_string();
    let mut client = Running::start("p3-tcp", host_args, &["connect", "127.0.0.1", &port, "hello"]);
    let mut accepted = peer::accept(&listener).await;
    assert_eq!(peer::read_to_end(&mut accepted).await, b"hello"); // the guest half-closed
    let nodelay = host_socket_nodelay(accepted.peer_addr().unwrap(), address);
    accepted.write_all(b"HELLO").await.unwrap();
    drop(accepted);
    assert_eq!(client.next_line().await.as_deref(), Some("received: HELLO"));
    assert_eq!(client.exit_code().await, 0);
    nodelay
}

#[tokio::test]
async fn p3_accepted_sockets_get_nodelay() {
    assert!(accepted_nodelay(&[]).await, "TCP_NODELAY is off on a connection a p3 guest accepted");
}

#[tokio::test]
async fn p3_accepted_sockets_keep_nagle_with_no_tcp_nodelay() {
    assert!(!accepted_nodelay(&["--no-tcp-nodelay"]).await);
}

#[tokio::test]
async fn p3_connected_sockets_get_nodelay() {
    assert!(connected_nodelay(&[]).await, "TCP_NODELAY is off on a connection a p3 guest made");
}

#[tokio::test]
async fn p3_connected_sockets_keep_nagle_with_no_tcp_nodelay() {
    assert!(!connected_nodelay(&["--no-tcp-nodelay"]).await);
}

/// Round trips in [`p3_split_responses_do_not_stall`].
const ROUND_TRIPS: u32 = 250;

/// Their time bound: generous (loopback round trips take well under a millisecond each), yet
/// half of what Nagle would cost (~40 ms of delayed ACK per round trip: 10 s).
const BOUND: Duration = Duration::from_secs(5);

/// The guest writes each response in two parts (`serve-split`): under Nagle the second part
/// waits for the ACK of the first, which the client delays as it has nothing to send until
/// the whole response is in. (With `--no-tcp-nodelay` this takes ~40 ms per round trip.)
#[tokio::test]
async fn p3_split_responses_do_not_stall() {
    let mut server = Running::start("p3-tcp", &[], &["serve-split", "127.0.0.1", "0"]);
    let address = server.serving_address().await;
    let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
    client.set_nodelay(true).unwrap(); // only the host's end is under test
    let start = Instant::now();
    let exchange = async {
        let mut response = [0; 5];
        for _ in 0..ROUND_TRIPS {
            client.write_all(b"ping\n").await.unwrap();
            client.read_exact(&mut response).await.unwrap();
            assert_eq!(&response, b"ping\n");
        }
    };
    if tokio::time::timeout(BOUND, exchange).await.is_err() {
        panic!("{ROUND_TRIPS} round trips took over {BOUND:?}: Nagle stalls on the guest's socket?");
    }
    eprintln!("{ROUND_TRIPS} round trips in {:?}", start.elapsed());
}
