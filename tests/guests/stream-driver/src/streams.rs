//! The asyncio 3.8 commands: `s.*` on a `Stream` (the current one, see `s.use`), `ss.*`
//! on the one `StreamServer`.
//!
//! `ss.new HOST PORT handler=MODE shutdown_ms=N` makes a server (nothing bound). Handler
//! modes: `queue` (default: the stream waits for `ss.accept`), `echo` (the 3.8 document's
//! echo: read 100, write it back, close), `hold` (reads to EOF, then ends) and `ignore`
//! (sleeps an hour whatever happens; `ss.cancelled` counts the ones cancelled).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use wasio::runtime::{self, Notify};
use wasio::{
    connect_read_pipe, connect_socket, connect_with, connect_write_pipe, ConnectOptions, Error, Stream,
    StreamMode, StreamServer, StreamServerOptions, TcpConnection, DEFAULT_LIMIT,
};

use crate::escape::{show, unescape};
use crate::{bad, millis, number, option, Driver, Outcome};

#[derive(Default)]
pub struct Streams {
    streams: RefCell<Vec<Option<Rc<Stream>>>>,
    current: Cell<usize>,
    server: RefCell<Option<StreamServer>>,
    accepted: Rc<RefCell<VecDeque<Stream>>>,
    accepted_signal: Rc<Notify>,
    cancelled: Rc<Cell<usize>>,
    pair_sender: RefCell<Option<TcpConnection>>,
}

/// Counts a handler whose future is dropped before it ends (cancelled).
struct CancelCounter {
    cancelled: Rc<Cell<usize>>,
    ended: bool,
}

impl Drop for CancelCounter {
    fn drop(&mut self) {
        if !self.ended {
            self.cancelled.set(self.cancelled.get() + 1);
        }
    }
}

impl Streams {
    fn add(&self, stream: Stream) -> String {
        let mut streams = self.streams.borrow_mut();
        streams.push(Some(Rc::new(stream)));
        self.current.set(streams.len() - 1);
        format!("s={}", streams.len() - 1)
    }

    fn stream(&self) -> Result<Rc<Stream>, Error> {
        let index = self.current.get();
        self.streams.borrow().get(index).cloned().flatten().ok_or_else(|| bad(format!("no stream {index}")))
    }

    fn take_stream(&self) -> Result<Stream, Error> {
        let index = self.current.get();
        let taken = self.streams.borrow_mut().get_mut(index).and_then(Option::take);
        let stream = taken.ok_or_else(|| bad(format!("no stream {index}")))?;
        Rc::try_unwrap(stream).map_err(|_| bad("the stream is in use"))
    }

    fn server(&self) -> Result<StreamServer, Error> {
        self.server.borrow().clone().ok_or_else(|| bad("no stream server"))
    }

    /// `ss.new HOST PORT ...`, or `ss.new_socket listening|bound|unbound ...` (`sock=`).
    fn new_server(&self, args: &[&str], on_socket: bool) -> Outcome {
        let mut options = StreamServerOptions::default();
        if let Some(timeout) = millis(args, "shutdown_ms")? {
            options.shutdown_timeout = timeout;
        }
        let mode = option(args, "handler").unwrap_or("queue").to_string();
        let (queue, signal) = (Rc::clone(&self.accepted), Rc::clone(&self.accepted_signal));
        let cancelled = Rc::clone(&self.cancelled);
        let handler = move |stream: Stream| {
            let (mode, queue, signal) = (mode.clone(), Rc::clone(&queue), Rc::clone(&signal));
            let counter = CancelCounter { cancelled: Rc::clone(&cancelled), ended: false };
            async move {
                let mut counter = counter; // the whole guard, not just its field
                let outcome = handle(&mode, stream, &queue, &signal).await;
                counter.ended = true;
                outcome
            }
        };
        let server = if on_socket {
            let socket = crate::socket_pair::server_socket(args.first().copied().unwrap_or("bound"))?;
            StreamServer::with_socket(handler, socket, options)
        } else {
            let host = args.first().copied().ok_or_else(|| bad("ss.new HOST PORT"))?;
            StreamServer::with_options(handler, host, number(args.get(1).copied())?, options)
        };
        *self.server.borrow_mut() = Some(server);
        Ok(String::new())
    }

