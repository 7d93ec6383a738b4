//! What the ledger asks for every publish, answered once per topic: which sessions a publish on
//! a topic waits for, and whether the services that read it have subscribed.
//!
//! Both answers depend only on the sessions' subscriptions, kinds, roles and releases, which
//! change a few times a day, while the same topics (a vessel's observations, a receiver's raw
//! lines) are published to many times a second. Walking every session's filters for each publish
//! cost the broker a twentieth of its time at 100 000 publishes a second (and grows with the
//! units connected, each with its filters). So the answers are remembered per topic and
//! forgotten whenever anything they depend on changes. That cannot be missed: a session's
//! [`Interest`] (its filters and release; its kind and role are fixed) changes only through its
//! own methods, which count the change; a session that goes drops its own, which counts too (one
//! that comes changes no answer until its first subscription).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

use super::super::acl::covers;
use super::super::config::Role;
use super::{Kind, SessionId};

/// Topics remembered at most; then the memory starts again (a publisher that names a new topic
/// every time costs a walk of the sessions each, as before, and no more memory than this).
const MAX_TOPICS: usize = 65_536;

/// A session's subscriptions and whether it is waited for. Every change to it is counted in
/// the ledger's change counter, including its end (`Drop`).
pub(crate) struct Interest {
    kind: Kind,
    role: Role,
    /// Its QoS 1 (or 2) subscriptions.
    filters: Vec<String>,
    /// It is no longer waited for (a must-see session away past its grace).
    released: bool,
    changes: Arc<AtomicU64>,
}

impl Interest {
    /// A new session's: subscribed to nothing yet (so no answer changes).
    pub(crate) fn new(kind: Kind, role: Role, changes: &Arc<AtomicU64>) -> Self {
        Interest {
            kind,
            role,
            filters: Vec::new(),
            released: false,
            changes: changes.clone(),
        }
    }

    fn changed(&self) {
        self.changes.fetch_add(1, Relaxed);
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    pub(crate) fn role(&self) -> Role {
        self.role
    }

    pub(crate) fn filters(&self) -> &[String] {
        &self.filters
    }

    pub(crate) fn released(&self) -> bool {
        self.released
    }

    /// Waited for again (`false`) or no longer (`true`); whether that changed anything.
    pub(crate) fn set_released(&mut self, released: bool) -> bool {
        if self.released == released {
            return false;
        }
        self.released = released;
        self.changed();
        true
    }

    /// The engine granted `filter` at `qos`: it replaces the same filter's earlier grant, and
    /// counts only at QoS 1 or more (a QoS 0 delivery is not acknowledged).
    pub(crate) fn granted(&mut self, filter: &str, qos: u8) {
        self.filters.retain(|x| x != filter);
        if qos >= 1 {
            self.filters.push(filter.to_owned());
        }
        self.changed();
    }

    /// Unsubscribed from `filters`.
    pub(crate) fn unsubscribed(&mut self, filters: &[String]) {
        self.filters.retain(|f| !filters.contains(f));
        self.changed();
    }

    /// A publish on `topic` waits for this session (when another session published it).
    fn waits(&self, topic: &str) -> bool {
        !self.released && self.reads(topic)
    }

    /// Subscribed to `topic`.
    fn reads(&self, topic: &str) -> bool {
        self.filters.iter().any(|f| covers(f, topic))
    }
}

impl Drop for Interest {
    fn drop(&mut self) {
        self.changed();
    }
}

/// The answers for one topic.
struct Answers {
    /// The sessions a publish on it waits for (the publisher's own left out at use).
    waiting: Arc<[(SessionId, Kind)]>,
    /// Must-see sessions that read it but are released past their grace: not waited for.
    released: Arc<[SessionId]>,
    /// The roles with a session subscribed to it.
    roles: Vec<Role>,
}

/// The remembered answers, valid while the change counter reads `seen`.
#[derive(Default)]
pub(crate) struct Answered {
    seen: u64,
    by_topic: HashMap<Box<str>, Answers>,
}

impl Answered {
    /// The answers for `topic` among `sessions`, computed if not remembered since the last
    /// change.
    fn get<'s>(
        &mut self,
        changes: &AtomicU64,
        topic: &str,
        sessions: impl Iterator<Item = (&'s SessionId, &'s Interest)>,
    ) -> &Answers {
        let now = changes.load(Relaxed);
        if now != self.seen || self.by_topic.len() >= MAX_TOPICS {
            self.by_topic.clear();
            self.seen = now;
        }
        if !self.by_topic.contains_key(topic) {
            let mut waiting = Vec::new();
            let mut roles = Vec::new();
            let mut released = Vec::new();
            for (id, s) in sessions {
                if s.waits(topic) {
                    waiting.push((id.clone(), s.kind));
                } else if s.released && s.reads(topic) {
                    released.push(id.clone());
                }
                if !roles.contains(&s.role) && s.reads(topic) {
                    roles.push(s.role);
                }
            }
            self.by_topic.insert(
                topic.into(),
                Answers {
                    waiting: waiting.into(),
                    released: released.into(),
                    roles,
                },
            );
        }
        &self.by_topic[topic]
    }

