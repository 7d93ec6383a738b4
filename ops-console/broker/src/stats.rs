//! Counters of the embedded broker's fronts, read as a plain [`BrokerStats`] snapshot.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why a front closed a client's connection. Each refusal is logged once (a `warn` with the
/// reason, peer and, once known, username) and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// CONNECT without a username on the authenticated listener (the loopback listener takes it
    /// as an anonymous client). Answered with CONNACK 5.
    NoCredentials,
    /// Unknown username or wrong password. Answered with CONNACK 5.
    BadCredentials,
    /// MQTT 3.1 or 5 instead of 3.1.1. Answered with CONNACK 1.
    ProtocolVersion,
    /// A last will on a topic the account may not publish to, or retained when it may not retain.
    /// Answered with CONNACK 5.
    WillDenied,
    /// PUBLISH to a topic the account may not publish to.
    PublishDenied,
    /// Retained PUBLISH from an account that may not retain.
    RetainDenied,
    /// SUBSCRIBE to a filter the account may not subscribe to.
    SubscribeDenied,
    /// Not MQTT 3.1.1: a broken packet, a first packet that is not CONNECT, a packet a client may
    /// not send.
    Malformed,
    /// A packet over [`BrokerConfig::max_packet_bytes`](super::BrokerConfig::max_packet_bytes).
    Oversized,
    /// No complete CONNECT within [`BrokerConfig::connect_timeout_secs`](super::BrokerConfig::connect_timeout_secs).
    ConnectTimeout,
    /// A listener already had [`BrokerConfig::max_connections`](super::BrokerConfig::max_connections)
    /// connections.
    TooManyConnections,
    /// The right password of an identity that has been revoked (a CONNECT, answered with
    /// CONNACK 5 like a wrong password), or a live connection of an identity revoked or given
    /// new credentials while it was connected (closed at once).
    Revoked,
    /// The TLS listener's handshake failed or did not finish within
    /// [`BrokerConfig::connect_timeout_secs`](super::BrokerConfig::connect_timeout_secs): plain
    /// MQTT to the TLS port, a client that does not trust the certificate, a scanner.
    TlsHandshake,
    /// The remote listener was more than half full and this connection's address (an IPv6
    /// /64) already had as many connections not logged in as one address may then hold.
    AddressBusy,
}

impl Refusal {
    /// Every reason, in a fixed order.
    pub const ALL: [Refusal; 14] = [
        Refusal::NoCredentials,
        Refusal::BadCredentials,
        Refusal::ProtocolVersion,
        Refusal::WillDenied,
        Refusal::PublishDenied,
        Refusal::RetainDenied,
        Refusal::SubscribeDenied,
        Refusal::Malformed,
        Refusal::Oversized,
        Refusal::ConnectTimeout,
        Refusal::TooManyConnections,
        Refusal::Revoked,
        Refusal::TlsHandshake,
        Refusal::AddressBusy,
    ];

    /// A stable snake_case label (for logs and metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::NoCredentials => "no_credentials",
            Refusal::BadCredentials => "bad_credentials",
            Refusal::ProtocolVersion => "protocol_version",
            Refusal::WillDenied => "will_denied",
            Refusal::PublishDenied => "publish_denied",
            Refusal::RetainDenied => "retain_denied",
            Refusal::SubscribeDenied => "subscribe_denied",
            Refusal::Malformed => "malformed",
            Refusal::Oversized => "oversized",
            Refusal::ConnectTimeout => "connect_timeout",
            Refusal::TooManyConnections => "too_many_connections",
            Refusal::Revoked => "revoked",
            Refusal::TlsHandshake => "tls_handshake",
            Refusal::AddressBusy => "address_busy",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A snapshot of the broker's counters since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerStats {
    /// Connections accepted on the loopback listener (anonymous clients and accounts), before
    /// any check.
    pub loopback_connections: u64,
    /// Connections accepted on the authenticated listener (the remote TLS listener when it has
    /// TLS), before any check.
    pub auth_connections: u64,
    /// Connections on the authenticated listener whose CONNECT passed and that reached the engine.
    pub auth_sessions: u64,
    /// Connections on the authenticated listener whose TLS handshake succeeded.
    pub tls_handshakes: u64,
    /// Connections open now, both listeners.
    pub open_connections: u64,
    /// Connections closed by a front, by reason.
    pub refused: RefusalCounts,
    /// PUBACKs held for the consumers that must have a message, and what was lost anyway.
    pub holds: super::HoldStats,
}

/// Refused connections, one count per [`Refusal`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefusalCounts {
    counts: [u64; Refusal::ALL.len()],
}

impl RefusalCounts {
    /// The count for one reason.
    pub fn get(&self, reason: Refusal) -> u64 {
        self.counts[reason.index()]
    }

    /// Every reason with its count, in [`Refusal::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Refusal, u64)> + '_ {
        Refusal::ALL.iter().map(|&r| (r, self.get(r)))
    }

    /// All refusals.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// The live counters behind [`BrokerStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) loopback_connections: AtomicU64,
    pub(crate) auth_connections: AtomicU64,
    pub(crate) auth_sessions: AtomicU64,
    pub(crate) tls_handshakes: AtomicU64,
    pub(crate) open_connections: AtomicU64,
    refused: [AtomicU64; Refusal::ALL.len()],
}

