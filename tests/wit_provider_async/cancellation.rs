//! Cancelling an in-flight call: the host cannot (wasmtime 48 runs a dropped call on), a
//! guest consumer can (tests/guests/cancel-consumer, composed with the provider).

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use host::provider_async::Error;

use super::{ok, provider};
use crate::support::{peer, within, Running};

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

/// Each round's two parts, split inside what the round's read waits for: `readline`'s
/// newline, `readexactly(8)`'s eighth byte, `readuntil("END")`'s separator, and
/// `read(-1)`'s EOF (after the last rest).
const ROUNDS: [(&[u8], &[u8]); 4] =
    [(b"one-", b"two\n"), (b"12345", b"678"), (b"xyzE", b"ND"), (b"tail-", b"end")];

/// The guest consumer drops each read's future while the read waits (a component-model
/// `subtask.cancel`), with part of the data buffered: the cancelled read consumed
/// nothing and left no waiter, so the next read of the same kind is not `busy` and
/// returns every byte, the buffered part first.
#[tokio::test]
async fn a_read_the_guest_cancels_loses_nothing_and_the_next_read_gets_every_byte() {
    let (listener, address) = peer::listener().await;
    let mut consumer = Running::start("cancel-consumer", &[], &["127.0.0.1", &address.port().to_string()]);
    let peer = tokio::spawn(async move {
        let socket = peer::accept(&listener).await;
        let mut socket = BufReader::new(socket);
        for (round, (first, rest)) in ROUNDS.iter().enumerate() {
            for (ask, part) in [("send", first), ("rest", rest)] {
                let mut line = String::new();
                within("the consumer's request", socket.read_line(&mut line)).await.unwrap();
                assert_eq!(line, format!("{ask} {round}\n"));
                socket.get_mut().write_all(part).await.unwrap();
            }
        }
        socket.get_mut().shutdown().await.unwrap(); // read(-1)'s EOF
        socket
    });
    let mut lines = Vec::new();
    while let Some(line) = consumer.next_line().await {
        lines.push(line);
    }
    let stderr = consumer.stderr_text().await;
    assert_eq!(
        lines,
        [
            "readline: cancelled with 4 buffered",
            "readline: \"one-two\\n\"",
            "readexactly: cancelled with 5 buffered",
            "readexactly: \"12345678\"",
            "readuntil: cancelled with 4 buffered",
            "readuntil: \"xyzEND\"",
            "read: cancelled with 5 buffered",
            "read: \"tail-end\"",
            "done",
        ],
        "stderr: {stderr}"
    );
    assert_eq!(consumer.exit_code().await, 0, "stderr: {stderr}");
    drop(within("the peer", peer).await.unwrap());
}
