//! Cancelling an in-flight call: the host cannot (wasmtime 48 runs a dropped call on), a
//! guest consumer can.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use host::provider_async::Error;

use super::{ok, provider};
use crate::support::{peer, within};

/// wasmtime 48 does not cancel a guest task when the host drops its `call_*` future: the
/// task runs on, detached (documented on `Func::call_concurrent`; wasmtime#11833). So the
/// dropped readline still waits, a second one is asyncio's one-waiter `busy`, and the line
/// goes to the dropped call. Cancellation that loses nothing needs a guest consumer (a
/// component's dropped future is a `subtask.cancel`), not the host.
#[tokio::test]
async fn a_host_dropped_readline_runs_on_so_a_second_is_busy() {
    let (listener, address) = peer::listener().await;
    let native = tokio::spawn(async move {
        let mut socket = peer::accept(&listener).await;
        socket.write_all(b"partial ").await.unwrap(); // no newline: readline waits
        socket
    });
    let mut p = provider().await;
    let port = address.port();
    let second = within(
        "readline, dropped, then again",
        p.run(async move |acc, api| -> wasmtime::Result<Result<Vec<u8>, Error>> {
            let (reader, _writer) =
                ok(api.call_open_connection(acc, "127.0.0.1".into(), port, None).await?)?;
            let readers = api.reader();
            tokio::select! {
                line = readers.call_readline(acc, reader) => panic!("readline completed early: {line:?}"),
                _ = tokio::time::sleep(Duration::from_millis(300)) => {} // drops the call future
            }
            readers.call_readline(acc, reader).await
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(matches!(second, Err(Error::Busy)), "expected busy, got {second:?}");
    drop(native.await.unwrap());
}