impl Counters {
    pub(crate) fn refused(&self, reason: Refusal) {
        self.refused[reason.index()].fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> BrokerStats {
        let mut refused = RefusalCounts::default();
        for (c, a) in refused.counts.iter_mut().zip(&self.refused) {
            *c = a.load(Relaxed);
        }
        BrokerStats {
            loopback_connections: self.loopback_connections.load(Relaxed),
            auth_connections: self.auth_connections.load(Relaxed),
            auth_sessions: self.auth_sessions.load(Relaxed),
            tls_handshakes: self.tls_handshakes.load(Relaxed),
            open_connections: self.open_connections.load(Relaxed),
            refused,
            holds: Default::default(),
        }
    }
}

/// Counts one open connection for as long as it lives (also when its task is aborted).
pub(crate) struct OpenGuard<'a>(&'a Counters);

impl<'a> OpenGuard<'a> {
    pub(crate) fn new(c: &'a Counters) -> Self {
        c.open_connections.fetch_add(1, Relaxed);
        OpenGuard(c)
    }
}

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        self.0.open_connections.fetch_sub(1, Relaxed);
    }
}

/// The metrics of `/metrics`.
impl ingest::stats::Report for BrokerStats {
    fn describe() {
        use metrics::{Unit, describe_counter, describe_gauge};
        describe_counter!(
            "tidewatch_broker_connections_total",
            Unit::Count,
            "Embedded broker connections accepted, by listener"
        );
        describe_counter!(
            "tidewatch_broker_tls_handshakes_total",
            Unit::Count,
            "TLS handshakes completed on the embedded broker's remote listener"
        );
        describe_gauge!(
            "tidewatch_broker_open_connections",
            Unit::Count,
            "Embedded broker connections open now"
        );
        describe_counter!(
            "tidewatch_broker_refusals_total",
            Unit::Count,
            "Connections closed by the embedded broker, by reason"
        );
        describe_counter!(
            "tidewatch_broker_held_total",
            Unit::Count,
            "Publishes whose PUBACK waited for the consumers that must have them"
        );
        describe_gauge!(
            "tidewatch_broker_held",
            Unit::Count,
            "Publishes whose PUBACK waits now"
        );
        describe_gauge!(
            "tidewatch_broker_held_oldest_seconds",
            Unit::Seconds,
            "Age of the oldest publish whose PUBACK waits"
        );
        describe_gauge!(
            "tidewatch_broker_held_waiting",
            Unit::Count,
            "Publishes waiting now, by the consumer session they wait for"
        );
        describe_counter!(
            "tidewatch_broker_lost_total",
            Unit::Count,
            "Messages the broker never delivered to a consumer that was waited for, by consumer session and subscription"
        );
        describe_counter!(
            "tidewatch_broker_unconfirmed_total",
            Unit::Count,
            "Messages published while a must-see consumer was released, on topics it reads: not vouched to reach it"
        );
        describe_counter!(
            "tidewatch_broker_released_total",
            Unit::Count,
            "Times a must-see consumer was no longer waited for: away or hung past its grace"
        );
        describe_counter!(
            "tidewatch_broker_resend_closes_total",
            Unit::Count,
            "Publisher connections closed without a PUBACK because ingest never got the message (the publisher sends it again)"
        );
        describe_counter!(
            "tidewatch_broker_waited_for_services_total",
            Unit::Count,
            "Publishes that waited for the services that read them to subscribe"
        );
    }

    fn record(&self) {
        use metrics::{counter, gauge};
        let s = self;
        let h = &s.holds;
        counter!("tidewatch_broker_held_total").absolute(h.held_total);
        gauge!("tidewatch_broker_held").set(h.held_now as f64);
        gauge!("tidewatch_broker_held_oldest_seconds").set(h.oldest_held_ms as f64 / 1000.0);
        // A consumer no longer waited on reads 0 (the ledger keeps it), not its last count.
        for (c, n) in &h.waiting_on {
            gauge!("tidewatch_broker_held_waiting", "consumer" => c.clone()).set(*n as f64);
        }
        for ((c, filter), n) in &h.lost {
            counter!("tidewatch_broker_lost_total", "consumer" => c.clone(), "filter" => filter.clone())
                .absolute(*n);
        }
        for (c, n) in &h.unconfirmed {
            counter!("tidewatch_broker_unconfirmed_total", "consumer" => c.clone()).absolute(*n);
        }
        counter!("tidewatch_broker_resend_closes_total").absolute(h.resend_closes);
        counter!("tidewatch_broker_released_total").absolute(h.released_sessions);
        counter!("tidewatch_broker_waited_for_services_total").absolute(h.waited_for_services);
        counter!("tidewatch_broker_connections_total", "listener" => "loopback")
            .absolute(s.loopback_connections);
        counter!("tidewatch_broker_connections_total", "listener" => "auth")
            .absolute(s.auth_connections);
        counter!("tidewatch_broker_tls_handshakes_total").absolute(s.tls_handshakes);
        gauge!("tidewatch_broker_open_connections").set(s.open_connections as f64);
        for (reason, n) in s.refused.iter() {
            counter!("tidewatch_broker_refusals_total", "reason" => reason.as_str()).absolute(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_index_order_and_labels_are_unique() {
        for (i, r) in Refusal::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        let labels: std::collections::HashSet<_> =
            Refusal::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(labels.len(), Refusal::ALL.len());
        let c = Counters::default();
        c.refused(Refusal::Oversized);
        c.refused(Refusal::Oversized);
        let s = c.snapshot();
        assert_eq!(s.refused.get(Refusal::Oversized), 2);
        assert_eq!(s.refused.total(), 2);
    }
}
