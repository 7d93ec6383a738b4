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

/// Counters that say which metrics they are. Each component's stats type describes and
/// records its own metrics next to its fields, so a new counter and its metric are one
/// change in one file; `/metrics` only collects them (the services keep plain counters,
/// cheap on the hot path and readable by tests and the status page, and a scrape copies
/// them into the `metrics` recorder in use).
pub trait Report {
    /// Describe the metrics (name, unit, help) to the `metrics` recorder in use.
    fn describe()
    where
        Self: Sized;
    /// Record the values now to the `metrics` recorder in use.
    fn record(&self);
}

impl<T: Report> Report for Arc<T> {
    fn describe() {
        T::describe();
    }

    fn record(&self) {
        T::record(self);
    }
}

/// A flag as a gauge: 1 when set.
pub fn flag(set: bool) -> f64 {
    if set { 1.0 } else { 0.0 }
}
