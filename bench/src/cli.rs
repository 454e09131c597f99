//! The command line: `bench run [OPTIONS]` and `bench serve-tokio [--host H] [--port P]`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::echo::Echo;

const RUN_AFTER_HELP: &str = "\
Every server is started afresh for each scenario run (on 127.0.0.1, port 0) and stopped after
it, running the echo the run calls for: the line echo (readline / read_until + write + drain)
or the chunk echo (read of up to 64 KiB + write + drain); each table's `echo` row says which.
Each table cell is the median of the repetitions; ours are also shown as ratios to the tokio
and asyncio servers measured in the same run (always against the same echo), and the targets
as PASS/FAIL. The tables go to stdout and to --out.";

/// Echo-server benchmark: wasio's components vs tokio and CPython asyncio, over loopback.
#[derive(Debug, Parser)]
#[command(name = "bench")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the benchmark and print the markdown table.
    #[command(after_help = RUN_AFTER_HELP)]
    Run(RunArgs),
    /// The soak: our servers under N minutes of mixed traffic, every byte checked, memory,
    /// descriptors and CPU sampled; fails on a lost byte, a stall or a leak (not in CI).
    Soak(crate::soak::SoakArgs),
    /// The tokio reference echo server (current-thread runtime, or multi-thread with
    /// --workers; lines: read_until + write_all, chunks: read + write_all; TLS with
    /// --tls-cert/--tls-key). Prints `Serving on ADDR` when ready.
    ServeTokio {
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// 0 picks a free port.
        #[arg(long, default_value_t = 0)]
        port: u16,
        #[arg(long, value_enum, default_value = "lines")]
        echo: Echo,
        /// A multi-thread runtime with N worker threads instead of the current-thread one.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        workers: Option<u16>,
        /// Serve TLS (tokio-rustls, ring) with this certificate chain (PEM); needs --tls-key.
        #[arg(long, value_name = "PEM", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, value_name = "PEM", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenarios to run, comma-separated.
    #[arg(
        long = "scenario",
        value_delimiter = ',',
        default_value = "lines,bulk,churn,idle,startup,flood,noread,slowloris,fdlimit,tls,scaling"
    )]
    pub scenarios: Vec<ScenarioName>,

    /// `scaling`: the instance counts ours run with (`host --instances N`), each against a
    /// multi-threaded tokio server with as many workers, comma-separated (default 1,2; the
    /// first is the base of the scaling ratios). Given, it adds `scaling` to the scenarios.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = clap::value_parser!(u16).range(1..))]
    pub instances: Option<Vec<u16>>,

    /// Servers to run, comma-separated; `ours` is echo-server, compose-echo and
    /// compose-echo-async (each when built).
    #[arg(long, value_delimiter = ',', default_value = "tokio,asyncio,ours")]
    pub servers: Vec<ServerChoice>,

    /// One repetition and shorter durations: a check, not a measurement.
    #[arg(long)]
    pub quick: bool,

    /// Repetitions of every measurement (default 3, or 1 with --quick).
    #[arg(long, value_name = "N")]
    pub repetitions: Option<usize>,

    /// Measured seconds of each `lines` run (default 3, or 1 with --quick).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,

    /// MiB the `flood` connection streams (default 256, or 64 with --quick); more gives the
    /// probe more echoes to measure.
    #[arg(long, value_name = "MIB")]
    pub flood_mib: Option<u64>,

    /// Warm-up seconds before each `lines` measurement (default 0.5, or 0.2 with --quick).
    #[arg(long, value_name = "SECS")]
    pub warmup: Option<f64>,

    /// The release host binary (default <workspace>/target/release/host).
    #[arg(long, value_name = "PATH")]
    pub host_bin: Option<PathBuf>,

    /// Where echo-server.wasm and compose-echo.wasm are (default: the newest of
    /// <workspace>/target/guests*/wasm32-wasip2/release).
    #[arg(long, value_name = "DIR")]
    pub guest_dir: Option<PathBuf>,

    /// The Python for the asyncio server (default: python3.13 with PYENV_VERSION=3.13.0 when
    /// that runs, else python3).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,

    /// `tls`: the load generator offers only this cipher suite (e.g.
    /// TLS13_CHACHA20_POLY1305_SHA256) instead of rustls' list, whose first, AES-256-GCM, every
    /// server picks.
    #[arg(long, value_name = "SUITE")]
    pub tls_suite: Option<String>,

    /// Pin the load generator to the last CPU and the servers to the others.
    #[arg(long)]
    pub pin: bool,

    /// Also write the markdown here (default <workspace>/target/bench/latest.md).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum ScenarioName {
    /// C connections, pipelined newline-terminated lines, fixed duration.
    Lines,
    /// One connection streaming 256 MiB while reading the echo back.
    Bulk,
    /// Short connections: connect, one line, read it back, close.
    Churn,
    /// RSS per idle connection (1k and 10k), 1-connection lines while 10k are idle, then
    /// no spin or stall after all 10k vanish at once.
    Idle,
    /// Time from spawn to `Serving on` (empty and warm wasmtime cache).
    Startup,
    /// One connection streams the bulk payload while a probe client measures its echoes.
    Flood,
    /// 50 peers send and never read while a probe client measures its echoes.
    Noread,
    /// Many connections send a byte a second each while a probe client measures its echoes.
    Slowloris,
    /// The server under a low open-file limit while more clients connect than it can hold.
    Fdlimit,
    /// TLS (certificates made at run time): handshakes/s (connect, one line, close),
    /// 1-connection lines, bulk; against tokio-rustls and asyncio `ssl=`.
    Tls,
    /// 64×16 and 256×4 lines and churn with ours at each `--instances` count and a
    /// multi-threaded tokio server with as many workers: the scaling ratios.
    Scaling,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ServerChoice {
    Tokio,
    Asyncio,
    /// echo-server.wasm and, when built, compose-echo.wasm and compose-echo-async.wasm.
    Ours,
    EchoServer,
    ComposeEcho,
    ComposeEchoAsync,
}
