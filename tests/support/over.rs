//! The stream tests, once over plain TCP and once over TLS: [`over_tcp_and_tls!`] writes
//! each case twice, and [`Peer`] is the native end of the driver's connection, a plain
//! socket or a tokio-rustls server session over one, read and written alike.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::certs::TestPki;
use super::driver::Driver;
use super::within;

/// Which transport a case runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Over {
    Tcp,
    Tls,
}

/// Writes each `async fn NAME(over: Over) { ... }` as two tests: `NAME` over TCP, and
/// `over_tls::NAME` over TLS. Once per file (the cases live in a module `cases`).
macro_rules! over_tcp_and_tls {
    ($($(#[$meta:meta])* async fn $name:ident($over:ident: Over) $body:block)*) => {
        mod cases {
            #[allow(unused_imports)]
            use super::*;
            $($(#[$meta])* pub async fn $name($over: $crate::support::over::Over) $body)*
        }
        $(
            #[tokio::test]
            async fn $name() {
                cases::$name($crate::support::over::Over::Tcp).await
            }
        )*
        mod over_tls {
            $(
                #[tokio::test]
                async fn $name() {
                    super::cases::$name($crate::support::over::Over::Tls).await
                }
            )*
        }
    };
}
pub(crate) use over_tcp_and_tls;

/// The native end of a connection: a socket, or a TLS session over one.
pub struct Peer {
    stream: Stream,
    /// The certificates the component read (kept until the test ends).
    _pki: Option<TestPki>,
}

enum Stream {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Driver {
    /// A driver whose connection (its `conn=0`) goes to a native peer on a free loopback
    /// port, over `over`, with `connect` options such as `limit=4`. Over TLS the peer is
    /// a tokio-rustls server with a test CA's `localhost` certificate, which the driver
    /// trusts, and the handshake is done when this returns.
    pub async fn connected_over(over: Over, options: &str) -> (Driver, Peer) {
        if over == Over::Tcp {
            let (driver, socket) = Driver::connected_to_peer(options).await;
            return (driver, Peer { stream: Stream::Tcp(socket), _pki: None });
        }
        let pki = TestPki::new();
        let (listener, address) = super::peer::listener().await;
        let acceptor = TlsAcceptor::from(TestPki::server_config(&pki.cert_pem, &pki.key_pem));
        let accepting = tokio::spawn(async move {
            let socket = super::peer::accept(&listener).await;
            acceptor.accept(socket).await.expect("the TLS handshake with the driver")
        });
        let mut driver = Driver::start_with(&["--dir", &pki.dir_path()]);
        let ca = pki.file("ca.pem", None);
        driver
            .ok(&format!(
                "connect 127.0.0.1 {} cafile={ca} server_hostname=localhost {options}",
                address.port()
            ))
            .await;
        let tls = within("the peer's TLS handshake", accepting).await.unwrap();
        (driver, Peer { stream: Stream::Tls(Box::new(tls)), _pki: Some(pki) })
    }
}

impl Peer {
    pub fn over(&self) -> Over {
        match self.stream {
            Stream::Tcp(_) => Over::Tcp,
            Stream::Tls(_) => Over::Tls,
        }
    }

    /// The socket under the session.
    pub fn socket(&self) -> &TcpStream {
        match &self.stream {
            Stream::Tcp(socket) => socket,
            Stream::Tls(tls) => tls.get_ref().0,
        }
    }

    /// Closes with a reset (RST): the session ends without close_notify.
    pub fn reset(self) {
        let socket = match self.stream {
            Stream::Tcp(socket) => socket,
            Stream::Tls(tls) => tls.into_inner().0,
        };
        super::peer::reset(socket);
    }
}

impl AsyncRead for Peer {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Tcp(socket) => Pin::new(socket).poll_read(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Peer {
    /// Over TLS, ciphertext left over from earlier writes goes first, and each write is
    /// pushed to the socket as far as it takes it: a case's `write_all` then sends its
    /// bytes as a plain socket's does, with no flush of its own.
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Tcp(socket) => Pin::new(socket).poll_write(cx, data),
            Stream::Tls(tls) => {
                let mut tls = Pin::new(tls.as_mut());
                if let Err(error) = std::task::ready!(tls.as_mut().poll_flush(cx)) {
                    return Poll::Ready(Err(error));
                }
                let written = std::task::ready!(tls.as_mut().poll_write(cx, data));
                // Whatever the socket does not take now goes with the next call.
                let _ = tls.as_mut().poll_flush(cx);
                Poll::Ready(written)
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Tcp(socket) => Pin::new(socket).poll_flush(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    /// Over TLS: close_notify, then the socket's FIN.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Tcp(socket) => Pin::new(socket).poll_shutdown(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}
