//! Live updates over SSE: one stream per browser tab, events multiplexed by type.
//!
//! | event | data |
//! |---|---|
//! | `hello` | `{"time": …}` once at the start: fetch `/api/picture` now |
//! | `tracks` | the tracks changed in the last second (array of `TrackView`) |
//! | `alert` | an alert's new revision or triage (`AlertView`) |
//! | `incident` | a new incident |
//! | `clock` | `{"time": …}` every second: the picture's clock (data time) |
//! | `resync` | the stream fell behind and events were skipped: fetch `/api/picture` again |
//!
//! The stream is backed by a broadcast channel; a tab that falls behind by more than its
//! capacity gets `resync` instead of a silent gap.
//!
//! A stream lives no longer than its session: it ends (the response is complete) as soon
//! as the session ends for any reason — logout, a password change ending the account's
//! other sessions, expiry, an account change ([`super::Console::session_end`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast;

use super::model::{AlertView, Incident, TrackView};

/// How often an open stream re-checks its session without being told (expiry, changes
/// made by another process), seconds.
pub const SESSION_RECHECK_S: u64 = 5;

/// A change the browsers should see.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    /// Tracks changed.
    Tracks(Vec<TrackView>),
    /// An alert changed.
    Alert(Box<AlertView>),
    /// An incident was opened.
    Incident(Incident),
    /// The picture's clock.
    Clock(jiff::Timestamp),
}

/// A serialized event, shared by every stream.
#[derive(Debug)]
pub struct LiveMessage {
    /// The SSE event name.
    pub event: &'static str,
    /// Its JSON.
    pub data: String,
}

impl LiveEvent {
    /// Serialize once for every subscriber.
    pub fn message(&self) -> LiveMessage {
        let (event, data) = match self {
            LiveEvent::Tracks(t) => ("tracks", serde_json::to_string(t)),
            LiveEvent::Alert(a) => ("alert", serde_json::to_string(a)),
            LiveEvent::Incident(i) => ("incident", serde_json::to_string(i)),
            LiveEvent::Clock(t) => (
                "clock",
                serde_json::to_string(&serde_json::json!({"time": t})),
            ),
        };
        LiveMessage {
            event,
            data: data.unwrap_or_else(|_| "null".into()),
        }
    }
}

/// The SSE response for one tab.
/// Counts a tab on the stream while it lives.
#[derive(Debug)]
pub struct ClientGuard(pub Arc<std::sync::atomic::AtomicU64>);

impl ClientGuard {
    /// Count one more.
    pub fn new(n: Arc<std::sync::atomic::AtomicU64>) -> ClientGuard {
        n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ClientGuard(n)
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The SSE response for one tab; `guard` is held as long as the tab listens, and the
/// response ends as soon as `session_end` resolves (events not yet sent are dropped).
pub fn stream(
    mut rx: broadcast::Receiver<Arc<LiveMessage>>,
    hello: String,
    guard: ClientGuard,
    session_end: impl std::future::Future<Output = ()> + Send + 'static,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let s = async_stream(move |tx| async move {
        let _guard = guard;
        let session_end = session_end;
        tokio::pin!(session_end);
        let mut next_event = Some(Event::default().event("hello").data(hello));
        loop {
            let event = match next_event.take() {
                Some(e) => e,
                None => tokio::select! {
                    biased;
                    () = &mut session_end => return,
                    () = tx.closed() => return,
                    m = next(&mut rx) => match m {
                        Some((event, data)) => Event::default().event(event).data(data),
                        None => return,
                    },
                },
            };
            // A tab that does not read must not hold its stream open past its session.
            tokio::select! {
                biased;
                () = &mut session_end => return,
                sent = tx.send(event) => if sent.is_err() { return },
            }
        }
    });
    Sse::new(s).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// The next event for a tab: the next change, or `resync` when it fell behind and changes
/// were skipped; None when the console stops.
async fn next(rx: &mut broadcast::Receiver<Arc<LiveMessage>>) -> Option<(&'static str, String)> {
    match rx.recv().await {
        Ok(m) => Some((m.event, m.data.clone())),
        Err(broadcast::error::RecvError::Lagged(n)) => {
            Some(("resync", format!("{{\"skipped\":{n}}}")))
        }
        Err(broadcast::error::RecvError::Closed) => None,
    }
}

/// A stream fed by a task through a small channel (no extra crate for `async-stream`); it
/// ends as soon as the task does, without what the task sent but was not yet taken.
fn async_stream<F, Fut>(f: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(16);
    // Held by the task: dropped (and `ended` resolves) when it returns, however it returns.
    let (running, ended) = tokio::sync::oneshot::channel::<()>();
    let task = f(tx);
    tokio::spawn(async move {
        let _running = running;
        task.await;
    });
    futures_util::stream::unfold((rx, ended), |(mut rx, mut ended)| async move {
        tokio::select! {
            biased;
            _ = &mut ended => None,
            e = rx.recv() => e.map(|e| (Ok(e), (rx, ended))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tab_that_falls_behind_gets_resync_then_the_newest_changes() {
        let (tx, mut rx) = broadcast::channel::<Arc<LiveMessage>>(4);
        for i in 0..10 {
            let _ = tx.send(Arc::new(
                LiveEvent::Clock(jiff::Timestamp::from_second(i).unwrap()).message(),
            ));
        }
        let (event, data) = next(&mut rx).await.unwrap();
        assert_eq!((event, data.as_str()), ("resync", "{\"skipped\":6}"));
        let (event, data) = next(&mut rx).await.unwrap();
        assert_eq!(event, "clock");
        assert!(data.contains("1970-01-01T00:00:06Z"), "{data}");
        drop(tx);
        for _ in 0..3 {
            next(&mut rx).await.unwrap();
        }
        assert!(next(&mut rx).await.is_none());
    }
}
