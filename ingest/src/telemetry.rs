//! Patrol telemetry (being written).
