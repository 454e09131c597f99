//! The servers under test, and starting one, learning its address from its
//! `Serving on ADDR` line, watching it and stopping it.

use std::ffi::OsString;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::certs::BenchPki;
use crate::cli::{RunArgs, ServerChoice};
use crate::cpu_pinning;
use crate::echo::Echo;
use crate::process_cpu::CpuMeter;
use crate::process_memory;
use crate::workspace_root;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServerKind {
    /// `bench serve-tokio`.
    Tokio,
    /// bench/asyncio_echo.py.
    Asyncio,
    /// echo-server.wasm under the release host.
    EchoServer,
    /// compose-echo.wasm (consumer + provider components) under the release host.
    ComposeEcho,
    /// compose-echo-async.wasm (a `wasio:streams@0.2.0` consumer + the WASI 0.3 provider)
    /// under the release host.
    ComposeEchoAsync,
}

impl ServerKind {
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Tokio => "tokio",
            ServerKind::Asyncio => "asyncio",
            ServerKind::EchoServer => "echo-server.wasm",
            ServerKind::ComposeEcho => "compose-echo.wasm",
            ServerKind::ComposeEchoAsync => "compose-echo-async.wasm",
        }
    }

    /// Its name in a table of TLS runs or not: the tokio server serves TLS with tokio-rustls.
    pub fn name_over(self, tls: bool) -> &'static str {
        match self {
            ServerKind::Tokio if tls => "tokio-rustls",
            _ => self.name(),
        }
    }

    /// wasio's components, as opposed to the references they are compared with.
    pub fn is_ours(self) -> bool {
        self.component_file().is_some()
    }

    /// Whether it can serve TLS (the composed echoes' providers have no `ssl` option yet).
    pub fn serves_tls(self) -> bool {
        !matches!(self, ServerKind::ComposeEcho | ServerKind::ComposeEchoAsync)
    }

    pub fn component_file(self) -> Option<&'static str> {
        match self {
            ServerKind::EchoServer => Some("echo-server.wasm"),
            ServerKind::ComposeEcho => Some("compose-echo.wasm"),
            ServerKind::ComposeEchoAsync => Some("compose-echo-async.wasm"),
            ServerKind::Tokio | ServerKind::Asyncio => None,
        }
    }
}

/// The Python that runs the asyncio server.
#[derive(Clone, Debug)]
pub struct Python {
    pub executable: PathBuf,
    pub version: String,
}

/// How to start a server besides which one.
#[derive(Clone, Debug, Default)]
pub struct StartOptions<'a> {
    /// The echo it runs; None: its default (for a run where the echo plays no part).
    pub echo: Option<Echo>,
    pub env: &'a [(&'a str, &'a Path)],
    /// RLIMIT_NOFILE (soft and hard, as `ulimit -n` sets them) for the server process;
    /// None: it inherits the bench's.
    pub open_files: Option<u64>,
    /// Serve TLS with this PKI's certificate and key (ours read them through `host --dir`).
    pub tls: Option<&'a BenchPki>,
    /// `scaling`: ours with `host --instances N`, tokio multi-thread with N workers; None:
    /// one instance, tokio's current-thread runtime.
    pub instances: Option<usize>,
    /// The CPUs the server may run on, instead of the launcher's (`--pin`) choice.
    pub cpus: Option<&'a [usize]>,
}

/// Knows where every server's program is and how to start it.
pub struct Launcher {
    bench_executable: PathBuf,
    python: Option<Python>,
    asyncio_script: PathBuf,
    host_binary: PathBuf,
    component_dir: PathBuf,
    log_dir: PathBuf,
    startup_timeout: Duration,
    /// With `--pin`: the CPUs the servers run on.
    server_cpus: Option<Vec<usize>>,
}

impl Launcher {
    pub fn new(
        args: &RunArgs,
        log_dir: PathBuf,
        startup_timeout: Duration,
        server_cpus: Option<Vec<usize>>,
    ) -> Result<Launcher> {
        let root = workspace_root();
        std::fs::create_dir_all(&log_dir).with_context(|| format!("creating {}", log_dir.display()))?;
        Ok(Launcher {
            bench_executable: std::env::current_exe().context("finding the bench executable")?,
            python: find_python(args.python.as_deref()),
            asyncio_script: root.join("bench/asyncio_echo.py"),
            host_binary: args.host_bin.clone().unwrap_or_else(|| root.join("target/release/host")),
            component_dir: args.guest_dir.clone().unwrap_or_else(|| newest_component_dir(&root)),
            log_dir,
            startup_timeout,
            server_cpus,
        })
    }

