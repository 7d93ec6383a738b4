//! Who may publish and subscribe where on the authenticated listener.
//!
//! The rules are data ([`rules`]), written the way Mosquitto writes them (`%u` stands for the
//! username), so that the embedded broker's front ([`Grants`]) and the generated Mosquitto ACL file
//! ([`super::mosquitto`]) come from the same lines.
//!
//! The topics are those of the MQTT contract (`ingest::wire::topics`); a test checks that every
//! pattern lies under its prefix.

use super::config::Role;

/// What one role may do, as Mosquitto-style patterns (`%u` = the username).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RoleRules {
    /// Any topic and any filter, retained messages included (service accounts).
    pub(crate) unrestricted: bool,
    /// Topic patterns the user may publish to.
    pub(crate) publish: &'static [&'static str],
    /// Filters the user may subscribe to (a requested filter must be covered by one of them).
    pub(crate) subscribe: &'static [&'static str],
}

/// The rules of each role. This is the single place to change what a role may do.
pub(crate) fn rules(role: Role) -> RoleRules {
    match role {
        // A patrol unit publishes its NMEA and its reports under its own `patrol/{unit}/`,
        // and reads its own taskings and the refusals of what it sent. Nothing else: a unit
        // inventing topics would grow the broker's topic tables without bound.
        Role::Unit => RoleRules {
            unrestricted: false,
            publish: &[
                "tidewatch/v1/patrol/%u/nmea",
                "tidewatch/v1/patrol/%u/report",
            ],
            subscribe: &[
                "tidewatch/v1/patrol/%u/tasking",
                "tidewatch/v1/patrol/%u/rejects",
            ],
        },
        // An AIS receiver publishes its raw feed on `raw/ais/{username}` and reads nothing.
        Role::Receiver => RoleRules {
            unrestricted: false,
            publish: &["tidewatch/v1/raw/ais/%u"],
            subscribe: &[],
        },
        // Service accounts (ingest, fusion, console) may do anything.
        Role::Service => RoleRules {
            unrestricted: true,
            publish: &["#"],
            subscribe: &["#"],
        },
    }
}

/// Replaces `%u` in a pattern by the username (which config validation keeps free of MQTT
/// wildcards and separators).
pub(crate) fn expand(pattern: &str, user: &str) -> String {
    pattern.replace("%u", user)
}

/// The expanded rules of one authenticated connection.
#[derive(Debug, Clone)]
pub(crate) struct Grants {
    unrestricted: bool,
    publish: Vec<String>,
    subscribe: Vec<String>,
}

impl Grants {
    /// The grants of `user` in `role`.
    pub(crate) fn new(role: Role, user: &str) -> Self {
        let r = rules(role);
        Grants {
            unrestricted: r.unrestricted,
            publish: r.publish.iter().map(|p| expand(p, user)).collect(),
            subscribe: r.subscribe.iter().map(|p| expand(p, user)).collect(),
        }
    }

    /// May this connection publish to `topic` (a valid topic name)?
    pub(crate) fn may_publish(&self, topic: &str) -> bool {
        self.unrestricted || self.publish.iter().any(|p| covers(p, topic))
    }

    /// May this connection subscribe to `filter` (a valid topic filter)? Every topic the filter
    /// can match must be allowed, so `patrol/+/tasking` is refused to a unit.
    pub(crate) fn may_subscribe(&self, filter: &str) -> bool {
        self.unrestricted || self.subscribe.iter().any(|p| covers(p, filter))
    }

    /// May this connection publish retained messages? Only unrestricted accounts may: every
    /// retained topic is kept by the broker until cleared, so a unit that could retain could grow
    /// the broker's memory without bound by inventing topics under its own prefix.
    pub(crate) fn may_retain(&self) -> bool {
        self.unrestricted
    }
}

/// Does `pattern` (a topic filter) cover every topic that `filter` (a topic name or filter) can
/// match? For a topic name this is the usual MQTT match. `#` also matches its parent level
/// (`a/#` covers `a`), and a wildcard in the first level never matches a topic starting with `$`
/// (MQTT 3.1.1 §4.7.2), as in Mosquitto.
pub(crate) fn covers(pattern: &str, filter: &str) -> bool {
    let mut p = pattern.split('/');
    let mut f = filter.split('/');
    let mut first = true;
    loop {
        match (p.next(), f.next()) {
            (Some("#"), level) => {
                return !(first && level.is_some_and(|l| l.starts_with('$')));
            }
            (Some("+"), Some(level)) => {
                if level == "#" || (first && level.starts_with('$')) {
                    return false;
                }
            }
            // A literal covers only the same literal; a wildcard in `filter` is wider.
            (Some(lit), Some(level)) => {
                if lit != level {
                    return false;
                }
            }
            (None, None) => return true,
            _ => return false,
        }
        first = false;
    }
}

/// Is `topic` a valid topic name for PUBLISH (MQTT 3.1.1 §4.7): not empty, no wildcards, no NUL?
pub(crate) fn is_topic_name(topic: &str) -> bool {
    !topic.is_empty() && !topic.contains(['+', '#', '\0'])
}

/// Is `filter` a valid topic filter for SUBSCRIBE (MQTT 3.1.1 §4.7): not empty, no NUL, `+`
/// alone in its level, `#` alone in the last level?
pub(crate) fn is_topic_filter(filter: &str) -> bool {
    if filter.is_empty() || filter.contains('\0') {
        return false;
    }
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        let last = levels.peek().is_none();
        if level.contains('#') && (level != "#" || !last) {
            return false;
        }
        if level.contains('+') && level != "+" {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn receiver_and_service_rules() {
        let r = Grants::new(Role::Receiver, "shore-3");
        assert!(r.may_publish("tidewatch/v1/raw/ais/shore-3"));
        assert!(!r.may_publish("tidewatch/v1/raw/ais/shore-4"));
        assert!(!r.may_publish("tidewatch/v1/raw/ais/shore-3/x"));
        assert!(!r.may_subscribe("tidewatch/v1/raw/ais/shore-3"));
        let s = Grants::new(Role::Service, "ingest");
        assert!(s.may_publish("tidewatch/v1/obs/ais/247123456"));
        assert!(s.may_subscribe("$share/ingest/tidewatch/v1/raw/#"));
        assert!(s.may_subscribe("#"));
        assert!(s.may_retain());
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
        use super::super::config::Role;
        for role in [Role::Unit, Role::Receiver] {
            let r = rules(role);
            for p in r.publish.iter().chain(r.subscribe) {
                assert!(
                    p.starts_with(&format!("{}/", ingest::wire::topics::PREFIX)),
                    "{p}"
                );
            }
        }
    }
}
