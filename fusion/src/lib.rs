//! Tidewatch fusion: turns observations into tracks and flags suspicious behaviour.
//!
//! Not built yet: this crate holds its place in the workspace so the dependency order
//! `ingest → fusion → ops-console` is fixed from the start.
