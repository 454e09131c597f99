//! `compose --plug PROVIDER.wasm CONSUMER.wasm -o OUT.wasm [--interface NAME]`
//!
//! Plugs the provider component's `wasio:streams/types` export (or the interface named)
//! into the consumer component's import of it (wac-graph, as `wac plug` does) and writes
//! the composed component, then checks that what is left to import is WASI only, so any WASI 0.2
//! runtime can run it.

mod imports;
mod plug;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

#[derive(Parser)]
#[command(about = "Plug the wasio:streams provider into a consumer component")]
struct Args {
    /// The provider component (exports wasio:streams/types), e.g. streams-provider.wasm.
    #[arg(long = "plug", value_name = "PROVIDER.wasm")]
    provider: PathBuf,
    /// The consumer component (imports wasio:streams/types).
    #[arg(value_name = "CONSUMER.wasm")]
    consumer: PathBuf,
    /// Where to write the composed component.
    #[arg(short, long, value_name = "OUT.wasm")]
    output: PathBuf,
    /// The interface plugged, without its version (bench/call-floor plugs its own).
    #[arg(long, value_name = "NAME", default_value = plug::STREAMS_INTERFACE)]
    interface: String,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("compose: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let composed = plug::plug_interface(&args.interface, &args.provider, &args.consumer)?;
    imports::check_only_wasi(&composed).with_context(|| format!("composing {}", args.consumer.display()))?;
    std::fs::write(&args.output, &composed).with_context(|| format!("writing {}", args.output.display()))?;
    Ok(())
}
