//! Tidewatch's MQTT broker (embedded in `tidewatch up`), the identities it admits from outside
//! (patrol units, AIS receivers: [`identities`]), and the equivalent Mosquitto configuration.
//!
//! Like Mosquitto 2, the broker accepts anonymous clients on a loopback listener only, but holds
//! them to least privilege: another local user's process is not Tidewatch. Accounts (username
//! and password) are accepted on the loopback listener too, and on an optional second listener
//! that takes accounts only, over TLS when it faces a network ([`BrokerConfig::auth_tls`]; the
//! remote listener of `tidewatch up --mqtt-remote`). Accounts can be added and revoked while the
//! broker runs ([`Broker::accounts`]): a revoked account's live connections are closed
//! at once. Every connection is held to the rules of its identity, from one table (`acl.rs`):
//!
//! | identity | may publish | may subscribe |
//! |---|---|---|
//! | anonymous (loopback only) | `tidewatch/v1/raw/ais/#` | nothing |
//! | [`Role::Unit`] (username = unit id) | `tidewatch/v1/patrol/{unit}/nmea`, `…/report` | `tidewatch/v1/patrol/{unit}/tasking`, `…/rejects` |
//! | [`Role::Receiver`] (username = source) | `tidewatch/v1/raw/ais/{source}` | nothing |
//! | [`Role::Ingest`] | `tidewatch/v1/obs/{ais,patrol,radar}/+`, `tidewatch/v1/patrol/+/rejects` | `tidewatch/v1/raw/ais/#`, `tidewatch/v1/patrol/+/nmea`, `…/report` |
//! | [`Role::Fusion`] | `tidewatch/v1/alerts/+`, `tidewatch/v1/patrol/+/tasking` | `tidewatch/v1/obs/#` |
//! | [`Role::Console`] | nothing | `tidewatch/v1/obs/#`, `tidewatch/v1/alerts/#`, `tidewatch/v1/patrol/+/tasking` |
//!
//! No one may retain. The same identity names the client's session at the engine, so a client
//! that connects with another's client id gets a session of its own instead of taking theirs.
//!
//! The engine is rumqttd, which authenticates but has no per-topic authorization, so both
//! listeners are small MQTT 3.1.1 fronts ([`Broker`] explains the layout): they check
//! the CONNECT themselves and close the connection at the first packet the client may not send;
//! the engine takes only the fronts, which log in to it with a secret made at start.
//! [`mosquitto::write_config`] writes the same policy for a Mosquitto deployment.
//!
//! No rumqttd type leaves `broker.rs`.

mod acl;
mod broker;
mod config;
mod front;
#[doc(hidden)]
pub mod fuzz;
mod hold;
pub mod identities;
pub mod mosquitto;
pub(crate) mod packet;
pub mod rabbitmq;
mod relay;
mod stats;

#[cfg(test)]
mod hold_tests;
#[cfg(test)]
mod remote_tests;
#[doc(hidden)]
pub mod testkit;
#[cfg(test)]
mod tests;

pub use broker::{Accounts, Broker, BrokerError};
pub use config::{
    BrokerConfig, BrokerUser, ConfigError, Credentials, DEFAULT_ITERATIONS,
    DEFAULT_MAX_PACKET_BYTES, GENERATED_ITERATIONS, ListenerTls, LogLimits, MQTT_ALPN,
    PasswordHash, PasswordHashError, Role, is_user_name,
};
pub use front::AccountsUpdate;
pub use hold::HoldStats;
pub use stats::{BrokerStats, Refusal, RefusalCounts};
