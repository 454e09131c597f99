//! A FIFO of bytes that is always contiguous and cheap to consume from the front.
//!
//! Both sides of a stream need the same thing: append at the back, look at the front as
//! one slice (to search it for a separator, or to hand it to the host), and drop bytes
//! from the front. A `Vec<u8>` plus a read offset (`head`) gives all three; dropping
//! bytes only moves `head`, and the dead prefix is reclaimed by one `copy_within` once
//! it is at least as large as the live bytes. Each compaction copies at most as many
//! bytes as were consumed since the previous one, so consuming is O(taken) amortised.

/// Bytes queued in arrival order; the live bytes are `buf[head..]`.
#[derive(Default, Clone, PartialEq, Eq)]
pub(crate) struct ByteQueue {
    buf: Vec<u8>,
    head: usize,
}

impl ByteQueue {
    pub(crate) fn len(&self) -> usize {
        self.buf.len() - self.head
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head == self.buf.len()
    }

    /// The live bytes, oldest first.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf[self.head..]
    }

    pub(crate) fn push(&mut self, data: &[u8]) {
        if self.is_empty() {
            // Reuse the allocation from the start instead of growing behind a dead prefix.
            self.buf.clear();
            self.head = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Like [`push`](Self::push), but takes over `data`'s allocation when the queue is
    /// empty (the common case: a whole socket read lands in an empty buffer).
    pub(crate) fn push_vec(&mut self, data: Vec<u8>) {
        if self.is_empty() {
            self.buf = data;
            self.head = 0;
        } else {
            self.push(&data);
        }
    }

    /// Removes and returns the first `min(n, len)` bytes.
    pub(crate) fn take_front(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.len());
        if n == self.buf.len() {
            // Everything, and no dead prefix: hand the allocation over without copying.
            self.head = 0;
            return std::mem::take(&mut self.buf);
        }
        let taken = self.as_slice()[..n].to_vec();
        self.discard_front(n);
        taken
    }

    /// Removes and returns every live byte.
    pub(crate) fn take_all(&mut self) -> Vec<u8> {
        self.take_front(self.len())
    }

    /// Drops the first `min(n, len)` bytes.
    pub(crate) fn discard_front(&mut self, n: usize) {
        self.head += n.min(self.len());
        if self.is_empty() {
            self.clear();
        } else if self.head >= self.len() {
            // The dead prefix outweighs the live bytes: moving the live bytes now costs
            // no more than what was consumed since the last compaction.
            self.buf.copy_within(self.head.., 0);
            self.buf.truncate(self.buf.len() - self.head);
            self.head = 0;
        }
    }

    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.head = 0;
    }
}

impl std::fmt::Debug for ByteQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ByteQueue({} bytes)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_take_keeps_fifo_order() {
        let mut q = ByteQueue::default();
        q.push(b"hello ");
        q.push(b"world");
        assert_eq!(q.take_front(3), b"hel");
        assert_eq!(q.as_slice(), b"lo world");
        assert_eq!(q.take_front(100), b"lo world");
        assert!(q.is_empty());
        assert_eq!(q.take_front(1), b"");
    }

    #[test]
    fn take_all_without_dead_prefix_moves_the_allocation() {
        let data = b"abcdef".to_vec();
        let ptr = data.as_ptr();
        let mut q = ByteQueue::default();
        q.push_vec(data);
        let out = q.take_all();
        assert_eq!(out.as_ptr(), ptr);
        assert!(q.is_empty());
    }

    #[test]
    fn push_vec_copies_when_not_empty() {
        let mut q = ByteQueue::default();
        q.push(b"ab");
        q.push_vec(b"cd".to_vec());
        assert_eq!(q.as_slice(), b"abcd");
    }

    #[test]
    fn compaction_bounds_the_dead_prefix() {
        let mut q = ByteQueue::default();
        q.push(&[7u8; 1000]);
        for _ in 0..999 {
            q.discard_front(1);
            // The dead prefix never exceeds the live bytes (plus the byte just dropped).
            assert!(q.head <= q.len() + 1, "head {} len {}", q.head, q.len());
        }
        assert_eq!(q.as_slice(), &[7u8]);
    }

    #[test]
    fn discard_more_than_len_empties() {
        let mut q = ByteQueue::default();
        q.push(b"abc");
        q.discard_front(10);
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
    }
}
