//! The 0.1.0 suite's example (tests/wit_provider/example.rs) for 0.2.0: one instance both
//! serves and connects, its client and server ends awaited together.

use super::conn::{assert_err, incomplete, still_usable, text};
use super::provider;
use crate::support::within;

#[tokio::test]
async fn client_and_server_in_one_instance() {
    let mut p = provider().await;
    let run = p.run(async move |acc, api| -> wasmtime::Result<_> {
        let (readers, writers, servers) = (api.reader(), api.writer(), api.server());
        let server = api.call_start_server(acc, "127.0.0.1".into(), 0, None).await?.expect("start-server");
        let port = match servers.call_sockets(acc, server).await?[0] {
            host::provider_async::bindings::wasi::sockets::types::IpSocketAddress::Ipv4(a) => a.port,
            _ => unreachable!("bound to 127.0.0.1"),
        };
        // The connect and the accept wait on each other: both in flight at once.
        let (opened, accepted) = futures::join!(
            api.call_open_connection(acc, "127.0.0.1".into(), port, None),
            servers.call_accept(acc, server)
        );
        let (reader, writer) = opened?.expect("open-connection");
        let (client_reader, client_writer) = accepted?.expect("accept");
        writers.call_write(acc, writer, b"hello\n".to_vec()).await?.expect("write");
        writers.call_drain(acc, writer).await?.expect("drain");
        let hello = readers.call_readline(acc, client_reader).await?.expect("readline");
        writers.call_write(acc, client_writer, b"hi\n".to_vec()).await?.expect("write");
        let hi = readers.call_readline(acc, reader).await?.expect("readline");
        writers.call_close(acc, client_writer).await?;
        let rest = readers.call_readexactly(acc, reader, 10).await?;
        servers.call_close(acc, server).await?;
        Ok((hello, hi, rest))
    });
    let (hello, hi, rest) = within("client and server", run).await.unwrap().unwrap();
    assert_eq!(text(&hello), "hello\n");
    assert_eq!(text(&hi), "hi\n");
    assert_err(rest, incomplete(b"", Some(10)));
    still_usable(&mut p).await;
}