    /// The sessions other than `publisher` that a publish on `topic` waits for.
    pub(crate) fn waiting<'s>(
        &mut self,
        changes: &AtomicU64,
        topic: &str,
        publisher: &str,
        sessions: impl Iterator<Item = (&'s SessionId, &'s Interest)>,
    ) -> Vec<(SessionId, Kind)> {
        self.get(changes, topic, sessions)
            .waiting
            .iter()
            .filter(|(id, _)| **id != *publisher)
            .cloned()
            .collect()
    }

    /// The released must-see sessions other than `publisher` that read `topic`.
    pub(crate) fn released<'s>(
        &mut self,
        changes: &AtomicU64,
        topic: &str,
        publisher: &str,
        sessions: impl Iterator<Item = (&'s SessionId, &'s Interest)>,
    ) -> Vec<SessionId> {
        self.get(changes, topic, sessions)
            .released
            .iter()
            .filter(|id| ***id != *publisher)
            .cloned()
            .collect()
    }

    /// Whether a session in `role` is subscribed to `topic`.
    pub(crate) fn read_by<'s>(
        &mut self,
        changes: &AtomicU64,
        topic: &str,
        role: Role,
        sessions: impl Iterator<Item = (&'s SessionId, &'s Interest)>,
    ) -> bool {
        self.get(changes, topic, sessions).roles.contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::super::{Consumer, Inner, Kind, Ledger, MUST_SEE_GRACE, SERVICES};
    use super::*;

    /// What the ledger answered before it remembered anything: every session walked.
    fn walked(inner: &Inner, publisher: &str, topic: &str) -> (Vec<(String, Kind)>, Vec<Role>) {
        let mut waiting: Vec<(String, Kind)> = inner
            .sessions
            .iter()
            .filter(|(id, s)| {
                ***id != *publisher
                    && !s.interest.released()
                    && s.interest.filters().iter().any(|f| covers(f, topic))
            })
            .map(|(id, s)| (id.to_string(), s.interest.kind()))
            .collect();
        waiting.sort_by(|a, b| a.0.cmp(&b.0));
        let roles = SERVICES
            .into_iter()
            .filter(|&r| {
                inner.sessions.values().any(|s| {
                    s.interest.role() == r && s.interest.filters().iter().any(|f| covers(f, topic))
                })
            })
            .collect();
        (waiting, roles)
    }

    /// Through the ledger's own calls (consumers connecting, subscribing, unsubscribing, going
    /// away past their grace and coming back, clean sessions forgotten), in random order
    /// between publishes: the sessions a publish waits for and the services reading a topic are
    /// always what walking every session gives.
    #[test]
    fn remembered_answers_are_always_the_walked_ones() {
        const TOPICS: [&str; 6] = [
            "tidewatch/v1/obs/ais/1",
            "tidewatch/v1/obs/ais/2",
            "tidewatch/v1/raw/ais/shore",
            "tidewatch/v1/alerts/dark",
            "tidewatch/v1/patrol/p1/tasking",
            "$SYS/x",
        ];
        const FILTERS: [&str; 7] = [
            "tidewatch/v1/obs/ais/#",
            "tidewatch/v1/obs/ais/1",
            "tidewatch/v1/raw/ais/+",
            "tidewatch/v1/#",
            "#",
            "tidewatch/v1/patrol/+/tasking",
            "tidewatch/v1/alerts/dark",
        ];
        let consumers: Vec<Consumer> = [
            ("ingest@a", Kind::Keeper, Role::Ingest, false),
            ("fusion@a", Kind::MustSee, Role::Fusion, false),
            ("console@a", Kind::MustSee, Role::Console, false),
            ("console@b", Kind::MustSee, Role::Console, true),
            ("p1", Kind::Watched, Role::Unit, false),
        ]
        .into_iter()
        .map(|(session, kind, role, clean)| Consumer {
            session: session.into(),
            kind,
            role,
            clean,
        })
        .collect();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let mut compared = 0;
        for _run in 0..30 {
            let ledger = Ledger::new(Vec::new(), true);
            let mut later = Instant::now();
            for _step in 0..300 {
                let c = &consumers[next(consumers.len())];
                match next(8) {
                    0 => ledger.connected(c),
                    1 => ledger.disconnected(c),
                    2 | 3 => {
                        let f = FILTERS[next(FILTERS.len())].to_owned();
                        ledger.subscribed(c, &[(f, next(3) as u8)]);
                    }
                    4 => ledger.unsubscribed(c, &[FILTERS[next(FILTERS.len())].to_owned()]),
                    5 => {
                        later += MUST_SEE_GRACE + Duration::from_secs(1);
                        ledger.sweep(later);
                    }
                    6 => ledger.acked(c, 0),
                    _ => {}
                }
                for topic in TOPICS {
                    let publisher = consumers[next(consumers.len())].session.as_str();
                    let mut guard = ledger.lock();
                    let inner = &mut *guard;
                    let mut waiting: Vec<(String, Kind)> = inner
                        .answered
                        .waiting(
                            &ledger.changes,
                            topic,
                            publisher,
                            inner.sessions.iter().map(|(id, s)| (id, &s.interest)),
                        )
                        .into_iter()
                        .map(|(id, k)| (id.to_string(), k))
                        .collect();
                    waiting.sort_by(|a, b| a.0.cmp(&b.0));
                    let roles: Vec<Role> = SERVICES
                        .into_iter()
                        .filter(|&r| {
                            inner.answered.read_by(
                                &ledger.changes,
                                topic,
                                r,
                                inner.sessions.iter().map(|(id, s)| (id, &s.interest)),
                            )
                        })
                        .collect();
                    assert_eq!(
                        (waiting, roles),
                        walked(inner, publisher, topic),
                        "{topic} published by {publisher}"
                    );
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 30 * 300 * TOPICS.len());
    }
}
