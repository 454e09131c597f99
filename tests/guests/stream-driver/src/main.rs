//! Runs wasio stream operations named on stdin, printing one result line for each, so
//! native tests can interleave them with what a real TCP peer does.
//!
//! Results: `ok VALUE` or `err KIND DETAIL`; bytes are shown quoted with Rust's
//! `escape_ascii`. `bg COMMAND` runs a command as its own task: it prints `ok bg=N`
//! at once and `bgN: RESULT` when the command finishes. See `tests/support/driver.rs`
//! for the command list as the tests use it.

mod escape;
mod socket_pair;
mod streams;
mod tls;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use escape::{show, unescape};
use wasio::runtime::{self, Notify};
use wasio::{
    open_connection_with, start_server_with, ConnectOptions, Error, Overrun, Separators, Server,
    ServerOptions, StreamExt, StreamReader, StreamWriter,
};

struct Connection {
    reader: StreamReader,
    writer: Option<Rc<StreamWriter>>,
}

#[derive(Default)]
struct Driver {
    connections: RefCell<Vec<Option<Rc<Connection>>>>,
    current: RefCell<usize>,
    server: RefCell<Option<Server>>,
    accepted: Rc<RefCell<VecDeque<(StreamReader, StreamWriter)>>>,
    accepted_signal: Rc<Notify>,
    background: RefCell<usize>,
    streams: streams::Streams,
}

type Outcome = Result<String, Error>;

fn main() {
    let driver = Rc::new(Driver::default());
    let result: Result<(), Error> = runtime::block_on(async {
        let stdin = wasio::stdin_reader(None)?;
        loop {
            let line = stdin.readline().await?;
            if line.is_empty() {
                return Ok(());
            }
            let line = String::from_utf8_lossy(&line).trim().to_string();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line == "quit" {
                return Ok(());
            }
            if let Some(command) = line.strip_prefix("bg ") {
                let id = {
                    let mut next = driver.background.borrow_mut();
                    *next += 1;
                    *next
                };
                println!("ok bg={id}");
                let driver = Rc::clone(&driver);
                let command = command.to_string();
                runtime::spawn(async move {
                    let outcome = driver.run(&command).await;
                    println!("bg{id}: {}", render(outcome));
                });
                continue;
            }
            let outcome = driver.run(&line).await;
            println!("{}", render(outcome));
        }
    });
    if let Err(error) = result {
        eprintln!("stream-driver: {error}");
        std::process::exit(1);
    }
}

fn render(outcome: Outcome) -> String {
    // One line per result, whatever the error text holds.
    let line = match outcome {
        Ok(value) if value.is_empty() => "ok".to_string(),
        Ok(value) => format!("ok {value}"),
        Err(error) => format!("err {}", show_error(&error)),
    };
    line.replace('\n', "\\n")
}

fn show_error(error: &Error) -> String {
    match error {
        Error::IncompleteRead { partial, expected } => {
            let expected = expected.map_or("none".to_string(), |n| n.to_string());
            format!("IncompleteRead partial={} expected={expected}", show(partial))
        }
        Error::LimitOverrun { kind, consumed } => {
            let kind = match kind {
                Overrun::SeparatorFound => "found",
                Overrun::SeparatorNotFound => "not-found",
            };
            format!("LimitOverrun {kind} consumed={consumed}")
        }
        other => {
            let kind = match other {
                Error::ConnectionReset(_) => "ConnectionReset",
                Error::ConnectionRefused(_) => "ConnectionRefused",
                Error::ConnectionAborted(_) => "ConnectionAborted",
                Error::TimedOut => "TimedOut",
                Error::AccessDenied(_) => "AccessDenied",
                Error::AddressInUse(_) => "AddressInUse",
                Error::AddressNotAvailable(_) => "AddressNotAvailable",
                Error::NameUnresolvable(_) => "NameUnresolvable",
                Error::Closed(_) => "Closed",
                Error::Busy(_) => "Busy",
                Error::WrongMode(_) => "WrongMode",
                Error::InvalidArgument(_) => "InvalidArgument",
                Error::Ssl { .. } => "Ssl",
                Error::NotImplemented(_) => "NotImplemented",
                _ => "Other",
            };
            format!("{kind} {other}")
        }
    }
}

