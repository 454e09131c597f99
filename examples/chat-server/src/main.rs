//! A line-based chat server: every line a client sends goes to every other client.
//! Shows tasks (one handler per client), readline, and drain with a timeout as flow
//! control: a client that does not read its messages for 5 seconds is dropped, so a
//! slow reader can never make the server buffer without bound.
//!
//! Usage: chat-server [HOST] [PORT]   (default 127.0.0.1 8889). Prints `Serving on ...`.

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use wasio::runtime;
use wasio::{start_server, StreamReader, StreamWriter};

/// How long a recipient may take to accept its messages before it is dropped.
const SLOW_CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

struct Member {
    id: u64,
    writer: Rc<StreamWriter>,
}

#[derive(Default)]
struct Room {
    members: RefCell<Vec<Member>>,
    next_id: RefCell<u64>,
}

impl Room {
    fn join(&self, writer: Rc<StreamWriter>) -> (u64, String) {
        let id = {
            let mut next = self.next_id.borrow_mut();
            *next += 1;
            *next
        };
        let name = format!("guest{id}");
        self.members.borrow_mut().push(Member { id, writer });
        (id, name)
    }

    fn leave(&self, id: u64) {
        self.members.borrow_mut().retain(|member| member.id != id);
    }

    /// Queues `line` for everyone but `from`, then gives each recipient its own task to
    /// drain: one slow reader delays no one else.
    fn broadcast(self: &Rc<Self>, from: u64, line: &[u8]) {
        let recipients: Vec<(u64, Rc<StreamWriter>)> = self
            .members
            .borrow()
            .iter()
            .filter(|member| member.id != from)
            .map(|member| (member.id, Rc::clone(&member.writer)))
            .collect();
        for (id, writer) in recipients {
            if writer.write(line).is_err() {
                continue;
            }
            let room = Rc::clone(self);
            // Detached: it ends when the recipient has taken the line or was dropped.
            runtime::spawn(async move {
                let drained = runtime::timeout(SLOW_CLIENT_TIMEOUT, writer.drain()).await;
                if !matches!(drained, Ok(Ok(()))) {
                    writer.abort();
                    room.leave(id);
                }
            });
        }
    }
}

async fn handle_client(room: Rc<Room>, reader: StreamReader, writer: StreamWriter) -> wasio::Result<()> {
    let writer = Rc::new(writer);
    let (id, name) = room.join(Rc::clone(&writer));
    writer.write(format!("Welcome! You are {name}.\n").as_bytes())?;
    room.broadcast(id, format!("{name} joined\n").as_bytes());
    let ended = loop {
        match reader.readline().await {
            Ok(line) if line.is_empty() => break Ok(()),
            Ok(line) => {
                let mut message = format!("{name}: ").into_bytes();
                message.extend_from_slice(&line);
                if !message.ends_with(b"\n") {
                    message.push(b'\n');
                }
                room.broadcast(id, &message);
            }
            // An overlong line is dropped; the client may go on.
            Err(wasio::Error::LimitOverrun { .. }) => {
                writer.write(b"(line too long, not sent)\n")?;
            }
            Err(error) => break Err(error),
        }
    };
    room.leave(id);
    room.broadcast(id, format!("{name} left\n").as_bytes());
    writer.close();
    ended
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_string());
    let port = match args.next().map(|p| p.parse::<u16>()) {
        None => 8889,
        Some(Ok(port)) => port,
        Some(Err(_)) => {
            eprintln!("usage: chat-server [HOST] [PORT]");
            return ExitCode::from(2);
        }
    };
    let room = Rc::new(Room::default());
    let served = runtime::block_on(async {
        let handler = move |reader, writer| handle_client(Rc::clone(&room), reader, writer);
        let server = start_server(handler, &host, port).await?;
        for address in server.sockets() {
            println!("Serving on {address}");
        }
        server.serve_forever().await
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("chat-server: {error}");
            ExitCode::FAILURE
        }
    }
}
