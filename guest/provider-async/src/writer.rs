//! The `writer` resource: asyncio.StreamWriter over the core's [`WriteBuffer`]; the
//! connection's writing task sends what `write` queued; `write-stream` is
//! [`crate::bulk_write`].
//!
//! [`WriteBuffer`]: wasio::core::WriteBuffer

use std::rc::Rc;

use wasio::error::Error;
use wasip3::wit_bindgen::StreamReader;

use crate::connection::Connection;
use crate::convert;
use crate::wit;

pub struct Writer {
    conn: Rc<Connection>,
}

impl Writer {
    pub(crate) fn new(conn: Rc<Connection>) -> Writer {
        Writer { conn }
    }

    pub(crate) fn conn(&self) -> &Rc<Connection> {
        &self.conn
    }

    fn queued(&self, outcome: wasio::error::Result<wasio::core::WriteOutcome>) -> Result<(), wit::Error> {
        outcome.map_err(convert::error)?;
        self.conn.write_changed.notify_all(); // the writing task takes it
        Ok(())
    }

    /// `write`.
    pub(crate) fn queue(&self, data: &[u8]) -> Result<(), wit::Error> {
        let outcome = self.conn.write.borrow_mut().write(data);
        self.queued(outcome)
    }

    /// `drain`: waits while the queue is over the marks; the connection's error.
    pub(crate) async fn wait_below_low_mark(&self) -> Result<(), wit::Error> {
        loop {
            {
                if let Some(error) = self.conn.read.borrow().exception() {
                    return Err(convert::error(error.clone()));
                }
                let write = self.conn.write.borrow();
                if write.drain_finds_lost() || self.conn.write_done.get() && write.is_closing() {
                    return Err(convert::error(Error::connection_lost()));
                }
                if !write.is_paused() {
                    return Ok(());
                }
            }
            self.conn.write_changed.notified().await;
        }
    }
}

impl Drop for Writer {
    /// asyncio 3.13 closes an abandoned writer's connection: queued bytes still go.
    fn drop(&mut self) {
        self.conn.close();
    }
}

fn size(n: u64) -> Option<usize> {
    usize::try_from(n).ok()
}

impl wit::GuestWriter for Writer {
    // `write` and `writelines` are sync (they never wait): the connection's writing task,
    // running since the call that made the writer, takes what they queue.
    fn write(&self, data: Vec<u8>) -> Result<(), wit::Error> {
        self.queue(&data)
    }

    fn writelines(&self, lines: Vec<Vec<u8>>) -> Result<(), wit::Error> {
        let outcome = self.conn.write.borrow_mut().writelines(lines.iter().map(Vec::as_slice));
        self.queued(outcome)
    }

    async fn drain(&self) -> Result<(), wit::Error> {
        crate::returned_at_once::guard(async move { self.wait_below_low_mark().await }).await
    }

    async fn write_stream(&self, data: StreamReader<u8>) -> Result<u64, wit::Error> {
        crate::returned_at_once::guard(async move { crate::bulk_write::write_stream(self, data).await }).await
    }

    fn write_eof(&self) -> Result<(), wit::Error> {
        if self.conn.tls.is_on() {
            // asyncio's SSL transport raises NotImplementedError: TLS cannot half-close.
            return Err(convert::error(Error::NotImplemented(
                "write_eof() is not supported over TLS (it cannot half-close)",
            )));
        }
        self.conn.write.borrow_mut().request_eof();
        self.conn.write_changed.notify_all();
        Ok(())
    }

    fn can_write_eof(&self) -> bool {
        self.conn.is_socket() && !self.conn.tls.is_on()
    }

    fn close(&self) {
        self.conn.close();
    }

    fn is_closing(&self) -> bool {
        let write = self.conn.write.borrow();
        write.is_closing() || write.is_lost()
    }

    fn abort(&self) {
        self.conn.abort();
    }

    async fn wait_closed(&self) -> Result<(), wit::Error> {
        crate::returned_at_once::guard(async move {
            while !self.conn.write_done.get() {
                self.conn.write_changed.notified().await;
            }
            match self.conn.lost_with.borrow().clone() {
                Some(error) => Err(convert::error(error)),
                None => Ok(()),
            }
        })
        .await
    }

    fn get_write_buffer_size(&self) -> u64 {
        self.conn.write.borrow().len() as u64
    }

    fn get_write_buffer_limits(&self) -> wit::WriteBufferLimits {
        let (low, high) = self.conn.write.borrow().limits();
        wit::WriteBufferLimits { low: low as u64, high: high as u64 }
    }

    fn set_write_buffer_limits(&self, high: Option<u64>, low: Option<u64>) -> Result<(), wit::Error> {
        let too_large = || convert::error(Error::invalid_argument("limit is too large"));
        let high = high.map(|h| size(h).ok_or_else(too_large)).transpose()?;
        let low = low.map(|l| size(l).ok_or_else(too_large)).transpose()?;
        self.conn.write.borrow_mut().set_limits(high, low).map_err(convert::error)?;
        self.conn.write_changed.notify_all();
        Ok(())
    }

    fn peername(&self) -> Result<wit::IpSocketAddress, wit::Error> {
        self.conn.peer.map(convert::to_wasi).ok_or_else(|| convert::error(Error::connection_lost()))
    }

    fn sockname(&self) -> Result<wit::IpSocketAddress, wit::Error> {
        self.conn.local.map(convert::to_wasi).ok_or_else(|| convert::error(Error::connection_lost()))
    }

    async fn start_tls(
        &self,
        config: wit::TlsUpgrade,
        server_hostname: Option<String>,
        ssl_handshake_timeout_ms: Option<u32>,
        ssl_shutdown_timeout_ms: Option<u32>,
    ) -> Result<(), wit::Error> {
        crate::returned_at_once::guard(async move {
            let options = wasio::StartTlsOptions {
                server_hostname,
                ssl_handshake_timeout: crate::tls::config::millis(ssl_handshake_timeout_ms),
                ssl_shutdown_timeout: crate::tls::config::millis(ssl_shutdown_timeout_ms),
            };
            crate::tls::handshake::start_tls(&self.conn, &config, options).await
        })
        .await
    }

    fn tls_info(&self) -> Option<wit::TlsInfo> {
        self.conn.tls.info().map(crate::tls::config::info)
    }
}
