//! The command line: `host [OPTIONS] <COMPONENT> [-- ARGS...]`.

use clap::Parser;

use crate::component_path::resolve_component;
use crate::error::HostError;
use crate::faults::FaultPlan;
use crate::limits::{parse_duration, parse_size, Limits};
use crate::network_policy::NetworkPolicy;
use crate::network_rule::NetworkRule;
use crate::{Preopen, RestartPolicy, RunConfig};

const AFTER_HELP: &str = "\
The component is a path, or the bare file name of an example built by ./scripts/build-guests
(e.g. echo-server.wasm, looked up in $WASIO_COMPONENT_DIR and <repo>/target/guests*/wasm32-wasip2/release).
The guest sees argv[0] = the component's file name, then ARGS, and only the --env variables.
Network: with no --allow-* flag, TCP on loopback addresses only (127.0.0.0/8, ::1), plus the
bind of 0.0.0.0:0 that a connect performs first; DNS lookups allowed; no UDP. Any --allow-*
flag replaces that default; --deny-net wins over every allow. A RULE is `*`, an IP, a CIDR or
a host name (resolved at start), each with an optional :PORT or :LOW-HIGH; IPv6 in brackets
before a port; several rules may be comma-separated, and flags repeated. Examples:
  host --allow-listen 127.0.0.1:8080 server.wasm         serve on one port, connect nowhere
  host --allow-connect db.internal:5432,[::1]:6379 app.wasm
  host --allow-net 10.0.0.0/8 --deny-net 10.0.0.1 app.wasm
A denied use gives the guest `access-denied` and logs one warning naming the address, the
operation and the rule that denied it (or that none allowed it).

Limits and supervision, e.g.:
  host --max-memory 64M --max-busy 2s server.wasm        a guest stuck in a loop is stopped
  host --timeout 30s job.wasm                            the whole run, restarts included
  host --restart on-failure --max-restarts 5 server.wasm a crashing server comes back
  host --dir ./data::/data --dir-rw /tmp/out::/out app.wasm
SIGINT / SIGTERM stop the component and close its sockets (exit 130 / 143); a second
signal exits at once. SIGHUP (or --watch) reloads the component without dropping a
connection: new instances take over the listening sockets, the old ones finish theirs.

Exit codes:
  n   the guest called exit(n)
  0   run returned Ok
  1   run returned Err
  2   host error (component not found, not a component, unmet import, ...)
  3   the component trapped, or was stopped at --max-memory / --max-busy
  124 --timeout passed
  130 / 143  stopped by SIGINT / SIGTERM";

