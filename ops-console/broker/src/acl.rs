//! Who may publish and subscribe where, on both listeners: identity → grants, one table.
//!
//! A connection is an anonymous local client (loopback listener, no username) or an account of
//! [`BrokerConfig::users`](super::BrokerConfig::users) with its [`Role`]. The rules of each are
//! data ([`rules`]), written the way Mosquitto writes them (`%u` stands for the username), so that
//! the embedded broker's front ([`Grants`]) and the generated Mosquitto ACL file
//! ([`super::mosquitto`]) come from the same lines. The same identity also names the client's
//! session at the engine ([`Grants::session_id`]), so that no identity can take over another's.
//!
//! Internal topics have one writer each: only ingest publishes observations (and the refusals
//! it tells units), only fusion alerts and taskings, only a unit its own NMEA and reports. The
//! console publishes nothing: triage is kept in its own store, not on the broker. Anonymous
//! clients publish raw AIS feeds only and read nothing.
//!
//! The topics are those of the MQTT contract (`ingest::wire::topics`); a test checks that every
//! pattern lies under its prefix, and that every topic of the contract has exactly the writers
//! above.

use std::borrow::Cow;

use ingest::wire::topics::{
    ALERTS_FILTER, INGEST_INSTANCES_FILTER, OBS_FILTER, PATROL_NMEA_FILTER, PATROL_REPORT_FILTER,
    RAW_AIS_FILTER, SEA_CASE_FILTER, TASKING_FILTER,
};
pub(crate) use ingest::wire::topics::{covers, is_topic_filter};

use super::config::Role;

/// Whose rules: an account's role, or the anonymous clients of the loopback listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Subject {
    /// A client of the loopback listener that gave no username.
    Anonymous,
    /// An authenticated account.
    Role(Role),
}

#[cfg(test)]
impl Subject {
    /// Every subject, in the order of the table.
    pub(crate) const ALL: [Subject; 6] = [
        Subject::Anonymous,
        Subject::Role(Role::Unit),
        Subject::Role(Role::Receiver),
        Subject::Role(Role::Ingest),
        Subject::Role(Role::Fusion),
        Subject::Role(Role::Console),
    ];
}

/// What one subject may do, as Mosquitto-style patterns (`%u` = the username).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rules {
    /// Topic patterns the client may publish to.
    pub(crate) publish: &'static [&'static str],
    /// Filters the client may subscribe to (a requested filter must be covered by one of them).
    pub(crate) subscribe: &'static [&'static str],
    /// May it publish retained messages? Every retained topic is kept by the broker until
    /// cleared, so a client that could retain could grow the broker's memory without bound by
    /// inventing topics; and no Tidewatch component retains.
    pub(crate) retain: bool,
}

/// The rules of each subject. This is the single place to change who may do what.
pub(crate) fn rules(subject: Subject) -> Rules {
    match subject {
        // Local receivers (an AIS-catcher on the same machine, say) publish their raw feeds,
        // like Mosquitto 2's local-only listener; they read nothing, since every internal topic
        // carries what the watch sees.
        Subject::Anonymous => Rules {
            publish: &[RAW_AIS_FILTER],
            subscribe: &[],
            retain: false,
        },
        // A patrol unit publishes its NMEA and its reports under its own `patrol/{unit}/`,
        // and reads its own taskings and the refusals of what it sent. Nothing else: a unit
        // inventing topics would grow the broker's topic tables without bound.
        Subject::Role(Role::Unit) => Rules {
            publish: &[
                "tidewatch/v1/patrol/%u/nmea",
                "tidewatch/v1/patrol/%u/report",
                "tidewatch/v1/patrol/%u/case",
            ],
            subscribe: &[
                "tidewatch/v1/patrol/%u/tasking",
                "tidewatch/v1/patrol/%u/rejects",
                "tidewatch/v1/patrol/%u/case-update",
            ],
            retain: false,
        },
        // An AIS receiver publishes its raw feed on `raw/ais/{username}` and reads nothing.
        Subject::Role(Role::Receiver) => Rules {
            publish: &["tidewatch/v1/raw/ais/%u"],
            subscribe: &[],
            retain: false,
        },
        // Ingest reads the raw feeds and the units' NMEA and reports, and publishes the
        // observations made of them and the refusals it tells a unit; its instances tell
        // each other they are alive (`ingest::instances`).
        Subject::Role(Role::Ingest) => Rules {
            publish: &[
                "tidewatch/v1/obs/ais/+",
                "tidewatch/v1/obs/patrol/+",
                "tidewatch/v1/obs/radar/+",
                "tidewatch/v1/patrol/+/rejects",
                INGEST_INSTANCES_FILTER,
            ],
            subscribe: &[
                RAW_AIS_FILTER,
                PATROL_NMEA_FILTER,
                PATROL_REPORT_FILTER,
                INGEST_INSTANCES_FILTER,
            ],
            retain: false,
        },
        // Fusion reads observations and publishes alerts and taskings.
        Subject::Role(Role::Fusion) => Rules {
            publish: &["tidewatch/v1/alerts/+", TASKING_FILTER],
            subscribe: &[OBS_FILTER],
            retain: false,
        },
        // The console reads observations, alerts and taskings, and publishes nothing.
        Subject::Role(Role::Console) => Rules {
            publish: &["tidewatch/v1/patrol/+/case-update"],
            subscribe: &[OBS_FILTER, ALERTS_FILTER, TASKING_FILTER, SEA_CASE_FILTER],
            retain: false,
        },
    }
}

