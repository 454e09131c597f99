//! examples/echo-client under the host, against a native tokio echo server.

use crate::support::{run_host, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::test]
async fn sends_a_message_and_prints_the_echo() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0; 1024];
        let mut seen = Vec::new();
        loop {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            socket.write_all(&buf[..n]).await.unwrap();
        }
        seen
    });
    let component = crate::support::component("echo-client");
    let (code, stdout, stderr) = run_host(&[
        component.as_os_str(),
        "--".as_ref(),
        "127.0.0.1".as_ref(),
        port.as_ref(),
        "Hello World!".as_ref(),
    ])
    .await;
    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(stdout, "Send: \"Hello World!\"\nReceived: \"Hello World!\"\nClose the connection\n");
    let seen = within("the server sees EOF", server).await.unwrap();
    assert_eq!(seen, b"Hello World!");
}

#[tokio::test]
async fn reports_a_refused_connection() {
    // Bind then drop: nothing listens on this port any more.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port().to_string()
    };
    let component = crate::support::component("echo-client");
    let (code, _stdout, stderr) =
        run_host(&[component.as_os_str(), "--".as_ref(), "127.0.0.1".as_ref(), port.as_ref()]).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("connection refused"), "stderr: {stderr}");
}
