//! The handler tasks a server runs, kept so that they can be waited for and cancelled
//! (asyncio 3.8's `StreamServer.close()` waits for its handlers up to `shutdown_timeout`
//! and cancels the rest; `abort()` cancels them at once).

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use slab::Slab;

use crate::runtime::{self, JoinHandle, Notify};

#[derive(Default)]
pub(super) struct HandlerTasks {
    running: RefCell<Slab<JoinHandle<()>>>,
    /// Told when a task ends by itself.
    ended: Notify,
}

impl HandlerTasks {
    /// Runs `handling` as its own task, tracked until it ends.
    pub(super) fn spawn(self: &Rc<Self>, handling: impl Future<Output = ()> + 'static) {
        let key = self.running.borrow().vacant_key();
        let tasks = Rc::downgrade(self);
        let task = runtime::spawn(async move {
            handling.await;
            if let Some(tasks) = tasks.upgrade() {
                // Drops this task's own handle, which only detaches it.
                tasks.running.borrow_mut().try_remove(key);
                tasks.ended.notify_all();
            }
        });
        // The task first runs on a later turn, so it is inserted before it can end.
        let inserted = self.running.borrow_mut().insert(task);
        debug_assert_eq!(inserted, key);
    }

    pub(super) fn len(&self) -> usize {
        self.running.borrow().len()
    }

    /// Waits until no handler task runs.
    pub(super) async fn wait_all(&self) {
        loop {
            let ended = self.ended.notified();
            if self.running.borrow().is_empty() {
                return;
            }
            ended.await;
        }
    }

    /// Cancels every running task: each future is dropped, with the client stream it holds.
    pub(super) fn cancel_all(&self) {
        let running: Vec<JoinHandle<()>> = self.running.borrow_mut().drain().collect();
        for task in running {
            task.cancel();
        }
        self.ended.notify_all();
    }
}
