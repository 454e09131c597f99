//! `--instances N`: N instances of one component share the address they listen on and the
//! kernel spreads connections over them; they share no memory; one that traps restarts alone
//! under `--restart on-failure`; SIGTERM stops them all. Real loopback, the real host binary.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::support::{within, Running};

/// Reads the `Serving on ADDR` line of each of `count` instances; all must name one address.
async fn serving_address_of_all(server: &mut Running, count: usize) -> SocketAddr {
    let first = server.serving_address().await;
    for _ in 1..count {
        assert_eq!(server.serving_address().await, first, "every instance serves on the same address");
    }
    first
}

async fn line(client: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    within("a line from the server", client.read_line(&mut line)).await.unwrap();
    line
}

/// The chat server numbers its members from 1 in its own memory: with two instances, the
/// numbers given out form two runs 1..=a and 1..=b with a + b = clients (port 0 resolved once
/// for both, so both serve the address printed).
#[tokio::test]
async fn connections_spread_over_two_instances_that_share_no_memory() {
    const CLIENTS: usize = 16;
    let mut server = Running::start("chat-server", &["--instances", "2"], &["127.0.0.1", "0"]);
    let address = serving_address_of_all(&mut server, 2).await;
    let mut clients = Vec::new();
    let mut times_named: BTreeMap<u64, usize> = BTreeMap::new();
    for _ in 0..CLIENTS {
        let mut client = BufReader::new(within("connect", TcpStream::connect(address)).await.unwrap());
        let welcome = line(&mut client).await;
        let number = welcome
            .strip_prefix("Welcome! You are guest")
            .and_then(|rest| rest.trim_end().strip_suffix('.'))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("a welcome line, got {welcome:?}"));
        *times_named.entry(number).or_default() += 1;
        clients.push(client);
    }
    // Each number is given by one instance or by both; numbers given twice are 1..=min(a, b).
    let twice: Vec<u64> = times_named.iter().filter(|(_, &n)| n == 2).map(|(&k, _)| k).collect();
    assert!(times_named.values().all(|&n| n <= 2), "{times_named:?}");
    assert!(
        !twice.is_empty(),
        "16 connections all went to one instance (odds 1 in 32,768), or the instances share memory: \
         {times_named:?}"
    );
    assert_eq!(twice, (1..=twice.len() as u64).collect::<Vec<_>>(), "{times_named:?}");
    assert_eq!(times_named.values().sum::<usize>(), CLIENTS);
    let numbers: Vec<u64> = times_named.keys().copied().collect();
    assert_eq!(numbers, (1..=numbers.len() as u64).collect::<Vec<_>>(), "{times_named:?}");
}

/// A line client of `misbehave serve PORT` (echoes lines; `crash` traps).
async fn echo(client: &mut BufReader<TcpStream>, text: &str) -> String {
    if client.get_mut().write_all(text.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut echoed = String::new();
    // EOF or a reset both mean the connection's instance is gone.
    let _ = within("an echoed line", client.read_line(&mut echoed)).await;
    echoed
}

#[tokio::test]
async fn one_trapping_instance_restarts_alone() {
    const CLIENTS: usize = 20;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let port_arg = port.to_string();
    let mut server = Running::start(
        "misbehave",
        &["--instances", "2", "--restart", "on-failure", "--max-restarts", "1"],
        &["serve", &port_arg],
    );
    let address = serving_address_of_all(&mut server, 2).await;
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let mut client = BufReader::new(within("connect", TcpStream::connect(address)).await.unwrap());
        assert_eq!(echo(&mut client, &format!("hello {i}\n")).await, format!("hello {i}\n"));
        clients.push(client);
    }
    assert_eq!(echo(&mut clients[0], "crash\n").await, "", "the crash ends the connection");
    // The crashed instance's connections end; the other instance's keep echoing.
    let mut survivors = 0;
    for (i, client) in clients.iter_mut().enumerate().skip(1) {
        let text = format!("still there {i}\n");
        match echo(client, &text).await {
            echoed if echoed == text => survivors += 1,
            ended => assert_eq!(ended, "", "an instance echoes or is gone"),
        }
    }
    assert!(
        (1..CLIENTS - 1).contains(&survivors),
        "the other instance kept its {survivors} of {} connections (all 19 on one instance: odds 1 in 2^18)",
        CLIENTS - 1
    );
    // The crashed one comes back on the same port: a third `Serving on` line.
    assert_eq!(server.serving_address().await, address);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut new_clients = 0;
    while new_clients < 8 && Instant::now() < deadline {
        let mut client = BufReader::new(within("connect", TcpStream::connect(address)).await.unwrap());
        assert_eq!(echo(&mut client, "back\n").await, "back\n");
        new_clients += 1;
    }
    assert_eq!(new_clients, 8);
    assert!(server.child.try_wait().unwrap().is_none(), "the host still runs");
    let pid = server.child.id().unwrap().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert_eq!(server.exit_code().await, 143);
    let stderr = server.stderr_text().await;
    assert_eq!(stderr.matches("restarting in").count(), 1, "one instance restarted, once: {stderr}");
}

