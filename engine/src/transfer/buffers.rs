//! Upload part buffers kept for reuse once sent, up to what the memory budget lets be in
//! flight: an 8 MiB part read into a fresh allocation each time would cost zeroing it, and
//! leave the allocator holding freed parts in every thread's arena.

use std::sync::Arc;

/// Free buffers, kept up to a number of bytes; a buffer goes back when its [`Pooled`]
/// handle is dropped.
#[derive(Debug)]
pub(crate) struct BufferPool {
    free: std::sync::Mutex<Vec<Vec<u8>>>,
    keep_bytes: u64,
}

impl BufferPool {
    /// A pool that keeps up to `keep_bytes` of free buffers (more are freed when dropped).
    pub(crate) fn new(keep_bytes: u64) -> Arc<Self> {
        Arc::new(Self {
            free: std::sync::Mutex::default(),
            keep_bytes,
        })
    }

    /// A buffer of `len` bytes (old contents, to be overwritten).
    pub(crate) fn take(self: &Arc<Self>, len: usize) -> Pooled {
        let reused = {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            free.iter()
                .position(|b| b.capacity() >= len)
                .map(|at| free.swap_remove(at))
        };
        let mut buffer = reused.unwrap_or_default();
        buffer.resize(len, 0);
        Pooled {
            buffer,
            pool: self.clone(),
        }
    }

    fn put(&self, buffer: Vec<u8>) {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let held: u64 = free.iter().map(|b| b.capacity() as u64).sum();
        if held + buffer.capacity() as u64 <= self.keep_bytes {
            free.push(buffer);
        }
    }

    /// Bytes of free buffers kept now.
    #[cfg(test)]
    fn kept(&self) -> u64 {
        let free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        free.iter().map(|b| b.capacity() as u64).sum()
    }
}

/// A buffer that goes back to its pool when dropped.
#[derive(Debug)]
pub(crate) struct Pooled {
    buffer: Vec<u8>,
    pool: Arc<BufferPool>,
}

impl Pooled {
    /// The buffer as [`bytes::Bytes`]; it goes back to the pool when the last clone is
    /// dropped.
    pub(crate) fn freeze(self) -> bytes::Bytes {
        bytes::Bytes::from_owner(self)
    }
}

impl std::ops::Deref for Pooled {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buffer
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.buffer
    }
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buffer
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.put(std::mem::take(&mut self.buffer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_given_back_is_taken_again_with_its_memory() {
        let pool = BufferPool::new(4 << 20);
        let first = pool.take(1 << 20);
        let address = first.as_ptr();
        drop(first);
        assert_eq!(pool.kept(), 1 << 20);
        let second = pool.take(512 << 10);
        assert_eq!(second.as_ptr(), address);
        assert_eq!(second.len(), 512 << 10);
        assert_eq!(pool.kept(), 0);
    }

    #[test]
    fn a_buffer_too_small_is_not_reused() {
        let pool = BufferPool::new(4 << 20);
        drop(pool.take(64 << 10));
        assert_eq!(pool.take(1 << 20).len(), 1 << 20);
        assert_eq!(
            pool.kept(),
            (64 << 10) + (1 << 20),
            "both are kept once dropped"
        );
    }

    #[test]
    fn no_more_than_the_bytes_to_keep_are_kept() {
        let pool = BufferPool::new(1 << 20);
        let (a, b) = (pool.take(1 << 20), pool.take(1 << 20));
        drop(a);
        drop(b);
        assert_eq!(pool.kept(), 1 << 20, "the second buffer is freed");
    }

    #[test]
    fn a_frozen_buffer_goes_back_when_its_last_clone_is_dropped() {
        let pool = BufferPool::new(1 << 20);
        let bytes = pool.take(1000).freeze();
        let clone = bytes.clone();
        drop(bytes);
        assert_eq!(pool.kept(), 0);
        drop(clone);
        assert_eq!(pool.kept(), 1000);
    }
}
