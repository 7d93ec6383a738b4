//! Acknowledgements are promises: the fronts hold a publisher's PUBACK until the consumers that
//! must have a message have acknowledged it to the broker.
//!
//! The engine (rumqttd) acknowledges a QoS 1 PUBLISH as soon as it holds it in memory, and keeps
//! what its subscribers have not read in a bounded log that wraps under a slow reader
//!. The fronts see both sides of every connection, so they keep a ledger:
//!
//! - **Keepers** (the sessions of [`Role::Ingest`](super::Role::Ingest) accounts) acknowledge a
//!   delivery only once its lines are in the raw archive and fsync'd. A PUBLISH on a topic a
//!   keeper keeps ([`kept_filters`]) is acknowledged to its publisher only after every keeper
//!   session subscribed to it has acknowledged it, connected or not (its persistent session
//!   gets it when it comes back).
//! - **Services first.** With
//!   [`BrokerConfig::wait_for_services`](super::BrokerConfig::wait_for_services) (as in
//!   `tidewatch up`, which starts the broker before its services subscribe), a publish on a
//!   topic that a service reads (ingest: raw AIS and the units' lines; fusion and the console:
//!   observations; the console: alerts and taskings, per the ACL) is not forwarded until a
//!   session of each such service has subscribed to it: the engine keeps nothing for a
//!   subscriber that does not exist yet. The publisher waits meanwhile.
//! - **Must-see consumers** (the sessions of [`Role::Fusion`](super::Role::Fusion) and
//!   [`Role::Console`](super::Role::Console) accounts, and of the accounts named in
//!   [`BrokerConfig::must_see`](super::BrokerConfig::must_see)) slow publishers down instead of
//!   losing: a publish that one of them is subscribed to (at QoS 1) is acknowledged only once
//!   it has acknowledged its delivery, also while it is briefly away (a restart: its
//!   persistent session gets what was published meanwhile). A publisher's window of unacknowledged
//!   messages (100 for rumqttc, 20 for Mosquitto's clients) then bounds what waits in the
//!   engine's log for a slow consumer, which never wraps. A must-see session that stays away
//!   longer than [`MUST_SEE_GRACE`], or stays connected but acknowledges nothing for that long
//!   while messages wait for it (hung), is no longer waited for until it acknowledges again
//!   (logged, counted in `released_sessions`; its session at the engine keeps what it can): a
//!   hung console must not stop the centre's intake. Ingest, the keeper, is never released.
//!
//! - **Watched consumers** (the sessions of [`Role::Unit`](super::Role::Unit) accounts, the only
//!   other subscribers: a unit reads its taskings and its rejects) hold nothing up — a unit at
//!   sea may be away for hours — but their deliveries are followed like the others', so a
//!   message the engine skips for a unit is counted as lost for it too (followed for
//!   [`WATCH_FOR`]; after that it is no longer followed, not counted).
//!
//! Deliveries are matched to publishes by content (topic and payload, under a 128-bit keyed
//! hash): the engine renumbers packets per connection. A message that is delivered once per
//! publish satisfies one publish each, oldest first.
//!
//! A promise the engine cannot keep is detected, counted and logged, never papered over: a
//! held message that a consumer has not acknowledged [`LOST_AFTER`] after it was published,
//! while that consumer has acknowledged later ones, was skipped by the engine. It is counted
//! as lost for that consumer (`lost`, by session, in `/metrics`); when the consumer is a
//! keeper, the publisher's connection is closed without the PUBACK, so the publisher sends it
//! again (MQTT's at-least-once) instead of being told it was kept.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::Ordering::{AcqRel, Acquire};
use std::sync::atomic::{AtomicU8, AtomicU64};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use siphasher::sip128::{Hasher128, SipHasher13};
use tokio::sync::Notify;
use tracing::{info, warn};

use super::acl::{Subject, covers, rules};
use super::config::Role;

mod interest;
use interest::{Answered, Interest};

