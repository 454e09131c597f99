//! Native peers for the stream tests: a listener on a free loopback port, an HTTP/1.0
//! test server like CPython's `run_test_server`, and a reset (RST) helper.

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::within;

/// A listener on 127.0.0.1 with a free port.
pub async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    (listener, address)
}

pub async fn accept(listener: &TcpListener) -> TcpStream {
    within("accept the component's connection", listener.accept()).await.unwrap().0
}

/// The response of CPython's threaded WSGI test server.
pub const HTTP_RESPONSE: &[u8] =
    b"HTTP/1.0 200 OK\r\nContent-type: text/plain\r\nContent-Length: 12\r\n\r\nTest message";

/// Serves HTTP/1.0 GET requests on a free port: reads to the blank line, answers
/// [`HTTP_RESPONSE`], closes. Returns the address.
pub async fn http_test_server() -> SocketAddr {
    let (listener, address) = listener().await;
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = socket.write_all(HTTP_RESPONSE).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    address
}

/// Closes `socket` with a reset (SO_LINGER 0) instead of a FIN.
pub fn reset(socket: TcpStream) {
    let socket = socket.into_std().unwrap();
    socket2::SockRef::from(&socket).set_linger(Some(std::time::Duration::ZERO)).unwrap();
    drop(socket);
}

/// Reads until `n` bytes arrived (or EOF), with the usual time bound.
pub async fn read_n(socket: &mut (impl AsyncRead + Unpin), n: usize) -> Vec<u8> {
    let mut data = vec![0; n];
    within("read from the component", socket.read_exact(&mut data)).await.unwrap();
    data
}

/// Reads to EOF, with the usual time bound. Over TLS, a FIN without close_notify (an
/// abort) ends it too.
pub async fn read_to_end(socket: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut data = Vec::new();
    match within("read to EOF", socket.read_to_end(&mut data)).await {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(error) => panic!("reading to EOF: {error}"),
    }
    data
}

/// Against an echo server: sends a megabyte (more than a writer's high-water mark, so the
/// echo goes through drain), half-closes, and reads the whole echo, then EOF.
pub async fn half_closed_megabyte(address: SocketAddr) -> Result<(), String> {
    let client = within("connect", TcpStream::connect(address)).await.unwrap();
    let (mut read_half, mut write_half) = client.into_split();
    let payload: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let sent = payload.clone();
    let writer = tokio::spawn(async move {
        write_half.write_all(&sent).await.unwrap();
        write_half.shutdown().await.unwrap();
    });
    let mut echoed = Vec::new();
    within("read the echo to EOF", read_half.read_to_end(&mut echoed)).await.unwrap();
    within("send everything", writer).await.map_err(|error| format!("the sending task: {error}"))?;
    if echoed.len() != payload.len() || echoed != payload {
        return Err(format!(
            "the echo differs from what was sent ({} of {} bytes)",
            echoed.len(),
            payload.len()
        ));
    }
    Ok(())
}
