//! A value written rarely and read on hot paths, from a per-thread copy.
//!
//! The value sits behind a lock as an `Arc`; every replacement bumps a generation counter.
//! Readers keep the `(instance, generation, Arc)` they last read in a thread-local of their own
//! ([`Cache`]): while the generation has not moved, a read is one atomic load, with no lock and
//! no shared counter touched. The agent's sampling rates and the tracer's global tags use it.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::LocalKey;

/// A thread's copy of a [`Versioned`] value: (instance id, generation, value).
pub(crate) type Cache<T> = RefCell<Option<(u64, u64, Arc<T>)>>;

/// Source of instance ids (several tracers, several rate tables, one cache slot per thread).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

#[derive(Debug)]
pub(crate) struct Versioned<T> {
    value: RwLock<Arc<T>>,
    generation: AtomicU64,
    id: u64,
}

impl<T> Versioned<T> {
    pub(crate) fn new(value: T) -> Self {
        Versioned {
            value: RwLock::new(Arc::new(value)),
            generation: AtomicU64::new(0),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Replaces the value with the first part of `f(current)`, under the lock, and returns the
    /// second. (Only whole values are swapped, after `f` returns, so a lock poisoned by a panic
    /// in `f` still holds a consistent value and is used as is, here and by the readers.)
    pub(crate) fn update<R>(&self, f: impl FnOnce(&T) -> (T, R)) -> R {
        let mut value = self.value.write().unwrap_or_else(|p| p.into_inner());
        let (new, out) = f(&value);
        *value = Arc::new(new);
        self.generation.fetch_add(1, Ordering::AcqRel);
        out
    }

    /// Which value is current: (instance id, generation). Equal stamps, read at two times, mean
    /// the value was not replaced in between.
    #[inline]
    pub(crate) fn stamp(&self) -> (u64, u64) {
        (self.id, self.generation.load(Ordering::Acquire))
    }

    /// The current value, read under the lock.
    pub(crate) fn locked(&self) -> Arc<T> {
        Arc::clone(&self.value.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Runs `f` on the current value: this thread's copy in `cache` while it is current, else
    /// the value read once under the lock (and kept in `cache`).
    pub(crate) fn with<R>(
        &self,
        cache: &'static LocalKey<Cache<T>>,
        mut f: impl FnMut(&T) -> R,
    ) -> R {
        let generation = self.generation.load(Ordering::Acquire);
        let cached = cache.try_with(|cache| {
            let mut cache = cache.try_borrow_mut().ok()?;
            let fresh = matches!(&*cache, Some((id, g, _)) if *id == self.id && *g == generation);
            if !fresh {
                // Tagged with the generation read first: a change meanwhile is seen next time.
                *cache = Some((self.id, generation, self.locked()));
            }
            let (_, _, value) = cache.as_ref()?;
            Some(f(value))
        });
        match cached {
            Ok(Some(r)) => r,
            // The thread is being torn down, or a nested read: under the lock.
            _ => f(&self.locked()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static CACHE: Cache<u32> = const { RefCell::new(None) };
    }

    #[test]
    fn reads_follow_updates_and_instances_do_not_mix() {
        let a = Versioned::new(1u32);
        let b = Versioned::new(10u32);
        assert_eq!(a.with(&CACHE, |v| *v), 1);
        assert_eq!(
            a.update(|v| (v + 1, *v)),
            1,
            "returns what the closure says"
        );
        assert_eq!(a.with(&CACHE, |v| *v), 2, "a cached copy is refreshed");
        assert_eq!(b.with(&CACHE, |v| *v), 10, "another instance");
        assert_eq!(a.with(&CACHE, |v| *v), 2);
        // A nested read (the cache is borrowed) still sees the value.
        assert_eq!(a.with(&CACHE, |_| b.with(&CACHE, |v| *v)), 10);
        assert_eq!(*a.locked(), 2);
    }
}
