//! The examples users copy, run under the host against native peers over loopback.

use std::ffi::OsStr;

use crate::support::{peer, run_host, within, Running};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[tokio::test]
async fn http_headers_prints_each_response_header() {
    // A local HTTP server that answers HEAD with headers only, and records the request.
    let (listener, address) = peer::listener().await;
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 512];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "the client closed before finishing its request");
            request.extend_from_slice(&buf[..n]);
        }
        socket.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nX-Test: yes\r\n\r\n").await.unwrap();
        socket.shutdown().await.unwrap();
        String::from_utf8(request).unwrap()
    });
    let url = format!("http://127.0.0.1:{}/index.html", address.port());
    let component = crate::support::component("http-headers");
    let (code, stdout, stderr) = run_host(&[component.as_os_str(), OsStr::new("--"), OsStr::new(&url)]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "HTTP header> HTTP/1.0 200 OK\nHTTP header> Content-Type: text/html\nHTTP header> X-Test: yes\n"
    );
    let request = within("the request", server).await.unwrap();
    assert_eq!(request, "HEAD /index.html HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
}

struct ChatClient {
    lines: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl ChatClient {
    async fn join(address: std::net::SocketAddr) -> (ChatClient, String) {
        let (read, writer) = TcpStream::connect(address).await.unwrap().into_split();
        let mut client = ChatClient { lines: BufReader::new(read).lines(), writer };
        let welcome = client.line().await;
        let name = welcome
            .strip_prefix("Welcome! You are ")
            .and_then(|rest| rest.strip_suffix('.'))
            .unwrap_or_else(|| panic!("unexpected welcome: {welcome}"))
            .to_string();
        (client, name)
    }

    async fn line(&mut self) -> String {
        within("a chat line", self.lines.next_line()).await.unwrap().expect("server closed")
    }

    async fn say(&mut self, text: &str) {
        self.writer.write_all(format!("{text}\n").as_bytes()).await.unwrap();
    }
}

#[tokio::test]
async fn chat_server_broadcasts_to_everyone_else() {
    let mut server = Running::start("chat-server", &[], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    let (mut alice, alice_name) = ChatClient::join(address).await;
    let (mut bob, bob_name) = ChatClient::join(address).await;
    assert_eq!(alice.line().await, format!("{bob_name} joined"));
    let (mut carol, carol_name) = ChatClient::join(address).await;
    assert_eq!(alice.line().await, format!("{carol_name} joined"));
    assert_eq!(bob.line().await, format!("{carol_name} joined"));

    alice.say("hello all").await;
    assert_eq!(bob.line().await, format!("{alice_name}: hello all"));
    assert_eq!(carol.line().await, format!("{alice_name}: hello all"));

    drop(bob);
    assert_eq!(alice.line().await, format!("{bob_name} left"));
    assert_eq!(carol.line().await, format!("{bob_name} left"));
    carol.say("just us").await;
    assert_eq!(alice.line().await, format!("{carol_name}: just us"));
}
