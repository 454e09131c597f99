//! `--metrics ADDR`: the host's Prometheus endpoint, scraped over real loopback while guests
//! serve real clients; every counter is checked against what the test itself did.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::driver::Driver;
use crate::support::{peer, within, Running, STEP};

/// A loopback address with a port free a moment ago, for `--metrics` (the host must be told
/// where before it starts).
pub(crate) fn free_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// `GET /metrics`: the body, once the host answers (it may still be starting).
pub(crate) async fn scrape(metrics: SocketAddr) -> String {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        if let Ok(mut socket) = TcpStream::connect(metrics).await {
            socket.write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
            let mut response = String::new();
            within("the metrics response", socket.read_to_string(&mut response)).await.unwrap();
            assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
            assert!(response.contains("content-type: application/openmetrics-text"), "{response}");
            let (_, body) = response.split_once("\r\n\r\n").unwrap();
            assert!(body.ends_with("# EOF\n"), "{body}");
            return body.to_string();
        }
        assert!(tokio::time::Instant::now() < deadline, "no metrics served on {metrics}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The value of `series` (name and labels, as printed) in a scrape.
pub(crate) fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

pub(crate) fn instance0(name: &str) -> String {
    format!("{name}{{instance=\"0\"}}")
}

/// Scrapes until `name` of instance 0 is `expected` (the guest drops a closed connection's
/// streams when its own tasks get there); fails after [`STEP`] with the last scrape.
pub(crate) async fn until_value(metrics: SocketAddr, name: &str, expected: f64) -> String {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let text = scrape(metrics).await;
        if value(&text, &instance0(name)) == Some(expected) {
            return text;
        }
        assert!(tokio::time::Instant::now() < deadline, "{name} never became {expected}:\n{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn counts_connections_bytes_and_denials_as_they_happen() {
    let metrics = free_address();
    // Denied by host: a deny rule also refuses clients from its addresses, and the clients
    // here come from 127.0.0.1.
    let deny = "127.0.0.3";
    let mut driver = Driver::start_with(&["--metrics", &metrics.to_string(), "--deny-net", deny]);
    let listening: SocketAddr = driver.ok("listen 127.0.0.1 0").await.parse().unwrap();

    let text = scrape(metrics).await;
    assert_eq!(value(&text, &instance0("wasio_connections_accepted_total")), Some(0.0), "{text}");
    assert!(value(&text, &instance0("wasio_guest_memory_bytes")).unwrap() > 0.0, "{text}");
    assert!(value(&text, &instance0("wasio_start_time_seconds")).unwrap() > 1.7e9, "{text}");

    // Two connections; 100 bytes in and 5 out on the first, 7 in on the second.
    let mut first = TcpStream::connect(listening).await.unwrap();
    assert_eq!(driver.ok("accept").await, "conn=0");
    let mut second = TcpStream::connect(listening).await.unwrap();
    assert_eq!(driver.ok("accept").await, "conn=1");
    second.write_all(b"seventy").await.unwrap();
    driver.ok("readexactly_count 7").await;
    driver.ok("use 0").await;
    first.write_all(&[b'x'; 100]).await.unwrap();
    assert_eq!(driver.ok("readexactly_count 100").await, "100");
    driver.ok("write hello").await;
    driver.ok("drain").await;
    assert_eq!(peer::read_n(&mut first, 5).await, b"hello");

    let text = scrape(metrics).await;
    assert_eq!(value(&text, &instance0("wasio_connections_accepted_total")), Some(2.0), "{text}");
    assert_eq!(value(&text, &instance0("wasio_connections_open")), Some(2.0), "{text}");
    assert_eq!(value(&text, &instance0("wasio_bytes_received_total")), Some(107.0), "{text}");
    assert_eq!(value(&text, &instance0("wasio_bytes_sent_total")), Some(5.0), "{text}");

    // A connect the policy denies, counted under the rule that denied it.
    let line = driver.cmd("connect 127.0.0.3 9").await;
    assert!(line.starts_with("err AccessDenied"), "{line}");
    let text = scrape(metrics).await;
    let series = format!("wasio_policy_denials_total{{instance=\"0\",rule=\"--deny-net {deny}\"}}");
    assert_eq!(value(&text, &series), Some(1.0), "{text}");

    // Closing one connection leaves one open.
    driver.ok("close").await;
    driver.ok("wait_closed").await;
    driver.ok("forget").await;
    assert_eq!(peer::read_to_end(&mut first).await, b"");
    let text = until_value(metrics, "wasio_connections_open", 1.0).await;
    assert_eq!(value(&text, &instance0("wasio_connections_accepted_total")), Some(2.0), "{text}");
    assert_eq!(value(&text, &instance0("wasio_busy_stops_total")), Some(0.0), "{text}");
    assert_eq!(value(&text, &instance0("wasio_restarts_total")), Some(0.0), "{text}");
    drop(second);
    driver.finish().await;
}

#[tokio::test]
async fn counts_every_byte_an_echo_server_moves_under_concurrent_traffic() {
    const CLIENTS: usize = 8;
    const BYTES: usize = 64 * 1024;
    let metrics = free_address();
    let mut server = Running::start("echo-server", &["--metrics", &metrics.to_string()], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;

    // Every client connected and echoed once, then scraped while all are open.
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let mut client = TcpStream::connect(address).await.unwrap();
        client.write_all(b"ping").await.unwrap();
        assert_eq!(peer::read_n(&mut client, 4).await, b"ping");
        clients.push(client);
    }
    let text = scrape(metrics).await;
    assert_eq!(value(&text, &instance0("wasio_connections_accepted_total")), Some(CLIENTS as f64), "{text}");
    assert_eq!(value(&text, &instance0("wasio_connections_open")), Some(CLIENTS as f64), "{text}");

    // Then each sends BYTES and reads them back, all at once.
    let echoes = clients.into_iter().map(|mut client| async move {
        let data: Vec<u8> = (0..BYTES).map(|i| (i % 251) as u8).collect();
        let (mut reader, mut writer) = client.split();
        let (written, echoed) = tokio::join!(writer.write_all(&data), peer::read_n(&mut reader, BYTES));
        written.unwrap();
        assert!(echoed == data, "the echo differs");
    });
    within("the echoes", futures::future::join_all(echoes)).await;

    let text = until_value(metrics, "wasio_connections_open", 0.0).await;
    let moved = (CLIENTS * (4 + BYTES)) as f64;
    assert_eq!(value(&text, &instance0("wasio_bytes_received_total")), Some(moved), "{text}");
    assert_eq!(value(&text, &instance0("wasio_bytes_sent_total")), Some(moved), "{text}");
    assert_eq!(value(&text, &instance0("wasio_connections_accepted_total")), Some(CLIENTS as f64), "{text}");
}