#[tokio::test]
async fn sigterm_stops_every_instance() {
    let mut server = Running::start("echo-server", &["--instances", "3"], &["127.0.0.1", "0"]);
    let address = serving_address_of_all(&mut server, 3).await;
    let mut clients = Vec::new();
    for _ in 0..12 {
        let mut client = BufReader::new(within("connect", TcpStream::connect(address)).await.unwrap());
        client.get_mut().write_all(b"x\n").await.unwrap();
        assert_eq!(line(&mut client).await, "x\n");
        clients.push(client);
    }
    let pid = server.child.id().unwrap().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert_eq!(server.exit_code().await, 143);
    for client in &mut clients {
        let mut rest = String::new();
        // EOF, or a reset: either way the connection is over.
        let _ = within("the connection ends", client.read_line(&mut rest)).await;
        assert!(rest.is_empty(), "{rest:?}");
    }
    // No instance listens any more.
    let refused = TcpStream::connect(address).await;
    assert!(refused.is_err(), "a listener outlived the host");
}

#[tokio::test]
async fn instances_must_be_a_positive_number_or_auto() {
    let mut server = Running::start("echo-server", &["--instances", "0"], &["127.0.0.1", "0"]);
    assert_eq!(server.exit_code().await, 2);
    assert!(server.stderr_text().await.contains("--instances"));
}

/// `--max-memory` holds every instance's memory summed, not only each one's: two instances
/// holding 16 MiB each fit in 48 MiB together; holding 30 MiB each, one fits (alone it is
/// well within the limit) and the other is refused, which stops the run with the limit named
/// (maybe before the first printed that it holds its memory).
#[tokio::test]
async fn max_memory_holds_all_instances_together() {
    let flags = ["--instances", "2", "--max-memory", "48M"];
    let mut both_fit = Running::start("misbehave", &flags, &["hold", "16"]);
    for _ in 0..2 {
        assert_eq!(both_fit.next_line().await.as_deref(), Some("holding 16 MiB"));
    }
    assert!(both_fit.child.try_wait().unwrap().is_none(), "both instances hold their memory");
    let pid = both_fit.child.id().unwrap().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert_eq!(both_fit.exit_code().await, 143);

    let mut one_fits = Running::start("misbehave", &flags, &["hold", "30"]);
    assert_eq!(one_fits.exit_code().await, 3, "the second instance was refused its 30 MiB");
    let mut holding = 0;
    while let Some(line) = one_fits.next_line().await {
        assert_eq!(line, "holding 30 MiB");
        holding += 1;
    }
    assert!(holding <= 1, "both instances held 30 MiB");
    let stderr = one_fits.stderr_text().await;
    assert!(
        stderr.contains("reached the memory limit (--max-memory 48 MiB, all 2 instances together)"),
        "{stderr}"
    );
}

/// WASI 0.3 components too: the instances of compose-echo-async (`wasi:sockets@0.3`) bind
/// port 0 to one shared port with SO_REUSEPORT, so the kernel holds two listening sockets
/// on that port (one per instance) and spreads the connections over them.
#[tokio::test]
async fn wasi_0_3_instances_share_their_listening_port() {
    let mut server = Running::start("compose-echo-async", &["--instances", "2"], &["127.0.0.1", "0"]);
    let address = serving_address_of_all(&mut server, 2).await;
    assert_eq!(listening_sockets_on(address.port()), 2, "one listener per instance on {address}");
    for i in 0..16 {
        let mut client = BufReader::new(within("connect", TcpStream::connect(address)).await.unwrap());
        let text = format!("hello {i}\n");
        within("send", client.get_mut().write_all(text.as_bytes())).await.unwrap();
        assert_eq!(line(&mut client).await, text);
    }
}

/// TCP sockets in the LISTEN state on `port` (IPv4, this network namespace).
fn listening_sockets_on(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let local = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|row| {
            let fields: Vec<&str> = row.split_whitespace().collect();
            fields.len() > 3 && fields[1].ends_with(&local) && fields[3] == "0A"
        })
        .count()
}
