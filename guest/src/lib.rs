//! wasio: asyncio's Streams for WASI 0.2 components.
//!
//! `StreamReader`, `StreamWriter`, `open_connection` and `start_server` with asyncio's
//! exact semantics (readuntil limits, `IncompleteRead`/`LimitOverrun`, drain watermarks,
//! half-close) on top of `wasi:sockets`, driven by a small single-threaded runtime on
//! `wasi:io/poll`.
//!
//! ```no_run
//! use wasio::{open_connection, runtime};
//!
//! runtime::block_on(async {
//!     let (reader, writer) = open_connection("localhost", 8888).await?;
//!     writer.write(b"hello\n")?;
//!     writer.drain().await?;
//!     let line = reader.readline().await?;
//!     writer.close();
//!     writer.wait_closed().await
//! })
//! .unwrap();
//! ```
//!
//! The semantics live in [`core`], which is plain Rust and tested natively; the modules
//! around it only move bytes between that core and the host.

pub mod connection;
pub mod core;
pub mod error;
pub mod extra_info;
pub mod happy_eyeballs;
mod log;
mod net;
#[cfg(feature = "provider")]
pub mod provider;
pub mod reader;
pub mod repr;
pub mod resolve;
pub mod runtime;
pub mod server;
pub mod socket;
pub mod stdio;
pub mod tls;
pub mod stream;
pub mod stream_server;
mod tcp;
mod transport;
pub mod writer;

pub use connection::{open_connection, open_connection_with, ConnectOptions};
pub use core::{Separators, DEFAULT_LIMIT};
pub use error::{Error, Overrun, Result};
pub use extra_info::ExtraInfo;
pub use reader::StreamReader;
pub use repr::{repr_address, repr_str};
pub use server::{
    start_listening, start_server, start_server_socket, start_server_with, HandlerFailure, HandlerOutcome,
    Server, ServerOptions,
};
pub use socket::{connect_socket, open_connection_socket, TcpConnection};
pub use stdio::{stdin_reader, stdout_writer};
pub use tls::{SslErrorKind, StartTlsOptions, TlsClientConfig, TlsInfo, TlsServerConfig, TlsUpgrade, TlsVersion};
pub use stream::{connect, connect_read_pipe, connect_with, connect_write_pipe, Completion, Stream, StreamMode};
pub use stream_server::{StreamServer, StreamServerOptions};
pub use transport::ABANDONED_FLUSH_TIMEOUT;
pub use writer::StreamWriter;

/// `lines.next().await` on [`StreamReader::lines`] needs this trait in scope.
pub use futures_lite::StreamExt;