/// How long a held message may wait for a consumer that has acknowledged later ones before it
/// is counted as lost for it (shorter in this crate's tests).
pub(crate) const LOST_AFTER: Duration = Duration::from_secs(if cfg!(test) { 2 } else { 30 });
/// How long a disconnected must-see session is waited for (shorter in this crate's tests).
pub(crate) const MUST_SEE_GRACE: Duration = Duration::from_secs(if cfg!(test) { 2 } else { 60 });
/// How long a delivery to a watched consumer is followed.
pub(crate) const WATCH_FOR: Duration = Duration::from_secs(3600);
/// Most PUBACKs held for one connection; beyond, the front reads nothing more from it.
pub(crate) const MAX_HELD_PER_CONNECTION: usize = 4096;
// Tidewatch's own publishers (ingest's observations, fusion's alerts) stay below it: their
// window runs out before the front would stop reading them.
const _: () = assert!((ingest::link::client::PUBLISH_WINDOW as usize) < MAX_HELD_PER_CONNECTION);

/// What a message is, for matching its deliveries to its publish: a keyed hash of topic and
/// payload.
pub(crate) type Key = u128;

/// The services, whose sessions must be listening before what they read is forwarded.
const SERVICES: [Role; 3] = [Role::Ingest, Role::Fusion, Role::Console];

/// What a consumer session is to the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Its acknowledgement means the message is kept: always waited for.
    Keeper,
    /// Must see everything: waited for while connected (and for a grace after).
    MustSee,
    /// Never waited for; what the engine skips for it is counted.
    Watched,
}

impl Kind {
    /// Publishers wait for it.
    fn blocks(self) -> bool {
        self != Kind::Watched
    }
}

/// A consumer connection's identity at the ledger.
#[derive(Debug, Clone)]
pub(crate) struct Consumer {
    /// The session id at the engine (unique per connection for a clean session without id).
    pub(crate) session: String,
    pub(crate) kind: Kind,
    /// Its account's role.
    pub(crate) role: Role,
    /// A clean session: forgotten when the connection ends.
    pub(crate) clean: bool,
}

/// Where one held publish stands.
const WAITING: u8 = 0;
const DONE: u8 = 1;
/// A keeper never acknowledged it: the publisher must send it again.
const LOST: u8 = 2;

/// One held publish.
pub(crate) struct Ticket {
    seq: u64,
    key: Key,
    topic: Box<str>,
    at: Instant,
    /// The sessions that have not acknowledged it yet, with their kind.
    waiting: Mutex<Vec<(SessionId, Kind)>>,
    state: AtomicU8,
    /// The publisher connection's bell.
    bell: Arc<Notify>,
}

impl Ticket {
    /// Has every consumer acknowledged it?
    pub(crate) fn done(&self) -> bool {
        self.state.load(Acquire) == DONE
    }

    /// Did a keeper never get it?
    pub(crate) fn lost(&self) -> bool {
        self.state.load(Acquire) == LOST
    }

    /// Settle it for its publisher (once: later calls change nothing).
    fn finish(&self, state: u8) {
        if self
            .state
            .compare_exchange(WAITING, state, AcqRel, Acquire)
            .is_ok()
        {
            self.bell.notify_one();
        }
    }

    /// Nobody its publisher waits for is left (only watched consumers, or none).
    fn unblocked(&self) -> bool {
        !self
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .any(|(_, k)| k.blocks())
    }
}

/// A session's id as the ledger keeps it: shared by every ticket waiting for it, not copied
/// into each (a publish waits for several sessions, 100 000 publishes a second).
type SessionId = Arc<str>;

/// A consumer session as the engine keeps it.
struct Session {
    /// Its kind, role, subscriptions, and whether it is waited for.
    interest: Interest,
    clean: bool,
    /// Live connections (0 or 1; a takeover briefly 2).
    connected: usize,
    /// When it last disconnected.
    left_at: Option<Instant>,
    /// When it last acknowledged a held message (or connected).
    acked_at: Instant,
    /// The highest ticket number it acknowledged.
    acked_seq: u64,
}

