//! The reader's `subscribe` pollable through the WIT interface: it must fire whenever a
//! `try-*` read may make progress, whoever took in the input meanwhile. A pollable that
//! never fires hangs a consumer's poll loop for good (a lost wakeup), so each case here
//! once was, or could be, one.

use crate::support::provider::{connected, settle, still_usable};
use crate::support::{peer, within};
use host::provider::Error;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn test_reader_pollable_fires_for_a_line_that_arrived_after_a_try_read() {
    // A try-readline that found nothing marks the reader as wanting more data. The next
    // line arrives before the consumer subscribes; subscribing takes it in, and the
    // pollable must then be ready at once, not wait on the (now empty) input stream.
    let (mut p, r, w, mut socket) = connected(None).await;
    assert!(matches!(p.try_readline(&r).await.unwrap(), Ok(None)));
    socket.write_all(b"arrived\n").await.unwrap();
    settle().await;
    let pollable = p.subscribe_reader(&r).await.unwrap();
    assert_eq!(within("poll", p.poll(&[&pollable])).await.unwrap(), vec![0]);
    let line = p.try_readline(&r).await.unwrap();
    assert!(matches!(&line, Ok(Some(l)) if l == b"arrived\n"), "{line:?}");
    p.drop_pollable(pollable).unwrap();
    p.drop_writer(w).await.unwrap();
    p.drop_reader(r).await.unwrap();
}

#[tokio::test]
async fn test_reader_pollable_fires_after_other_calls_ran() {
    // A reader's pollable watches the input stream. Writer and status calls made while
    // it is out must leave the input to the reader: bytes they took in would leave the
    // stream with nothing to report, and the pollable would never be ready.
    let (mut p, r, w, mut socket) = connected(None).await;
    assert!(matches!(p.try_readline(&r).await.unwrap(), Ok(None)));
    let pollable = p.subscribe_reader(&r).await.unwrap();
    socket.write_all(b"arrived\n").await.unwrap();
    settle().await;
    assert!(!p.is_closing(&w).await.unwrap());
    assert_eq!(p.get_write_buffer_size(&w).await.unwrap(), 0);
    within("drain", p.drain(&w)).await.unwrap().unwrap();
    assert!(p.try_drain(&w).await.unwrap().unwrap());
    assert!(!p.try_wait_closed(&w).await.unwrap().unwrap());
    assert!(!p.at_eof(&r).await.unwrap());
    assert!(p.exception(&r).await.unwrap().is_none());
    assert_eq!(within("poll", p.poll(&[&pollable])).await.unwrap(), vec![0]);
    let line = p.try_readline(&r).await.unwrap();
    assert!(matches!(&line, Ok(Some(l)) if l == b"arrived\n"), "{line:?}");
    p.drop_pollable(pollable).unwrap();
    p.drop_writer(w).await.unwrap();
    p.drop_reader(r).await.unwrap();
}

#[tokio::test]
async fn test_blocking_wait_closed_notices_a_reset_while_a_reader_pollable_is_out() {
    // A consumer blocked in wait-closed polls nothing meanwhile: the provider must go on
    // taking in input (so it sees the reset) even though a reader pollable is out.
    let (mut p, r, w, mut socket) = connected(None).await;
    let pollable = p.subscribe_reader(&r).await.unwrap();
    socket.write_all(b"unread").await.unwrap();
    let resetter = tokio::spawn(async move {
        settle().await;
        peer::reset(socket);
    });
    let closed = within("wait-closed after a reset", p.wait_closed(&w)).await.unwrap();
    assert!(matches!(closed, Err(Error::ConnectionReset)), "{closed:?}");
    resetter.await.unwrap();
    p.drop_pollable(pollable).unwrap();
    p.drop_writer(w).await.unwrap();
    p.drop_reader(r).await.unwrap();
    still_usable(&mut p).await;
}

