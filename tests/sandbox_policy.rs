//! The host's network policy (--allow-net, --allow-listen, --allow-connect, --deny-net,
//! --deny-dns) as a guest sees it over real loopback TCP: allowed uses work, denied ones
//! fail with access-denied, and the host logs one line naming the address, the operation
//! and the rule. Every address here is a loopback one: the rules choose among them.

use crate::support::driver::Driver;
use crate::support::peer;

/// A native listener, its port, and a second loopback port nobody listens on.
async fn target() -> (tokio::net::TcpListener, u16) {
    let (listener, address) = peer::listener().await;
    (listener, address.port())
}

fn assert_denied(line: &str) {
    assert!(line.starts_with("err AccessDenied"), "expected access-denied, got {line}");
}

#[tokio::test]
async fn allow_connect_admits_only_its_port() {
    let (listener, port) = target().await;
    let (_other, other_port) = target().await;
    let rule = format!("127.0.0.1:{port}");
    let mut driver = Driver::start_with(&["--allow-connect", &rule]);
    driver.ok(&format!("connect 127.0.0.1 {port}")).await;
    let _accepted = peer::accept(&listener).await;
    assert_denied(&driver.cmd(&format!("connect 127.0.0.1 {other_port}")).await);
    // Connect rules do not allow listening.
    assert_denied(&driver.cmd("listen 127.0.0.1 0").await);
    let stderr = driver.finish_with_stderr().await;
    let expected = format!(
        "denied TcpConnect to 127.0.0.1:{other_port}: no rule allows it (rules: --allow-connect {rule})"
    );
    assert!(stderr.contains(&expected), "stderr:\n{stderr}");
    assert_eq!(stderr.matches("denied TcpConnect").count(), 1, "one line per denial:\n{stderr}");
}

#[tokio::test]
async fn allow_listen_with_a_port_range() {
    // Pick a free port, then allow a range around it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (low, high) = (port.saturating_sub(1), port.saturating_add(1));
    let mut driver = Driver::start_with(&["--allow-listen", &format!("127.0.0.1:{low}-{high}")]);
    assert_eq!(driver.ok(&format!("listen 127.0.0.1 {port}")).await, format!("127.0.0.1:{port}"));
    let _client = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    driver.ok("accept").await;
    assert_denied(&driver.cmd("listen 127.0.0.1 0").await);
    let stderr = driver.finish_with_stderr().await;
    assert!(stderr.contains("denied TcpBind on 127.0.0.1:0"), "stderr:\n{stderr}");
}

#[tokio::test]
async fn cidr_rule_covers_the_network_only() {
    let (listener, port) = target().await;
    let mut driver = Driver::start_with(&["--allow-net", "127.0.0.0/24"]);
    driver.ok(&format!("connect 127.0.0.1 {port}")).await;
    let _accepted = peer::accept(&listener).await;
    driver.ok("listen 127.0.0.5 0").await;
    assert_denied(&driver.cmd("listen 127.0.1.1 0").await);
    driver.finish().await;
}

#[tokio::test]
async fn deny_wins_over_allow_and_is_named() {
    let (_listener, port) = target().await;
    let deny = format!("127.0.0.1:{port}");
    let mut driver = Driver::start_with(&["--allow-net", "127.0.0.0/8", "--deny-net", &deny]);
    assert_denied(&driver.cmd(&format!("connect 127.0.0.1 {port}")).await);
    let stderr = driver.finish_with_stderr().await;
    assert!(
        stderr.contains(&format!("denied TcpConnect to 127.0.0.1:{port}: denied by rule --deny-net {deny}")),
        "stderr:\n{stderr}"
    );
}

#[tokio::test]
async fn deny_applies_under_the_default_policy() {
    let (_listener, port) = target().await;
    let mut driver = Driver::start_with(&["--deny-net", &format!("127.0.0.1:{port}")]);
    assert_denied(&driver.cmd(&format!("connect 127.0.0.1 {port}")).await);
    driver.ok("listen 127.0.0.1 0").await;
    driver.finish().await;
}

#[tokio::test]
async fn ipv6_rules_in_brackets() {
    let Ok(listener) = tokio::net::TcpListener::bind("[::1]:0").await else {
        eprintln!("skipped: this machine has no IPv6 loopback");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    let mut driver = Driver::start_with(&["--allow-connect", &format!("[::1]:{port}")]);
    driver.ok(&format!("connect ::1 {port}")).await;
    let _accepted = peer::accept(&listener).await;
    let (_v4, v4_port) = target().await;
    assert_denied(&driver.cmd(&format!("connect 127.0.0.1 {v4_port}")).await);
    driver.finish().await;
}

#[tokio::test]
async fn host_name_rules_resolve_at_start() {
    let (listener, port) = target().await;
    let mut driver = Driver::start_with(&["--allow-connect", &format!("localhost:{port}")]);
    driver.ok(&format!("connect 127.0.0.1 {port}")).await;
    let _accepted = peer::accept(&listener).await;
    driver.finish().await;
}

#[tokio::test]
async fn deny_dns_turns_name_lookups_off() {
    let (_listener, port) = target().await;
    let mut driver = Driver::start_with(&["--deny-dns"]);
    let line = driver.cmd(&format!("connect localhost {port}")).await;
    assert!(line.starts_with("err"), "{line}");
    assert!(!line.starts_with("err NameUnresolvable localhost"), "lookups are denied, not failed: {line}");
    driver.finish().await;
}

#[tokio::test]
async fn a_bad_rule_is_a_clear_host_error() {
    let component = crate::support::component("misbehave");
    let (code, _, stderr) = crate::support::run_host(&[
        std::ffi::OsStr::new("--allow-net"),
        std::ffi::OsStr::new("10.0.0.0/40"),
        component.as_os_str(),
    ])
    .await;
    assert_eq!(code, 2);
    assert!(stderr.contains("bad network rule `10.0.0.0/40`"), "{stderr}");
}
