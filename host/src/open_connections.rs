//! The connections the instances of one component accepted and still hold, so that a
//! reload's drain ([`crate::reload::drain`]) ends as soon as the old instances have none
//! left instead of always waiting out `--drain-timeout`.
//!
//! Counted where `--metrics` counts its connections: the accept wrapper wraps the accepted
//! connection's two streams ([`crate::metrics::counting_streams`]), and the connection counts
//! as open until the guest has dropped both; a WASI 0.3 guest's, until it has dropped the
//! socket (and, under `--metrics`, its streams: [`crate::metrics::p3_connections`]).
//!
//! Each instance runs on its own thread (see [`crate::instances`]), so the thread says which
//! count a store's connections go to, as it says the instance's metrics label.

use std::cell::RefCell;
use std::sync::Arc;

use tokio::sync::watch;

/// How many connections the instances of one generation hold open.
#[derive(Debug)]
pub(crate) struct OpenConnections {
    count: watch::Sender<usize>,
}

impl OpenConnections {
    pub(crate) fn new() -> Arc<OpenConnections> {
        Arc::new(OpenConnections { count: watch::Sender::new(0) })
    }

    /// A connection was accepted: it counts until the returned guard is dropped.
    pub(crate) fn opened(self: &Arc<Self>) -> OpenConnection {
        self.count.send_modify(|count| *count += 1);
        OpenConnection(Arc::clone(self))
    }

    pub(crate) fn count(&self) -> usize {
        *self.count.borrow()
    }

    /// Completes when no connection is open (at once if none is).
    pub(crate) async fn none_left(&self) {
        let mut count = self.count.subscribe();
        // The sender lives in `self`: the channel cannot close while this waits.
        let _ = count.wait_for(|&open| open == 0).await;
    }
}

/// One open connection; dropped with the last of its streams.
#[derive(Debug)]
pub(crate) struct OpenConnection(Arc<OpenConnections>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.count.send_modify(|count| *count -= 1);
    }
}

thread_local! {
    static ON_THIS_THREAD: RefCell<Option<Arc<OpenConnections>>> = const { RefCell::new(None) };
}

/// From now on, the stores started on this thread count their connections into `open`.
pub(crate) fn set_on_this_thread(open: Arc<OpenConnections>) {
    ON_THIS_THREAD.with(|slot| *slot.borrow_mut() = Some(open));
}

/// Where the stores started on this thread count their connections (none unless set).
pub(crate) fn on_this_thread() -> Option<Arc<OpenConnections>> {
    ON_THIS_THREAD.with(|slot| slot.borrow().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn none_left_waits_for_the_last_guard() {
        let open = OpenConnections::new();
        open.none_left().await;
        let first = open.opened();
        let second = open.opened();
        assert_eq!(open.count(), 2);
        drop(first);
        let still_one = tokio::time::timeout(std::time::Duration::from_millis(20), open.none_left()).await;
        assert!(still_one.is_err(), "one connection is still open");
        let waiting = tokio::spawn({
            let open = Arc::clone(&open);
            async move { open.none_left().await }
        });
        drop(second);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting).await.unwrap().unwrap();
        assert_eq!(open.count(), 0);
    }
}
