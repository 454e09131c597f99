//! `host [OPTIONS] <COMPONENT> [-- ARGS...]`: parse the command line, run, print a one-line
//! error, exit with the code (see `host --help`).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use host::cli::Cli;
use host::HostError;

fn main() -> ExitCode {
    // With RUST_BACKTRACE set, wasmtime captures a Rust backtrace for every error a WASI
    // call returns (each would-block accept, each failed read): tens of microseconds each,
    // for backtraces the host never prints. RUST_LIB_BACKTRACE=0 stops those captures and
    // leaves panic backtraces (RUST_BACKTRACE) as they are. Set first thing, before any
    // thread exists; a RUST_LIB_BACKTRACE the user set wins.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    let cli = Cli::parse();
    host::logging::init(cli.verbose, cli.quiet);

    let code = match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            if cli.verbose {
                if let Some(detail) = e.detail() {
                    eprintln!("\n{detail}");
                }
            }
            e.exit_code()
        }
    };
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // A guest's exit code may be outside 0..=255 (wasi:cli/exit's `exit-with-code` takes a u8,
    // but I32Exit carries an i32): keep the low byte like a Unix shell would see it.
    ExitCode::from(code as u8)
}

fn run(cli: &Cli) -> Result<i32, HostError> {
    let config = cli.to_run_config()?;
    // One thread: the guest runs inside one future (on a wasmtime fiber) and comes back to the
    // runtime on every `wasi:io/poll` and on each epoch tick while it computes, which is when
    // wasmtime-wasi's own tasks (TCP writes that would block) make progress; DNS lookups and
    // file I/O go to the blocking pool. Against a multi-threaded runtime, which woke the
    // guest's worker from the I/O driver's thread for every event, the echo server served
    // +30% requests on one connection, +20% on 64, and ~25% less CPU per short connection
    // (same runs, alternated).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| HostError::Runtime { source })?;
    let outcome = runtime.block_on(async {
        tokio::select! {
            outcome = host::run(&config) => outcome.map(|outcome| outcome.exit_code()),
            // Dropping the run drops the store and with it every socket the guest owned.
            stop = host::shutdown::first_stop_signal() => match stop {
                Ok(stop) => Ok(stop.exit_code()),
                Err(source) => Err(HostError::Runtime { source }),
            },
        }
    });
    // Don't wait for leftover tasks (e.g. a DNS lookup the guest abandoned): the guest is done.
    runtime.shutdown_background();
    outcome
}
