//! A consumer of `wasio:streams@0.2.0` that cancels its own in-flight calls: for each kind
//! of read it starts the read over a partly arrived message, gives up on it after a
//! moment (its future is dropped, which cancels the component-model subtask), asks the
//! peer for the rest, and reads again. Nothing may be lost and the second read may not
//! be `busy`: the cancelled one consumed nothing and left no waiter.
//!
//! Usage: cancel-consumer HOST PORT. It connects to the peer and speaks, one line each
//! way per step:
//!
//! ```text
//! -> send N        peer sends round N's first part (no terminator)
//! -> rest N        peer sends the rest (the last round: then EOF)
//! ```
//!
//! and prints per round `OP: cancelled with B buffered` and then `OP: RESULT` (the bytes
//! read, escaped, or the error), then `done`.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;

use bindings::wasio::streams::types::{open_connection, Error, Reader, Writer};
use wasip3::clocks::monotonic_clock::wait_for;

mod bindings {
    wit_bindgen::generate!({
        path: "../../../wit/v0.2",
        world: "wasio:streams/consumer@0.2.0",
        with: {
            "wasi:sockets/types@0.3.2": wasip3::sockets::types,
            "wasi:clocks/types@0.3.2": wasip3::clocks::types,
        },
    });
}

/// How long a read is given before it is cancelled: it cannot complete (its data is not
/// all there), so this only sets the test's pace.
const GIVE_UP_NS: u64 = 200_000_000;
/// Bound on waiting for the first part to be buffered.
const BUFFER_WAIT_ROUNDS: u32 = 500;

struct CancelConsumer;

wasip3::cli::command::export!(CancelConsumer);

impl wasip3::exports::cli::run::Guest for CancelConsumer {
    async fn run() -> Result<(), ()> {
        let args = wasip3::cli::environment::get_arguments();
        let (Some(host), Some(Ok(port))) = (args.get(1), args.get(2).map(|p| p.parse::<u16>())) else {
            eprintln!("usage: cancel-consumer HOST PORT");
            return Err(());
        };
        let (reader, writer) = open_connection(host.clone(), port, None).await.map_err(|e| {
            eprintln!("cancel-consumer: cannot connect: {e:?}");
        })?;
        let rounds: [(&str, u64); 4] = [("readline", 4), ("readexactly", 5), ("readuntil", 4), ("read", 5)];
        for (round, (op, first_len)) in rounds.into_iter().enumerate() {
            ask(&writer, &format!("send {round}\n")).await?;
            wait_buffered(&reader, first_len).await?;
            match give_up_after(read_op(&reader, op)).await {
                Some(result) => println!("{op}: completed early: {}", show(result)),
                None => println!("{op}: cancelled with {} buffered", reader.buffer_size()),
            }
            ask(&writer, &format!("rest {round}\n")).await?;
            println!("{op}: {}", show(read_op(&reader, op).await));
        }
        println!("done");
        Ok(())
    }
}

/// The round's read: what it waits for is split between the peer's two parts.
async fn read_op(reader: &Reader, op: &str) -> Result<Vec<u8>, Error> {
    match op {
        "readline" => reader.readline().await,
        "readexactly" => reader.readexactly(8).await,
        "readuntil" => reader.readuntil(b"END".to_vec()).await,
        _ => reader.read(-1).await, // to EOF
    }
}

/// `operation`'s result, or `None` once [`GIVE_UP_NS`] passed first: then `operation` is
/// dropped here, mid-call.
async fn give_up_after<T>(operation: impl Future<Output = T>) -> Option<T> {
    let mut operation = pin!(operation);
    let mut timer = pin!(wait_for(GIVE_UP_NS));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(value) = operation.as_mut().poll(cx) {
            return Poll::Ready(Some(value));
        }
        timer.as_mut().poll(cx).map(|()| None)
    })
    .await
}

async fn ask(writer: &Writer, line: &str) -> Result<(), ()> {
    writer.write(line.as_bytes()).map_err(|e| eprintln!("cancel-consumer: write: {e:?}"))?;
    writer.drain().await.map_err(|e| eprintln!("cancel-consumer: drain: {e:?}"))
}

/// Until the peer's first part is all buffered, so the cancelled read has it in hand.
async fn wait_buffered(reader: &Reader, len: u64) -> Result<(), ()> {
    for _ in 0..BUFFER_WAIT_ROUNDS {
        if reader.buffer_size() >= len {
            return Ok(());
        }
        wait_for(10_000_000).await;
    }
    eprintln!("cancel-consumer: the first part ({len} bytes) never arrived");
    Err(())
}

fn show(result: Result<Vec<u8>, Error>) -> String {
    match result {
        Ok(bytes) => format!("{:?}", String::from_utf8_lossy(&bytes)),
        Err(error) => format!("error {error:?}"),
    }
}
