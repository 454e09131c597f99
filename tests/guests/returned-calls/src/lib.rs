//! A consumer of `wasio:streams@0.2.0` whose calls all return at once: for each line on
//! its stdin, CALLS `drain`s of a stdout writer with nothing queued, then `round K` on
//! stdout; at stdin's end it ends. wasmtime 48 kept the task of every such call (about
//! 400 bytes of host memory, a trap after a million); the provider's `returned_at_once`
//! guard lets it go once the consumer waits, so while it waits on its stdin between
//! rounds the host's memory is flat from round to round.
//!
//! Usage: returned-calls CALLS

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

struct ReturnedCalls;

wasip3::cli::command::export!(ReturnedCalls);

impl wasip3::exports::cli::run::Guest for ReturnedCalls {
    async fn run() -> Result<(), ()> {
        let args = wasip3::cli::environment::get_arguments();
        let Some(Ok(calls)) = args.get(1).map(|n| n.parse::<u64>()) else {
            eprintln!("usage: returned-calls CALLS");
            return Err(());
        };
        let fail = |what: &'static str| move |e| eprintln!("returned-calls: {what}: {e:?}");
        let stdout = stdout_writer().await.map_err(fail("stdout-writer"))?;
        let stdin = stdin_reader(None).await.map_err(fail("stdin-reader"))?;
        let mut round = 0;
        while !stdin.readline().await.map_err(fail("reading stdin"))?.is_empty() {
            round += 1;
            for _ in 0..calls {
                stdout.drain().await.map_err(fail("drain"))?;
            }
            stdout.write(format!("round {round}\n").as_bytes()).map_err(fail("write"))?;
        }
        stdout.close();
        stdout.wait_closed().await.map_err(fail("wait-closed"))
    }
}
