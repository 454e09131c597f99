//! A line-based chat server: every line a client sends goes to every other client.
//! Shows tasks (one handler per client), readline, and asyncio's flow-control tools
//! keeping one client from costing the others (see `room.rs`):
//! - a member that leaves 1 MiB unread is dropped at once (`get_write_buffer_size`),
//!   so a member that never reads costs the server at most that, even under a flood;
//! - a member whose queue goes over the high-water mark has fallen behind: one task
//!   drops it unless it catches up within 5 seconds (`drain` with a timeout);
//! - meanwhile senders wait for it, up to 1 second each time it falls behind, so a
//!   flood goes at the pace of the members that read instead of pushing them out.
//!
//! Usage: chat-server [HOST] [PORT]   (default 127.0.0.1 8889). Prints `Serving on ...`.

mod member;
mod room;

use std::process::ExitCode;
use std::rc::Rc;

use wasio::runtime;
use wasio::{start_server, StreamReader, StreamWriter};

use room::Room;

async fn handle_client(room: Rc<Room>, reader: StreamReader, writer: StreamWriter) -> wasio::Result<()> {
    let member = room.join(writer);
    let name = &member.name;
    member.writer.write(format!("Welcome! You are {name}.\n").as_bytes())?;
    room.broadcast(member.id, format!("{name} joined\n").as_bytes()).await;
    let ended = loop {
        match reader.readline().await {
            Ok(line) if line.is_empty() => break Ok(()),
            Ok(line) => {
                let mut message = format!("{name}: ").into_bytes();
                message.extend_from_slice(&line);
                if !message.ends_with(b"\n") {
                    message.push(b'\n');
                }
                room.broadcast(member.id, &message).await;
            }
            // An overlong line is dropped; the client may go on.
            Err(wasio::Error::LimitOverrun { .. }) => {
                member.writer.write(b"(line too long, not sent)\n")?;
            }
            Err(error) => break Err(error),
        }
    };
    room.leave(member.id);
    room.broadcast(member.id, format!("{name} left\n").as_bytes()).await;
    member.writer.close();
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
