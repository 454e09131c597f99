//! The same limit for a WASI 0.3 guest (tests/guests/p3-tcp): a failed accept reaches it as a
//! socket already closed with the error, which the host names
//! (`other(new-socket-limit: too many open files (EMFILE))` instead of `other(none)`) and
//! logs a few times, not once per attempt; the guest pauses accepting as asyncio does, the
//! open connection is served at little CPU, and new ones once descriptors are free.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

use super::{
    assert_idle_at_the_limit, assert_served_after_the_limit, connect_over_the_limit, echo, lines_so_far,
    start_with_nofile_limit, stderr_lines, wait_for_line, NOFILE_LIMIT,
};
use crate::support::{within, STEP};

#[tokio::test]
async fn p3_accepts_at_the_descriptor_limit_are_named_and_logged() {
    let mut server = start_with_nofile_limit("p3-tcp", &["serve", "127.0.0.1", "0"], NOFILE_LIMIT);
    let address: SocketAddr = server.serving_address().await;
    let pid = server.child.id().expect("the host's pid");
    let mut stderr = stderr_lines(&mut server);

    let mut before = within("connect before the limit", TcpStream::connect(address)).await.unwrap();
    echo(&mut before, b"before the limit\n", STEP).await;

    let extra = connect_over_the_limit(address).await;
    let mut seen = wait_for_line(&mut stderr, "too many open files").await;
    assert_eq!(
        server.next_line().await.as_deref(),
        Some("accept failed: other(new-socket-limit: too many open files (EMFILE))"),
        "what the guest is told"
    );

    // At the limit: the open connection is served, and waiting to accept costs little.
    assert_idle_at_the_limit(pid, &mut before).await;

    // The extra clients go: a new client is served again within a few seconds.
    assert_served_after_the_limit(extra, address, &mut before).await;

    seen.extend(lines_so_far(&mut stderr));
    let _ = server.child.start_kill();
    let log = seen.join("\n");
    let cause_lines = seen.iter().filter(|line| line.contains("too many open files")).count();
    assert!((1..=5).contains(&cause_lines), "{cause_lines} lines name the cause:\n{log}");
    assert!(
        seen.iter().any(|line| line.starts_with("warning: accept failed: too many open files (EMFILE")
            && line.contains("the guest is told `other`")),
        "the host names the cause:\n{log}"
    );
}

/// The same limit for compose-echo-async (a `wasio:streams@0.2.0` consumer on
/// streams-provider-async.wasm): the provider's `accept` reports a failed accept as an
/// error (`other("too many open files: ...")`, as the 0.1.0 provider words it) instead of
/// handing out the closed socket as a connection, so the consumer pauses accepting; without
/// that its accept loop spun until the store's handle limit trapped the instance.
#[tokio::test]
async fn compose_echo_async_pauses_accepting_at_the_descriptor_limit() {
    let mut server = start_with_nofile_limit("compose-echo-async", &["127.0.0.1", "0"], NOFILE_LIMIT);
    let address: SocketAddr = server.serving_address().await;
    let pid = server.child.id().expect("the host's pid");
    let mut stderr = stderr_lines(&mut server);

    let mut before = within("connect before the limit", TcpStream::connect(address)).await.unwrap();
    echo(&mut before, b"before the limit\n", STEP).await;

    let extra = connect_over_the_limit(address).await;
    let mut seen = wait_for_line(&mut stderr, "compose-echo-async: accept failed").await;
    let told = seen.last().cloned().unwrap_or_default();
    assert!(told.contains("too many open files"), "what the consumer is told: {told}");

    // At the limit: the open connection is served, waiting to accept costs little, and the
    // instance does not trap (a spinning accept loop reached the handle limit in seconds).
    assert_idle_at_the_limit(pid, &mut before).await;
    echo(&mut before, b"still at the limit\n", Duration::from_secs(5)).await;

    // The extra clients go: a new client is served again within a few seconds.
    assert_served_after_the_limit(extra, address, &mut before).await;

    seen.extend(lines_so_far(&mut stderr));
    let exited = server.child.try_wait().expect("the host's status");
    let _ = server.child.start_kill();
    let log = seen.join("\n");
    assert!(exited.is_none(), "the host exited ({exited:?}):\n{log}");
    assert!(!log.contains("trap") && !log.contains("handle limit"), "a trap:\n{log}");
}
