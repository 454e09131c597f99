//! `writer.start-tls` on both sides: our client after plaintext lines, and an accepted
//! connection whose hello was already buffered.

use super::*;

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
