//! SIGINT and SIGTERM: the first stops the component (the caller drops its run, which
//! closes every socket it owned) and sets the exit code 128 + signal; a second one exits
//! the process at once.

use tokio::signal::unix::{signal, SignalKind};

/// A termination signal that arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Interrupt,
    Terminate,
}

impl Stop {
    /// 130 for SIGINT, 143 for SIGTERM, as a shell reports them.
    pub fn exit_code(self) -> i32 {
        match self {
            Stop::Interrupt => 130,
            Stop::Terminate => 143,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Stop::Interrupt => "SIGINT",
            Stop::Terminate => "SIGTERM",
        }
    }
}

/// Completes at the first SIGINT or SIGTERM, and from then on exits the process at once
/// on another one. Must run inside a tokio runtime.
pub async fn first_stop_signal() -> std::io::Result<Stop> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let stop = tokio::select! {
        _ = interrupt.recv() => Stop::Interrupt,
        _ = terminate.recv() => Stop::Terminate,
    };
    tracing::warn!("{}: stopping the component (again to exit at once)", stop.name());
    tokio::spawn(async move {
        let again = tokio::select! {
            _ = interrupt.recv() => Stop::Interrupt,
            _ = terminate.recv() => Stop::Terminate,
        };
        std::process::exit(again.exit_code());
    });
    Ok(stop)
}
