//! The accept loop: every connection goes to a task of its own.

use crate::accept_pause::AcceptFailures;
use crate::bindings::wasio::streams::types::{Error, Server};
use crate::echo::{self, Echo};

/// Accepts until the server stops serving, spawning [`echo::connection`] for each client.
/// The spawned tasks belong to the `run` export's task, which this keeps alive.
pub async fn serve(server: Server, mode: Echo) -> Result<(), Error> {
    let mut failures = AcceptFailures::default();
    loop {
        match server.accept().await {
            Ok((reader, writer)) => {
                failures.succeeded();
                // Detached: the task runs on after its handle is dropped.
                drop(wit_bindgen::spawn_local(echo::connection(reader, writer, mode)));
            }
            // Not serving any more (closed): nothing left to accept.
            Err(error @ (Error::Closed | Error::InvalidArgument(_))) => return Err(error),
            Err(error) => {
                failures.failed(&error);
                failures.pause().await;
            }
        }
    }
}
