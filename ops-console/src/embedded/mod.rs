//! The embedded MQTT broker of `tidewatch up`, and the equivalent Mosquitto configuration.
//!
//! Like Mosquitto 2, the broker accepts anonymous clients on a loopback listener only; an optional
//! second listener requires a username and password and holds each account to its [`Role`]:
//!
//! | role | may publish | may subscribe |
//! |---|---|---|
//! | `unit` (username = unit id) | `tidewatch/v1/patrol/{unit}/nmea`, `…/report` | `tidewatch/v1/patrol/{unit}/tasking`, `…/rejects` |
//! | `receiver` (username = source) | `tidewatch/v1/raw/ais/{source}` | nothing |
//! | `service` (ingest, fusion, console) | anything | anything |
//!
//! The engine is rumqttd, which authenticates but has no per-topic authorization, so the
//! authenticated listener is a small MQTT 3.1.1 front ([`EmbeddedBroker`] explains the layout):
//! it checks the CONNECT itself and closes the connection at the first packet the account may not
//! send. [`mosquitto::write_config`] writes the same policy for a Mosquitto deployment.
//!
//! No rumqttd type leaves `broker.rs`.

mod acl;
mod broker;
mod config;
mod front;
pub mod mosquitto;
mod packet;
mod stats;

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use broker::{BrokerError, EmbeddedBroker};
pub use config::{
    BrokerConfig, BrokerUser, ConfigError, DEFAULT_ITERATIONS, DEFAULT_MAX_PACKET_BYTES, LogLimits,
    PasswordHash, PasswordHashError, Role, is_user_name,
};
pub use stats::{BrokerStats, Refusal, RefusalCounts};
