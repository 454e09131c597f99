//! open_connection over real loopback TCP: names, IPv4 and IPv6, every resolved
//! address in turn, happy eyeballs, local addresses and the errors.

use crate::support::driver::Driver;
use crate::support::peer;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

#[tokio::test]
async fn connects_by_name_through_ip_name_lookup() {
    // localhost may resolve to ::1 first; nothing listens there, so the next address
    // (127.0.0.1) must be tried.
    let (listener, address) = peer::listener().await;
    let mut driver = Driver::start();
    driver.ok(&format!("connect localhost {}", address.port())).await;
    let mut socket = peer::accept(&listener).await;
    socket.write_all(b"hi\n").await.unwrap();
    assert_eq!(driver.ok("readline").await, r#""hi\n""#);
    driver.finish().await;
}

#[tokio::test]
async fn connects_over_ipv6() {
    let Ok(listener) = TcpListener::bind("[::1]:0").await else {
        eprintln!("skipped: this machine has no IPv6 loopback");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    let mut driver = Driver::start();
    driver.ok(&format!("connect ::1 {port}")).await;
    let socket = peer::accept(&listener).await;
    assert_eq!(driver.ok("peername").await, format!("[::1]:{port}"));
    assert_eq!(driver.ok("sockname").await, socket.peer_addr().unwrap().to_string());
    driver.finish().await;
}

#[tokio::test]
async fn refused_connection_is_connection_refused() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut driver = Driver::start();
    let line = driver.cmd(&format!("connect 127.0.0.1 {port}")).await;
    assert!(line.starts_with("err ConnectionRefused"), "{line}");
    driver.finish().await;
}

#[tokio::test]
async fn test_open_connection_happy_eyeball_refcycles() {
    // With a happy-eyeballs delay, a port nobody listens on still fails cleanly with
    // the last error, and a name with one dead address still connects.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut driver = Driver::start();
    let line = driver.cmd(&format!("connect localhost {port} happy_ms=250")).await;
    assert!(line.starts_with("err ConnectionRefused"), "{line}");
    let (listener, address) = peer::listener().await;
    driver.ok(&format!("connect localhost {} happy_ms=250", address.port())).await;
    let _socket = peer::accept(&listener).await;
    driver.finish().await;
}

#[tokio::test]
async fn binds_the_local_address_first() {
    let (listener, address) = peer::listener().await;
    let local = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let mut driver = Driver::start();
    driver.ok(&format!("connect 127.0.0.1 {} local={local}", address.port())).await;
    let socket = peer::accept(&listener).await;
    assert_eq!(socket.peer_addr().unwrap(), local);
    assert_eq!(driver.ok("sockname").await, local.to_string());
    driver.finish().await;
}