/// Counters of the ledger, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HoldStats {
    /// Publishes whose PUBACK waited for a consumer (since start).
    pub held_total: u64,
    /// Publishes waiting now.
    pub held_now: u64,
    /// Age of the oldest waiting publish, in milliseconds (0 if none).
    pub oldest_held_ms: u64,
    /// Publishes waiting now, by the session they wait for (0 for a session waited for
    /// earlier, not now).
    pub waiting_on: BTreeMap<String, u64>,
    /// Publishes that waited for a service to subscribe before they were forwarded.
    pub waited_for_services: u64,
    /// Messages the engine never delivered to a consumer that was waited for, by session and
    /// the subscription they came under.
    pub lost: BTreeMap<(String, String), u64>,
    /// Publisher connections closed without a PUBACK because a keeper never got their message.
    pub resend_closes: u64,
    /// Must-see sessions no longer waited for after their grace.
    pub released_sessions: u64,
    /// Messages published while a must-see session was released, on topics it reads, by
    /// session: the broker no longer vouches that they reach it (its log may still hold them
    /// when it comes back, or may have wrapped past them).
    pub unconfirmed: BTreeMap<String, u64>,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<SessionId, Session>,
    /// Which sessions a topic's publishes wait for, and which services read it.
    answered: Answered,
    pending: HashMap<Key, VecDeque<Arc<Ticket>>>,
    next_seq: u64,
    stats: HoldStats,
    /// Sessions that lost messages in the last sweep (to log once per episode).
    losing: Vec<String>,
}

