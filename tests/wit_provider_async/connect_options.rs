//! `open-connection`'s options: `timeout-ms`, `local-address` with `limit`,
//! `happy-eyeballs-delay-ms`, asyncio's checks of the TLS arguments.

use std::net::SocketAddr;

use host::provider_async::bindings::wasi::sockets::types::{IpSocketAddress, Ipv4SocketAddress};
use host::provider_async::{ConnectOptions, Error};

use super::{ok, provider};
use crate::support::{peer, within};

fn options() -> ConnectOptions {
    ConnectOptions {
        limit: None,
        local_address: None,
        happy_eyeballs_delay_ms: None,
        timeout_ms: None,
        ssl: None,
        server_hostname: None,
        ssl_handshake_timeout_ms: None,
        ssl_shutdown_timeout_ms: None,
    }
}

fn from_wasi(address: IpSocketAddress) -> SocketAddr {
    match address {
        IpSocketAddress::Ipv4(a) => {
            let (x, y, z, w) = a.address;
            SocketAddr::from(([x, y, z, w], a.port))
        }
        other => panic!("expected IPv4, got {other:?}"),
    }
}

/// A listener whose accept queue (backlog 0: one connection) is full, so the kernel
/// drops further SYNs and a connect to it hangs.
async fn full_listener() -> (std::net::TcpListener, SocketAddr, std::net::TcpStream) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into()).unwrap();
    socket.listen(0).unwrap();
    let listener: std::net::TcpListener = socket.into();
    let address = listener.local_addr().unwrap();
    let filler = std::net::TcpStream::connect(address).unwrap();
    (listener, address, filler)
}

#[tokio::test]
async fn timeout_ms_gives_up_on_a_connect_that_hangs() {
    let (_listener, address, _filler) = full_listener().await;
    let mut p = provider().await;
    let result = within(
        "open-connection with timeout-ms 300 to a full accept queue",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let timeout = ConnectOptions { timeout_ms: Some(300), ..options() };
            Ok(api
                .call_open_connection(acc, "127.0.0.1".into(), address.port(), Some(timeout))
                .await?
                .map(|_| ()))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(matches!(result, Err(Error::Timeout)), "expected timeout, got {result:?}");
}

#[tokio::test]
async fn local_address_binds_first_and_limit_and_a_timeout_that_does_not_fire_apply() {
    let (listener, address) = peer::listener().await;
    let native = tokio::spawn(async move { peer::accept(&listener).await });
    let mut p = provider().await;
    let (sockname, limit) = within(
        "open-connection with local-address, limit and timeout-ms",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let local = IpSocketAddress::Ipv4(Ipv4SocketAddress { port: 0, address: (127, 0, 0, 1) });
            let chosen = ConnectOptions {
                limit: Some(10),
                local_address: Some(local),
                timeout_ms: Some(10_000),
                ..options()
            };
            let (reader, writer) =
                ok(api.call_open_connection(acc, "127.0.0.1".into(), address.port(), Some(chosen)).await?)?;
            let sockname = ok(api.writer().call_sockname(acc, writer).await?)?;
            Ok((sockname, api.reader().call_limit(acc, reader).await?))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    let socket = within("the native accept", native).await.unwrap();
    assert_eq!(from_wasi(sockname), socket.peer_addr().unwrap());
    assert_eq!(limit, 10);
}

/// `happy-eyeballs-delay-ms` (the staggering itself: `wasio::happy_eyeballs`'s tests,
/// shared with the 0.1.0 provider; `localhost` has one address here): a name and an
/// address connect with it, and every address refusing is the last error at once, not
/// after the delay.
#[tokio::test]
async fn happy_eyeballs_delay_connects_and_a_refusal_is_the_error_at_once() {
    let (listener, address) = peer::listener().await;
    let natives = tokio::spawn(async move { (peer::accept(&listener).await, peer::accept(&listener).await) });
    let refused_port = {
        let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        unused.local_addr().unwrap().port()
    };
    let mut p = provider().await;
    let (peers, refused, refused_after) = within(
        "open-connection with happy-eyeballs-delay-ms: by name, by address, refused",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let eyeballs = || ConnectOptions { happy_eyeballs_delay_ms: Some(60_000), ..options() };
            let mut peers = Vec::new();
            for host in ["localhost", "127.0.0.1"] {
                let (_reader, writer) =
                    ok(api.call_open_connection(acc, host.into(), address.port(), Some(eyeballs())).await?)?;
                peers.push(from_wasi(ok(api.writer().call_peername(acc, writer).await?)?));
            }
            let started = std::time::Instant::now();
            let refused =
                api.call_open_connection(acc, "localhost".into(), refused_port, Some(eyeballs())).await?;
            Ok((peers, refused.map(|_| ()), started.elapsed()))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(peers, [address, address]);
    within("the native accepts", natives).await.unwrap();
    assert!(matches!(refused, Err(Error::ConnectionRefused)), "{refused:?}");
    assert!(refused_after < std::time::Duration::from_secs(30), "waited for the delay: {refused_after:?}");
}

/// asyncio's `ValueError`s for TLS arguments given without `ssl`, with its wording.
#[tokio::test]
async fn tls_arguments_without_ssl_are_invalid_arguments_as_in_asyncio() {
    let mut p = provider().await;
    let results = p
        .run(async move |acc, api| -> wasmtime::Result<_> {
            let mut results = Vec::new();
            for options in [
                ConnectOptions { server_hostname: Some("example.com".into()), ..options() },
                ConnectOptions { ssl_handshake_timeout_ms: Some(1000), ..options() },
                ConnectOptions { ssl_shutdown_timeout_ms: Some(1000), ..options() },
            ] {
                results.push(
                    api.call_open_connection(acc, "127.0.0.1".into(), 9, Some(options)).await?.map(|_| ()),
                );
            }
            Ok(results)
        })
        .await
        .unwrap()
        .unwrap();
    let messages: Vec<String> = results
        .into_iter()
        .map(|result| match result {
            Err(Error::InvalidArgument(message)) => message,
            other => panic!("expected invalid-argument, got {other:?}"),
        })
        .collect();
    assert_eq!(
        messages,
        [
            "server_hostname is only meaningful with ssl",
            "ssl_handshake_timeout is only meaningful with ssl",
            "ssl_shutdown_timeout is only meaningful with ssl",
        ]
    );
}
