//! Connecting to an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`), which asyncio's
//! dual-stack socket reaches: `wasi:sockets` refuses the mapped form, so the library
//! connects to the IPv4 address it stands for, and the host's policy judges that address
//! (a deny rule for 127.0.0.1 covers both spellings).

use crate::support::driver::Driver;
use crate::support::peer;

#[tokio::test]
async fn connects_to_an_ipv4_mapped_loopback_address() {
    let (listener, address) = peer::listener().await;
    let mut driver = Driver::start();
    driver.ok(&format!("connect ::ffff:127.0.0.1 {}", address.port())).await;
    let mut socket = peer::accept(&listener).await;
    driver.ok("write ping").await;
    driver.ok("drain").await;
    assert_eq!(peer::read_n(&mut socket, 4).await, b"ping");
    driver.finish().await;
}

#[tokio::test]
async fn a_deny_rule_for_the_ipv4_address_covers_its_mapped_form() {
    let (_listener, address) = peer::listener().await;
    let mut driver = Driver::start_with(&["--deny-net", &format!("127.0.0.1:{}", address.port())]);
    let line = driver.cmd(&format!("connect ::ffff:127.0.0.1 {}", address.port())).await;
    assert!(line.starts_with("err AccessDenied"), "expected access-denied, got {line}");
    driver.finish().await;
}
