//! Our TLS client (`connect-options.ssl`) against a tokio-rustls server: a megabyte each
//! way with the session's details, and twenty connections from one consumer at once.

use super::*;

#[tokio::test]
async fn our_client_echoes_a_megabyte_each_way_with_a_tokio_rustls_server_and_tells_the_session() {
    let pki = TestPki::new();
    let (address, mut outcomes) = native_echo_server(&pki).await;
    let mut p = provider().await;
    let (ca, cert) = (pki.ca_pem.clone(), pki.cert_pem.clone());
    let (echoed, info, eof, can_eof) = within(
        "1 MiB each way over TLS",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let options = connect_options(Some(client_config(&ca)), Some("localhost"));
            let (reader, writer) =
                ok(api.call_open_connection(acc, "127.0.0.1".into(), address.port(), Some(options)).await?)?;
            let (readers, writers) = (api.reader(), api.writer());
            let data = pattern(MIB, 1);
            let sending = async {
                for chunk in data.chunks(CHUNK) {
                    ok(writers.call_write(acc, writer, chunk.to_vec()).await?)?;
                    ok(writers.call_drain(acc, writer).await?)?;
                }
                wasmtime::Result::<()>::Ok(())
            };
            let receiving = async {
                let mut echoed = Vec::with_capacity(MIB);
                while echoed.len() < MIB {
                    let n = CHUNK.min(MIB - echoed.len()) as u64;
                    echoed.extend(ok(readers.call_readexactly(acc, reader, n).await?)?);
                }
                wasmtime::Result::<Vec<u8>>::Ok(echoed)
            };
            let (sent, echoed) = futures::join!(sending, receiving);
            sent?;
            let info = writers.call_tls_info(acc, writer).await?;
            let eof = writers.call_write_eof(acc, writer).await?;
            let can_eof = writers.call_can_write_eof(acc, writer).await?;
            writers.call_close(acc, writer).await?;
            ok(writers.call_wait_closed(acc, writer).await?)?;
            Ok((echoed?, info, eof, can_eof))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(echoed == pattern(MIB, 1), "the echoed megabyte differs");
    let info = info.expect("tls-info after the handshake");
    assert_eq!(info.version, "TLSv1.3");
    assert!(info.cipher.contains("CHACHA20"), "{}", info.cipher);
    assert_eq!(info.peer_certificate, Some(der(&cert)));
    assert_eq!(info.alpn_protocol.as_deref(), Some("h2"));
    assert!(matches!(&eof, Err(Error::NotImplemented(m)) if m.contains("TLS")), "write-eof: {eof:?}");
    assert!(!can_eof);
    let outcome = within("the native server's end", outcomes.recv()).await.unwrap();
    assert_eq!(outcome, Ok(MIB as u64), "the server saw a clean close_notify after every byte");
}

#[tokio::test]
async fn twenty_tls_connections_from_one_consumer_all_progress() {
    const CONNECTIONS: usize = 20;
    let pki = TestPki::new();
    let (address, _outcomes) = native_echo_server(&pki).await;
    let mut p = provider().await;
    let ca = pki.ca_pem.clone();
    let replies = within(
        "20 concurrent TLS connections",
        p.run(async move |acc, api| -> wasmtime::Result<Vec<(usize, Vec<u8>)>> {
            let ca = &ca;
            let calls = (0..CONNECTIONS).map(|id| async move {
                let options = connect_options(Some(client_config(ca)), Some("localhost"));
                let (reader, writer) = ok(api
                    .call_open_connection(acc, "127.0.0.1".into(), address.port(), Some(options))
                    .await?)?;
                let line = format!("hello {id} {}\n", "x".repeat(id * 100)).into_bytes();
                ok(api.writer().call_write(acc, writer, line).await?)?;
                ok(api.writer().call_drain(acc, writer).await?)?;
                let back = ok(api.reader().call_readline(acc, reader).await?)?;
                api.writer().call_close(acc, writer).await?;
                wasmtime::Result::<_>::Ok((id, back))
            });
            futures::future::try_join_all(calls).await
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(replies.len(), CONNECTIONS);
    for (id, back) in replies {
        assert_eq!(back, format!("hello {id} {}\n", "x".repeat(id * 100)).into_bytes(), "connection {id}");
    }
}
