//! The same rules ([`crate::acl`]) for a RabbitMQ cluster, the bus beyond one machine:
//! RabbitMQ's MQTT plugin routes every message through the `amq.topic` exchange with the
//! topic as routing key (`/` written `.`), and checks an account's *topic permissions* on it —
//! a regular expression for what it may publish to (the routing key), one for what it may
//! subscribe to (the filter, `+` and `#` written `*` and `#`). [`topic_permissions`] writes
//! both from the rules' lines, so the embedded broker, Mosquitto and RabbitMQ enforce one
//! table.

use crate::Role;
use crate::acl::{Subject, expand, rules};

/// An account's topic permissions on `amq.topic`, as `rabbitmqctl set_topic_permissions`
/// takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPermissions {
    /// Routing keys the account may publish to.
    pub write: String,
    /// Subscriptions (binding keys) it may make.
    pub read: String,
}

/// The topic permissions of an account `user` with `role`.
pub fn topic_permissions(role: Role, user: &str) -> TopicPermissions {
    of(Subject::Role(role), user)
}

/// The topic permissions of clients that log in without an account (RabbitMQ gives them
/// its `mqtt.default_user`): raw AIS feeds only, like the embedded broker's loopback
/// listener.
pub fn anonymous_permissions() -> TopicPermissions {
    of(Subject::Anonymous, "")
}

fn of(subject: Subject, user: &str) -> TopicPermissions {
    let r = rules(subject);
    TopicPermissions {
        write: regex_of(r.publish, user),
        read: regex_of(r.subscribe, user),
    }
}

/// One regular expression matching what any of `patterns` covers: for a topic, the topics
/// the pattern matches; for a subscription, the filters within it (a `+` level may hold a
/// word or `*`, a `#` anything). Nothing at all: a key no topic has.
fn regex_of(patterns: &[&str], user: &str) -> String {
    if patterns.is_empty() {
        // Routing keys never contain a space.
        return "^ $".to_owned();
    }
    let alternatives: Vec<String> = patterns
        .iter()
        .map(|p| {
            let p = expand(p, user);
            let mut out = String::new();
            for (i, level) in p.split('/').enumerate() {
                match level {
                    // `#` also matches the level above it (MQTT 3.1.1 §4.7.1.2).
                    "#" => out.push_str(r"(\..*)?"),
                    "+" => {
                        if i > 0 {
                            out.push_str(r"\.");
                        }
                        out.push_str(r"[^.]+");
                    }
                    word => {
                        if i > 0 {
                            out.push_str(r"\.");
                        }
                        out.push_str(&escape(word));
                    }
                }
            }
            out
        })
        .collect();
    format!("^({})$", alternatives.join("|"))
}

/// `word` with every character a regular expression gives a meaning escaped.
fn escape(word: &str) -> String {
    let mut s = String::with_capacity(word.len());
    for c in word.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RabbitMQ's form of an MQTT topic or filter.
    fn key(topic: &str) -> String {
        topic.replace('/', ".").replace('+', "*")
    }

    fn matches(re: &str, topic: &str) -> bool {
        regex::Regex::new(re).unwrap().is_match(&key(topic))
    }

    #[test]
    fn every_role_may_publish_and_subscribe_where_the_embedded_broker_lets_it_and_nowhere_else() {
        let ingest = topic_permissions(Role::Ingest, "ingest");
        assert!(matches(&ingest.write, "tidewatch/v1/obs/ais/247123456"));
        assert!(matches(
            &ingest.write,
            "tidewatch/v1/ingest/instances/ingest-a"
        ));
        assert!(!matches(&ingest.write, "tidewatch/v1/alerts/ais_gap"));
        assert!(!matches(
            &ingest.write,
            "tidewatch/v1/obs/ais/247123456/more"
        ));
        for f in [
            "tidewatch/v1/raw/ais/#",
            "tidewatch/v1/raw/ais/north/#",
            "tidewatch/v1/raw/ais/lampedusa",
            "tidewatch/v1/patrol/+/nmea",
            "tidewatch/v1/ingest/instances/+",
        ] {
            assert!(matches(&ingest.read, f), "{f}");
        }
        for f in [
            "tidewatch/v1/#",
            "tidewatch/v1/patrol/#",
            "tidewatch/v1/alerts/#",
        ] {
            assert!(!matches(&ingest.read, f), "{f}");
        }

        let fusion = topic_permissions(Role::Fusion, "fusion");
        assert!(matches(&fusion.write, "tidewatch/v1/alerts/distress"));
        assert!(matches(&fusion.write, "tidewatch/v1/patrol/cp-301/tasking"));
        assert!(!matches(&fusion.write, "tidewatch/v1/obs/ais/247123456"));
        assert!(matches(&fusion.read, "tidewatch/v1/obs/#"));
        assert!(!matches(&fusion.read, "tidewatch/v1/raw/ais/#"));

        let unit = topic_permissions(Role::Unit, "cp-301");
        assert!(matches(&unit.write, "tidewatch/v1/patrol/cp-301/report"));
        assert!(!matches(&unit.write, "tidewatch/v1/patrol/cp-302/report"));
        assert!(matches(&unit.read, "tidewatch/v1/patrol/cp-301/tasking"));
        assert!(!matches(&unit.read, "tidewatch/v1/patrol/+/tasking"));

        let anonymous = anonymous_permissions();
        assert!(matches(&anonymous.write, "tidewatch/v1/raw/ais/lampedusa"));
        assert!(!matches(&anonymous.write, "tidewatch/v1/alerts/distress"));
        assert!(!matches(
            &anonymous.write,
            "tidewatch/v1/ingest/instances/ingest-a"
        ));
        for f in ["tidewatch/v1/obs/#", "tidewatch/v1/raw/ais/#", "#", ""] {
            assert!(!matches(&anonymous.read, f), "{f:?}");
        }
    }

    #[test]
    fn a_name_with_characters_a_regex_reads_is_taken_literally() {
        let unit = topic_permissions(Role::Unit, "cp(3)*");
        assert!(
            unit.write.contains(r"patrol\.cp\(3\)\*\.report"),
            "{}",
            unit.write
        );
        assert!(matches(&unit.write, "tidewatch/v1/patrol/cp(3)*/report"));
        assert!(
            !regex::Regex::new(&unit.write)
                .unwrap()
                .is_match("tidewatch.v1.patrol.cp33.report")
        );
    }
}
