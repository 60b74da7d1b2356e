//! The engine's one policy for poisoned locks.
//!
//! A std lock is poisoned when a thread panicked while holding it. A panic in the engine is a
//! bug, but it must not take the host process down with it (a Python, Node or Go program), nor
//! turn every later call into a second panic. So the engine never unwraps a lock: it takes the
//! state as the panicking thread left it. Every critical section in the engine updates plain
//! counters and collections, which stay usable after an interrupted update.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub(crate) trait MutexExt<T: ?Sized> {
    /// The guard, whether or not the lock is poisoned.
    fn locked(&self) -> MutexGuard<'_, T>;
}

impl<T: ?Sized> MutexExt<T> for Mutex<T> {
    fn locked(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) trait RwLockExt<T: ?Sized> {
    fn read_locked(&self) -> RwLockReadGuard<'_, T>;
    fn write_locked(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T: ?Sized> RwLockExt<T> for RwLock<T> {
    fn read_locked(&self) -> RwLockReadGuard<'_, T> {
        self.read().unwrap_or_else(PoisonError::into_inner)
    }
    fn write_locked(&self) -> RwLockWriteGuard<'_, T> {
        self.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_still_gives_its_state() {
        let m = std::sync::Arc::new(Mutex::new(vec![1]));
        let m2 = m.clone();
        let _ = std::thread::spawn(move || {
            let mut g = m2.locked();
            g.push(2);
            panic!("a bug while holding the lock");
        })
        .join();
        assert!(m.is_poisoned());
        assert_eq!(*m.locked(), vec![1, 2]);
        let rw = RwLock::new(3);
        assert_eq!(*rw.read_locked(), 3);
        *rw.write_locked() = 4;
        assert_eq!(*rw.read_locked(), 4);
    }
}
