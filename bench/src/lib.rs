//! The echo-server benchmark: a load generator that verifies every echoed byte, the reference
//! servers it compares wasio's components with, and the markdown report.
//!
//! Modules, one concept each: [`cli`] (the command line), [`settings`] (durations and sizes),
//! [`limits`] (open files, ephemeral ports), [`echo`] (the line and the chunk echo every server
//! runs), [`servers`] (which servers, starting and stopping them), [`tokio_echo`] (the tokio
//! reference server), [`tls_echo`] (its TLS), [`certs`] (the TLS scenario's CA and
//! certificate), [`tls_client`] (the load generator's TLS), [`process_memory`] (a server's RSS),
//! [`process_cpu`] (its CPU use), [`line_payload`] / [`bulk_payload`] (what is sent and how
//! the echo is checked), [`deadline`] (a timeout on every await), [`server_close`] (the
//! server's close after the last echo), [`scenario`] (the load
//! patterns), [`metric`] (what is measured), [`column`] (a metric with an echo, and the
//! tables), [`samples`] (measurements and their medians), [`targets`] (the goals, PASS/FAIL),
//! [`plan`] (repetitions × scenarios × servers), [`report`] (the markdown),
//! [`scaling_report`] (the `scaling` scenario's table and targets).

pub mod bulk_payload;
pub mod certs;
pub mod cli;
pub mod column;
pub mod cpu_pinning;
pub mod deadline;
pub mod echo;
pub mod limits;
pub mod line_payload;
pub mod metric;
pub mod notes;
pub mod plan;
pub mod process_cpu;
pub mod process_memory;
pub mod report;
pub mod samples;
pub mod scaling_report;
pub mod scenario;
pub mod server_close;
pub mod servers;
pub mod settings;
pub mod soak;
pub mod targets;
pub mod tls_client;
pub mod tls_echo;
pub mod tokio_echo;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// Parses the command line and runs the subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => plan::run(args),
        Command::Soak(args) => soak::run(args),
        Command::ServeTokio { host, port, echo, workers, tls_cert, tls_key } => {
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => tls_echo::acceptor(&cert, &key).map(Some),
                _ => Ok(None),
            };
            let workers = workers.map(usize::from);
            tls.and_then(|tls| tokio_echo::serve(&host, port, echo, tls, workers))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (bench/..), where target/ and the scripts live.
pub fn workspace_root() -> std::path::PathBuf {
    let manifest_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}
