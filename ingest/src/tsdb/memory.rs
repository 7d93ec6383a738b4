//! [`MemorySink`]: the newest points kept in memory, bounded; the embedded default's
//! time-series store, and the sink of unit tests.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::{Point, TimeSeriesSink, WriteFuture};

/// An in-process ring buffer of points: when full, the oldest go first.
#[derive(Debug)]
pub struct MemorySink {
    /// The points, oldest first; a std mutex, never held across an await.
    points: Mutex<VecDeque<Point>>,
    capacity: usize,
}

impl MemorySink {
    /// A sink keeping at most `capacity` points (at least 1).
    pub fn new(capacity: usize) -> MemorySink {
        let capacity = capacity.max(1);
        MemorySink {
            points: Mutex::new(VecDeque::with_capacity(capacity.min(4096))),
            capacity,
        }
    }

    /// How many points it can keep.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The points kept, oldest first.
    pub fn snapshot(&self) -> Vec<Point> {
        self.lock().iter().cloned().collect()
    }

    /// How many points are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no point is kept.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Point>> {
        // A panic while holding the lock cannot leave the deque inconsistent.
        self.points
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl TimeSeriesSink for MemorySink {
    fn write<'a>(&'a self, points: &'a [Point]) -> WriteFuture<'a> {
        let mut q = self.lock();
        for p in points {
            if q.len() == self.capacity {
                q.pop_front();
            }
            q.push_back(p.clone());
        }
        drop(q);
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsdb::FieldValue;

    #[tokio::test]
    async fn keeps_the_newest_points() {
        let sink = MemorySink::new(3);
        let pts: Vec<Point> = (0..5)
            .map(|i| {
                Point::new(
                    "m",
                    [],
                    [("v".to_owned(), FieldValue::I64(i))],
                    jiff::Timestamp::UNIX_EPOCH,
                )
                .unwrap()
            })
            .collect();
        sink.write(&pts).await.unwrap();
        let kept: Vec<_> = sink.snapshot().iter().map(|p| p.fields()[0].1).collect();
        assert_eq!(
            kept,
            [FieldValue::I64(2), FieldValue::I64(3), FieldValue::I64(4)]
        );
        assert_eq!(sink.len(), 3);
    }
}
