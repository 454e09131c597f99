//! `wasio:streams@0.2.0` (wit/v0.2, the WASI 0.3 face) as a component, on `wasi:sockets@0.3`
//! whose bytes are `stream<u8>`s.
//!
//! The semantics are wasio's sans-I/O core (`wasio::core`: [`ReadBuffer`], [`WriteBuffer`],
//! [`Separators`]), exactly as the 0.1.0 provider uses them; this crate is the thin WASI 0.3
//! transport around it: per connection a reading task feeds the core from the socket's
//! receive stream, a writing task hands the core's queue to its send stream, and every
//! `async func` waits on the core's state with [`wasio::runtime::Notify`], inside
//! [`returned_at_once::guard`] (wasmtime 48 leaks the task of a call that returns at
//! once). Calls from one consumer run concurrently (wit-bindgen's async runtime, one
//! component-model task each).
//! The bulk paths move `stream<u8>`s: `reader.into-stream` ([`bulk_read`]) and
//! `writer.write-stream` ([`bulk_write`]).
//! TLS (`ssl`, `start-tls`, `tls-info`) is wasio's sans-I/O `TlsSession`, the 0.1.0
//! provider's, between the core and the socket ([`tls`]).
//!
//! [`ReadBuffer`]: wasio::core::ReadBuffer
//! [`WriteBuffer`]: wasio::core::WriteBuffer
//! [`Separators`]: wasio::core::Separators

mod accept_task;
mod bulk_read;
mod bulk_write;
mod connect;
mod connect_arguments;
mod connection;
mod convert;
mod pumps;
mod race;
mod reader;
mod returned_at_once;
mod server;
mod stdio;
mod tls;
mod writer;

wit_bindgen::generate!({
    path: "../../wit/v0.2",
    world: "provider",
    with: {
        "wasi:sockets/types@0.3.2": wasip3::sockets::types,
        "wasi:clocks/types@0.3.2": wasip3::clocks::types,
    },
});

use std::time::Duration;

use exports::wasio::streams::types as wit;

/// The exported interface's free functions.
struct Provider;

export!(Provider);

impl wit::Guest for Provider {
    type Reader = reader::Reader;
    type Writer = writer::Writer;
    type Server = server::Server;

    async fn open_connection(
        host: String,
        port: u16,
        options: Option<wit::ConnectOptions>,
    ) -> Result<(wit::Reader, wit::Writer), wit::Error> {
        crate::returned_at_once::guard(async move {
            let limit = convert::connect_limit(options.as_ref())?;
            connect_arguments::check(&host, options.as_ref())?;
            let tls = tls::handshake::client_session(&host, options.as_ref())?;
            let local = options.as_ref().and_then(|o| o.local_address).map(convert::from_wasi);
            let delay = options.as_ref().and_then(|o| o.happy_eyeballs_delay_ms);
            let connecting =
                connect::connect(&host, port, local, delay.map(|ms| Duration::from_millis(ms.into())));
            let socket = match options.as_ref().and_then(|o| o.timeout_ms) {
                Some(ms) => race::within(ms, connecting).await.ok_or(wit::Error::Timeout)??,
                None => connecting.await?,
            };
            let conn = connection::Connection::start(socket, limit, None)?;
            if let Some(session) = tls {
                tls::handshake::install(&conn, session, Vec::new());
                tls::handshake::complete(&conn).await?;
            }
            Ok((
                wit::Reader::new(reader::Reader::new(conn.clone())),
                wit::Writer::new(writer::Writer::new(conn)),
            ))
        })
        .await
    }

    async fn start_server(
        host: String,
        port: u16,
        options: Option<wit::ServerOptions>,
    ) -> Result<wit::Server, wit::Error> {
        crate::returned_at_once::guard(async move {
            server::start(&host, port, options).await.map(wit::Server::new)
        })
        .await
    }

    async fn stdin_reader(limit: Option<u64>) -> Result<wit::Reader, wit::Error> {
        crate::returned_at_once::guard(async move {
            // Reading from the start, in this call's task.
            Ok(wit::Reader::new(reader::Reader::new(stdio::stdin(convert::limit(limit)?)?)))
        })
        .await
    }

    async fn stdout_writer() -> Result<wit::Writer, wit::Error> {
        crate::returned_at_once::guard(async move {
            // Its pump runs in this call's task: a `write` alone reaches stdout.
            Ok(wit::Writer::new(writer::Writer::new(stdio::stdout())))
        })
        .await
    }
}