/// The ledger shared by both fronts.
pub(crate) struct Ledger {
    /// The keys of [`Ledger::key`]'s hash, random (a publisher cannot aim at a collision).
    hash_keys: (u64, u64),
    inner: Mutex<Inner>,
    /// Changes to the sessions' [`Interest`]s, counted (what `answered` remembers is valid
    /// until the next).
    changes: Arc<AtomicU64>,
    /// Rung when a service subscribes.
    service_subscribed: Notify,
    /// Usernames besides the must-see roles whose sessions must see everything.
    must_see_users: Vec<String>,
    /// Publishes wait for the services that read them to subscribe.
    wait_for_services: bool,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Ledger {
    pub(crate) fn new(must_see_users: Vec<String>, wait_for_services: bool) -> Self {
        Ledger {
            hash_keys: {
                // std's random state is seeded from the operating system.
                let s = RandomState::new();
                (s.hash_one(0u8), s.hash_one(1u8))
            },
            inner: Mutex::new(Inner::default()),
            changes: Arc::default(),
            service_subscribed: Notify::new(),
            must_see_users,
            wait_for_services,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The kind of consumer a connection of `user` in `role` is, if any.
    pub(crate) fn kind_of(&self, role: Option<Role>, user: &str) -> Option<Kind> {
        match role? {
            Role::Ingest => Some(Kind::Keeper),
            Role::Fusion | Role::Console => Some(Kind::MustSee),
            _ if self.must_see_users.iter().any(|u| u == user) => Some(Kind::MustSee),
            Role::Unit => Some(Kind::Watched),
            _ => None,
        }
    }

    /// The key of a message.
    ///
    /// 128 bits of keyed SipHash-1-3 in one pass over the message (two 64-bit hashes of it
    /// had cost the broker a tenth of its CPU at 100k sentences/s: it is computed for every
    /// publish and for every delivery).
    pub(crate) fn key(&self, topic: &str, payload: &[u8]) -> Key {
        let mut h = SipHasher13::new_with_keys(self.hash_keys.0, self.hash_keys.1);
        h.write(&(topic.len() as u64).to_le_bytes());
        h.write(topic.as_bytes());
        h.write(payload);
        h.finish128().as_u128()
    }

    /// May a publish on `topic` be forwarded: is a session of every service that reads it
    /// subscribed to it (or is the broker not told to wait for them)?
    pub(crate) fn services_ready(&self, topic: &str) -> bool {
        if !self.wait_for_services {
            return true;
        }
        let readers: Vec<Role> = SERVICES
            .into_iter()
            .filter(|&r| {
                rules(Subject::Role(r))
                    .subscribe
                    .iter()
                    .any(|f| covers(f, topic))
            })
            .collect();
        if readers.is_empty() {
            return true;
        }
        let mut guard = self.lock();
        let inner = &mut *guard;
        readers.iter().all(|&r| {
            inner.answered.read_by(
                &self.changes,
                topic,
                r,
                inner.sessions.iter().map(|(id, s)| (id, &s.interest)),
            )
        })
    }

    /// Waits until a publish on `topic` may be forwarded (see
    /// [`services_ready`](Self::services_ready)).
    pub(crate) async fn wait_for_services(&self, topic: &str) {
        let mut counted = false;
        loop {
            let subscribed = self.service_subscribed.notified();
            tokio::pin!(subscribed);
            subscribed.as_mut().enable();
            if self.services_ready(topic) {
                return;
            }
            if !counted {
                counted = true;
                self.lock().stats.waited_for_services += 1;
                info!(
                    topic,
                    "A publish waits for the services that read it to subscribe."
                );
            }
            subscribed.await;
        }
    }

    /// Registers a publish from session `publisher`: the ticket its PUBACK waits for, or `None`
    /// when no consumer must have it.
    pub(crate) fn hold(
        &self,
        publisher: &str,
        topic: &str,
        key: Key,
        bell: &Arc<Notify>,
    ) -> Option<Arc<Ticket>> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let waiting = inner.answered.waiting(
            &self.changes,
            topic,
            publisher,
            inner.sessions.iter().map(|(id, s)| (id, &s.interest)),
        );
        // Released must-see sessions that read it: the broker no longer vouches that it
        // reaches them (their log may still hold it when they come back), and says so.
        let released = inner.answered.released(
            &self.changes,
            topic,
            publisher,
            inner.sessions.iter().map(|(id, s)| (id, &s.interest)),
        );
        for id in released {
            match inner.stats.unconfirmed.get_mut(&*id) {
                Some(n) => *n += 1,
                None => {
                    inner.stats.unconfirmed.insert(id.to_string(), 1);
                }
            }
        }
        if waiting.is_empty() {
            return None;
        }
        let blocking = waiting.iter().any(|(_, k)| k.blocks());
        inner.next_seq += 1;
        let t = Arc::new(Ticket {
            seq: inner.next_seq,
            key,
            topic: topic.into(),
            at: Instant::now(),
            waiting: Mutex::new(waiting),
            state: AtomicU8::new(if blocking { WAITING } else { DONE }),
            bell: bell.clone(),
        });
        inner.pending.entry(key).or_default().push_back(t.clone());
        if !blocking {
            // Followed, not held.
            return None;
        }
        inner.stats.held_total += 1;
        Some(t)
    }

    /// A publisher's connection ended: its tickets no longer wait (what it did not get a PUBACK
    /// for, it sends again).
    pub(crate) fn cancel(&self, tickets: impl IntoIterator<Item = Arc<Ticket>>) {
        let mut inner = self.lock();
        for t in tickets {
            if let Some(q) = inner.pending.get_mut(&t.key) {
                q.retain(|x| !Arc::ptr_eq(x, &t));
                if q.is_empty() {
                    inner.pending.remove(&t.key);
                }
            }
        }
    }

    /// A consumer connected.
    pub(crate) fn connected(&self, c: &Consumer) {
        let mut inner = self.lock();
        if c.clean {
            // A clean session starts from nothing: the old one's deliveries will never come.
            forget(&mut inner, &c.session);
        }
        let s = inner
            .sessions
            .entry(c.session.as_str().into())
            .or_insert_with(|| Session {
                interest: Interest::new(c.kind, c.role, &self.changes),
                clean: c.clean,
                connected: 0,
                left_at: None,
                acked_at: Instant::now(),
                acked_seq: 0,
            });
        s.connected += 1;
        s.clean = c.clean;
        s.left_at = None;
        s.acked_at = Instant::now();
        if s.interest.set_released(false) {
            info!(
                session = c.session,
                "A must-see consumer is back; publishers wait for it again."
            );
        }
    }

    /// A consumer's connection ended.
    pub(crate) fn disconnected(&self, c: &Consumer) {
        let mut inner = self.lock();
        let Some(s) = inner.sessions.get_mut(c.session.as_str()) else {
            return;
        };
        s.connected = s.connected.saturating_sub(1);
        if s.connected == 0 {
            s.left_at = Some(Instant::now());
            if s.clean {
                forget(&mut inner, &c.session);
            }
        }
    }

    /// The engine granted `c` these subscriptions (filter, granted QoS).
    pub(crate) fn subscribed(&self, c: &Consumer, granted: &[(String, u8)]) {
        let mut service = false;
        {
            let mut inner = self.lock();
            let Some(s) = inner.sessions.get_mut(c.session.as_str()) else {
                return;
            };
            for (f, qos) in granted {
                s.interest.granted(f, *qos);
                service |= *qos >= 1 && SERVICES.contains(&s.interest.role());
            }
        }
        if service {
            self.service_subscribed.notify_waiters();
        }
    }

    /// `c` unsubscribed from `filters`: publishes it no longer matches stop waiting for it.
    pub(crate) fn unsubscribed(&self, c: &Consumer, filters: &[String]) {
        let mut inner = self.lock();
        let Some(s) = inner.sessions.get_mut(c.session.as_str()) else {
            return;
        };
        s.interest.unsubscribed(filters);
        let still = s.interest.filters().to_vec();
        release_where(&mut inner, &c.session, |t| {
            !still.iter().any(|f| covers(f, &t.topic))
        });
    }

    /// `c` acknowledged the delivery of the message `key`: the oldest publish of it that waits
    /// for `c` no longer does.
    pub(crate) fn acked(&self, c: &Consumer, key: Key) {
        let mut inner = self.lock();
        if let Some(s) = inner.sessions.get_mut(c.session.as_str())
            && s.connected > 0
            && s.interest.set_released(false)
        {
            info!(
                session = c.session,
                "A must-see consumer acknowledges again; publishers wait for it again."
            );
        }
        let Some(q) = inner.pending.get_mut(&key) else {
            return;
        };
        let Some(i) = q.iter().position(|t| {
            t.waiting
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .any(|(s, _)| **s == *c.session)
        }) else {
            return;
        };
        let t = q[i].clone();
        let finished = {
            let mut w = t.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            w.retain(|(s, _)| **s != *c.session);
            w.is_empty()
        };
        if t.unblocked() {
            t.finish(DONE);
        }
        if finished {
            q.remove(i);
            if q.is_empty() {
                inner.pending.remove(&key);
            }
        }
        if let Some(s) = inner.sessions.get_mut(c.session.as_str()) {
            s.acked_seq = s.acked_seq.max(t.seq);
            s.acked_at = Instant::now();
        }
    }

    /// Once a second: releases must-see sessions away past their grace, and finds what the
    /// engine skipped.
    pub(crate) fn sweep(&self, now: Instant) {
        let mut inner = self.lock();
        // The oldest held message each session is waited for.
        let mut oldest: HashMap<SessionId, Instant> = HashMap::new();
        for t in inner.pending.values().flatten() {
            for (id, _) in t
                .waiting
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
            {
                let o = oldest.entry(id.clone()).or_insert(t.at);
                *o = (*o).min(t.at);
            }
        }
        let past_grace = |t: Instant| now.duration_since(t) > MUST_SEE_GRACE;
        let gone: Vec<(SessionId, &'static str)> = inner
            .sessions
            .iter_mut()
            .filter(|(_, s)| s.interest.kind() == Kind::MustSee && !s.interest.released())
            .filter_map(|(id, s)| {
                let why = if s.connected == 0 && s.left_at.is_some_and(past_grace) {
                    "away"
                } else if s.connected > 0
                    && past_grace(s.acked_at)
                    && oldest.get(id).is_some_and(|&t| past_grace(t))
                {
                    "connected but acknowledging nothing"
                } else {
                    return None;
                };
                s.interest.set_released(true);
                Some((id.clone(), why))
            })
            .collect();
        for (id, why) in gone {
            warn!(
                session = &*id,
                why,
                grace_s = MUST_SEE_GRACE.as_secs(),
                "A must-see consumer is past its grace: publishers no longer wait for it until it acknowledges again (its session at the engine keeps what its log can)."
            );
            inner.stats.released_sessions += 1;
            // What waited for it is acknowledged to its publishers now, unconfirmed for it.
            let waited: u64 = inner
                .pending
                .values()
                .flatten()
                .filter(|t| {
                    t.waiting
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .iter()
                        .any(|(s, _)| **s == *id)
                })
                .count() as u64;
            if waited > 0 {
                *inner.stats.unconfirmed.entry(id.to_string()).or_default() += waited;
            }
            release_where(&mut inner, &id, |_| true);
        }
        // Skipped messages: old, and the consumer has acknowledged later ones.
        let acked: HashMap<SessionId, (u64, Vec<String>)> = inner
            .sessions
            .iter()
            .map(|(id, s)| (id.clone(), (s.acked_seq, s.interest.filters().to_vec())))
            .collect();
        let mut lost: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut finished = Vec::new();
        for q in inner.pending.values_mut() {
            q.retain(|t| {
                if now.duration_since(t.at) < LOST_AFTER {
                    return true;
                }
                let mut w = t.waiting.lock().unwrap_or_else(PoisonError::into_inner);
                let mut keeper_lost = false;
                if now.duration_since(t.at) > WATCH_FOR {
                    w.retain(|(_, kind)| kind.blocks());
                }
                w.retain(|(s, kind)| {
                    let Some((_, filters)) = acked.get(s).filter(|(a, _)| *a > t.seq) else {
                        return true;
                    };
                    let filter = filters
                        .iter()
                        .find(|f| covers(f, &t.topic))
                        .map_or_else(|| t.topic.to_string(), Clone::clone);
                    *lost.entry((s.to_string(), filter)).or_default() += 1;
                    keeper_lost |= *kind == Kind::Keeper;
                    false
                });
                let unblocked = !w.iter().any(|(_, k)| k.blocks());
                if keeper_lost {
                    finished.push((t.clone(), LOST));
                    false
                } else {
                    if unblocked {
                        finished.push((t.clone(), DONE));
                    }
                    !w.is_empty()
                }
            });
        }
        inner.pending.retain(|_, q| !q.is_empty());
        for (t, state) in finished {
            if state == LOST {
                inner.stats.resend_closes += 1;
            }
            t.finish(state);
        }
        let was_losing = std::mem::take(&mut inner.losing);
        for ((s, filter), n) in &lost {
            *inner
                .stats
                .lost
                .entry((s.clone(), filter.clone()))
                .or_default() += n;
            if !was_losing.contains(s) {
                warn!(
                    session = s,
                    filter,
                    lost = n,
                    "The broker skipped messages for a consumer it waits for or follows (counted in tidewatch_broker_lost_total); a keeper's publishers send theirs again."
                );
            }
        }
        inner.losing = lost.into_keys().map(|(s, _)| s).collect();
    }

    /// The counters now.
    pub(crate) fn stats(&self) -> HoldStats {
        let mut inner = self.lock();
        let mut s = inner.stats.clone();
        let now = Instant::now();
        for q in inner.pending.values() {
            for t in q.iter().filter(|t| !t.done() && !t.lost()) {
                s.held_now += 1;
                s.oldest_held_ms = s
                    .oldest_held_ms
                    .max(now.duration_since(t.at).as_millis() as u64);
                for (id, _) in t
                    .waiting
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .iter()
                    .filter(|(_, k)| k.blocks())
                {
                    *s.waiting_on.entry(id.to_string()).or_default() += 1;
                }
            }
        }
        // A session waited for earlier reads 0 from now on, not its last count.
        for id in s.waiting_on.keys() {
            inner.stats.waiting_on.entry(id.clone()).or_insert(0);
        }
        s
    }
}

/// Forgets session `id`: nothing waits for it any more.
fn forget(inner: &mut Inner, id: &str) {
    inner.sessions.remove(id);
    release_where(inner, id, |_| true);
}

/// Stops the tickets that `which` picks waiting for session `id`; tickets left waiting for no
/// one are done.
fn release_where(inner: &mut Inner, id: &str, which: impl Fn(&Ticket) -> bool) {
    let mut done = Vec::new();
    for q in inner.pending.values_mut() {
        q.retain(|t| {
            if !which(t) {
                return true;
            }
            let mut w = t.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            w.retain(|(s, _)| **s != *id);
            if !w.iter().any(|(_, k)| k.blocks()) {
                done.push(t.clone());
            }
            !w.is_empty()
        });
    }
    inner.pending.retain(|_, q| !q.is_empty());
    for t in done {
        t.finish(DONE);
    }
}
