//! Tasks: `spawn` queues a future, `block_on` runs the queue and the reactor until the
//! main future completes.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use async_task::{Runnable, ScheduleInfo, Task, WithInfo};

use super::{coop, reactor};

thread_local! {
    /// Tasks woken by something else (I/O, a timer, another task), oldest first.
    static READY: RefCell<VecDeque<Runnable>> = const { RefCell::new(VecDeque::new()) };
    /// Tasks that woke themselves while running (a spent budget, `yield_now`), oldest
    /// first: they run after the others in a round, so a connection that was waiting
    /// for its peer goes before those that have more of the same work to do.
    static YIELDED: RefCell<VecDeque<Runnable>> = const { RefCell::new(VecDeque::new()) };
    static IN_BLOCK_ON: Cell<bool> = const { Cell::new(false) };
}

fn schedule(runnable: Runnable, info: ScheduleInfo) {
    let queue = if info.woken_while_running { &YIELDED } else { &READY };
    queue.with(|queue| queue.borrow_mut().push_back(runnable));
}

/// Runs the tasks in `queue` now, each once (those queued meanwhile wait).
fn run_queued(queue: &'static std::thread::LocalKey<RefCell<VecDeque<Runnable>>>) {
    let queued = queue.with(|queue| queue.borrow().len());
    for _ in 0..queued {
        let Some(runnable) = queue.with(|queue| queue.borrow_mut().pop_front()) else { break };
        coop::with_budget(|| runnable.run());
    }
}

fn nothing_queued() -> bool {
    READY.with(|ready| ready.borrow().is_empty()) && YIELDED.with(|yielded| yielded.borrow().is_empty())
}

/// Runs `future` as its own task, concurrently with the caller (asyncio's
/// `create_task`). Tasks make progress while some `block_on` runs.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let (runnable, task) = async_task::spawn_local(future, WithInfo(schedule));
    runnable.schedule();
    JoinHandle { task: Some(task) }
}

/// A handle to a spawned task: await it for the task's output. Dropping the handle lets
/// the task run on (detaches it), like tokio's `JoinHandle`; [`JoinHandle::cancel`]
/// stops it.
pub struct JoinHandle<T> {
    task: Option<Task<T>>,
}

impl<T> JoinHandle<T> {
    /// Stops the task at its next suspension point; its future is dropped.
    pub fn cancel(mut self) {
        // Dropping an async-task `Task` cancels it.
        drop(self.task.take());
    }

    /// Whether the task has run to completion.
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|task| task.is_finished())
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let task = self.task.as_mut().expect("JoinHandle polled after completion");
        Pin::new(task).poll(cx)
    }
}

struct MainWaker(AtomicBool);

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

/// Runs `future` to completion on this thread, together with every spawned task.
///
/// Panics when called inside another `block_on` (there is one runtime per component
/// instance) or when nothing can ever wake the main future (a deadlock).
pub fn block_on<F: Future>(future: F) -> F::Output {
    assert!(!IN_BLOCK_ON.with(|flag| flag.replace(true)), "wasio::runtime::block_on called inside block_on");
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            IN_BLOCK_ON.with(|flag| flag.set(false));
        }
    }
    let _reset = Reset;

    let main_waker = Arc::new(MainWaker(AtomicBool::new(true)));
    let waker = Waker::from(main_waker.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if main_waker.0.swap(false, Ordering::Acquire) {
            if let Poll::Ready(output) = coop::with_budget(|| future.as_mut().poll(&mut cx)) {
                return output;
            }
        }
        // One round: every task that is ready now runs once, those that yielded last;
        // tasks woken during the round wait for the next one, so no task can starve the
        // others. Between the yielded ones (each about a budget's work), I/O that became
        // ready is picked up when the host is due a turn, and its tasks go first.
        run_queued(&READY);
        let yielded = YIELDED.with(|yielded| yielded.borrow().len());
        for _ in 0..yielded {
            let Some(runnable) = YIELDED.with(|yielded| yielded.borrow_mut().pop_front()) else {
                break;
            };
            coop::with_budget(|| runnable.run());
            if reactor::host_turn_if_due() {
                run_queued(&READY);
            }
        }
        let more_work = main_waker.0.load(Ordering::Acquire) || !nothing_queued();
        if more_work {
            // Still busy: pick up I/O that is ready, without waiting for more.
            reactor::poll_ready_now();
        } else if !reactor::wait_for_io() {
            panic!("wasio::runtime::block_on: deadlock, nothing is running and no I/O or timer can wake the main future");
        }
    }
}

/// Lets every other ready task run once before continuing (asyncio's `sleep(0)`).
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// Lets background tasks (flushes, closes) make the progress they can without waiting:
/// runs what is ready and takes in I/O that is already ready, until nothing moves. For
/// callers outside `block_on`, such as the WIT provider between calls.
pub fn run_pending() {
    if IN_BLOCK_ON.with(|flag| flag.get()) {
        return;
    }
    // A few rounds: a task woken by I/O may wake another (bounded, never waits).
    for _ in 0..4 {
        let ran = !nothing_queued();
        run_queued(&READY);
        run_queued(&YIELDED);
        if !reactor::poll_ready_now() && !ran {
            return;
        }
        if nothing_queued() {
            return;
        }
    }
}