    /// For our components only (the soak): the release host and the components where
    /// `host_bin` and `guest_dir` say, or the defaults.
    pub fn for_components(
        host_bin: Option<PathBuf>,
        guest_dir: Option<PathBuf>,
        log_dir: PathBuf,
        startup_timeout: Duration,
    ) -> Result<Launcher> {
        let root = workspace_root();
        std::fs::create_dir_all(&log_dir).with_context(|| format!("creating {}", log_dir.display()))?;
        Ok(Launcher {
            bench_executable: std::env::current_exe().context("finding the bench executable")?,
            python: None,
            asyncio_script: root.join("bench/asyncio_echo.py"),
            host_binary: host_bin.unwrap_or_else(|| root.join("target/release/host")),
            component_dir: guest_dir.unwrap_or_else(|| newest_component_dir(&root)),
            log_dir,
            startup_timeout,
            server_cpus: None,
        })
    }

    pub fn python(&self) -> Option<&Python> {
        self.python.as_ref()
    }

    /// The servers `choices` name that can run here, and a note for each that cannot.
    pub fn select(&self, choices: &[ServerChoice]) -> (Vec<ServerKind>, Vec<String>) {
        let mut wanted = Vec::new();
        for choice in choices {
            let kinds: &[ServerKind] = match choice {
                ServerChoice::Tokio => &[ServerKind::Tokio],
                ServerChoice::Asyncio => &[ServerKind::Asyncio],
                ServerChoice::Ours => {
                    &[ServerKind::EchoServer, ServerKind::ComposeEcho, ServerKind::ComposeEchoAsync]
                }
                ServerChoice::EchoServer => &[ServerKind::EchoServer],
                ServerChoice::ComposeEcho => &[ServerKind::ComposeEcho],
                ServerChoice::ComposeEchoAsync => &[ServerKind::ComposeEchoAsync],
            };
            wanted.extend_from_slice(kinds);
        }
        wanted.sort();
        wanted.dedup();
        let mut notes = Vec::new();
        let available = wanted
            .into_iter()
            .filter(|&kind| match self.unavailable_because(kind) {
                None => true,
                Some(reason) => {
                    notes.push(format!("{} skipped: {reason}", kind.name()));
                    false
                }
            })
            .collect();
        (available, notes)
    }

    fn unavailable_because(&self, kind: ServerKind) -> Option<String> {
        match kind {
            ServerKind::Tokio => None,
            ServerKind::Asyncio => {
                self.python.is_none().then(|| "no python3.13 or python3 found".to_string())
            }
            ServerKind::EchoServer | ServerKind::ComposeEcho | ServerKind::ComposeEchoAsync => {
                if !self.host_binary.is_file() {
                    return Some(format!(
                        "{} is missing (cargo build --release -p host)",
                        self.host_binary.display()
                    ));
                }
                let component = self.component_dir.join(kind.component_file()?);
                (!component.is_file()).then(|| format!("{} is not built", component.display()))
            }
        }
    }