/// Runs a `wasi:cli/run` WebAssembly component with wasmtime (WASI 0.2).
#[derive(Debug, Parser)]
#[command(name = "host", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Log what the host does, and print wasmtime's full error (with the wasm backtrace) on failure.
    #[arg(short, long, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Log only errors (no warnings such as denied addresses or restarts).
    #[arg(short, long)]
    pub quiet: bool,

    /// Set an environment variable for the guest (repeatable).
    #[arg(long = "env", value_name = "K=V", value_parser = parse_env_var)]
    pub env: Vec<(String, String)>,

    /// Allow binding, listening and connecting on RULE (see below; repeatable).
    #[arg(long, value_name = "RULE", value_parser = parse_rules)]
    pub allow_net: Vec<Vec<NetworkRule>>,

    /// Allow binding and listening on RULE (repeatable).
    #[arg(long, value_name = "RULE", value_parser = parse_rules)]
    pub allow_listen: Vec<Vec<NetworkRule>>,

    /// Allow connecting to RULE (repeatable).
    #[arg(long, value_name = "RULE", value_parser = parse_rules)]
    pub allow_connect: Vec<Vec<NetworkRule>>,

    /// Deny every use of RULE; wins over any allow (repeatable).
    #[arg(long, value_name = "RULE", value_parser = parse_rules)]
    pub deny_net: Vec<Vec<NetworkRule>>,

    /// Turn off DNS lookups (wasi:sockets/ip-name-lookup).
    #[arg(long)]
    pub deny_dns: bool,

    /// Largest linear memory (and table) the guest may grow to, e.g. 64M or 1G, and with
    /// --instances the most all instances' memories may sum to; growing past it fails inside
    /// the guest.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,

    /// Most component-model handles (resources, streams, futures, subtasks) a guest may
    /// hold at once [default: 1000000]; past it the guest traps. A WASI 0.3 consumer holds
    /// about 17 per idle connection.
    #[arg(long, value_name = "N")]
    pub max_handles: Option<usize>,

    /// Stop a guest that runs wasm this long without a host call (no I/O, no poll), e.g. 2s.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_busy: Option<std::time::Duration>,

    /// Stop the whole run after this long (wall clock, restarts included), e.g. 30s.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,

    /// `on-failure`: start the component again when it traps, hits a limit or exits
    /// non-zero, after a back-off that doubles from 100 ms; `no` (default): never.
    #[arg(long, value_name = "WHEN", value_parser = ["no", "on-failure"], default_value = "no")]
    pub restart: String,

    /// How many restarts `--restart on-failure` makes at most.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_restarts: u32,

    /// Let the guest read host directory HOST, seen as GUEST (default: the same path);
    /// repeatable.
    #[arg(long, value_name = "HOST[::GUEST]", value_parser = parse_dir)]
    pub dir: Vec<(String, String)>,

    /// Like --dir, but the guest may also write.
    #[arg(long, value_name = "HOST[::GUEST]", value_parser = parse_dir)]
    pub dir_rw: Vec<(String, String)>,

    /// Do not use wasmtime's on-disk compilation cache.
    #[arg(long)]
    pub no_cache: bool,

    /// Leave Nagle's algorithm on for guest TCP sockets (the host sets TCP_NODELAY on every
    /// socket a guest connects or accepts, like asyncio does).
    #[arg(long)]
    pub no_tcp_nodelay: bool,

    /// Run N instances of the component (`auto`: one per core), each on its own thread with
    /// its own memory; the sockets they bind are shared (SO_REUSEPORT) and the kernel spreads
    /// connections over them. --max-busy and --restart apply to each instance alone,
    /// --max-memory to each and to all together. Linux only.
    #[arg(long, value_name = "N|auto", default_value = "1")]
    pub instances: crate::instances::InstanceCount,

    /// Reload the component when its file changes, as on SIGHUP: new instances take over
    /// the listening sockets, the old ones finish their connections (see --drain-timeout).
    #[arg(long)]
    pub watch: bool,

    /// How long instances replaced by a reload may serve their open connections, e.g. 30s
    /// (they stop sooner once they have none left).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub drain_timeout: std::time::Duration,

    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9100), on a listener
    /// of the host's own, outside the guest's network policy.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,

    /// Test only: make a fraction of the guest's stream calls fail or come up short, e.g.
    /// `read-short:0.1,write-error:0.01,seed=7` (see host/src/faults.rs).
    #[arg(long, value_name = "SPEC", hide = true)]
    pub inject_faults: Option<FaultPlan>,

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
            network: self.network_policy(),
            limits: Limits {
                max_memory: self.max_memory,
                max_busy: self.max_busy,
                max_handles: self.max_handles,
            },
            timeout: self.timeout,
            restart: RestartPolicy {
                on_failure: self.restart == "on-failure",
                max_restarts: self.max_restarts,
            },
            dirs: self.preopens(),
            tcp_nodelay: !self.no_tcp_nodelay,
            faults: self.inject_faults.clone(),
            metrics: self.metrics,
            instances: self.instances,
            watch: self.watch,
            drain_timeout: self.drain_timeout,
        })
    }

    fn preopens(&self) -> Vec<Preopen> {
        let read_only = self.dir.iter().map(|d| (d, false));
        let writable = self.dir_rw.iter().map(|d| (d, true));
        read_only
            .chain(writable)
            .map(|((host, guest), writable)| Preopen { host: host.into(), guest: guest.clone(), writable })
            .collect()
    }

    /// The network policy the flags describe.
    pub fn network_policy(&self) -> NetworkPolicy {
        let flat = |rules: &Vec<Vec<NetworkRule>>| rules.iter().flatten().cloned().collect::<Vec<_>>();
        let policy = NetworkPolicy::loopback_only()
            .allow_net(flat(&self.allow_net))
            .allow_listen(flat(&self.allow_listen))
            .allow_connect(flat(&self.allow_connect))
            .deny_net(flat(&self.deny_net));
        if self.deny_dns {
            policy.deny_dns()
        } else {
            policy
        }
    }
}

