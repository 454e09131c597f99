//! Our server (`server-options.ssl`) against native tokio-rustls clients.

use super::*;
use crate::support::provider::{serving, until_ready, until_true, Source};
use host::provider::{ServerOptions, TlsServerConfig};

fn tls_server_options(pki: &TestPki) -> Option<ServerOptions> {
    let mut ssl = TlsServerConfig::from_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes());
    ssl.alpn_protocols = vec!["http/1.1".into()];
    Some(ServerOptions { ssl: Some(ssl), ..ServerOptions::default() })
}

#[tokio::test]
async fn test_server_to_tokio_rustls_clients_try_and_blocking() {
    let pki = Arc::new(TestPki::new());
    let (mut p, server, address) = serving(tls_server_options(&pki)).await;

    // try-accept, try-readline, try-drain: the handshake goes on between the calls.
    let client = tokio::spawn(send_and_read_back(Arc::clone(&pki), address, "polled\n"));
    let (accepted, _) =
        until_ready(&mut p, Source::Server(&server), async |p: &mut Provider| p.try_accept(&server).await)
            .await;
    let (r, w) = accepted.expect("try-accept");
    let (line, _) =
        until_ready(&mut p, Source::Reader(&r), async |p: &mut Provider| p.try_readline(&r).await).await;
    assert_eq!(line.unwrap(), b"polled\n");
    let info = p.tls_info(&w).await.unwrap().expect("tls-info on an accepted TLS connection");
    assert_eq!(info.version, "TLSv1.3");
    assert_eq!(info.alpn_protocol.as_deref(), Some("http/1.1"));
    assert_eq!(info.peer_certificate, None, "no client certificate is asked for");
    p.write(&w, b"polled back\n").await.unwrap().unwrap();
    let (drained, _) =
        until_true(&mut p, Source::Writer(&w), async |p: &mut Provider| p.try_drain(&w).await).await;
    drained.unwrap();
    p.close(&w).await.unwrap();
    let (closed, _) =
        until_true(&mut p, Source::Writer(&w), async |p: &mut Provider| p.try_wait_closed(&w).await).await;
    closed.unwrap();
    let (back, clean) = within("the first client", client).await.unwrap();
    assert_eq!(back, "polled back\n");
    assert!(clean, "close sent close_notify");
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();

    // Blocking accept, readline, drain.
    let client = tokio::spawn(send_and_read_back(Arc::clone(&pki), address, "blocking\n"));
    let (r, w) = within("accept", p.accept(&server)).await.unwrap().expect("accept");
    assert_eq!(within("readline", p.readline(&r)).await.unwrap().unwrap(), b"blocking\n");
    p.write(&w, b"blocking back\n").await.unwrap().unwrap();
    within("drain", p.drain(&w)).await.unwrap().unwrap();
    p.close(&w).await.unwrap();
    within("wait-closed", p.wait_closed(&w)).await.unwrap().unwrap();
    assert_eq!(within("the second client", client).await.unwrap(), ("blocking back\n".into(), true));
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
    p.drop_server(server).await.unwrap();
}

#[tokio::test]
async fn test_server_never_returns_a_client_whose_handshake_failed() {
    // asyncio's server drops a client whose handshake fails; the next one is served.
    let pki = Arc::new(TestPki::new());
    let (mut p, server, address) = serving(tls_server_options(&pki)).await;
    // The handshakes go on during calls into the provider: the plaintext client's fails
    // while `accept` waits for the TLS client.
    let mut plaintext = TcpStream::connect(address).await.unwrap();
    plaintext.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    let client = tokio::spawn(send_and_read_back(Arc::clone(&pki), address, "after\n"));
    let (r, w) = within("accept", p.accept(&server)).await.unwrap().expect("accept");
    assert_eq!(within("readline", p.readline(&r)).await.unwrap().unwrap(), b"after\n");
    p.write(&w, b"served\n").await.unwrap().unwrap();
    p.close(&w).await.unwrap();
    within("wait-closed", p.wait_closed(&w)).await.unwrap().unwrap();
    assert_eq!(within("the TLS client", client).await.unwrap().0, "served\n");
    assert!(p.try_accept(&server).await.unwrap().unwrap().is_none(), "the plaintext client was never queued");
    // It was closed (after a TLS alert, or at once).
    let mut answer = Vec::new();
    let _ = within("the plaintext client is closed", plaintext.read_to_end(&mut answer)).await;
    assert!(!answer.starts_with(b"HTTP"), "no plaintext answer");
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
    p.drop_server(server).await.unwrap();
}
