//! A poison-tolerant lock: the mock's shared state stays usable even if a
//! test panicked while holding a guard (every critical section leaves the
//! state consistent, so the data behind a poisoned lock is still valid).

use std::sync::{Mutex, MutexGuard, PoisonError};

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
