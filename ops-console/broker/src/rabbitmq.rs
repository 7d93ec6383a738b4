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

/// An account's resource permissions on the virtual host, as `rabbitmqctl set_permissions`
/// takes them: the queues and exchanges it may configure (declare, delete), write to (publish,
/// bind a queue) and read from (consume, bind to an exchange), each a regular expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePermissions {
    /// Queues it may declare and delete.
    pub configure: String,
    /// Exchanges it may publish to, queues it may bind.
    pub write: String,
    /// Queues it may consume, exchanges it may bind them to.
    pub read: String,
}

/// The resource permissions of an account `user` with `role`: it publishes through
/// `amq.topic`, and holds the MQTT sessions of its own client ids only. RabbitMQ names a
/// session's queues by the client id alone (`mqtt-subscription-{client id}qos0`, `…qos1`) and
/// checks topic permissions on bindings only, so an account free to use any queue could take
/// another's session by its client id: read what waits there, or delete it with a clean
/// session. A unit's client id is `tidewatch-patrol-{user}` (`tidewatch patrol`'s default), a
/// service's is its command's default (`tidewatch-ingest`, `tidewatch-fusion`,
/// `tidewatch-console`) alone or followed by `.` or `-` and anything; a receiver holds none.
pub fn resource_permissions(role: Role, user: &str) -> ResourcePermissions {
    let sessions = match role {
        Role::Unit => Some(escape(&unit_client_id(user))),
        Role::Ingest => Some(r"tidewatch-ingest([.-].*)?".to_owned()),
        Role::Fusion => Some(r"tidewatch-fusion([.-].*)?".to_owned()),
        Role::Console => Some(r"tidewatch-console([.-].*)?".to_owned()),
        Role::Receiver => None,
    };
    resources(sessions)
}

/// The client id of unit `unit`'s session on the bus: `tidewatch patrol`'s default, the only
/// one its account may hold.
pub fn unit_client_id(unit: &str) -> String {
    format!("tidewatch-patrol-{unit}")
}

/// The queues RabbitMQ keeps the MQTT session of client id `id` in (its subscriptions of
/// QoS 0 and 1, and what waits for it).
pub fn session_queues(id: &str) -> [String; 2] {
    [0, 1].map(|qos| format!("mqtt-subscription-{id}qos{qos}"))
}

/// The resource permissions of clients that log in without an account: publish through
/// `amq.topic`, and no session queue at all (they read nothing).
pub fn anonymous_resource_permissions() -> ResourcePermissions {
    resources(None)
}

/// Permissions on `amq.topic`, and on the session queues of client ids matching `sessions`.
fn resources(sessions: Option<String>) -> ResourcePermissions {
    const EXCHANGE: &str = r"amq\.topic";
    match sessions {
        Some(ids) => {
            let queues = format!("mqtt-subscription-({ids})qos[01]");
            ResourcePermissions {
                configure: format!("^{queues}$"),
                write: format!("^({EXCHANGE}|{queues})$"),
                read: format!("^({EXCHANGE}|{queues})$"),
            }
        }
        // An empty name is the default exchange, which the MQTT plugin never uses.
        None => ResourcePermissions {
            configure: "^$".to_owned(),
            write: format!("^{EXCHANGE}$"),
            read: "^$".to_owned(),
        },
    }
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

    fn allows(re: &str, name: &str) -> bool {
        regex::Regex::new(re).unwrap().is_match(name)
    }

    #[test]
    fn an_account_may_use_its_own_sessions_queues_only() {
        let q = |id: &str, qos: usize| session_queues(id)[qos].clone();
        let console = resource_permissions(Role::Console, "console");
        for id in [
            "tidewatch-console",
            "tidewatch-console-1",
            "tidewatch-console.pub",
        ] {
            for qos in [0, 1] {
                for re in [&console.configure, &console.write, &console.read] {
                    assert!(allows(re, &q(id, qos)), "{re} {id}");
                }
            }
        }
        let unit = resource_permissions(Role::Unit, "cp-30");
        assert_eq!(unit_client_id("cp-30"), "tidewatch-patrol-cp-30");
        for qos in [0, 1] {
            for re in [&unit.configure, &unit.write, &unit.read] {
                assert!(allows(re, &q("tidewatch-patrol-cp-30", qos)), "{re}");
            }
        }
        for other in [
            // Another service's, another unit's (one its id begins), or a client id of its
            // own choosing: none of them.
            "tidewatch-consoles",
            "tidewatch-fusion-a",
            "tidewatch-ingest.north",
            "tidewatch-patrol-cp-301",
            "tidewatch-patrol-cp-3",
            "cp-30",
        ] {
            for re in [&unit.configure, &unit.write, &unit.read] {
                assert!(!allows(re, &q(other, 1)), "{re} {other}");
            }
            if other != "tidewatch-consoles" {
                assert!(!allows(&console.read, &q(other, 1)), "console: {other}");
            }
        }
        assert!(!allows(&console.read, &q("tidewatch-consoles", 1)));
        // Everyone publishes through amq.topic; none declares an exchange, or uses another.
        for p in [&console, &unit, &anonymous_resource_permissions()] {
            assert!(allows(&p.write, "amq.topic"));
            assert!(!allows(&p.configure, "amq.topic"));
            assert!(!allows(&p.write, "amqXtopic"));
            assert!(!allows(&p.write, "amq.direct"));
        }
        let anonymous = anonymous_resource_permissions();
        for re in [&anonymous.configure, &anonymous.write, &anonymous.read] {
            assert!(!allows(re, &q("tidewatch-console-1", 1)), "{re}");
            assert!(!allows(re, &q("", 1)), "{re}");
        }
        assert_eq!(resource_permissions(Role::Receiver, "r1"), anonymous);
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
