//! The server's close after the last echo: nothing more may arrive, and over TLS it should
//! come with a close_notify (asyncio's `close` sends one). A TLS server that just drops the
//! connection is counted, not failed on the spot, so its numbers still show.

use std::io::ErrorKind;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::line_payload::excerpt;

/// How the server closed its side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerClose {
    /// End of stream (over TLS: after the server's close_notify).
    Clean,
    /// TLS only: the connection ended without the server's close_notify.
    WithoutCloseNotify,
}

/// Waits for the server to close `reader`; an error if bytes arrive instead or nothing
/// happens within `io_timeout`. `what` names the connection in errors.
pub async fn expect_close<R: AsyncRead + Unpin>(
    reader: &mut R,
    what: impl Fn() -> String,
    io_timeout: Duration,
) -> Result<ServerClose> {
    let mut buffer = [0u8; 256];
    match tokio::time::timeout(io_timeout, reader.read(&mut buffer)).await {
        Err(_) => Err(anyhow!("{}: the server did not close within {io_timeout:?}", what())),
        Ok(Ok(0)) => Ok(ServerClose::Clean),
        Ok(Ok(extra)) => bail!("{}: bytes after the last echo: {}", what(), excerpt(&buffer[..extra])),
        // What tokio-rustls reports for a TCP close with no close_notify before it.
        Ok(Err(error)) if error.kind() == ErrorKind::UnexpectedEof => Ok(ServerClose::WithoutCloseNotify),
        Ok(Err(error)) => Err(anyhow!(error).context(format!("{}: waiting for the server to close", what()))),
    }
}
