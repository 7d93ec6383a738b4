//! Publishing that an acknowledgement can rest on: QoS 1 publishes kept until the broker
//! confirms them, and sent again when a connection's session is lost.
//!
//! ```text
//!  publish ──▶ backlog ──(client takes)──▶ in flight ──PUBACK──▶ confirmed (counted, in order)
//!                 ▲                            │
//!                 └──── a new session (another node, a restarted broker) ◀──┘ sent again, first
//! ```
//!
//! rumqttc keeps unconfirmed publishes across a reconnection only if the broker kept the
//! session; on a clean session (a publisher's connection), on another node of a cluster, or
//! on a broker that restarted without its sessions, it drops them. They were handed,
//! perhaps stored upstream, never delivered. An [`Outbox`] keeps what it handed until it
//! is confirmed (PUBACKs come in the order of the publishes, MQTT 3.1.1 §4.6), stops
//! handing while the connection is down, and when the next session is a new one sends what
//! was in flight again, first and in order (a message may then arrive twice: Tidewatch's
//! messages carry ids, and are taken once downstream).
//!
//! The [`Outbox::confirmed`] count is the number of publishes the broker has confirmed,
//! oldest first: publish number *n* (counting from 0 in the order they were given) is with
//! the broker once `confirmed() > n`. A caller that must not acknowledge or forget
//! something before its publishes are safe notes [`Outbox::produced`] after publishing
//! them and waits for `confirmed()` to reach it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use rumqttc::{AsyncClient, ClientError, Event, Packet, QoS};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::client::Failover;

/// What became of an [`Outbox`]'s connection.
#[derive(Debug)]
pub enum Link<'a> {
    /// The broker accepted it (CONNACK).
    Connected,
    /// It was lost or refused.
    Lost(&'a rumqttc::ConnectionError),
}

/// A publisher's connection whose publishes are kept until confirmed (see the module).
/// Clones share the same queues.
#[derive(Clone)]
pub struct Outbox {
    client: AsyncClient,
    handed: Arc<AtomicU64>,
    confirmed: Arc<AtomicU64>,
    /// Woken on every confirmation and every new connection.
    confirmations: Arc<Notify>,
    queues: Arc<Mutex<Queues>>,
}

/// What waits to be handed to the client, and what it has that the broker has not
/// confirmed yet, oldest first.
#[derive(Default)]
struct Queues {
    /// Topic and payload (shared with the client's copy, not copied: a payload is kept until
    /// confirmed, to be sent again on a new session).
    backlog: VecDeque<(String, Bytes)>,
    in_flight: VecDeque<(String, Bytes)>,
    /// The connection is down: nothing is handed until the next session says what it kept.
    paused: bool,
}