    pub async fn run(&self, driver: &Driver, name: &str, args: &[&str]) -> Outcome {
        let arg = |i: usize| args.get(i).copied();
        let data = |i: usize| unescape(arg(i).unwrap_or("")).map_err(bad);
        match name {
            "s.connect" => {
                let host = arg(0).ok_or_else(|| bad("s.connect HOST PORT"))?;
                let mut options = ConnectOptions::default();
                if let Some(limit) = option(args, "limit") {
                    options.limit = number(Some(limit))?;
                }
                Ok(self.add(connect_with(host, number(arg(1))?, options).await?))
            }
            "s.socketpair" => {
                let (wrapped, sender) = crate::socket_pair::prepared(arg(0).unwrap_or("plain"))?;
                let stream = connect_socket(wrapped, ConnectOptions::default()).await?;
                *self.pair_sender.borrow_mut() = Some(sender);
                Ok(self.add(stream))
            }
            "s.pair_send" => {
                let sender = self.pair_sender.borrow();
                let sender = sender.as_ref().ok_or_else(|| bad("no socket pair"))?;
                sender.output.blocking_write_and_flush(&data(0)?).map_err(|e| bad(format!("send: {e:?}")))?;
                Ok(String::new())
            }
            "s.pipe_read" => Ok(self.add(connect_read_pipe(DEFAULT_LIMIT).await?)),
            "s.pipe_write" => Ok(self.add(connect_write_pipe().await?)),
            "s.use" => {
                self.current.set(number(arg(0))?);
                Ok(String::new())
            }
            "s.mode" => Ok(match self.stream()?.mode() {
                StreamMode::Read => "read",
                StreamMode::Write => "write",
                StreamMode::ReadWrite => "readwrite",
            }
            .to_string()),
            "s.read" => Ok(show(&self.stream()?.read(number(arg(0))?).await?)),
            "s.readline" => Ok(show(&self.stream()?.readline().await?)),
            "s.readexactly" => Ok(show(&self.stream()?.readexactly(number(arg(0))?).await?)),
            "s.readuntil" => Ok(show(&self.stream()?.readuntil(&data(0)?).await?)),
            "s.at_eof" => Ok(self.stream()?.at_eof().to_string()),
            // Awaited: queues and drains.
            "s.write" => {
                self.stream()?.write(&data(0)?).await?;
                Ok(String::new())
            }
            // Not awaited: queues only, as a bare `stream.write(data)`.
            "s.write_nowait" => {
                self.stream()?.write_nowait(&data(0)?)?;
                Ok(String::new())
            }
            // The awaitable of `write` dropped: the bytes still go.
            "s.write_unawaited" => {
                drop(self.stream()?.write(&data(0)?));
                Ok(String::new())
            }
            "s.write_fill" => {
                let n: usize = number(arg(0))?;
                self.stream()?.write(&vec![b'x'; n]).await?;
                Ok(String::new())
            }
            "s.writelines" => {
                let lines: Vec<Vec<u8>> =
                    args.iter().map(|a| unescape(a)).collect::<Result<_, _>>().map_err(bad)?;
                self.stream()?.writelines(&lines).await?;
                Ok(String::new())
            }
            "s.bufsize" => Ok(self.stream()?.get_write_buffer_size().to_string()),
            "s.drain" => {
                self.stream()?.drain().await?;
                Ok(String::new())
            }
            "s.write_eof" => {
                self.stream()?.write_eof()?;
                Ok(String::new())
            }
            "s.can_write_eof" => Ok(self.stream()?.can_write_eof()?.to_string()),
            "s.close" => {
                self.stream()?.close().await?;
                Ok(String::new())
            }
            "s.abort" => {
                self.stream()?.abort().await?;
                Ok(String::new())
            }
            "s.is_closing" => Ok(self.stream()?.is_closing().to_string()),
            "s.extra" => Ok(match self.stream()?.get_extra_info(arg(0).unwrap_or("")) {
                Some(info) => info.to_string(),
                None => "none".to_string(),
            }),
            // `async with stream:` whose body writes DATA and then fails (fail=1) or not.
            "s.scope" => {
                let stream = self.take_stream()?;
                let payload = data(0)?;
                let fail = option(args, "fail") == Some("1");
                let outcome = stream
                    .scope(async |stream| {
                        stream.write(&payload).await?;
                        if fail {
                            return Err(Error::Other("the body failed".into()));
                        }
                        Ok("body done".to_string())
                    })
                    .await;
                outcome
            }
            // Into a reader/writer pair (a driver connection), and back.
            "s.split" => {
                let (reader, writer) = self.take_stream()?.split()?;
                Ok(driver.add_connection(reader, writer))
            }
            "s.join" => {
                let (reader, writer) = driver.take_connection()?;
                Ok(self.add(Stream::join(reader, writer)?))
            }
            "ss.new" => self.new_server(args, false),
            "ss.new_socket" => self.new_server(args, true),
            "ss.bind" => {
                self.server()?.bind().await?;
                Ok(self.sockets()?)
            }
            "ss.is_bound" => Ok(self.server()?.is_bound().to_string()),
            "ss.start_serving" => {
                self.server()?.start_serving().await?;
                Ok(self.sockets()?)
            }
            "ss.serve_forever" => {
                self.server()?.serve_forever().await?;
                Ok(String::new())
            }
            "ss.is_serving" => Ok(self.server()?.is_serving().to_string()),
            "ss.sockets" => self.sockets(),
            "ss.close" => {
                self.server()?.close().await?;
                Ok(String::new())
            }
            "ss.abort" => {
                self.server()?.abort().await?;
                Ok(String::new())
            }
            "ss.handlers" => Ok(self.server()?.handler_count().to_string()),
            "ss.clients" => Ok(self.server()?.client_count().to_string()),
            "ss.cancelled" => Ok(self.cancelled.get().to_string()),
            // Waits until N clients are connected (polling, bounded by the test's step).
            "ss.wait_clients" => {
                let n: usize = number(arg(0))?;
                while self.server()?.client_count() < n {
                    runtime::sleep(Duration::from_millis(5)).await;
                }
                Ok(String::new())
            }
            "ss.accept" => loop {
                let signal = self.accepted_signal.notified();
                let next = self.accepted.borrow_mut().pop_front();
                if let Some(stream) = next {
                    return Ok(self.add(stream));
                }
                signal.await;
            },
            other => Err(bad(format!("unknown command {other}"))),
        }
    }

    fn sockets(&self) -> Outcome {
        Ok(self.server()?.sockets().iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" "))
    }
}

async fn handle(
    mode: &str,
    stream: Stream,
    queue: &RefCell<VecDeque<Stream>>,
    signal: &Notify,
) -> wasio::Result<()> {
    match mode {
        "echo" => {
            let data = stream.read(100).await?;
            stream.write(&data).await?;
            stream.close().await
        }
        "hold" => {
            while !stream.read(65536).await?.is_empty() {}
            Ok(())
        }
        // Never ends on its own: only the server's close (after shutdown_timeout) or
        // abort can cancel it.
        "ignore" => std::future::pending().await,
        _ => {
            queue.borrow_mut().push_back(stream);
            signal.notify_all();
            Ok(())
        }
    }
}
