//! Our client (`connect-options.ssl`) against a native tokio-rustls server.

use super::*;
use crate::support::provider::{provider, until_ready, until_true, Source};

#[tokio::test]
async fn test_client_to_a_tokio_rustls_server_blocking_and_try() {
    let pki = TestPki::new();
    let (address, mut outcomes) = native_tls_server(server_config(&pki, &["http/1.1"]), echo_lines).await;
    let mut p = provider().await;
    let mut ssl = TlsClientConfig::with_ca_pem(pki.ca_pem.as_bytes());
    ssl.alpn_protocols = vec!["h2".into(), "http/1.1".into()];
    let (r, w) = open(&mut p, address, tls_options(ssl, "localhost")).await.expect("TLS open-connection");

    // Blocking forms.
    p.write(&w, b"blocking\n").await.unwrap().unwrap();
    within("drain", p.drain(&w)).await.unwrap().unwrap();
    assert_eq!(within("readline", p.readline(&r)).await.unwrap().unwrap(), b"blocking\n");
    p.writelines(&w, &[b"ab".to_vec(), b"cd|\n".to_vec()]).await.unwrap().unwrap();
    assert_eq!(within("readuntil", p.readuntil(&r, b"|")).await.unwrap().unwrap(), b"abcd|");
    assert_eq!(within("readexactly", p.readexactly(&r, 1)).await.unwrap().unwrap(), b"\n");

    // try-* forms with subscribe and poll, over a megabyte each way (many TLS records).
    let line = [vec![b'x'; (1 << 20) - 1], b"\n".to_vec()].concat();
    p.write(&w, &line).await.unwrap().unwrap();
    let (drained, _) =
        until_true(&mut p, Source::Writer(&w), async |p: &mut Provider| p.try_drain(&w).await).await;
    drained.unwrap();
    let (got, polls) = until_ready(&mut p, Source::Reader(&r), async |p: &mut Provider| {
        p.try_readexactly(&r, line.len() as u64).await
    })
    .await;
    assert_eq!(got.unwrap(), line, "the megabyte came back whole");
    assert!(polls > 0, "the try form waited on the pollable");

    // The session's details.
    let info = p.tls_info(&w).await.unwrap().expect("tls-info on a TLS connection");
    assert_eq!(info.version, "TLSv1.3");
    assert!(info.cipher.starts_with("TLS13_"), "{}", info.cipher);
    assert_eq!(info.alpn_protocol.as_deref(), Some("http/1.1"));
    assert_eq!(info.peer_certificate, Some(der(&pki.cert_pem)), "the server's leaf, DER");

    // No half-close over TLS (asyncio: can_write_eof False, write_eof NotImplementedError).
    assert!(!p.can_write_eof(&w).await.unwrap());
    let eof = p.write_eof(&w).await.unwrap();
    assert!(matches!(eof, Err(Error::NotImplemented(_))), "{eof:?}");

    // close sends close_notify: the native server sees a clean end and answers with its own.
    p.close(&w).await.unwrap();
    within("wait-closed", p.wait_closed(&w)).await.unwrap().unwrap();
    let outcome = within("the native server's end", outcomes.recv()).await.unwrap();
    assert_eq!(outcome, Ok(3), "lines echoed, then a clean close_notify");
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}

#[tokio::test]
async fn test_client_reads_to_eof_after_the_server_closes_with_close_notify() {
    // The server's close_notify is EOF for the reader in both forms.
    let pki = TestPki::new();
    let (address, _outcomes) = native_tls_server(server_config(&pki, &[]), async |mut tls: ServerTls| {
        tls.write_all(b"bye\n").await.map_err(|e| e.to_string())?;
        tls.shutdown().await.map_err(|e| e.to_string())
    })
    .await;
    let mut p = provider().await;
    let ssl = TlsClientConfig::with_ca_pem(pki.ca_pem.as_bytes());
    let (r, w) = open(&mut p, address, tls_options(ssl.clone(), "localhost")).await.unwrap();
    assert_eq!(within("read to EOF", p.read(&r, -1)).await.unwrap().unwrap(), b"bye\n");
    assert!(p.at_eof(&r).await.unwrap());
    assert_eq!(p.tls_info(&w).await.unwrap().unwrap().alpn_protocol, None);
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();

    let (r, w) = open(&mut p, address, tls_options(ssl, "localhost")).await.unwrap();
    let (got, _) =
        until_ready(&mut p, Source::Reader(&r), async |p: &mut Provider| p.try_readline(&r).await).await;
    assert_eq!(got.unwrap(), b"bye\n");
    let (end, _) =
        until_ready(&mut p, Source::Reader(&r), async |p: &mut Provider| p.try_read(&r, 100).await).await;
    assert_eq!(end.unwrap(), b"", "EOF after close_notify");
    p.drop_writer(w).await.unwrap();
    p.drop_reader(r).await.unwrap();
}
