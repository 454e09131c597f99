//! TLS through the 0.2.0 provider (`connect-options.ssl`, `server-options.ssl`,
//! `writer.start-tls`, `writer.tls-info`, the `tls` error) against native tokio-rustls
//! peers over real loopback, certificates made at test time (`support::certs`). The
//! 0.1.0 equivalents are in `tests/wit_tls/`.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use host::provider_async::bindings::exports::wasio::streams::types::{
    TlsClientConfig, TlsError, TlsErrorKind, TlsServerConfig, TlsUpgrade,
};
use host::provider_async::bindings::wasi::sockets::types::IpSocketAddress;
use host::provider_async::{ConnectOptions, Error, ServerOptions};

use super::{ok, provider};
use crate::support::certs::{localhost, TestPki};
use crate::support::within;

const MIB: usize = 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// Bytes whose every position is checkable.
fn pattern(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + seed * 13 + i / 251) % 256) as u8).collect()
}

fn client_config(ca_pem: &str) -> TlsClientConfig {
    TlsClientConfig {
        ca_certificates: Some(ca_pem.as_bytes().to_vec()),
        verify: None,
        check_hostname: None,
        alpn_protocols: vec!["h2".into(), "http/1.1".into()],
        minimum_version: None,
    }
}

fn server_config(pki: &TestPki) -> TlsServerConfig {
    TlsServerConfig {
        certificate_chain: pki.cert_pem.as_bytes().to_vec(),
        private_key: pki.key_pem.as_bytes().to_vec(),
        alpn_protocols: vec!["http/1.1".into()],
        minimum_version: None,
    }
}

fn connect_options(ssl: Option<TlsClientConfig>, server_hostname: Option<&str>) -> ConnectOptions {
    ConnectOptions {
        limit: None,
        local_address: None,
        happy_eyeballs_delay_ms: None,
        timeout_ms: None,
        ssl,
        server_hostname: server_hostname.map(str::to_string),
        ssl_handshake_timeout_ms: None,
        ssl_shutdown_timeout_ms: None,
    }
}

fn server_options(ssl: Option<TlsServerConfig>) -> ServerOptions {
    ServerOptions {
        limit: None,
        backlog: None,
        start_serving: None,
        ssl,
        ssl_handshake_timeout_ms: None,
        ssl_shutdown_timeout_ms: None,
    }
}

fn port_of(sockets: &[IpSocketAddress]) -> u16 {
    match sockets.first() {
        Some(IpSocketAddress::Ipv4(a)) => a.port,
        other => panic!("expected a 127.0.0.1 socket, got {other:?}"),
    }
}

fn der(pem: &str) -> Vec<u8> {
    CertificateDer::pem_slice_iter(pem.as_bytes()).next().unwrap().unwrap().to_vec()
}

#[track_caller]
fn assert_tls_error<T: std::fmt::Debug>(result: Result<T, Error>, kind: TlsErrorKind, words: &str) {
    match result {
        Err(Error::Tls(TlsError { kind: k, message })) if k == kind && message.contains(words) => {}
        other => panic!("expected tls({kind:?}) containing {words:?}, got {other:?}"),
    }
}

#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Error>, message: &str) {
    match result {
        Err(Error::InvalidArgument(m)) if m == message => {}
        other => panic!("expected invalid-argument {message:?}, got {other:?}"),
    }
}

/// A tokio-rustls server that echoes every byte of each connection until the client's
/// close_notify, then closes with its own; each connection's outcome (bytes echoed, or
/// the error) on the receiver.
async fn native_echo_server(
    pki: &TestPki,
) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<Result<u64, String>>) {
    let mut config = Arc::unwrap_or_clone(TestPki::server_config(&pki.cert_pem, &pki.key_pem));
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (sender, outcomes) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let (acceptor, sender) = (acceptor.clone(), sender.clone());
            tokio::spawn(async move {
                let outcome = async {
                    let tls = acceptor.accept(socket).await.map_err(|e| format!("handshake: {e}"))?;
                    let (mut from, mut to) = tokio::io::split(tls);
                    let echoed =
                        tokio::io::copy(&mut from, &mut to).await.map_err(|e| format!("echo: {e}"))?;
                    to.shutdown().await.map_err(|e| format!("shutdown: {e}"))?;
                    Ok(echoed)
                }
                .await;
                let _ = sender.send(outcome);
            });
        }
    });
    (address, outcomes)
}

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

/// A tokio-rustls client of our server: sends `data` while reading as many bytes back,
/// then closes with close_notify. The bytes read.
async fn native_client_echo(
    pki: Arc<TestPki>,
    address: SocketAddr,
    data: Vec<u8>,
) -> Result<Vec<u8>, String> {
    let socket = TcpStream::connect(address).await.map_err(|e| e.to_string())?;
    let tls = TlsConnector::from(pki.client_config())
        .connect(localhost(), socket)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (mut from, mut to) = tokio::io::split(tls);
    let len = data.len();
    let writing = async move {
        to.write_all(&data).await?;
        to.flush().await?;
        std::io::Result::Ok(to)
    };
    let reading = async move {
        let mut back = vec![0; len];
        from.read_exact(&mut back).await?;
        std::io::Result::Ok((from, back))
    };
    let (to, read) = tokio::join!(writing, reading);
    let (mut to, (from, back)) = (to.map_err(|e| e.to_string())?, read.map_err(|e| e.to_string())?);
    to.shutdown().await.map_err(|e| e.to_string())?;
    drop(from.unsplit(to));
    Ok(back)
}

