//! Bad input from clients never crashes the host or stops the server: a 10 MiB line
//! against a 64 KiB limit, clients that reset mid-write, 1,000 clients that connect and
//! vanish. After each, a well-behaved client is still served.

use std::time::Duration;

use crate::support::{peer, within, Running};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

async fn still_echoes(address: std::net::SocketAddr) {
    let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
    client.write_all(b"are you there?\n").await.unwrap();
    let mut echoed = [0u8; 15];
    within("echo", client.read_exact(&mut echoed)).await.unwrap();
    assert_eq!(&echoed, b"are you there?\n");
}

#[tokio::test]
async fn a_10_mib_line_against_the_64_kib_limit() {
    // The chat server reads lines (limit 64 KiB): the overlong line is refused and
    // discarded, the sender told, and the room keeps working.
    let mut server = Running::start("chat-server", &[], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    let (read, mut flooder) = TcpStream::connect(address).await.unwrap().into_split();
    let mut flooder_lines = BufReader::new(read).lines();
    within("welcome", flooder_lines.next_line()).await.unwrap();
    let (read, _listener_writer) = TcpStream::connect(address).await.unwrap().into_split();
    let mut listener = BufReader::new(read).lines();
    within("welcome", listener.next_line()).await.unwrap();
    within("join notice", flooder_lines.next_line()).await.unwrap();

    let mut line = vec![b'x'; 10 * 1024 * 1024];
    line.push(b'\n');
    within("send 10 MiB", flooder.write_all(&line)).await.unwrap();
    flooder.write_all(b"short line\n").await.unwrap();
    assert_eq!(
        within("refusal", flooder_lines.next_line()).await.unwrap().unwrap(),
        "(line too long, not sent)"
    );
    // Whatever segment boundaries did to the overlong line, the short one arrives whole.
    loop {
        let got = within("the short line", listener.next_line()).await.unwrap().unwrap();
        if got.ends_with(": short line") {
            break;
        }
        assert!(got.len() < 70 * 1024, "an overlong line was relayed");
    }
}

#[tokio::test]
async fn clients_that_reset_mid_write() {
    let mut server = Running::start("echo-server", &[], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    for _ in 0..20 {
        let mut client = TcpStream::connect(address).await.unwrap();
        client.write_all(&vec![b'y'; 256 * 1024]).await.unwrap();
        peer::reset(client);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    still_echoes(address).await;
    assert!(server.child.try_wait().unwrap().is_none(), "the host is still running");
}

#[tokio::test]
async fn a_thousand_clients_connect_and_vanish() {
    let mut server = Running::start("echo-server", &[], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    let vanishing = (0..1000).map(|i| {
        tokio::spawn(async move {
            if let Ok(client) = TcpStream::connect(address).await {
                if i % 2 == 0 {
                    peer::reset(client);
                } else {
                    drop(client);
                }
            }
        })
    });
    within("1000 clients", futures::future::join_all(vanishing)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    still_echoes(address).await;
    assert!(server.child.try_wait().unwrap().is_none(), "the host is still running");
}
