//! The 0.1.0 suite's regressions (tests/wit_provider/regressions.rs) for 0.2.0: the writer's
//! calls take in a peer reset that already arrived.

use host::provider_async::Error;

use super::conn::{assert_err, connected};
use crate::support::peer;

#[tokio::test]
async fn writer_calls_take_in_a_peer_reset() {
    // As asyncio's drain raises the reader's exception, and is_closing is true once lost.
    let (mut c, socket) = connected(None).await;
    peer::reset(socket);
    c.settle().await;
    assert_err(c.drain().await, |e| matches!(e, Error::ConnectionReset));
    assert!(c.is_closing().await, "is-closing: true once the connection was lost");
    assert_err(c.wait_closed().await, |e| matches!(e, Error::ConnectionReset));
}
