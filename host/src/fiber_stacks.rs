//! Fiber stacks kept for reuse.
//!
//! wasmtime runs a WASI 0.3 guest's calls on fibers, one per call in flight. Its default
//! (on-demand) allocator maps a fresh stack for each fiber — `mmap`, a guard page by
//! `mprotect`, page faults that zero every page the call touches, `munmap` at the end —
//! and keeps only one for the next call of the same store (wasmtime#9604). A consumer with
//! many calls in flight (`compose-echo-async`: a readline on every connection) so pays for
//! a new stack on nearly every call: in its line echo, the kernel's page zeroing alone
//! took 9% of the host's CPU. [`StackPool`] keeps the stacks wasmtime releases (up to
//! [`KEEP`]) and hands them out again, mapped and touched. WASI 0.2 guests, which run on
//! one fiber per store, are unaffected.
//!
//! A reused stack holds the native frames of an earlier call (wasm cannot read a native
//! stack); when wasmtime asks for a zeroed stack (`async_stack_zeroing`, off by default),
//! it is zeroed before reuse.

use std::ops::Range;
use std::sync::{Arc, Mutex};

use wasmtime::{StackCreator, StackMemory};

/// Released stacks kept for reuse: with the default 2 MiB stack, 128 MiB of address
/// space at most, of which only the pages calls touched are resident.
pub const KEEP: usize = 64;

/// A [`StackCreator`] for [`wasmtime::Config::with_host_stack`].
#[derive(Default)]
pub struct StackPool {
    free: Arc<Mutex<Vec<Mapping>>>,
}

/// One mapping: a guard page, then the stack (it grows down from the top).
struct Mapping {
    base: *mut u8,
    len: usize,
    guard: usize,
}

// SAFETY: a mapping is plain memory owned by whoever holds the `Mapping`.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl Mapping {
    /// A stack of `size` usable bytes under a guard page, or the OS's error.
    fn new(size: usize) -> std::io::Result<Mapping> {
        let guard = page_size();
        let len = size.next_multiple_of(guard) + guard;
        // SAFETY: a fresh anonymous private mapping, not aliased by anything.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let mapping = Mapping { base: base.cast(), len, guard };
        // SAFETY: the first page of the mapping just made.
        if unsafe { libc::mprotect(base, guard, libc::PROT_NONE) } != 0 {
            return Err(std::io::Error::last_os_error()); // `mapping`'s drop unmaps it
        }
        Ok(mapping)
    }

    fn size(&self) -> usize {
        self.len - self.guard
    }

    fn stack(&self) -> Range<usize> {
        self.base as usize + self.guard..self.base as usize + self.len
    }

    fn zero(&self) {
        // SAFETY: the stack part of our own mapping, not in use (no fiber holds it).
        unsafe { std::ptr::write_bytes(self.base.add(self.guard), 0, self.size()) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: our mapping, no longer referenced.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

/// A stack lent to wasmtime: back to the pool when wasmtime drops it.
struct PooledStack {
    mapping: Option<Mapping>,
    free: Arc<Mutex<Vec<Mapping>>>,
}

impl Drop for PooledStack {
    fn drop(&mut self) {
        let Some(mapping) = self.mapping.take() else { return };
        let mut free = self.free.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if free.len() < KEEP {
            free.push(mapping);
        }
    }
}

// SAFETY: `top` is the page-aligned end of the mapping, `range` the writable stack below
// it, `guard_range` the PROT_NONE page under the stack; the mapping lives as long as the
// `PooledStack` and is lent to one fiber at a time.
unsafe impl StackMemory for PooledStack {
    fn top(&self) -> *mut u8 {
        let mapping = self.mapping.as_ref().expect("a lent stack");
        // SAFETY: one past the end of our own mapping.
        unsafe { mapping.base.add(mapping.len) }
    }

    fn range(&self) -> Range<usize> {
        self.mapping.as_ref().expect("a lent stack").stack()
    }

    fn guard_range(&self) -> Range<*mut u8> {
        let mapping = self.mapping.as_ref().expect("a lent stack");
        // SAFETY: within our own mapping.
        mapping.base..unsafe { mapping.base.add(mapping.guard) }
    }
}

// SAFETY: every stack it makes is page aligned with a guard page below it, and is either
// fresh (zero-filled by the OS) or, when `zeroed` is asked for, zeroed before reuse.
unsafe impl StackCreator for StackPool {
    fn new_stack(&self, size: usize, zeroed: bool) -> wasmtime::Result<Box<dyn StackMemory>> {
        let reused = {
            let mut free = self.free.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let at = free.iter().position(|mapping| mapping.size() == size.next_multiple_of(page_size()));
            at.map(|at| free.swap_remove(at))
        };
        let mapping = match reused {
            Some(mapping) => {
                if zeroed {
                    mapping.zero();
                }
                mapping
            }
            None => Mapping::new(size)?,
        };
        Ok(Box::new(PooledStack { mapping: Some(mapping), free: Arc::clone(&self.free) }))
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf only reads a system constant.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_released_stack_is_lent_again_and_zeroed_when_asked() {
        let pool = StackPool::default();
        let first = pool.new_stack(64 * 1024, false).unwrap();
        let (top, range) = (first.top(), first.range());
        assert_eq!(range.end, top as usize);
        assert!(range.len() >= 64 * 1024);
        assert_eq!(first.guard_range().end as usize, range.start, "the guard page sits below the stack");
        // SAFETY: the top word of the stack we hold.
        unsafe { top.sub(8).write(0xAB) };
        drop(first);

        let again = pool.new_stack(64 * 1024, false).unwrap();
        assert_eq!(again.top(), top, "the same mapping, lent again");
        // SAFETY: the byte written above, in the stack we hold again.
        assert_eq!(unsafe { again.top().sub(8).read() }, 0xAB, "not zeroed unless asked");
        drop(again);

        let zeroed = pool.new_stack(64 * 1024, true).unwrap();
        assert_eq!(zeroed.top(), top);
        // SAFETY: as above.
        assert_eq!(unsafe { zeroed.top().sub(8).read() }, 0, "zeroed when asked");

        let other_size = pool.new_stack(128 * 1024, false).unwrap();
        assert_ne!(other_size.top(), top, "only a stack of the size asked for is reused");
    }

    #[test]
    fn at_most_keep_stacks_are_kept() {
        let pool = StackPool::default();
        let lent: Vec<_> = (0..KEEP + 8).map(|_| pool.new_stack(16 * 1024, false).unwrap()).collect();
        drop(lent);
        assert_eq!(pool.free.lock().unwrap().len(), KEEP);
    }
}
