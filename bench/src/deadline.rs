//! A timeout on every await that waits on a server, so a misbehaving server fails the run
//! with a message instead of hanging it.

use std::future::Future;
use std::time::Duration;

use anyhow::{anyhow, Result};

/// `future`'s output, or an error naming `what` if it takes longer than `limit`.
pub async fn within<T, E>(
    limit: Duration,
    what: impl FnOnce() -> String,
    future: impl Future<Output = Result<T, E>>,
) -> Result<T>
where
    E: Into<anyhow::Error>,
{
    match tokio::time::timeout(limit, future).await {
        Ok(result) => result.map_err(|error| error.into().context(what())),
        Err(_) => Err(anyhow!("{}: no progress within {limit:?}", what())),
    }
}