/// Replaces `%u` in a pattern by the username (which config validation keeps free of MQTT
/// wildcards and separators).
pub(crate) fn expand(pattern: &str, user: &str) -> String {
    pattern.replace("%u", user)
}

/// The prefix of anonymous clients' session ids at the engine.
const ANONYMOUS_SESSIONS: &str = "anonymous~";

/// The expanded rules of one connection, and how its client id names its session.
#[derive(Debug, Clone)]
pub(crate) struct Grants {
    subject: Subject,
    /// The username (empty for anonymous clients).
    user: String,
    publish: Vec<String>,
    subscribe: Vec<String>,
    retain: bool,
}

impl Grants {
    /// The grants of an anonymous loopback client.
    pub(crate) fn anonymous() -> Self {
        Self::of(Subject::Anonymous, "")
    }

    /// The grants of `user` in `role`.
    pub(crate) fn new(role: Role, user: &str) -> Self {
        Self::of(Subject::Role(role), user)
    }

    fn of(subject: Subject, user: &str) -> Self {
        let r = rules(subject);
        Grants {
            subject,
            user: user.to_owned(),
            publish: r.publish.iter().map(|p| expand(p, user)).collect(),
            subscribe: r.subscribe.iter().map(|p| expand(p, user)).collect(),
            retain: r.retain,
        }
    }

    /// May this connection publish to `topic` (a valid topic name)?
    pub(crate) fn may_publish(&self, topic: &str) -> bool {
        self.publish.iter().any(|p| covers(p, topic))
    }

    /// May this connection subscribe to `filter` (a valid topic filter)? Every topic the filter
    /// can match must be allowed, so `patrol/+/tasking` is refused to a unit.
    pub(crate) fn may_subscribe(&self, filter: &str) -> bool {
        self.subscribe.iter().any(|p| covers(p, filter))
    }

    /// May this connection publish retained messages?
    pub(crate) fn may_retain(&self) -> bool {
        self.retain
    }

    /// The session id at the engine for the client id the client sent. Each identity has its
    /// own: a unit's or receiver's is its username (one session each, whatever id it sends);
    /// a service account's is `{username}@{client id}`; an anonymous client's
    /// `anonymous~{client id}`. An empty client id (a clean session) stays empty, and the engine
    /// makes a unique one. Usernames hold neither `@` nor `~`, so the first of them in a session
    /// id says whose it is (none: a unit's or receiver's; `@`: the account before it; `~`:
    /// anonymous), and a client that sends another's id reaches its own session, never theirs.
    /// (The engine refuses ids with `/`, `+`, `#` or `$`.)
    pub(crate) fn session_id<'a>(&'a self, client_id: &'a str) -> Cow<'a, str> {
        match self.subject {
            Subject::Role(Role::Unit | Role::Receiver) => Cow::Borrowed(&self.user),
            _ if client_id.is_empty() => Cow::Borrowed(""),
            Subject::Anonymous => Cow::Owned(format!("{ANONYMOUS_SESSIONS}{client_id}")),
            Subject::Role(Role::Ingest | Role::Fusion | Role::Console) => {
                Cow::Owned(format!("{}@{client_id}", self.user))
            }
        }
    }
}

