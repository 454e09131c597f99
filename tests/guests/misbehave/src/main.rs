//! A component that misbehaves on request, for the host's error-path and sandbox tests.
//!
//! Usage: misbehave MODE [ARGS]
//!   trap | exit CODE | fail | ok | env NAME | args ...
//!   alloc        allocate without bound (printing each MiB)
//!   hold MIB     allocate MIB MiB, print `holding MIB MiB`, then sleep forever
//!   spin         loop forever in wasm, never calling the host
//!   serve PORT   echo lines on 127.0.0.1:PORT; a line `crash` traps the component
//!   cat PATH     print a file (to test --dir)
//!   write PATH TEXT   write a file (to test --dir-rw)

mod files;

use std::hint::black_box;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("trap") => trap(),
        Some("exit") => {
            let code = args.get(1).and_then(|c| c.parse().ok()).unwrap_or(7);
            std::process::exit(code)
        }
        Some("fail") => Err("failing on purpose".into()),
        Some("ok") => Ok(()),
        Some("env") => {
            let name = args.get(1).ok_or("env NAME")?;
            println!("{}", std::env::var(name).map_err(|e| format!("{name}: {e}"))?);
            Ok(())
        }
        Some("args") => {
            let all: Vec<String> = std::env::args().collect();
            println!("{all:?}");
            Ok(())
        }
        Some("cat") => {
            let path = args.get(1).ok_or("cat PATH")?;
            print!("{}", files::read_to_string(path)?);
            Ok(())
        }
        Some("write") => {
            let (path, text) = (args.get(1).ok_or("write PATH TEXT")?, args.get(2).ok_or("write PATH TEXT")?);
            files::write(path, text)
        }
        Some("alloc") => allocate_forever(),
        Some("hold") => {
            let mib = args.get(1).and_then(|n| n.parse().ok()).ok_or("hold MIB")?;
            hold(mib)
        }
        Some("spin") => spin_forever(),
        Some("serve") => {
            let port = args.get(1).and_then(|p| p.parse().ok()).ok_or("serve PORT")?;
            serve(port)
        }
        other => Err(format!(
            "unknown mode {other:?}; use trap | exit CODE | fail | ok | env NAME | args | alloc | hold MIB | spin | serve PORT | cat PATH | write PATH TEXT"
        )),
    }
}

#[inline(never)]
fn trap() -> ! {
    // A wasm `unreachable` instruction: the host sees a trap, not an exit.
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}

fn allocate_forever() -> Result<(), String> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        // Touch every page so the memory is really used.
        hoard.push(vec![1u8; 1 << 20]);
        println!("allocated {} MiB", hoard.len());
    }
}

/// Holds `mib` MiB of touched memory while it sleeps: what `--max-memory` with
/// `--instances` adds up.
fn hold(mib: usize) -> Result<(), String> {
    let hoard = black_box(vec![1u8; mib << 20]);
    println!("holding {mib} MiB");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
        black_box(&hoard);
    }
}

fn spin_forever() -> Result<(), String> {
    println!("spinning");
    let mut counter: u64 = 0;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}

/// Echoes lines; `crash` traps, to show that a supervised server comes back.
fn serve(port: u16) -> Result<(), String> {
    use wasio::{runtime, start_server, StreamReader, StreamWriter};
    async fn echo_lines(reader: StreamReader, writer: StreamWriter) -> wasio::Result<()> {
        loop {
            let line = reader.readline().await?;
            if line.is_empty() {
                return Ok(());
            }
            if line.trim_ascii() == b"crash" {
                trap();
            }
            writer.write(&line)?;
            writer.drain().await?;
        }
    }
    runtime::block_on(async {
        let server = start_server(echo_lines, "127.0.0.1", port).await?;
        for address in server.sockets() {
            println!("Serving on {address}");
        }
        server.serve_forever().await
    })
    .map_err(|error| error.to_string())
}
