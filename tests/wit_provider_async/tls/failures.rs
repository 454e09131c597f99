//! The typed `tls` errors (unknown CA, host name, handshake timeout, a plaintext peer) and
//! asyncio's argument checks, with its words.

use super::*;

/// A plain TCP server that answers each connection with `answer` (nothing: silent) and
/// keeps it open for a while.
async fn plain_server(answer: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = socket.write_all(answer).await;
                tokio::time::sleep(std::time::Duration::from_secs(10)).await;
            });
        }
    });
    address
}

#[tokio::test]
async fn tls_failures_are_typed_tls_errors() {
    let pki = TestPki::new();
    let other = TestPki::new();
    let (tls_address, _outcomes) = native_echo_server(&pki).await;
    let silent = plain_server(b"").await;
    let talker = plain_server(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n").await;
    let mut p = provider().await;
    let (ca, other_ca) = (pki.ca_pem.clone(), other.ca_pem.clone());
    let [unknown_ca, mismatch, timeout, plaintext] = within(
        "the failure kinds",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let open = async |port: u16, options: ConnectOptions| -> wasmtime::Result<Result<(), Error>> {
                Ok(api.call_open_connection(acc, "127.0.0.1".into(), port, Some(options)).await?.map(drop))
            };
            let unknown_ca =
                open(tls_address.port(), connect_options(Some(client_config(&other_ca)), Some("localhost")))
                    .await?;
            let mismatch =
                open(tls_address.port(), connect_options(Some(client_config(&ca)), Some("wrong.example")))
                    .await?;
            let quick = ConnectOptions {
                ssl_handshake_timeout_ms: Some(300),
                ..connect_options(Some(client_config(&ca)), Some("localhost"))
            };
            let timeout = open(silent.port(), quick).await?;
            let plaintext =
                open(talker.port(), connect_options(Some(client_config(&ca)), Some("localhost"))).await?;
            Ok([unknown_ca, mismatch, timeout, plaintext])
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_tls_error(unknown_ca, TlsErrorKind::CertificateVerifyFailed, "certificate verify failed");
    assert_tls_error(mismatch, TlsErrorKind::HostnameMismatch, "Hostname mismatch");
    assert_tls_error(
        timeout,
        TlsErrorKind::HandshakeTimeout,
        "SSL handshake is taking longer than 0.3 seconds",
    );
    assert_tls_error(plaintext, TlsErrorKind::Protocol, "");
}

/// asyncio's argument checks, with its words.
#[tokio::test]
async fn tls_arguments_are_checked_as_asyncio_does() {
    let pki = TestPki::new();
    let silent = plain_server(b"").await;
    let mut p = provider().await;
    let ca = pki.ca_pem.clone();
    let server = server_config(&pki);
    let results = within(
        "argument checks",
        p.run(async move |acc, api| -> wasmtime::Result<Vec<Result<(), Error>>> {
            let mut results = Vec::new();
            let zero = ConnectOptions {
                ssl_shutdown_timeout_ms: Some(0),
                ..connect_options(Some(client_config(&ca)), Some("localhost"))
            };
            results.push(
                api.call_open_connection(acc, "127.0.0.1".into(), silent.port(), Some(zero)).await?.map(drop),
            );
            let no_host = connect_options(Some(client_config(&ca)), None);
            results.push(
                api.call_open_connection(acc, "".into(), silent.port(), Some(no_host)).await?.map(drop),
            );
            let zero_server =
                ServerOptions { ssl_handshake_timeout_ms: Some(0), ..server_options(Some(server.clone())) };
            results
                .push(api.call_start_server(acc, "127.0.0.1".into(), 0, Some(zero_server)).await?.map(drop));
            let (_reader, writer) =
                ok(api.call_open_connection(acc, "127.0.0.1".into(), silent.port(), None).await?)?;
            let writers = api.writer();
            let client = || TlsUpgrade::Client(client_config(&ca));
            results.push(writers.call_start_tls(acc, writer, client(), None, None, None).await?);
            let as_server = TlsUpgrade::Server(server.clone());
            results.push(
                writers.call_start_tls(acc, writer, as_server, Some("localhost".into()), None, None).await?,
            );
            results.push(
                writers
                    .call_start_tls(acc, writer, client(), Some("localhost".into()), Some(0), None)
                    .await?,
            );
            // A reader that became a stream keeps its bytes from the handshake.
            let (reader, writer) =
                ok(api.call_open_connection(acc, "127.0.0.1".into(), silent.port(), None).await?)?;
            let _stream = ok(api.reader().call_into_stream(acc, reader).await?)?;
            results.push(
                writers.call_start_tls(acc, writer, client(), Some("localhost".into()), None, None).await?,
            );
            Ok(results)
        }),
    )
    .await
    .unwrap()
    .unwrap();
    let expected = [
        "ssl_shutdown_timeout should be a positive number, got 0",
        "You must set server_hostname when using ssl without a host",
        "ssl_handshake_timeout should be a positive number, got 0",
        "check_hostname requires server_hostname",
        "Server side SSL needs no server_hostname",
        "ssl_handshake_timeout should be a positive number, got 0",
        "start_tls after reader.into-stream: the reader's bytes go to its stream",
    ];
    assert_eq!(results.len(), expected.len());
    for (result, message) in results.into_iter().zip(expected) {
        assert_invalid(result, message);
    }
}
