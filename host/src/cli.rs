//! The command line: `host [OPTIONS] <COMPONENT> [-- ARGS...]`.

use clap::Parser;

use crate::component_path::resolve_component;
use crate::error::HostError;
use crate::network_policy::NetworkPolicy;
use crate::RunConfig;

const AFTER_HELP: &str = "\
The component is a path, or the bare file name of an example built by ./scripts/build-guests
(e.g. echo-server.wasm, looked up in $WASIO_COMPONENT_DIR and <repo>/target/guests*/wasm32-wasip2/release).
The guest sees argv[0] = the component's file name, then ARGS, and only the --env variables.
Network: TCP and DNS on loopback addresses only (127.0.0.0/8, ::1); no UDP.

Exit codes:
  n   the guest called exit(n)
  0   run returned Ok
  1   run returned Err
  2   host error (component not found, not a component, unmet import, ...)
  3   the component trapped";

/// Runs a `wasi:cli/run` WebAssembly component with wasmtime (WASI 0.2).
#[derive(Debug, Parser)]
#[command(name = "host", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Log what the host does, and print wasmtime's full error (with the wasm backtrace) on failure.
    #[arg(short, long)]
    pub verbose: bool,

    /// Set an environment variable for the guest (repeatable).
    #[arg(long = "env", value_name = "K=V", value_parser = parse_env_var)]
    pub env: Vec<(String, String)>,

    /// Do not use wasmtime's on-disk compilation cache.
    #[arg(long)]
    pub no_cache: bool,

    /// The component to run: a path, or the name of a built example (e.g. echo-server.wasm).
    #[arg(value_name = "COMPONENT")]
    pub component: String,

    /// Arguments passed to the component.
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

impl Cli {
    /// Resolves the component name and builds the [`RunConfig`].
    pub fn to_run_config(&self) -> Result<RunConfig, HostError> {
        Ok(RunConfig {
            component: resolve_component(&self.component)?,
            args: self.args.clone(),
            env: self.env.clone(),
            verbose: self.verbose,
            cache: !self.no_cache,
            network: NetworkPolicy::loopback_only(),
        })
    }
}

/// `K=V` → `(K, V)`; the value may be empty or contain `=`, the key may not be empty.
fn parse_env_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("expected K=V, got `{s}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_options_component_and_trailing_args() {
        let cli = Cli::try_parse_from([
            "host",
            "-v",
            "--env",
            "A=1",
            "--env",
            "B=x=y",
            "echo-server.wasm",
            "--",
            "--port",
            "8080",
        ])
        .unwrap();
        assert!(cli.verbose);
        assert_eq!(
            cli.env,
            vec![("A".into(), "1".into()), ("B".into(), "x=y".into())]
        );
        assert_eq!(cli.component, "echo-server.wasm");
        assert_eq!(cli.args, vec!["--port", "8080"]);
    }

    #[test]
    fn env_needs_a_key_and_equals() {
        assert!(Cli::try_parse_from(["host", "--env", "A", "c.wasm"]).is_err());
        assert!(Cli::try_parse_from(["host", "--env", "=1", "c.wasm"]).is_err());
        let cli = Cli::try_parse_from(["host", "--env", "A=", "c.wasm"]).unwrap();
        assert_eq!(cli.env, vec![("A".into(), String::new())]);
    }

    #[test]
    fn component_is_required() {
        assert!(Cli::try_parse_from(["host"]).is_err());
    }
}