#[tokio::test]
async fn our_server_echoes_a_megabyte_each_way_to_tokio_rustls_clients_at_once() {
    const CLIENTS: usize = 4;
    let pki = Arc::new(TestPki::new());
    let mut p = provider().await;
    let config = server_config(&pki);
    let (server, port) = p
        .run(async move |acc, api| -> wasmtime::Result<_> {
            let server = ok(api
                .call_start_server(acc, "127.0.0.1".into(), 0, Some(server_options(Some(config))))
                .await?)?;
            Ok((server, port_of(&api.server().call_sockets(acc, server).await?)))
        })
        .await
        .unwrap()
        .unwrap();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    // A plaintext client first: its handshake fails, and the server goes on serving.
    let plaintext = tokio::spawn(async move {
        let mut socket = TcpStream::connect(address).await.unwrap();
        socket.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
        crate::support::peer::read_to_end(&mut socket).await
    });
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| tokio::spawn(native_client_echo(pki.clone(), address, pattern(MIB, id))))
        .collect();
    let infos = within(
        "our TLS server echoing 4 x 1 MiB",
        p.run(async move |acc, api| -> wasmtime::Result<Vec<Option<String>>> {
            let serve = (0..CLIENTS).map(|_| async move {
                let (reader, writer) = ok(api.server().call_accept(acc, server).await?)?;
                let info = api.writer().call_tls_info(acc, writer).await?;
                loop {
                    let data = ok(api.reader().call_read(acc, reader, CHUNK as i64).await?)?;
                    if data.is_empty() {
                        break;
                    }
                    ok(api.writer().call_write(acc, writer, data).await?)?;
                    ok(api.writer().call_drain(acc, writer).await?)?;
                }
                api.writer().call_close(acc, writer).await?;
                ok(api.writer().call_wait_closed(acc, writer).await?)?;
                wasmtime::Result::<_>::Ok(info.map(|info| info.version))
            });
            futures::future::try_join_all(serve).await
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(infos.iter().all(|version| version.as_deref() == Some("TLSv1.3")), "{infos:?}");
    for (id, client) in clients.into_iter().enumerate() {
        let back = within("a native client", client).await.unwrap().unwrap();
        assert!(back == pattern(MIB, id), "client {id}'s echo differs");
    }
    let answer = within("the plaintext client", plaintext).await.unwrap();
    assert!(!answer.starts_with(b"GET"), "a plaintext client gets no plaintext back");
}

#[tokio::test]
async fn start_tls_upgrades_our_client_after_plaintext_lines() {
    let pki = TestPki::new();
    let acceptor = TlsAcceptor::from(TestPki::server_config(&pki.cert_pem, &pki.key_pem));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let native = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let mut socket = BufReader::new(socket);
        let mut line = String::new();
        socket.read_line(&mut line).await.unwrap();
        assert_eq!(line, "STARTTLS\n");
        socket.get_mut().write_all(b"OK\n").await.unwrap();
        let tls = acceptor.accept(socket.into_inner()).await.map_err(|e| e.to_string())?;
        let mut tls = BufReader::new(tls);
        let mut secret = String::new();
        tls.read_line(&mut secret).await.map_err(|e| e.to_string())?;
        tls.get_mut().write_all(secret.to_uppercase().as_bytes()).await.map_err(|e| e.to_string())?;
        tls.get_mut().shutdown().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(secret)
    });
    let mut p = provider().await;
    let ca = pki.ca_pem.clone();
    let (before, after, reply, twice) = within(
        "start-tls as the client",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let (reader, writer) =
                ok(api.call_open_connection(acc, "127.0.0.1".into(), address.port(), None).await?)?;
            let (readers, writers) = (api.reader(), api.writer());
            let before = writers.call_tls_info(acc, writer).await?;
            ok(writers.call_write(acc, writer, b"STARTTLS\n".to_vec()).await?)?;
            assert_eq!(ok(readers.call_readline(acc, reader).await?)?, b"OK\n");
            let upgrade = TlsUpgrade::Client(client_config(&ca));
            ok(writers
                .call_start_tls(acc, writer, upgrade, Some("localhost".into()), None, Some(2000))
                .await?)?;
            let after = writers.call_tls_info(acc, writer).await?;
            ok(writers.call_write(acc, writer, b"secret\n".to_vec()).await?)?;
            let reply = ok(readers.call_readline(acc, reader).await?)?;
            let again = TlsUpgrade::Client(client_config(&ca));
            let twice =
                writers.call_start_tls(acc, writer, again, Some("localhost".into()), None, None).await?;
            writers.call_close(acc, writer).await?;
            ok(writers.call_wait_closed(acc, writer).await?)?;
            Ok((before, after, reply, twice))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(before.is_none());
    assert_eq!(after.map(|info| info.version).as_deref(), Some("TLSv1.3"));
    assert_eq!(reply, b"SECRET\n");
    assert_invalid(twice, "the connection already uses TLS");
    assert_eq!(within("the native server", native).await.unwrap(), Ok("secret\n".to_string()));
}

#[tokio::test]
async fn start_tls_on_an_accepted_connection_takes_the_hello_already_buffered() {
    let pki = Arc::new(TestPki::new());
    let mut p = provider().await;
    let (server, port) = p
        .run(async move |acc, api| -> wasmtime::Result<_> {
            let server = ok(api.call_start_server(acc, "127.0.0.1".into(), 0, None).await?)?;
            Ok((server, port_of(&api.server().call_sockets(acc, server).await?)))
        })
        .await
        .unwrap()
        .unwrap();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let client_pki = pki.clone();
    // The client's hello follows its plaintext line at once, with no answer awaited: it
    // may already sit in our reader's buffer when start-tls is called.
    let native = tokio::spawn(async move {
        let mut socket = TcpStream::connect(address).await.unwrap();
        socket.write_all(b"STARTTLS\n").await.unwrap();
        let tls = TlsConnector::from(client_pki.client_config())
            .connect(localhost(), socket)
            .await
            .map_err(|e| e.to_string())?;
        let mut tls = BufReader::new(tls);
        tls.get_mut().write_all(b"over tls\n").await.map_err(|e| e.to_string())?;
        let mut reply = String::new();
        tls.read_line(&mut reply).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(reply)
    });
    let config = server_config(&pki);
    let line = within(
        "start-tls as the server",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let (reader, writer) = ok(api.server().call_accept(acc, server).await?)?;
            let (readers, writers) = (api.reader(), api.writer());
            assert_eq!(ok(readers.call_readline(acc, reader).await?)?, b"STARTTLS\n");
            let upgrade = TlsUpgrade::Server(config);
            ok(writers.call_start_tls(acc, writer, upgrade, None, None, None).await?)?;
            let line = ok(readers.call_readline(acc, reader).await?)?;
            ok(writers.call_write(acc, writer, b"hello over tls\n".to_vec()).await?)?;
            ok(writers.call_drain(acc, writer).await?)?;
            writers.call_close(acc, writer).await?;
            // The store runs the connection's tasks only inside `run`: stay until closed.
            ok(writers.call_wait_closed(acc, writer).await?)?;
            Ok(line)
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(line, b"over tls\n");
    assert_eq!(within("the native client", native).await.unwrap(), Ok("hello over tls\n".to_string()));
}

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

/// A client that connects and never sends its hello holds up no other client's accept
/// (its handshake would time out only after asyncio's 60 s).
#[tokio::test]
async fn a_client_that_stalls_its_handshake_holds_up_no_other() {
    let pki = Arc::new(TestPki::new());
    let mut p = provider().await;
    let config = server_config(&pki);
    let (server, port) = p
        .run(async move |acc, api| -> wasmtime::Result<_> {
            let server = ok(api
                .call_start_server(acc, "127.0.0.1".into(), 0, Some(server_options(Some(config))))
                .await?)?;
            Ok((server, port_of(&api.server().call_sockets(acc, server).await?)))
        })
        .await
        .unwrap()
        .unwrap();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let silent = within("the silent client's connect", TcpStream::connect(address)).await.unwrap();
    let client = tokio::spawn(native_client_echo(pki.clone(), address, b"hi\n".to_vec()));
    within(
        "one accept past a stalled handshake",
        p.run(async move |acc, api| -> wasmtime::Result<()> {
            let (reader, writer) = ok(api.server().call_accept(acc, server).await?)?;
            let line = ok(api.reader().call_readexactly(acc, reader, 3).await?)?;
            ok(api.writer().call_write(acc, writer, line).await?)?;
            api.writer().call_close(acc, writer).await?;
            ok(api.writer().call_wait_closed(acc, writer).await?)
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(within("the native client", client).await.unwrap(), Ok(b"hi\n".to_vec()));
    drop(silent);
}

/// `into-stream` over TLS carries the plaintext: what the reader held first, then the
/// rest decrypted on the way, forwarded here with `write-stream` to a plain peer.
#[tokio::test]
async fn into_stream_over_tls_forwards_the_plaintext_with_every_byte_checked() {
    use super::host_streams::{check_pattern, deliver, pattern as stream_pattern};
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
            let (stream, end) = ok(api.reader().call_into_stream(acc, reader).await?)?;
            let ended = deliver(acc, end);
            let taken = ok(api.writer().call_write_stream(acc, writer, stream).await?)?;
            api.writer().call_close(acc, writer).await?;
            ok(api.writer().call_wait_closed(acc, writer).await?)?;
            Ok((first, taken, ended.await?))
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
