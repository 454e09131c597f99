//! start-server, accept, and a served connection.

use std::net::SocketAddr;

use tokio::io::AsyncWriteExt;

use super::{ok, provider};
use crate::support::{peer, within};

#[tokio::test]
async fn a_server_accepts_reads_writes_and_closes() {
    let mut p = provider().await;
    let (server, port) = p
        .run(async move |acc, api| -> wasmtime::Result<_> {
            let server = ok(api.call_start_server(acc, "127.0.0.1".into(), 0, None).await?)?;
            let sockets = api.server().call_sockets(acc, server).await?;
            let port = match sockets[0] {
                host::provider_async::bindings::wasi::sockets::types::IpSocketAddress::Ipv4(a) => a.port,
                _ => unreachable!("bound to 127.0.0.1"),
            };
            Ok((server, port))
        })
        .await
        .unwrap()
        .unwrap();
    let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let native = tokio::spawn(async move {
        let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
        socket.write_all(b"hi\n").await.unwrap();
        peer::read_to_end(&mut socket).await
    });
    let line = within(
        "accept, readline, write, close",
        p.run(async move |acc, api| -> wasmtime::Result<Vec<u8>> {
            let (reader, writer) = ok(api.server().call_accept(acc, server).await?)?;
            let line = ok(api.reader().call_readline(acc, reader).await?)?;
            ok(api.writer().call_write(acc, writer, b"bye\n".to_vec()).await?)?;
            api.writer().call_close(acc, writer).await?;
            ok(api.writer().call_wait_closed(acc, writer).await?)?;
            Ok(line)
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(line, b"hi\n");
    assert_eq!(within("the client's read", native).await.unwrap(), b"bye\n");
}
