//! Putting a connection under TLS: `open-connection` with `ssl` (the handshake completes
//! before the connection is handed out, as asyncio's does; a server's side is
//! [`super::server`]) and `writer.start-tls` on a live connection.

use std::rc::Rc;

use wasio::core::{FlowControl, Step};
use wasio::error::Error;
use wasio::tls::{arguments, handshake_timeout, TlsSession};
use wasio::StartTlsOptions;

use super::{config, pumps};
use crate::connection::Connection;
use crate::{convert, race, wit};

/// The client session `connect-options` ask for (`ssl`, `server-hostname`, the
/// timeouts), with asyncio's checks; `None` for plain TCP.
pub(crate) fn client_session(
    host: &str,
    options: Option<&wit::ConnectOptions>,
) -> Result<Option<TlsSession>, wit::Error> {
    let Some(o) = options else { return Ok(None) };
    let has_ssl = o.ssl.is_some();
    let (handshake, shutdown) = arguments::timeouts(
        has_ssl,
        config::millis(o.ssl_handshake_timeout_ms),
        config::millis(o.ssl_shutdown_timeout_ms),
    )
    .map_err(convert::error)?;
    let name =
        arguments::server_hostname(has_ssl, o.server_hostname.as_deref(), host).map_err(convert::error)?;
    let Some(ssl) = &o.ssl else { return Ok(None) };
    let client = config::client_config(ssl).map_err(convert::error)?;
    let mut session = TlsSession::client(&client, name, handshake).map_err(convert::error)?;
    session.set_shutdown_timeout(shutdown);
    Ok(Some(session))
}

/// Hands the connection to `session`: its pumps go over to TLS; `unread` (bytes the
/// reader held) are the peer's first records.
pub(crate) fn install(conn: &Connection, session: TlsSession, unread: Vec<u8>) {
    *conn.tls.session.borrow_mut() = Some(Box::new(session));
    conn.write.borrow_mut().use_flow_control(FlowControl::Ssl);
    if !unread.is_empty() {
        pumps::received(conn, unread);
    }
    conn.read_changed.notify_all();
    conn.write_changed.notify_all();
}

/// Waits for the handshake within the session's `ssl_handshake_timeout`. On failure the
/// connection is aborted (after the alert that says why) and the error returned.
pub(crate) async fn complete(conn: &Connection) -> Result<(), wit::Error> {
    let limit = conn.tls.session.borrow().as_deref().map(TlsSession::handshake_timeout).unwrap_or_default();
    let ms = u32::try_from(limit.as_millis()).unwrap_or(u32::MAX);
    let outcome = match race::within(ms, wait(conn)).await {
        Some(outcome) => outcome,
        None => Err(handshake_timeout(limit)),
    };
    if outcome.is_err() {
        conn.abort();
    }
    outcome.map_err(convert::error)
}

async fn wait(conn: &Connection) -> Result<(), Error> {
    loop {
        if let Some(error) = conn.lost_with.borrow().clone() {
            return Err(error);
        }
        if conn.write_done.get() {
            return Err(Error::connection_lost());
        }
        let done = conn
            .tls
            .session
            .borrow()
            .as_ref()
            .is_none_or(|session| !session.is_handshaking() && !session.wants_write());
        if done {
            return Ok(());
        }
        conn.tls.changed.notified().await;
    }
}

/// asyncio's `StreamWriter.start_tls`: what was queued goes out first in plaintext, the
/// bytes the reader holds unread go to the handshake, which completes within its timeout.
pub(crate) async fn start_tls(
    conn: &Rc<Connection>,
    upgrade: &wit::TlsUpgrade,
    options: StartTlsOptions,
) -> Result<(), wit::Error> {
    let already = || convert::error(Error::invalid_argument("the connection already uses TLS"));
    if conn.tls.is_on() {
        return Err(already());
    }
    if conn.tls.streamed.get() {
        let streamed = "start_tls after reader.into-stream: the reader's bytes go to its stream";
        return Err(convert::error(Error::invalid_argument(streamed)));
    }
    let session =
        config::upgrade(upgrade).and_then(|upgrade| upgrade.new_session(&options)).map_err(convert::error)?;
    loop {
        if let Some(error) = conn.lost_with.borrow().clone() {
            return Err(convert::error(error));
        }
        let write = conn.write.borrow();
        if write.is_lost() {
            return Err(convert::error(Error::connection_lost()));
        }
        if write.is_empty() {
            break;
        }
        drop(write);
        conn.write_changed.notified().await;
    }
    if conn.tls.is_on() {
        return Err(already());
    }
    {
        let write = conn.write.borrow();
        if write.is_closing() || write.eof_requested() {
            return Err(convert::error(Error::Closed("start_tls on a closing connection".into())));
        }
    }
    let unread = {
        let mut read = conn.read.borrow_mut();
        let buffered = read.len() as i64;
        match read.read(buffered) {
            Step::Ready(result) => result.map_err(convert::error)?,
            Step::NeedData => Vec::new(),
        }
    };
    install(conn, session, unread);
    complete(conn).await
}
