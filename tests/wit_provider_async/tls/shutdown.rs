//! The shutdown: a peer that never answers close_notify ends at `ssl-shutdown-timeout-ms`.

use super::*;

/// A peer that never answers our close_notify: the connection is dropped at
/// `ssl-shutdown-timeout-ms` with `timeout` (asyncio's "SSL shutdown timed out").
#[tokio::test]
async fn a_peer_that_never_answers_close_notify_ends_at_the_shutdown_timeout() {
    let pki = TestPki::new();
    let acceptor = TlsAcceptor::from(TestPki::server_config(&pki.cert_pem, &pki.key_pem));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let _holder = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(socket).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(30)).await; // reads nothing
        drop(tls);
    });
    let mut p = provider().await;
    let ca = pki.ca_pem.clone();
    let (closed, elapsed) = within(
        "close with a 500 ms shutdown timeout",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let options = ConnectOptions {
                ssl_shutdown_timeout_ms: Some(500),
                ..connect_options(Some(client_config(&ca)), Some("localhost"))
            };
            let (_reader, writer) =
                ok(api.call_open_connection(acc, "127.0.0.1".into(), address.port(), Some(options)).await?)?;
            let started = std::time::Instant::now();
            api.writer().call_close(acc, writer).await?;
            let closed = api.writer().call_wait_closed(acc, writer).await?;
            Ok((closed, started.elapsed()))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(matches!(closed, Err(Error::Timeout)), "{closed:?}");
    assert!(elapsed >= std::time::Duration::from_millis(450), "ended after {elapsed:?}, before the timeout");
}