    /// Starts `kind` on 127.0.0.1, port 0, as `options` say, logging its stderr to
    /// `<log dir>/<log_name>.log`, and waits for its `Serving on` line.
    pub async fn start(
        &self,
        kind: ServerKind,
        log_name: &str,
        options: &StartOptions<'_>,
    ) -> Result<RunningServer> {
        let log_path = self.log_dir.join(format!("{log_name}.log"));
        let log = File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
        let mut command = self.command(kind, &log_path, options)?;
        command
            .envs(options.env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true);
        let server_cpus = options.cpus.map(<[usize]>::to_vec).or_else(|| self.server_cpus.clone());
        let open_files = options.open_files;
        // SAFETY: prctl, sched_setaffinity and setrlimit are async-signal-safe system calls on
        // the child.
        unsafe {
            command.pre_exec(move || {
                // If the bench dies (Ctrl-C, a panic), its servers go with it.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if let Some(cpus) = &server_cpus {
                    cpu_pinning::pin_current_thread(cpus)?;
                }
                if let Some(limit) = open_files {
                    let limit = libc::rlimit { rlim_cur: limit, rlim_max: limit };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let started = Instant::now();
        let mut child = command.spawn().with_context(|| format!("starting {}", kind.name()))?;
        let pid = child.id().ok_or_else(|| anyhow!("{} exited at once", kind.name()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stdout_lines = BufReader::new(stdout).lines();
        // Each of our instances prints its own `Serving on` line once it listens: clients that
        // connect before the last one does would all land on the others, and stay there.
        let listeners = if kind.is_ours() { options.instances.unwrap_or(1) } else { 1 };
        let serving = tokio::time::timeout(self.startup_timeout, async {
            let mut first: Option<SocketAddr> = None;
            let mut seen = 0;
            while let Some(line) = stdout_lines.next_line().await? {
                if let Some(address) = line.strip_prefix("Serving on ") {
                    let address = address
                        .trim()
                        .parse::<SocketAddr>()
                        .with_context(|| format!("unreadable address in `{line}`"))?;
                    if first.is_some_and(|first| first != address) {
                        bail!("its instances serve on different addresses: {first:?} and {address}");
                    }
                    first = Some(address);
                    seen += 1;
                    if seen == listeners {
                        return Ok(address);
                    }
                }
            }
            bail!("it closed its stdout after {seen} of {listeners} `Serving on ADDR` line(s)")
        })
        .await
        .unwrap_or_else(|_| Err(anyhow!("no `Serving on` line within {:?}", self.startup_timeout)));
        let address = match serving {
            Ok(address) => address,
            Err(error) => {
                let _ = child.start_kill();
                let status = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
                let status = status.map_or("still running".to_string(), |s| format!("{s:?}"));
                bail!("{} did not start ({error:#}; exit: {status}){}", kind.name(), log_tail(&log_path));
            }
        };
        let startup = started.elapsed();
        // Keep reading stdout so a server that prints more never blocks on a full pipe, and
        // count its lines (log lines, for `fdlimit`).
        let stdout_count = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&stdout_count);
        tokio::spawn(async move {
            while let Ok(Some(_)) = stdout_lines.next_line().await {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        let memory_report = kind.is_ours().then(|| memory_report_path(&log_path));
        Ok(RunningServer {
            kind,
            child,
            pid,
            address,
            startup,
            log_path,
            memory_report,
            stdout_lines: stdout_count,
        })
    }

    fn command(&self, kind: ServerKind, log_path: &Path, options: &StartOptions<'_>) -> Result<Command> {
        let (echo, tls, instances) = (options.echo, options.tls, options.instances);
        if tls.is_some() && !kind.serves_tls() {
            bail!("{} cannot serve TLS", kind.name());
        }
        if instances.is_some() && kind == ServerKind::Asyncio {
            bail!("the asyncio server runs one process, one thread: no instances");
        }
        // Every server takes the same two options for its certificate and key.
        let tls_args = tls.map(|pki| {
            [OsString::from("--tls-cert"), pki.cert_path().into(), "--tls-key".into(), pki.key_path().into()]
        });
        let mut command;
        match kind {
            ServerKind::Tokio => {
                command = Command::new(&self.bench_executable);
                command.args(["serve-tokio", "--host", "127.0.0.1", "--port", "0"]);
                if let Some(echo) = echo {
                    command.args(["--echo", echo.value()]);
                }
                if let Some(workers) = instances {
                    command.args(["--workers".to_string(), workers.to_string()]);
                }
                command.args(tls_args.into_iter().flatten());
            }
            ServerKind::Asyncio => {
                let python = self.python.as_ref().ok_or_else(|| anyhow!("no Python found"))?;
                command = Command::new(&python.executable);
                command.arg(&self.asyncio_script);
                command.args(echo.map(Echo::flag));
                command.args(tls_args.into_iter().flatten());
                command.args(["127.0.0.1", "0"]);
            }
            ServerKind::EchoServer | ServerKind::ComposeEcho | ServerKind::ComposeEchoAsync => {
                let component = self.component_dir.join(kind.component_file().expect("a component"));
                command = Command::new(&self.host_binary);
                if let Some(count) = instances {
                    command.args(["--instances".to_string(), count.to_string()]);
                }
                if let Some(pki) = tls {
                    command.arg("--dir").arg(pki.dir());
                }
                command.arg(component).arg("--");
                command.args(echo.and_then(|echo| component_echo_flag(kind, echo)));
                command.args(tls_args.into_iter().flatten());
                command.args(["127.0.0.1", "0"]);
                command.env("WASIO_MEMORY_REPORT", memory_report_path(log_path));
            }
        }
        Ok(command)
    }
}

/// The option that selects `echo` on one of our components' command lines: compose-echo-async
/// echoes lines by default and its chunk echo is `--bulk` (what arrives, forwarded as it
/// arrives); the others take `--lines`/`--chunks` as the asyncio server does.
fn component_echo_flag(kind: ServerKind, echo: Echo) -> Option<&'static str> {
    match (kind, echo) {
        (ServerKind::ComposeEchoAsync, Echo::Lines) => None,
        (ServerKind::ComposeEchoAsync, Echo::Chunks) => Some("--bulk"),
        _ => Some(echo.flag()),
    }
}

/// A started server; killed when stopped or dropped.
pub struct RunningServer {
    pub kind: ServerKind,
    child: Child,
    pid: u32,
    pub address: SocketAddr,
    /// From spawn to its `Serving on` line.
    pub startup: Duration,
    log_path: PathBuf,
    /// For ours: the file the host keeps the guest's linear memory size in.
    memory_report: Option<PathBuf>,
    /// Lines it has printed on stdout so far.
    stdout_lines: Arc<AtomicU64>,
}

/// Where the host writes a server's guest memory size (next to its log).
fn memory_report_path(log_path: &Path) -> PathBuf {
    log_path.with_extension("memory")
}

impl RunningServer {
    /// For ours: the guest's linear memories, summed, in KiB (as the host last wrote it).
    pub fn guest_memory_kib(&self) -> Option<Result<u64>> {
        let path = self.memory_report.as_ref()?;
        let read =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display())).and_then(
                |text| text.trim().parse::<u64>().with_context(|| format!("parsing {}", path.display())),
            );
        Some(read.map(|bytes| bytes / 1024))
    }

    /// The server process's RSS (for ours: the host process, guest included).
    pub fn resident_kib(&self) -> Result<u64> {
        process_memory::resident_kib(self.pid)
    }

    /// Starts reading the server process's CPU time (for ours: the host, all its threads).
    pub fn cpu_meter(&self) -> Result<CpuMeter> {
        CpuMeter::start(self.pid)
    }

    /// Lines it has printed so far, on stdout and stderr: what it logs.
    pub fn output_lines(&self) -> Result<u64> {
        let stderr =
            std::fs::read(&self.log_path).with_context(|| format!("reading {}", self.log_path.display()))?;
        let stderr_lines = stderr.iter().filter(|&&byte| byte == b'\n').count() as u64;
        Ok(stderr_lines + self.stdout_lines.load(Ordering::Relaxed))
    }

    /// How many descriptors it has open (for ours: the host process).
    pub fn open_descriptors(&self) -> Result<usize> {
        let path = format!("/proc/{}/fd", self.pid);
        Ok(std::fs::read_dir(&path).with_context(|| format!("listing {path}"))?.count())
    }

    /// An error, with the end of its log, if the server has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => {
                bail!("{} exited during the run ({status}){}", self.kind.name(), log_tail(&self.log_path))
            }
        }
    }

    /// The end of the server's stderr, for a failure's message.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log_path)
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}

/// The last lines of a log, formatted to follow an error message (empty if the log is).
fn log_tail(path: &Path) -> String {
    const LINES: usize = 8;
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = lines[lines.len().saturating_sub(LINES)..].join("\n    ");
    format!("; its stderr ({}) ends:\n    {tail}", path.display())
}

/// python3.13 under pyenv's 3.13.0 when that runs, else python3; resolved to the interpreter
/// itself (not pyenv's shim), so the process whose memory is read is Python's.
fn find_python(explicit: Option<&Path>) -> Option<Python> {
    let candidates: Vec<(PathBuf, Option<(&str, &str)>)> = match explicit {
        Some(path) => vec![(path.to_path_buf(), None)],
        None => vec![("python3.13".into(), Some(("PYENV_VERSION", "3.13.0"))), ("python3".into(), None)],
    };
    candidates.into_iter().find_map(|(program, env)| {
        let mut command = std::process::Command::new(&program);
        command.args(["-c", "import sys; print(sys.executable); print(sys.version.split()[0])"]);
        if let Some((key, value)) = env {
            command.env(key, value);
        }
        let output = command.stderr(Stdio::null()).output().ok()?;
        let text = String::from_utf8(output.stdout).ok()?;
        let mut lines = text.lines();
        let (executable, version) = (lines.next()?, lines.next()?);
        (output.status.success() && !executable.is_empty())
            .then(|| Python { executable: executable.into(), version: version.into() })
    })
}

/// scripts/build-guests writes to target/guests/… (rustup) or target/guests-debian/… (Debian's
/// Rust): take the one with the newer echo-server.wasm.
fn newest_component_dir(root: &Path) -> PathBuf {
    let candidates =
        ["target/guests", "target/guests-debian"].map(|dir| root.join(dir).join("wasm32-wasip2/release"));
    let modified =
        |dir: &PathBuf| std::fs::metadata(dir.join("echo-server.wasm")).and_then(|m| m.modified()).ok();
    // On a tie (neither built), the first.
    candidates.iter().rev().max_by_key(|dir| modified(dir)).cloned().unwrap_or_else(|| candidates[0].clone())
}
