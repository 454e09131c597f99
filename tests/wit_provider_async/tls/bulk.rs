//! `into-stream` over TLS: the plaintext forwarded, every byte checked.

use super::*;

/// `into-stream` over TLS carries the plaintext: what the reader held first, then the
/// rest decrypted on the way, forwarded here with `write-stream` to a plain peer.
#[tokio::test]
async fn into_stream_over_tls_forwards_the_plaintext_with_every_byte_checked() {
    use super::super::host_streams::{check_pattern, forward_and_close, pattern as stream_pattern};
    const TOTAL: usize = 2 * MIB;
    const READ_FIRST: u64 = 1000;
    let pki = TestPki::new();
    let acceptor = TlsAcceptor::from(TestPki::server_config(&pki.cert_pem, &pki.key_pem));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let source = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(socket).await.unwrap();
        for at in (0..TOTAL).step_by(100_003) {
            let len = 100_003.min(TOTAL - at);
            tls.write_all(&stream_pattern(at as u64, len)).await.unwrap();
        }
        tls.shutdown().await.unwrap(); // close_notify: the stream's end
        tls
    });
    let (sink_listener, sink_address) = crate::support::peer::listener().await;
    let sink = tokio::spawn(async move {
        let mut socket = crate::support::peer::accept(&sink_listener).await;
        crate::support::peer::read_to_end(&mut socket).await
    });
    let mut p = provider().await;
    let ca = pki.ca_pem.clone();
    let (first, taken, ended) = within(
        "2 MiB of TLS plaintext through into-stream",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let options = connect_options(Some(client_config(&ca)), Some("localhost"));
            let (reader, _tls_writer) =
                ok(api.call_open_connection(acc, "127.0.0.1".into(), address.port(), Some(options)).await?)?;
            let (_, writer) =
                ok(api.call_open_connection(acc, "127.0.0.1".into(), sink_address.port(), None).await?)?;
            let first = ok(api.reader().call_readexactly(acc, reader, READ_FIRST).await?)?;
            let bulk = ok(api.reader().call_into_stream(acc, reader).await?)?;
            let (taken, ended) = forward_and_close(acc, api, bulk, writer).await?;
            Ok((first, taken, ended))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    check_pattern(0, &first).unwrap();
    assert_eq!(taken, TOTAL as u64 - READ_FIRST, "write-stream's count");
    assert!(ended.is_ok(), "the bulk read ends well at the peer's close_notify: {ended:?}");
    let data = within("the forwarded bytes", sink).await.unwrap();
    assert_eq!(data.len(), TOTAL - READ_FIRST as usize);
    check_pattern(READ_FIRST, &data).unwrap();
    drop(within("the TLS source", source).await.unwrap());
}
