//! Which instance the code on this thread runs: the `instance` label of what it counts.
//!
//! Each instance of the component runs on its own thread, with a current-thread tokio
//! runtime, from its first start to its last restart; so the thread says which instance a
//! start belongs to without every layer between the host's entry point and the store
//! passing it down. A thread that never said is instance 0, which is what a single instance
//! (the default) is.

use std::cell::Cell;

thread_local! {
    static INSTANCE: Cell<usize> = const { Cell::new(0) };
}

/// From now on, instances started on this thread count as instance `index`.
pub fn set_instance_on_this_thread(index: usize) {
    INSTANCE.with(|instance| instance.set(index));
}

/// The instance started on this thread (0 unless set).
pub fn instance_on_this_thread() -> usize {
    INSTANCE.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_unless_set_and_per_thread() {
        assert_eq!(std::thread::spawn(instance_on_this_thread).join().unwrap(), 0);
        let set = std::thread::spawn(|| {
            set_instance_on_this_thread(3);
            instance_on_this_thread()
        });
        assert_eq!(set.join().unwrap(), 3);
    }
}
