//! The one shape of a running service's counters: the service updates them, whoever holds
//! a handle (`/metrics`, the status page, `up`'s summary, tests) reads a copy.

use std::sync::{Arc, Mutex};

/// A handle on a service's counters `S`; clones share them.
#[derive(Debug)]
pub struct Shared<S>(Arc<Mutex<S>>);

impl<S> Clone for Shared<S> {
    fn clone(&self) -> Self {
        Shared(Arc::clone(&self.0))
    }
}

impl<S: Default> Default for Shared<S> {
    fn default() -> Self {
        Shared(Arc::new(Mutex::new(S::default())))
    }
}

impl<S: Clone + Default> Shared<S> {
    /// A handle for a service not yet started (every counter zero).
    pub fn new() -> Self {
        Self::default()
    }

    /// The counters so far.
    pub fn stats(&self) -> S {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Look at the counters without copying them (`None` if a writer panicked).
    pub fn read<T>(&self, f: impl FnOnce(&S) -> T) -> Option<T> {
        self.0.lock().ok().map(|s| f(&s))
    }

    /// Change the counters (for the service that owns them).
    pub fn update(&self, f: impl FnOnce(&mut S)) {
        if let Ok(mut s) = self.0.lock() {
            f(&mut s);
        }
    }
}
