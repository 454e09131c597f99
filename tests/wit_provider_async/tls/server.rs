//! Our TLS server (`server-options.ssl`) against tokio-rustls clients: a megabyte each way
//! to several at once, and a client that stalls its handshake holds up no other.

use host::provider_async::AsyncProvider;
use wasmtime::component::ResourceAny;

use super::*;

/// Starts a TLS server (`config`) on 127.0.0.1, port 0, through the provider: the server and
/// the address it serves.
async fn start_tls_server(p: &mut AsyncProvider, config: TlsServerConfig) -> (ResourceAny, SocketAddr) {
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
    (server, SocketAddr::from(([127, 0, 0, 1], port)))
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
    let (server, address) = start_tls_server(&mut p, server_config(&pki)).await;
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

/// A client that connects and never sends its hello holds up no other client's accept
/// (its handshake would time out only after asyncio's 60 s).
#[tokio::test]
async fn a_client_that_stalls_its_handshake_holds_up_no_other() {
    let pki = Arc::new(TestPki::new());
    let mut p = provider().await;
    let (server, address) = start_tls_server(&mut p, server_config(&pki)).await;
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

/// Failed handshakes (a plaintext peer, a client that rejects our certificate, one that
/// says nothing until `ssl-handshake-timeout-ms`) close their connections and are never
/// returned by `accept`; the server goes on serving: the accept waiting all along returns
/// the good client that comes after them. As asyncio (outside its debug mode) and the
/// 0.1.0 provider, nothing is logged for them and nothing traps.
#[tokio::test]
async fn failed_handshakes_are_closed_never_accepted_and_the_server_serves_on() {
    let pki = Arc::new(TestPki::new());
    let mut p = provider().await;
    let options =
        ServerOptions { ssl_handshake_timeout_ms: Some(500), ..server_options(Some(server_config(&pki))) };
    let (line, serving, closed) = within(
        "three failed handshakes, then a good client, one accept waiting throughout",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let server = ok(api.call_start_server(acc, "127.0.0.1".into(), 0, Some(options)).await?)?;
            let address =
                SocketAddr::from(([127, 0, 0, 1], port_of(&api.server().call_sockets(acc, server).await?)));
            let clients = async {
                let mut closed = Vec::new();
                let mut plaintext = TcpStream::connect(address).await.unwrap();
                plaintext.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
                closed.push(crate::support::peer::read_to_end(&mut plaintext).await.len());
                let other_ca = TlsConnector::from(TestPki::new().client_config());
                let socket = TcpStream::connect(address).await.unwrap();
                let rejected = other_ca.connect(localhost(), socket).await;
                assert!(rejected.is_err(), "a client of another CA rejects our certificate");
                let mut silent = TcpStream::connect(address).await.unwrap();
                closed.push(crate::support::peer::read_to_end(&mut silent).await.len());
                let socket = TcpStream::connect(address).await.unwrap();
                let mut good =
                    TlsConnector::from(pki.client_config()).connect(localhost(), socket).await.unwrap();
                good.write_all(b"good\n").await.unwrap();
                good.flush().await.unwrap();
                (closed, good)
            };
            let accepted = async {
                let (reader, _writer) = ok(api.server().call_accept(acc, server).await?)?;
                wasmtime::Result::<Vec<u8>>::Ok(ok(api.reader().call_readline(acc, reader).await?)?)
            };
            let ((closed, good), line) = futures::join!(clients, accepted);
            let serving = api.server().call_is_serving(acc, server).await?;
            drop(good);
            Ok((line?, serving, closed))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(line, b"good\n", "the first connection accept returned is the good client's");
    assert!(serving, "the server serves on");
    assert_eq!(closed.len(), 2, "the plaintext and the silent peer saw their connections closed");
}
