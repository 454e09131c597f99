//! `startup`: from spawning a server to its `Serving on` line, twice. For ours the first start
//! gets an empty wasmtime compilation cache (a fresh XDG_CACHE_HOME, where wasmtime's default
//! cache directory lives), so it compiles and fills the cache; the second reuses that cache.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::servers::{Launcher, ServerKind, StartOptions};

pub struct StartupOutcome {
    pub first: Duration,
    pub second: Duration,
}

impl StartupOutcome {
    pub fn summary(&self) -> String {
        format!(
            "first start {:.1} ms, second {:.1} ms",
            self.first.as_secs_f64() * 1e3,
            self.second.as_secs_f64() * 1e3
        )
    }
}

pub async fn run(launcher: &Launcher, kind: ServerKind, log_name: &str) -> Result<StartupOutcome> {
    let cache_home = tempfile::Builder::new()
        .prefix("wasio-bench-cache-")
        .tempdir()
        .context("creating an empty cache directory")?;
    let env: Vec<(&str, &Path)> =
        if kind.is_ours() { vec![("XDG_CACHE_HOME", cache_home.path())] } else { Vec::new() };
    // The echo plays no part: each server's default.
    let options = StartOptions { echo: None, env: &env, ..StartOptions::default() };
    let first = launcher.start(kind, &format!("{log_name}-first"), &options).await?;
    let first_startup = first.startup;
    first.stop().await;
    let second = launcher.start(kind, &format!("{log_name}-second"), &options).await?;
    let second_startup = second.startup;
    second.stop().await;
    Ok(StartupOutcome { first: first_startup, second: second_startup })
}
