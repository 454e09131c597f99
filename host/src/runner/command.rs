//! Which `wasi:cli/run` a component exports, and calling it: WASI 0.2's (a plain async call)
//! or WASI 0.3's (an `async func`, called inside [`Store::run_concurrent`] so that the
//! guest's tasks, streams and futures make progress). The component decides; no flag.
//!
//! Both linkers' imports are always present (see [`super::wasi_linker_with`]): a 0.3
//! component built by Rust for `wasm32-wasip2` still imports 0.2's `wasi:cli` through std,
//! and a composition may mix 0.2 and 0.3 parts.

use wasmtime::component::InstancePre;
use wasmtime::Store;
use wasmtime_wasi::p2::bindings::CommandPre as P2CommandPre;
use wasmtime_wasi::p3::bindings::CommandPre as P3CommandPre;

use super::HostState;

/// A linked component's `run` export, by WASI version.
pub(crate) enum CliCommand {
    /// `wasi:cli/run@0.2.x`: `run: func() -> result`.
    P2(P2CommandPre<HostState>),
    /// `wasi:cli/run@0.3.x`: `run: async func() -> result`.
    P3(P3CommandPre<HostState>),
}

impl CliCommand {
    /// The 0.3 export when there is one, else the 0.2 one; the error is 0.2's (the usual
    /// case, and the message names `wasi:cli/run`).
    pub(crate) fn new(pre: InstancePre<HostState>) -> wasmtime::Result<CliCommand> {
        match P3CommandPre::new(pre.clone()) {
            Ok(p3) => Ok(CliCommand::P3(p3)),
            Err(_) => P2CommandPre::new(pre).map(CliCommand::P2),
        }
    }

    /// Which WASI version's `run` this is, for the log.
    pub(crate) fn wasi_version(&self) -> &'static str {
        match self {
            CliCommand::P2(_) => "0.2",
            CliCommand::P3(_) => "0.3",
        }
    }

    /// Instantiates into `store` and runs `run` to completion: `Ok(Ok(()))` success,
    /// `Ok(Err(()))` the guest's `run` failed, `Err` a trap or exit.
    pub(crate) async fn instantiate_and_run(
        &self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<Result<(), ()>> {
        match self {
            CliCommand::P2(pre) => {
                let command = pre.instantiate_async(&mut *store).await?;
                command.wasi_cli_run().call_run(&mut *store).await
            }
            CliCommand::P3(pre) => {
                let command = pre.instantiate_async(&mut *store).await?;
                // `run` returns when its task does; tasks it spawned and streams still
                // being written are the guest's own business after that (as a p2
                // guest's threads would be): the store goes when the run is over.
                store
                    .run_concurrent(async move |accessor| command.wasi_cli_run().call_run(accessor).await)
                    .await?
            }
        }
    }
}