/// Is `topic` a valid topic name for PUBLISH (MQTT 3.1.1 §4.7): not empty, no wildcards, no NUL?
pub(crate) fn is_topic_name(topic: &str) -> bool {
    !topic.is_empty() && !topic.contains(['+', '#', '\0'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingest::wire::topics::{Topic, UnitId};

    #[test]
    fn covers_topics_like_mqtt_matching() {
        assert!(covers("a/b", "a/b"));
        assert!(!covers("a/b", "a/c"));
        assert!(!covers("a/b", "a/b/c"));
        assert!(covers("a/+", "a/b"));
        assert!(!covers("a/+", "a/b/c"));
        assert!(covers("a/#", "a"));
        assert!(covers("a/#", "a/b/c"));
        assert!(covers("#", "a/b"));
        assert!(!covers("#", "$SYS/x"));
        assert!(!covers("+/x", "$SYS/x"));
        assert!(covers("$SYS/#", "$SYS/x"));
        assert!(covers("a//b", "a//b"));
        assert!(!covers("a/b", "a//b"));
    }

    #[test]
    fn covers_filters_only_when_narrower() {
        assert!(covers("a/#", "a/+"));
        assert!(covers("a/#", "a/#"));
        assert!(covers("a/+", "a/+"));
        assert!(!covers("a/+", "a/#"));
        assert!(!covers("a/b", "a/+"));
        assert!(!covers("a/b", "a/#"));
        assert!(!covers("a/#", "#"));
        assert!(!covers("a/b/c", "a/+/c"));
    }

    #[test]
    fn unit_rules() {
        let g = Grants::new(Role::Unit, "patrol-7");
        assert!(g.may_publish("tidewatch/v1/patrol/patrol-7/nmea"));
        assert!(g.may_publish("tidewatch/v1/patrol/patrol-7/report"));
        assert!(!g.may_publish("tidewatch/v1/patrol/patrol-7/anything-else"));
        assert!(g.may_subscribe("tidewatch/v1/patrol/patrol-7/rejects"));
        assert!(!g.may_publish("tidewatch/v1/patrol/patrol-8/nmea"));
        assert!(!g.may_publish("tidewatch/v1/patrol/patrol-77/nmea"));
        assert!(!g.may_publish("tidewatch/v1/raw/ais/patrol-7"));
        assert!(!g.may_publish("tidewatch/v1/alerts/sar_beacon"));
        assert!(g.may_subscribe("tidewatch/v1/patrol/patrol-7/tasking"));
        assert!(!g.may_subscribe("tidewatch/v1/patrol/+/tasking"));
        assert!(!g.may_subscribe("tidewatch/v1/patrol/patrol-7/#"));
        assert!(!g.may_subscribe("tidewatch/v1/patrol/patrol-8/tasking"));
        assert!(!g.may_subscribe("#"));
        assert!(!g.may_retain());
    }

    #[test]
    fn receiver_anonymous_and_service_rules() {
        let r = Grants::new(Role::Receiver, "shore-3");
        assert!(r.may_publish("tidewatch/v1/raw/ais/shore-3"));
        assert!(!r.may_publish("tidewatch/v1/raw/ais/shore-4"));
        assert!(!r.may_publish("tidewatch/v1/raw/ais/shore-3/x"));
        assert!(!r.may_subscribe("tidewatch/v1/raw/ais/shore-3"));
        let a = Grants::anonymous();
        assert!(a.may_publish("tidewatch/v1/raw/ais/lampedusa/ch1"));
        assert!(!a.may_publish("tidewatch/v1/raw/other/x"));
        assert!(!a.may_subscribe("tidewatch/v1/raw/ais/#"));
        assert!(!a.may_retain());
        let i = Grants::new(Role::Ingest, "ingest");
        assert!(i.may_publish("tidewatch/v1/obs/ais/247123456"));
        assert!(i.may_subscribe("tidewatch/v1/raw/ais/#"));
        assert!(!i.may_subscribe("$share/ingest/tidewatch/v1/raw/#"));
        assert!(!i.may_subscribe("#"));
        assert!(!i.may_retain());
        let c = Grants::new(Role::Console, "console");
        assert!(c.may_subscribe(OBS_FILTER));
        assert!(c.may_subscribe("tidewatch/v1/obs/ais/+"));
        assert!(!c.may_subscribe("tidewatch/v1/raw/ais/#"));
    }

    /// Every topic of the contract has exactly its writers: a unit its own, a receiver its own
    /// (and anonymous local receivers any raw feed), ingest the observations and units'
    /// refusals, fusion the alerts and taskings; the console none.
    #[test]
    fn every_topic_of_the_contract_has_exactly_its_writers() {
        let u = UnitId::new("cp-301").unwrap();
        let writers = |t: &Topic| -> Vec<&str> {
            [
                ("anonymous", Grants::anonymous()),
                ("unit cp-301", Grants::new(Role::Unit, "cp-301")),
                ("unit cp-302", Grants::new(Role::Unit, "cp-302")),
                ("receiver shore", Grants::new(Role::Receiver, "shore")),
                ("ingest", Grants::new(Role::Ingest, "ingest")),
                ("fusion", Grants::new(Role::Fusion, "fusion")),
                ("console", Grants::new(Role::Console, "console")),
            ]
            .into_iter()
            .filter(|(_, g)| g.may_publish(&t.to_string()))
            .map(|(who, _)| who)
            .collect()
        };
        for (t, want) in [
            (
                Topic::RawAis {
                    source: "shore".into(),
                },
                vec!["anonymous", "receiver shore"],
            ),
            (
                Topic::RawAis {
                    source: "lampedusa/ch1".into(),
                },
                vec!["anonymous"],
            ),
            (Topic::PatrolNmea(u.clone()), vec!["unit cp-301"]),
            (Topic::PatrolReport(u.clone()), vec!["unit cp-301"]),
            (Topic::PatrolTasking(u.clone()), vec!["fusion"]),
            (Topic::PatrolRejects(u.clone()), vec!["ingest"]),
            (Topic::PatrolCase(u.clone()), vec!["unit cp-301"]),
            (Topic::PatrolCaseUpdate(u.clone()), vec!["console"]),
            (Topic::ObsAis(247_123_456), vec!["ingest"]),
            (Topic::ObsPatrol(u.clone()), vec!["ingest"]),
            (Topic::ObsRadar(u), vec!["ingest"]),
            (Topic::Alert("sar_beacon".into()), vec!["fusion"]),
            (
                Topic::IngestInstance(UnitId::new("ingest-b").unwrap()),
                vec!["ingest"],
            ),
        ] {
            assert_eq!(writers(&t), want, "{t}");
        }
    }

    /// The filters each service subscribes to (those of `ingest::wire::topics`) are granted to
    /// it; no one may retain.
    #[test]
    fn each_service_reads_what_it_subscribes_to() {
        let i = Grants::new(Role::Ingest, "ingest");
        for f in [
            RAW_AIS_FILTER,
            PATROL_NMEA_FILTER,
            PATROL_REPORT_FILTER,
            INGEST_INSTANCES_FILTER,
        ] {
            assert!(i.may_subscribe(f), "{f}");
        }
        assert!(Grants::new(Role::Fusion, "fusion").may_subscribe(OBS_FILTER));
        let c = Grants::new(Role::Console, "console");
        for f in [OBS_FILTER, ALERTS_FILTER, TASKING_FILTER, SEA_CASE_FILTER] {
            assert!(c.may_subscribe(f), "{f}");
        }
        for s in Subject::ALL {
            assert!(!rules(s).retain, "{s:?}");
        }
    }

    #[test]
    fn session_ids_never_meet_across_identities() {
        let ids = [
            Grants::anonymous()
                .session_id("tidewatch-console")
                .into_owned(),
            Grants::new(Role::Console, "console")
                .session_id("tidewatch-console")
                .into_owned(),
            Grants::new(Role::Ingest, "ingest")
                .session_id("tidewatch-console")
                .into_owned(),
            Grants::new(Role::Unit, "tidewatch-console")
                .session_id("x")
                .into_owned(),
            Grants::new(Role::Unit, "cp-301")
                .session_id("tidewatch-console")
                .into_owned(),
        ];
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        assert_eq!(ids[0], "anonymous~tidewatch-console");
        assert_eq!(ids[1], "console@tidewatch-console");
        assert_eq!(ids[4], "cp-301");
        // An empty id: the engine makes a unique one.
        assert_eq!(Grants::anonymous().session_id(""), "");
        assert_eq!(Grants::new(Role::Fusion, "fusion").session_id(""), "");
    }

    #[test]
    fn topic_and_filter_validity() {
        assert!(is_topic_name("a/b"));
        assert!(is_topic_name("/"));
        assert!(!is_topic_name(""));
        assert!(!is_topic_name("a/+"));
        assert!(!is_topic_name("a/#"));
        assert!(!is_topic_name("a\0b"));
        assert!(is_topic_filter("a/+/b/#"));
        assert!(is_topic_filter("#"));
        assert!(is_topic_filter("+"));
        assert!(!is_topic_filter("a/#/b"));
        assert!(!is_topic_filter("a/b#"));
        assert!(!is_topic_filter("a/b+"));
        assert!(!is_topic_filter(""));
    }

    #[test]
    fn every_pattern_lies_under_the_contracts_prefix() {
        for s in Subject::ALL {
            let r = rules(s);
            for p in r.publish.iter().chain(r.subscribe) {
                assert!(
                    p.starts_with(&format!("{}/", ingest::wire::topics::PREFIX)),
                    "{p}"
                );
            }
        }
    }
}