impl Outbox {
    /// Connect on `nodes` (a clean-session publisher's options: see
    /// [`super::client::options`]) with room for `cap` requests, and start polling; the
    /// poll task runs until the client is disconnected or the task is aborted.
    /// `on_link` is told of every connection the broker accepts and every one lost or
    /// refused (before the client moves to the next node).
    pub fn start(
        mut nodes: Failover,
        cap: usize,
        on_link: impl Fn(Link<'_>) + Send + 'static,
    ) -> (Outbox, JoinHandle<()>) {
        let (client, mut eventloop) = nodes.connect(cap);
        let out = Outbox {
            client,
            handed: Arc::new(AtomicU64::new(0)),
            confirmed: Arc::new(AtomicU64::new(0)),
            confirmations: Arc::new(Notify::new()),
            queues: Arc::new(Mutex::new(Queues::default())),
        };
        let poll = out.clone();
        let task = tokio::spawn(async move {
            // A connection was lost since the last CONNACK: the client's queue was cleaned
            // (`clean` takes what it held into what it sends again, and drops that when the
            // broker kept no session). Before the first connection nothing was lost: what
            // was handed is still in the client's queue, and goes.
            let mut lost = false;
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                        nodes.connected();
                        on_link(Link::Connected);
                        let mut q = poll.queues();
                        if std::mem::take(&mut lost) && !ack.session_present {
                            let again = q.in_flight.len();
                            if again > 0 {
                                tracing::warn!(
                                    client = %nodes.first().client_id(),
                                    again,
                                    "publishes in flight when the broker's session was lost: sent again"
                                );
                            }
                            while let Some(o) = q.in_flight.pop_back() {
                                q.backlog.push_front(o);
                            }
                            poll.handed.fetch_sub(again as u64, Ordering::AcqRel);
                        }
                        q.paused = false;
                        drop(q);
                        let _ = poll.drain();
                        poll.confirmations.notify_waiters();
                        poll.confirmations.notify_one();
                    }
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        poll.queues().in_flight.pop_front();
                        poll.confirmed.fetch_add(1, Ordering::AcqRel);
                        poll.confirmations.notify_waiters();
                        poll.confirmations.notify_one();
                    }
                    // The client took a publish off its queue: there is room for what
                    // waits, handed now (a burst beyond the queue would otherwise wait for
                    // the next publish, or a caller's timer).
                    Ok(Event::Outgoing(rumqttc::Outgoing::Publish(_))) => {
                        let _ = poll.drain();
                    }
                    Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
                    Ok(_) => {}
                    Err(e) => {
                        on_link(Link::Lost(&e));
                        tracing::warn!(client = %nodes.first().client_id(), error = %e,
                            "MQTT publishing connection lost; reconnecting");
                        // Nothing more is handed until the next session says what it kept;
                        // what the client's queue holds joins what it sends again if the
                        // broker kept the session (and is dropped, to be sent again from
                        // in_flight, if not).
                        poll.queues().paused = true;
                        eventloop.clean();
                        lost = true;
                        nodes.lost(&mut eventloop).await;
                    }
                }
            }
        });
        (out, task)
    }

    fn queues(&self) -> MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publish `payload` on `topic` (QoS 1, not retained): handed to the client now if it
    /// takes it, else kept in order for [`Outbox::drain`]. Never waits.
    pub fn publish(&self, topic: String, payload: Vec<u8>) -> Result<(), ClientError> {
        self.queues()
            .backlog
            .push_back((topic, Bytes::from(payload)));
        self.drain()
    }

    /// Hand the client what it takes now, in order (the poll task does it on every new
    /// connection and whenever the client takes a publish off its queue while some wait).
    pub fn drain(&self) -> Result<(), ClientError> {
        let mut q = self.queues();
        if q.paused {
            return Ok(());
        }
        while let Some((topic, payload)) = q.backlog.pop_front() {
            let kept = (topic.clone(), payload.clone());
            match self
                .client
                .try_publish_bytes(topic, QoS::AtLeastOnce, false, payload)
            {
                Ok(()) => {
                    q.in_flight.push_back(kept);
                    self.handed.fetch_add(1, Ordering::AcqRel);
                }
                // Full: the client hands the request back; it waits at the front.
                Err(ClientError::TryRequest(_)) => {
                    q.backlog.push_front(kept);
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Publishes waiting for the client.
    pub fn backlog_len(&self) -> usize {
        self.queues().backlog.len()
    }

    /// Publishes given so far (handed or waiting).
    pub fn produced(&self) -> u64 {
        let q = self.queues();
        self.handed.load(Ordering::Acquire) + q.backlog.len() as u64
    }

    /// Publishes the broker has confirmed, oldest first.
    pub fn confirmed(&self) -> u64 {
        self.confirmed.load(Ordering::Acquire)
    }

    /// Publishes given and not confirmed yet.
    pub fn unconfirmed(&self) -> u64 {
        self.produced().saturating_sub(self.confirmed())
    }

    /// Wait for the next confirmation (or new connection).
    pub async fn confirmation(&self) {
        self.confirmations.notified().await
    }

    /// Wait until every publish given so far is confirmed, at most `within`; whether it
    /// was.
    pub async fn settled(&self, within: std::time::Duration) -> bool {
        let until = self.produced();
        tokio::time::timeout(within, async {
            loop {
                let next = self.confirmations.notified();
                if self.confirmed() >= until {
                    return;
                }
                next.await;
            }
        })
        .await
        .is_ok()
    }

    /// Disconnect (what is not confirmed yet stays unconfirmed).
    pub fn disconnect(&self) {
        let _ = self.client.try_disconnect();
    }
}
