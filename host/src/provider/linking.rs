//! Compiling and linking the provider component once, and instantiating it.

use std::collections::HashMap;
use std::path::Path;

use wasmtime::component::Component;
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::WasiCtxBuilder;

use super::{bindings, Provider, ProviderConfig};
use crate::error::{classify_link_error, classify_runtime_error, one_line, RuntimeFailure};
use crate::runner::{self, HostState};
use crate::HostError;

/// How much captured stdout a provider keeps (see [`ProviderConfig::capture_stdout`]).
const STDOUT_CAPACITY: usize = 16 << 20;

/// The provider component compiled and linked once, ready to be instantiated many times
/// (each instance has its own store, sockets and resources).
#[derive(Clone)]
pub struct ProviderPre {
    engine: Engine,
    pre: bindings::ProviderPre<HostState>,
}

impl ProviderPre {
    /// Reads, compiles (with wasmtime's on-disk cache) and links the component at `path`,
    /// checking that it exports `wasio:streams/types`.
    pub async fn load(path: &Path) -> Result<ProviderPre, HostError> {
        let bytes = runner::read_component(path)?;
        let engine = runner::engine(false, true, false)?;
        let component: Component = runner::compile(&engine, path, bytes).await?;
        let linker = runner::wasi_linker(&engine)?;
        let instance_pre = linker.instantiate_pre(&component).map_err(classify_link_error)?;
        let pre = bindings::ProviderPre::new(instance_pre).map_err(|error| HostError::Link {
            message: format!(
                "{} does not export `wasio:streams/types@0.1.0`: {}",
                path.display(),
                one_line(&error)
            ),
            error,
        })?;
        Ok(ProviderPre { engine, pre })
    }

    /// A fresh instance with its own store.
    pub async fn instantiate(&self, config: ProviderConfig) -> Result<Provider, HostError> {
        let mut builder = WasiCtxBuilder::new();
        builder.inherit_stdio();
        if let Some(bytes) = config.stdin {
            builder.stdin(MemoryInputPipe::new(bytes));
        }
        let stdout = config.capture_stdout.then(|| {
            let pipe = MemoryOutputPipe::new(STDOUT_CAPACITY);
            builder.stdout(pipe.clone());
            pipe
        });
        builder.arg("streams-provider");
        config.network.apply(&mut builder);
        let mut store = Store::new(&self.engine, HostState::new(builder.build()));
        store.set_max_component_handles(crate::limits::DEFAULT_MAX_HANDLES);
        let bindings = match tokio::task::unconstrained(self.pre.instantiate_async(&mut store)).await {
            Ok(bindings) => bindings,
            Err(error) => {
                return Err(match classify_runtime_error(error) {
                    RuntimeFailure::Trap(e) => e,
                    RuntimeFailure::Exit(code) => HostError::Trap {
                        message: format!("the provider exited with code {code} while starting"),
                        error: wasmtime::Error::msg(format!("exit({code})")),
                    },
                })
            }
        };
        Ok(Provider { store, bindings, stdout, pollables: HashMap::new(), next_id: 0 })
    }
}
