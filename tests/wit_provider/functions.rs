//! The interface's functions: open-connection and start-server options and errors, stdio.

use super::*;

#[tokio::test]
async fn test_open_connection_limit_zero_is_invalid_argument() {
    let (_listener, address) = peer::listener().await;
    let mut p = provider().await;
    let result =
        within("open-connection", p.open_connection("127.0.0.1", address.port(), limit(0))).await.unwrap();
    assert_err(result, |e| matches!(e, Error::InvalidArgument(m) if m == "Limit cannot be <= 0"));
    still_usable(&mut p).await;
}

#[tokio::test]
async fn test_open_connection_to_a_closed_port_is_refused() {
    let (listener, address) = peer::listener().await;
    drop(listener);
    let mut p = provider().await;
    let result =
        within("open-connection", p.open_connection("127.0.0.1", address.port(), None)).await.unwrap();
    assert_err(result, |e| matches!(e, Error::ConnectionRefused));
    still_usable(&mut p).await;
}

#[tokio::test]
async fn test_open_connection_errors_and_options_cross_the_boundary() {
    let mut p = provider().await;
    // The host's policy (loopback only) denies the address: PermissionError.
    let denied = within("open-connection", p.open_connection("10.0.0.1", 80, None)).await.unwrap();
    assert_err(denied, |e| matches!(e, Error::AccessDenied));
    // A name that does not resolve: socket.gaierror, with the name.
    let unresolvable =
        within("open-connection", p.open_connection("nonexistent.invalid", 80, None)).await.unwrap();
    assert_err(unresolvable, |e| matches!(e, Error::NameUnresolvable(n) if n == "nonexistent.invalid"));
    // local-address binds first; the limit reaches the reader.
    let (listener, address) = peer::listener().await;
    let mut options = limit(10).unwrap();
    options.local_address = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into());
    let (r, w) = within("open-connection", p.open_connection("127.0.0.1", address.port(), Some(options)))
        .await
        .unwrap()
        .unwrap();
    let socket = peer::accept(&listener).await;
    assert_eq!(p.sockname(&w).await.unwrap().unwrap(), socket.peer_addr().unwrap());
    assert_eq!(p.limit(&r).await.unwrap(), 10);
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
    still_usable(&mut p).await;
}

#[tokio::test]
async fn test_start_server_on_a_used_port_is_address_in_use() {
    let (_listener, address) = peer::listener().await;
    let mut p = provider().await;
    let result = within("start-server", p.start_server("127.0.0.1", address.port(), None)).await.unwrap();
    assert_err(result, |e| matches!(e, Error::AddressInUse));
    still_usable(&mut p).await;
}

#[tokio::test]
async fn test_stdin_reader_and_stdout_writer() {
    let config = ProviderConfig::new(NetworkPolicy::deny_all()).stdin(&b"one\ntwo"[..]).capture_stdout();
    let mut p = provider_with(config).await;
    let r = p.stdin_reader(Some(100)).await.unwrap().unwrap();
    assert_eq!(p.limit(&r).await.unwrap(), 100);
    assert_eq!(text(&within("readline", p.readline(&r)).await.unwrap().unwrap()), "one\n");
    assert_eq!(text(&within("readline", p.readline(&r)).await.unwrap().unwrap()), "two");
    assert_eq!(within("readline", p.readline(&r)).await.unwrap().unwrap(), b"");
    assert!(p.at_eof(&r).await.unwrap());
    let w = p.stdout_writer().await.unwrap().unwrap();
    assert!(!p.can_write_eof(&w).await.unwrap());
    p.write(&w, b"to stdout\n").await.unwrap().unwrap();
    within("drain", p.drain(&w)).await.unwrap().unwrap();
    assert_eq!(text(&p.captured_stdout().unwrap()), "to stdout\n");
    p.drop_writer(w).await.unwrap();
    p.drop_reader(r).await.unwrap();
}
