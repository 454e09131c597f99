//! A consumer of `wasio:streams@0.2.0` that writes to stdout with `write` alone: no
//! `drain`, no `wait-closed`. `stdout-writer`'s task runs the writer's pump, so the
//! bytes must reach stdout all the same (asyncio's pipe transport writes at once too).
//!
//! Usage: stdout-consumer LINES. It writes LINES lines, [`line`] each with its own
//! `write`, then reads its stdin (the provider's `stdin-reader`) to EOF: the bytes must
//! appear while it waits there, before anything is awaited on the writer. Then it ends
//! as an asyncio program should, with `close` and `wait-closed`.

use bindings::wasio::streams::types::{stdin_reader, stdout_writer};

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

/// Line `i` of the output (36 bytes): its number, so a test checks every line in order.
fn line(i: u64) -> String {
    format!("{i:08} abcdefghijklmnopqrstuvwxyz\n")
}

struct StdoutConsumer;

wasip3::cli::command::export!(StdoutConsumer);

impl wasip3::exports::cli::run::Guest for StdoutConsumer {
    async fn run() -> Result<(), ()> {
        let args = wasip3::cli::environment::get_arguments();
        let Some(Ok(lines)) = args.get(1).map(|n| n.parse::<u64>()) else {
            eprintln!("usage: stdout-consumer LINES");
            return Err(());
        };
        let stdout = stdout_writer().await.map_err(|e| eprintln!("stdout-consumer: stdout-writer: {e:?}"))?;
        for i in 0..lines {
            stdout.write(line(i).as_bytes()).map_err(|e| eprintln!("stdout-consumer: write: {e:?}"))?;
        }
        let stdin =
            stdin_reader(None).await.map_err(|e| eprintln!("stdout-consumer: stdin-reader: {e:?}"))?;
        stdin.read(-1).await.map_err(|e| eprintln!("stdout-consumer: reading stdin: {e:?}"))?;
        stdout.close();
        stdout.wait_closed().await.map_err(|e| eprintln!("stdout-consumer: wait-closed: {e:?}"))
    }
}
