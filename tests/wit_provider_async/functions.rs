//! The interface's functions through the 0.2.0 WIT, the 0.1.0 suite's cases
//! (tests/wit_provider/functions.rs): open-connection and start-server errors as values.
//! (`local-address` and `limit` are `connect_options`; stdio is `stdio`.)

use host::provider_async::{ConnectOptions, Error};

use super::conn::{assert_err, limit, still_usable};
use super::provider;
use crate::support::{peer, within};

async fn open(
    p: &mut host::provider_async::AsyncProvider,
    host: &str,
    port: u16,
    options: Option<ConnectOptions>,
) -> Result<(), Error> {
    let host = host.to_string();
    let opened = p.run(async move |acc, api| api.call_open_connection(acc, host, port, options).await);
    within("open-connection", opened).await.expect("no trap").expect("no trap").map(drop)
}

#[tokio::test]
async fn open_connection_with_limit_0_is_invalid_argument() {
    let (_listener, address) = peer::listener().await;
    let mut p = provider().await;
    let result = open(&mut p, "127.0.0.1", address.port(), limit(0)).await;
    assert_err(result, |e| matches!(e, Error::InvalidArgument(m) if m == "Limit cannot be <= 0"));
    still_usable(&mut p).await;
}

#[tokio::test]
async fn open_connection_to_a_closed_port_is_refused() {
    let (listener, address) = peer::listener().await;
    drop(listener);
    let mut p = provider().await;
    assert_err(open(&mut p, "127.0.0.1", address.port(), None).await, |e| {
        matches!(e, Error::ConnectionRefused)
    });
    still_usable(&mut p).await;
}

#[tokio::test]
async fn open_connection_denied_and_unresolvable_are_typed() {
    let mut p = provider().await;
    // The host's policy (loopback only) denies the address: PermissionError.
    assert_err(open(&mut p, "10.0.0.1", 80, None).await, |e| matches!(e, Error::AccessDenied));
    // A name that does not resolve: socket.gaierror, with the name.
    assert_err(
        open(&mut p, "nonexistent.invalid", 80, None).await,
        |e| matches!(e, Error::NameUnresolvable(n) if n == "nonexistent.invalid"),
    );
    still_usable(&mut p).await;
}

#[tokio::test]
async fn start_server_on_a_used_port_is_address_in_use() {
    let (_listener, address) = peer::listener().await;
    let mut p = provider().await;
    let port = address.port();
    let started = p.run(async move |acc, api| -> wasmtime::Result<_> {
        let started = api.call_start_server(acc, "127.0.0.1".into(), port, None).await?;
        Ok(started.map(drop))
    });
    let result = within("start-server", started).await.expect("no trap").expect("no trap");
    assert_err(result, |e| matches!(e, Error::AddressInUse));
    still_usable(&mut p).await;
}
