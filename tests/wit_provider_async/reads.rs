//! asyncio's read errors come back as values.

use tokio::io::AsyncWriteExt;

use host::provider_async::Error;

use super::{ok, provider};
use crate::support::{peer, within};

#[tokio::test]
async fn readexactly_at_eof_is_incomplete_read_with_the_partial_bytes() {
    let (listener, address) = peer::listener().await;
    let native = tokio::spawn(async move {
        let mut socket = peer::accept(&listener).await;
        socket.write_all(b"abc").await.unwrap();
        socket.shutdown().await.unwrap();
        socket
    });
    let mut p = provider().await;
    let port = address.port();
    let result = within(
        "readexactly(10) over 3 bytes and EOF",
        p.run(async move |acc, api| -> wasmtime::Result<Result<Vec<u8>, Error>> {
            let (reader, _writer) =
                ok(api.call_open_connection(acc, "127.0.0.1".into(), port, None).await?)?;
            api.reader().call_readexactly(acc, reader, 10).await
        }),
    )
    .await
    .unwrap()
    .unwrap();
    match result {
        Err(Error::IncompleteRead(e)) => {
            assert_eq!(e.partial, b"abc");
            assert_eq!(e.expected, Some(10));
        }
        other => panic!("expected incomplete-read, got {other:?}"),
    }
    drop(native.await.unwrap());
}