/// `HOST::GUEST`, or `HOST` seen under the same path.
fn parse_dir(s: &str) -> Result<(String, String), String> {
    let (host, guest) = s.split_once("::").unwrap_or((s, s));
    if host.is_empty() || guest.is_empty() {
        return Err(format!("expected HOST[::GUEST], got `{s}`"));
    }
    Ok((host.to_string(), guest.to_string()))
}

fn parse_rules(s: &str) -> Result<Vec<NetworkRule>, String> {
    NetworkRule::parse_list(s).map_err(|e| e.to_string())
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
        assert_eq!(cli.env, vec![("A".into(), "1".into()), ("B".into(), "x=y".into())]);
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
    fn network_flags_build_the_policy() {
        use std::net::SocketAddr;
        use wasmtime_wasi::sockets::SocketAddrUse::*;
        let cli = Cli::try_parse_from([
            "host",
            "--allow-connect",
            "127.0.0.1:80,[::1]:80",
            "--allow-listen",
            "127.0.0.1:8000-8009",
            "--deny-net",
            "127.0.0.1:8005",
            "--deny-dns",
            "c.wasm",
        ])
        .unwrap();
        let policy = cli.network_policy();
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(policy.allows(a("[::1]:80"), TcpConnect));
        assert!(policy.allows(a("127.0.0.1:8001"), TcpListen));
        assert!(!policy.allows(a("127.0.0.1:8005"), TcpListen));
        assert!(!policy.allows(a("127.0.0.1:8001"), TcpConnect));
        assert!(!policy.ip_name_lookup_enabled());
        assert!(Cli::try_parse_from(["host", "--allow-net", "1.2.3.4:x", "c.wasm"]).is_err());
    }

    #[test]
    fn limits_restart_and_dirs() {
        let cli = Cli::try_parse_from([
            "host",
            "-q",
            "--max-memory",
            "64M",
            "--max-busy",
            "500ms",
            "--timeout",
            "30s",
            "--restart",
            "on-failure",
            "--max-restarts",
            "3",
            "--dir",
            "/srv/data::/data",
            "--dir-rw",
            "/tmp",
            "c.wasm",
        ])
        .unwrap();
        assert!(cli.quiet);
        assert_eq!(cli.max_memory, Some(64 << 20));
        assert_eq!(cli.max_busy, Some(std::time::Duration::from_millis(500)));
        assert_eq!(cli.timeout, Some(std::time::Duration::from_secs(30)));
        assert_eq!(cli.preopens().len(), 2);
        assert_eq!(cli.preopens()[0].guest, "/data");
        assert!(cli.preopens()[1].writable && cli.preopens()[1].guest == "/tmp");
        assert!(Cli::try_parse_from(["host", "--restart", "always", "c.wasm"]).is_err());
        assert!(Cli::try_parse_from(["host", "--max-memory", "lots", "c.wasm"]).is_err());
        assert!(Cli::try_parse_from(["host", "-v", "-q", "c.wasm"]).is_err());
    }

    #[test]
    fn tcp_nodelay_is_on_unless_turned_off() {
        // Any existing file will do: to_run_config only resolves the path.
        let component = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        let tcp_nodelay = |args: &[&str]| {
            let cli = Cli::try_parse_from(["host"].iter().chain(args).chain(&[component])).unwrap();
            cli.to_run_config().unwrap().tcp_nodelay
        };
        assert!(tcp_nodelay(&[]));
        assert!(!tcp_nodelay(&["--no-tcp-nodelay"]));
    }

    #[test]
    fn component_is_required() {
        assert!(Cli::try_parse_from(["host"]).is_err());
    }
}