fn bad(message: impl Into<String>) -> Error {
    Error::InvalidArgument(format!("driver: {}", message.into()))
}

fn number<T: std::str::FromStr>(word: Option<&str>) -> Result<T, Error> {
    let word = word.ok_or_else(|| bad("missing number"))?;
    word.parse().map_err(|_| bad(format!("not a number: {word}")))
}

/// `key=value` options after the positional arguments.
fn option<'a>(words: &[&'a str], key: &str) -> Option<&'a str> {
    words.iter().find_map(|w| w.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
}

fn millis(words: &[&str], key: &str) -> Result<Option<Duration>, Error> {
    option(words, key).map(|v| number::<u64>(Some(v)).map(Duration::from_millis)).transpose()
}

impl Driver {
    fn connection(&self) -> Result<Rc<Connection>, Error> {
        let index = *self.current.borrow();
        self.connections
            .borrow()
            .get(index)
            .cloned()
            .flatten()
            .ok_or_else(|| bad(format!("no connection {index}")))
    }

    fn writer(&self) -> Result<Rc<StreamWriter>, Error> {
        self.connection()?.writer.clone().ok_or_else(|| bad("the writer was dropped"))
    }

    fn add_connection(&self, reader: StreamReader, writer: StreamWriter) -> String {
        let mut connections = self.connections.borrow_mut();
        connections.push(Some(Rc::new(Connection { reader, writer: Some(Rc::new(writer)) })));
        *self.current.borrow_mut() = connections.len() - 1;
        format!("conn={}", connections.len() - 1)
    }

    /// Takes the current connection out, as the pair it was made of.
    fn take_connection(&self) -> Result<(StreamReader, StreamWriter), Error> {
        let index = *self.current.borrow();
        let taken = self.connections.borrow_mut().get_mut(index).and_then(Option::take);
        let connection = taken.ok_or_else(|| bad(format!("no connection {index}")))?;
        let connection = Rc::try_unwrap(connection).map_err(|_| bad("the connection is in use"))?;
        let writer = connection.writer.ok_or_else(|| bad("the writer was dropped"))?;
        let writer = Rc::try_unwrap(writer).map_err(|_| bad("the writer is in use"))?;
        Ok((connection.reader, writer))
    }

    fn server(&self) -> Result<Server, Error> {
        self.server.borrow().clone().ok_or_else(|| bad("no server"))
    }

