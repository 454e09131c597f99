//! A TLS server's side of each taken-in connection: its handshake runs in a task of its
//! own, so a client that stalls its handshake holds up no other (asyncio's handshakes
//! run side by side too), and only a completed one reaches `accept`.

use std::rc::Rc;
use std::time::Duration;

use wasio::tls::{arguments, TlsServerConfig, TlsSession};

use super::{config, handshake};
use crate::connection::Connection;
use crate::server::Shared;
use crate::{convert, wit};

/// What `server-options.ssl` and its timeouts ask for.
pub(crate) struct ServerTls {
    config: TlsServerConfig,
    handshake: Duration,
    shutdown: Duration,
}

impl ServerTls {
    /// What `server-options` ask for, with asyncio's checks; `None` for plain TCP.
    pub(crate) fn from_options(
        options: Option<&wit::ServerOptions>,
    ) -> Result<Option<ServerTls>, wit::Error> {
        let Some(o) = options else { return Ok(None) };
        let (handshake, shutdown) = arguments::timeouts(
            o.ssl.is_some(),
            config::millis(o.ssl_handshake_timeout_ms),
            config::millis(o.ssl_shutdown_timeout_ms),
        )
        .map_err(convert::error)?;
        let Some(ssl) = &o.ssl else { return Ok(None) };
        let config = config::server_config(ssl).map_err(convert::error)?;
        Ok(Some(ServerTls { config, handshake, shutdown }))
    }

    /// Starts a taken-in connection's handshake in a task of its own; once it completes
    /// the connection joins `server`'s queue for `accept`. A failed one is closed and
    /// never returned; as in asyncio outside its debug mode (the failure is an `OSError`,
    /// which its SSL protocol reports only at debug level) and as in the 0.1.0 provider,
    /// nothing is logged, and the server goes on serving.
    pub(crate) fn start_handshake(&self, server: Rc<Shared>, conn: Rc<Connection>) {
        let Ok(mut session) = TlsSession::server(&self.config, self.handshake) else { return conn.abort() };
        session.set_shutdown_timeout(self.shutdown);
        handshake::install(&conn, session, Vec::new());
        server.handshake_started();
        drop(wasip3::spawn_local(async move {
            let completed = handshake::complete(&conn).await.is_ok();
            server.handshake_ended(conn, completed);
        }));
    }
}