    async fn run(&self, line: &str) -> Outcome {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (&name, args) = words.split_first().ok_or_else(|| bad("empty command"))?;
        if name.starts_with("s.") || name.starts_with("ss.") {
            return self.streams.run(self, name, args).await;
        }
        let arg = |i: usize| args.get(i).copied();
        match name {
            "connect" => {
                let host = arg(0).ok_or_else(|| bad("connect HOST PORT"))?;
                let port = number(arg(1))?;
                let mut options = ConnectOptions::default();
                if let Some(limit) = option(args, "limit") {
                    options.limit = number(Some(limit))?;
                }
                if let Some(local) = option(args, "local") {
                    options.local_addr = Some(local.parse().map_err(|_| bad("bad local address"))?);
                }
                options.happy_eyeballs_delay = millis(args, "happy_ms")?;
                options.timeout = millis(args, "timeout_ms")?;
                tls::connect_options(args, &mut options)?;
                let (reader, writer) = open_connection_with(host, port, options).await?;
                Ok(self.add_connection(reader, writer))
            }
            "listen" => {
                let host = arg(0).ok_or_else(|| bad("listen HOST PORT"))?;
                let port = number(arg(1))?;
                let mut options = ServerOptions::default();
                if let Some(limit) = option(args, "limit") {
                    options.limit = number(Some(limit))?;
                }
                if let Some(backlog) = option(args, "backlog") {
                    options.backlog = number(Some(backlog))?;
                }
                options.start_serving = option(args, "start") != Some("0");
                tls::server_options(args, &mut options)?;
                // handler=queue (default): connections wait for `accept`;
                // handler=fail: the handler fails at once (test_unhandled_exception);
                // handler=close: it closes its writer and ends (test_unhandled_cancel).
                let mode = option(args, "handler").unwrap_or("queue").to_string();
                let queue = Rc::clone(&self.accepted);
                let signal = Rc::clone(&self.accepted_signal);
                let handler = move |reader: StreamReader, writer: StreamWriter| {
                    let outcome = match mode.as_str() {
                        "fail" => Err("test"),
                        "close" => {
                            writer.close();
                            Ok(())
                        }
                        _ => {
                            queue.borrow_mut().push_back((reader, writer));
                            signal.notify_all();
                            Ok(())
                        }
                    };
                    async move { outcome }
                };
                let server = start_server_with(handler, host, port, options).await?;
                let addresses: Vec<String> = server.sockets().iter().map(|a| a.to_string()).collect();
                *self.server.borrow_mut() = Some(server);
                Ok(addresses.join(" "))
            }
            "accept" => loop {
                let signal = self.accepted_signal.notified();
                let next = self.accepted.borrow_mut().pop_front();
                if let Some((reader, writer)) = next {
                    return Ok(self.add_connection(reader, writer));
                }
                signal.await;
            },
            "use" => {
                *self.current.borrow_mut() = number(arg(0))?;
                Ok(String::new())
            }
            "read" => {
                let n = number(arg(0))?;
                Ok(show(&self.connection()?.reader.read(n).await?))
            }
            "read_count" => {
                let n = number(arg(0))?;
                Ok(self.connection()?.reader.read(n).await?.len().to_string())
            }
            "readexactly" => {
                let n = number(arg(0))?;
                Ok(show(&self.connection()?.reader.readexactly(n).await?))
            }
            "readexactly_count" => {
                let n = number(arg(0))?;
                Ok(self.connection()?.reader.readexactly(n).await?.len().to_string())
            }
            "readline" => Ok(show(&self.connection()?.reader.readline().await?)),
            "readuntil" => {
                let separators: Vec<Vec<u8>> =
                    args.iter().map(|a| unescape(a)).collect::<Result<_, _>>().map_err(bad)?;
                let connection = self.connection()?;
                let data = if separators.len() == 1 {
                    connection.reader.readuntil(&separators[0]).await?
                } else {
                    connection.reader.readuntil_any(&Separators::new(&separators)?).await?
                };
                Ok(show(&data))
            }
            "lines" => collect_lines(&self.connection()?.reader).await,
            "at_eof" => Ok(self.connection()?.reader.at_eof().to_string()),
            "exception" => Ok(match self.connection()?.reader.exception() {
                None => "none".to_string(),
                Some(error) => show_error(&error),
            }),
            "limit" => Ok(self.connection()?.reader.limit().to_string()),
            "buffered" => Ok(self.connection()?.reader.buffer_size().to_string()),
            "start_tls" => tls::start_tls(&*self.writer()?, args).await,
            "write" => {
                let data = unescape(arg(0).unwrap_or("")).map_err(bad)?;
                self.writer()?.write(&data)?;
                Ok(String::new())
            }
            "write_fill" => {
                let n: usize = number(arg(0))?;
                let byte = arg(1).map_or(Ok(b'x'), |b| unescape(b).map(|v| v[0])).map_err(bad)?;
                self.writer()?.write(&vec![byte; n])?;
                Ok(String::new())
            }
            "writelines" => {
                let lines: Vec<Vec<u8>> =
                    args.iter().map(|a| unescape(a)).collect::<Result<_, _>>().map_err(bad)?;
                self.writer()?.writelines(&lines)?;
                Ok(String::new())
            }
            "drain_loop" => {
                // test_drain_raises: write + drain until it fails (or N rounds pass).
                let rounds: usize = number(arg(0))?;
                let data = unescape(arg(1).unwrap_or("x")).map_err(bad)?;
                let writer = self.writer()?;
                for _ in 0..rounds {
                    writer.write(&data)?;
                    writer.drain().await?;
                }
                Ok(format!("{rounds} rounds without an error"))
            }
            "drain" => {
                self.writer()?.drain().await?;
                Ok(String::new())
            }
            "try_drain" => Ok(self.writer()?.try_drain()?.to_string()),
            "write_eof" => {
                self.writer()?.write_eof()?;
                Ok(String::new())
            }
            "can_write_eof" => Ok(self.writer()?.can_write_eof().to_string()),
            "close" => {
                self.writer()?.close();
                Ok(String::new())
            }
            "abort" => {
                self.writer()?.abort();
                Ok(String::new())
            }
            "is_closing" => Ok(self.writer()?.is_closing().to_string()),
            "wait_closed" => {
                self.writer()?.wait_closed().await?;
                Ok(String::new())
            }
            "bufsize" => Ok(self.writer()?.get_write_buffer_size().to_string()),
            "limits" => {
                let (low, high) = self.writer()?.get_write_buffer_limits();
                Ok(format!("{low} {high}"))
            }
            "set_limits" => {
                let parse = |w: Option<&str>| match w {
                    None | Some("-") => Ok(None),
                    some => number(some).map(Some),
                };
                self.writer()?.set_write_buffer_limits(parse(arg(0))?, parse(arg(1))?)?;
                Ok(String::new())
            }
            "peername" => Ok(self.writer()?.peername()?.to_string()),
            "sockname" => Ok(self.writer()?.sockname()?.to_string()),
            "drop_writer" => {
                let index = *self.current.borrow();
                let mut connections = self.connections.borrow_mut();
                let slot = connections.get_mut(index).ok_or_else(|| bad("no connection"))?;
                let connection = slot.take().ok_or_else(|| bad("no connection"))?;
                *slot = Some(Rc::new(Connection { reader: connection.reader.clone(), writer: None }));
                Ok(String::new())
            }
            "forget" => {
                let index = *self.current.borrow();
                self.connections.borrow_mut().get_mut(index).map(Option::take);
                Ok(String::new())
            }
            "stdout_write" => {
                let data = unescape(arg(0).unwrap_or("")).map_err(bad)?;
                let stdout = wasio::stdout_writer()?;
                stdout.write(&data)?;
                stdout.drain().await?;
                Ok(String::new())
            }
            // Blocks the whole component (no task runs, no I/O is noticed): lets a test
            // make things happen in between two operations of one executor turn.
            "block" => {
                let nanos = number::<u64>(arg(0))?.saturating_mul(1_000_000);
                wasip2::clocks::monotonic_clock::subscribe_duration(nanos).block();
                Ok(String::new())
            }
            "sleep" => {
                runtime::sleep(Duration::from_millis(number(arg(0))?)).await;
                Ok(String::new())
            }
            "timeout" => {
                let limit = Duration::from_millis(number(arg(0))?);
                let rest = args[1..].join(" ");
                runtime::timeout(limit, Box::pin(self.run(&rest))).await?
            }
            "server.close" => {
                self.server()?.close();
                Ok(String::new())
            }
            "server.wait_closed" => {
                self.server()?.wait_closed().await;
                Ok(String::new())
            }
            "server.try_wait_closed" => Ok(self.server()?.try_wait_closed().to_string()),
            "server.close_clients" => {
                self.server()?.close_clients();
                Ok(String::new())
            }
            "server.abort_clients" => {
                self.server()?.abort_clients();
                Ok(String::new())
            }
            "server.is_serving" => Ok(self.server()?.is_serving().to_string()),
            "server.start_serving" => {
                self.server()?.start_serving().await?;
                Ok(String::new())
            }
            "server.serve_forever" => {
                self.server()?.serve_forever().await?;
                Ok(String::new())
            }
            "server.sockets" => {
                Ok(self.server()?.sockets().iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" "))
            }
            "server.clients" => Ok(self.server()?.client_count().to_string()),
            "server.drop" => {
                self.server.borrow_mut().take();
                Ok(String::new())
            }
            other => Err(bad(format!("unknown command {other}"))),
        }
    }
}

/// `async for line in reader`: every line until EOF, then the error if one ended it.
async fn collect_lines(reader: &StreamReader) -> Outcome {
    let mut shown = Vec::new();
    let mut lines = std::pin::pin!(reader.lines());
    while let Some(line) = lines.next().await {
        match line {
            Ok(line) => shown.push(show(&line)),
            Err(error) => return Ok(format!("[{}] err {}", shown.join(", "), show_error(&error))),
        }
    }
    Ok(format!("[{}]", shown.join(", ")))
}
