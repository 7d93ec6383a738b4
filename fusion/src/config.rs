//! Fusion configuration: one TOML file, every value optional, defaults from the
//! published practice of maritime surveillance systems, set for smuggling by sea.
//!
//! ```toml
//! [rendezvous]
//! max_distance_m = 250
//! min_duration_min = 20
//!
//! [ais_gap]
//! enabled = false
//!
//! [geodata]
//! ports = "anchorages.geojson"   # replaces the built-in ports
//! ```

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A configuration that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not valid TOML, an unknown key, or a value of the wrong type.
    #[error("{0}")]
    Parse(String),
    /// A value out of its range.
    #[error("{key}: {problem}")]
    Range {
        /// The key, `section.name`.
        key: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
}

/// Everything fusion can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct FusionConfig {
    /// Track segmentation.
    pub track: TrackConfig,
    /// `ais_gap`.
    pub ais_gap: AisGapConfig,
    /// `rendezvous`.
    pub rendezvous: RendezvousConfig,
    /// `loitering`.
    pub loitering: LoiteringConfig,
    /// `position_jump`.
    pub position_jump: PositionJumpConfig,
    /// `identity_conflict`.
    pub identity_conflict: IdentityConflictConfig,
    /// `invalid_identity`.
    pub invalid_identity: InvalidIdentityConfig,
    /// `zone_entry`.
    pub zone_entry: ZoneEntryConfig,
    /// `dark_target`.
    pub dark_target: DarkTargetConfig,
    /// The risk score.
    pub risk: RiskConfig,
    /// Search and rescue: on-scene conditions for search plans, and tasking.
    pub sar: SarConfig,
    /// `distress` proposals.
    pub distress: DistressConfig,
    /// Reference data files replacing the built-in ones.
    pub geodata: GeodataConfig,
}

impl FusionConfig {
    /// Parse and check a TOML configuration.
    pub fn from_toml(text: &str) -> Result<FusionConfig, ConfigError> {
        let cfg: FusionConfig =
            toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        cfg.check()?;
        Ok(cfg)
    }

    /// Check the ranges serde cannot.
    pub fn check(&self) -> Result<(), ConfigError> {
        let positive = |key, v: f64| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(ConfigError::Range {
                    key,
                    problem: "must be a positive number",
                })
            }
        };
        positive("track.max_speed_kn", self.track.max_speed_kn)?;
        positive("track.max_gap_h", self.track.max_gap_h)?;
        positive("ais_gap.min_gap_min", self.ais_gap.min_gap_min)?;
        positive(
            "ais_gap.departure_min_gap_min",
            self.ais_gap.departure_min_gap_min,
        )?;
        positive("ais_gap.coverage_radius_m", self.ais_gap.coverage_radius_m)?;
        positive("ais_gap.path_radius_m", self.ais_gap.path_radius_m)?;
        positive("ais_gap.edge_margin_m", self.ais_gap.edge_margin_m)?;
        positive(
            "ais_gap.coverage_memory_min",
            self.ais_gap.coverage_memory_min,
        )?;
        for r in &self.ais_gap.receivers {
            if crate::Position::new(r.lat, r.lon).is_none() {
                return Err(ConfigError::Range {
                    key: "ais_gap.receivers",
                    problem: "a latitude from -90 to 90 and a longitude from -180 to 180",
                });
            }
        }
        if self.ais_gap.departure_min_gap_min > self.ais_gap.min_gap_min {
            return Err(ConfigError::Range {
                key: "ais_gap.departure_min_gap_min",
                problem: "at most ais_gap.min_gap_min (off a departure coast a silence counts sooner)",
            });
        }
        if self.ais_gap.edge_min_lost == 0 {
            return Err(ConfigError::Range {
                key: "ais_gap.edge_min_lost",
                problem: "at least 1 (0 would make every cell an edge)",
            });
        }
        if !(0.0..=1.0).contains(&self.ais_gap.edge_lost_share) {
            return Err(ConfigError::Range {
                key: "ais_gap.edge_lost_share",
                problem: "a share between 0 and 1",
            });
        }
        if !(0.0..=1.0).contains(&self.ais_gap.path_covered_share) {
            return Err(ConfigError::Range {
                key: "ais_gap.path_covered_share",
                problem: "a share between 0 and 1",
            });
        }
        positive("rendezvous.max_distance_m", self.rendezvous.max_distance_m)?;
        positive("rendezvous.max_speed_kn", self.rendezvous.max_speed_kn)?;
        positive(
            "rendezvous.min_duration_min",
            self.rendezvous.min_duration_min,
        )?;
        positive("loitering.max_speed_kn", self.loitering.max_speed_kn)?;
        positive(
            "loitering.min_duration_min",
            self.loitering.min_duration_min,
        )?;
        positive(
            "position_jump.max_speed_kn",
            self.position_jump.max_speed_kn,
        )?;
        positive(
            "dark_target.max_distance_m",
            self.dark_target.max_distance_m,
        )?;
        positive(
            "dark_target.min_duration_min",
            self.dark_target.min_duration_min,
        )?;
        if self.rendezvous.max_distance_m > 5000.0 {
            return Err(ConfigError::Range {
                key: "rendezvous.max_distance_m",
                problem: "at most 5000 m",
            });
        }
        if self.ais_gap.coverage_radius_m > 100_000.0 {
            return Err(ConfigError::Range {
                key: "ais_gap.coverage_radius_m",
                problem: "at most 100000 m",
            });
        }
        Ok(())
    }
}

/// How reports of one MMSI are split into tracks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackConfig {
    /// A report implying more than this from a track's last report does not continue it, kn.
    pub max_speed_kn: f64,
    /// Reports further apart than this never continue a track, hours.
    pub max_gap_h: f64,
    /// Position noise: a report this close to a track's last one always continues it, m.
    pub noise_m: f64,
    /// A vessel silent this long is forgotten (its alerts stay), hours.
    pub forget_after_h: f64,
}

impl Default for TrackConfig {
    fn default() -> Self {
        TrackConfig {
            max_speed_kn: 30.0,
            max_gap_h: 24.0,
            noise_m: 500.0,
            forget_after_h: 48.0,
        }
    }
}

/// `ais_gap`: no report for a long time while others near the last position are heard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AisGapConfig {
    /// Raise `ais_gap` alerts.
    pub enabled: bool,
    /// Silence that counts as a gap, minutes.
    pub min_gap_min: f64,
    /// Other vessels must still be heard within this distance of the last position
    /// (and of where the vessel would be by now), m.
    pub coverage_radius_m: f64,
    /// How many other vessels must be heard there after the vessel went silent.
    pub min_other_vessels: u32,
    /// A vessel needs this many reports before its silence means anything.
    pub min_reports: u32,
    /// Silence within this distance of a port is not a gap (vessels switch off in port), m.
    pub port_radius_m: f64,
    /// Along the way the vessel's last course and speed would have taken it, a point is in
    /// coverage when another vessel was heard within this distance of it, m.
    pub path_radius_m: f64,
    /// … in the last this many minutes (how long a receiver's reach is remembered).
    pub coverage_memory_min: f64,
    /// A silence is a gap only when at least this share of its way (0–1) is in coverage:
    /// a vessel whose way left the receivers' reach is out of coverage, not dark.
    pub path_covered_share: f64,
    /// Off a departure coast (`[geodata] departure_coasts`) a silence counts sooner,
    /// minutes (at most `min_gap_min`); the same coverage test judges it.
    pub departure_min_gap_min: f64,
    /// A cell where at least `edge_min_lost` vessels, and `edge_lost_share` (0–1) of those
    /// that came into it, went silent is the edge of the receivers' reach: a silence that
    /// starts there, or a way through it, is out of coverage, not dark.
    pub edge_min_lost: u16,
    /// See `edge_min_lost`.
    pub edge_lost_share: f64,
    /// A vessel last heard closer than this to the edge of the range learnt around a
    /// configured receiver site (`receivers`) is judged at the edge: a turn takes it out of
    /// reach; its silence is no gap, m.
    pub edge_margin_m: f64,
    /// Where the centre's own receivers stand (`[[ais_gap.receivers]] name = "lampedusa"`,
    /// `lat`, `lon`; the name as the receiver reports: its feed, or `feed/station`): each
    /// one's reach includes its site, so a vessel heading toward a receiver is judged in its
    /// reach before others were heard on the way. Optional: without it the reach is learnt
    /// from traffic alone.
    pub receivers: Vec<ReceiverSite>,
}

/// A receiver's site ([`AisGapConfig::receivers`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverSite {
    /// The receiver's name.
    pub name: String,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

impl Default for AisGapConfig {
    fn default() -> Self {
        AisGapConfig {
            enabled: true,
            min_gap_min: 120.0,
            coverage_radius_m: 30_000.0,
            min_other_vessels: 2,
            min_reports: 3,
            port_radius_m: 10_000.0,
            path_radius_m: 15_000.0,
            coverage_memory_min: 360.0,
            path_covered_share: 0.9,
            departure_min_gap_min: 45.0,
            edge_min_lost: 2,
            edge_lost_share: 0.2,
            edge_margin_m: 5_000.0,
            receivers: Vec::new(),
        }
    }
}

/// `rendezvous`: two vessels close together and slow, away from ports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RendezvousConfig {
    /// Raise `rendezvous` alerts.
    pub enabled: bool,
    /// Farthest apart, m.
    pub max_distance_m: f64,
    /// Both slower than this, kn.
    pub max_speed_kn: f64,
    /// For at least this long, minutes.
    pub min_duration_min: f64,
    /// And farther than this from any port or anchorage, m.
    pub min_port_distance_m: f64,
    /// The meeting ends when the two have not been seen close together for this long, minutes.
    pub max_silence_min: f64,
}

impl Default for RendezvousConfig {
    fn default() -> Self {
        RendezvousConfig {
            enabled: true,
            max_distance_m: 500.0,
            max_speed_kn: 2.0,
            min_duration_min: 30.0,
            min_port_distance_m: 10_000.0,
            max_silence_min: 15.0,
        }
    }
}

/// `loitering`: one vessel slow for a long time away from ports, not moored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoiteringConfig {
    /// Raise `loitering` alerts.
    pub enabled: bool,
    /// Slower than this, kn.
    pub max_speed_kn: f64,
    /// For at least this long, minutes.
    pub min_duration_min: f64,
    /// Farther than this from any port or anchorage, m.
    pub min_port_distance_m: f64,
}

impl Default for LoiteringConfig {
    fn default() -> Self {
        LoiteringConfig {
            enabled: true,
            max_speed_kn: 2.0,
            min_duration_min: 120.0,
            min_port_distance_m: 10_000.0,
        }
    }
}

/// `position_jump`: an impossible move, or a position on land.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PositionJumpConfig {
    /// Raise `position_jump` alerts.
    pub enabled: bool,
    /// Implied speed above this is impossible, kn.
    pub max_speed_kn: f64,
    /// Only over more than this distance (GNSS noise stays below), m.
    pub min_distance_m: f64,
    /// Flag positions on land.
    pub land: bool,
    /// Positions closer than this to the coastline are not judged (the coastline is good
    /// to a few hundred meters), m.
    pub land_margin_m: f64,
}

impl Default for PositionJumpConfig {
    fn default() -> Self {
        PositionJumpConfig {
            enabled: true,
            max_speed_kn: 60.0,
            min_distance_m: 1852.0,
            land: true,
            land_margin_m: 1000.0,
        }
    }
}

/// `identity_conflict`: one MMSI in two places, or an identity changed at sea.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConflictConfig {
    /// Raise `identity_conflict` alerts.
    pub enabled: bool,
    /// Each of the two tracks needs this many reports before they count as two vessels.
    pub min_reports: u32,
    /// A name, call sign or IMO change farther than this from any port is "at sea", m.
    pub min_port_distance_m: f64,
    /// Two tracks closer than this are not "two places": receiver latency and GNSS noise
    /// split one vessel's track that much, m.
    pub min_distance_m: f64,
}

impl Default for IdentityConflictConfig {
    fn default() -> Self {
        IdentityConflictConfig {
            enabled: true,
            min_reports: 3,
            min_port_distance_m: 10_000.0,
            min_distance_m: 1852.0,
        }
    }
}

/// `invalid_identity`: unallocated MID, undefined MMSI format, bad IMO check digit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InvalidIdentityConfig {
    /// Raise `invalid_identity` alerts.
    pub enabled: bool,
}

impl Default for InvalidIdentityConfig {
    fn default() -> Self {
        InvalidIdentityConfig { enabled: true }
    }
}

/// `zone_entry`: rules per zone live in the zones file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZoneEntryConfig {
    /// Raise `zone_entry` alerts.
    pub enabled: bool,
    /// Zones file (GeoJSON), when not given on the command line.
    pub zones: Option<PathBuf>,
}

impl Default for ZoneEntryConfig {
    fn default() -> Self {
        ZoneEntryConfig {
            enabled: true,
            zones: None,
        }
    }
}

/// `dark_target`: a radar contact or sighting with no AIS track near it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DarkTargetConfig {
    /// Raise `dark_target` alerts.
    pub enabled: bool,
    /// No AIS track within this distance (the association gate), m.
    pub max_distance_m: f64,
    /// A radar contact tracked this long without AIS is dark, minutes. A sighting, seen
    /// by a person, needs no such wait.
    pub min_duration_min: f64,
    /// AIS positions older than this are not used for association, minutes.
    pub max_ais_age_min: f64,
    /// A contact not updated for this long has ended, minutes.
    pub contact_timeout_min: f64,
}

impl Default for DarkTargetConfig {
    fn default() -> Self {
        DarkTargetConfig {
            enabled: true,
            max_distance_m: 1000.0,
            min_duration_min: 10.0,
            max_ais_age_min: 10.0,
            contact_timeout_min: 5.0,
        }
    }
}

/// `distress`: proposals of possible distress from sightings and behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DistressConfig {
    /// Raise `distress` proposals.
    pub enabled: bool,
    /// A small craft slower than this is drifting, kn.
    pub drift_max_kn: f64,
    /// For at least this long, minutes.
    pub drift_min_min: f64,
    /// Farther than this from any port, m (20 NM).
    pub drift_min_port_distance_m: f64,
    /// Small craft: class B, or at most this long, m.
    pub small_max_length_m: f64,
    /// "Slowed": from at least this speed, kn…
    pub slowed_from_kn: f64,
    /// …to under this, kn…
    pub slowed_to_kn: f64,
    /// …then silent this long, minutes.
    pub silence_min: f64,
}

impl Default for DistressConfig {
    fn default() -> Self {
        DistressConfig {
            enabled: true,
            drift_max_kn: 1.5,
            drift_min_min: 60.0,
            drift_min_port_distance_m: 37_040.0,
            small_max_length_m: 15.0,
            slowed_from_kn: 5.0,
            slowed_to_kn: 2.0,
            silence_min: 60.0,
        }
    }
}

/// Search and rescue: the conditions search plans assume until an operator gives better
/// ones, and how patrol units are tasked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SarConfig {
    /// Wind direction it blows from, degrees true.
    pub wind_from_deg: f64,
    /// Wind speed, knots.
    pub wind_kn: f64,
    /// Total water current direction it sets toward, degrees true.
    pub current_to_deg: f64,
    /// Total water current rate, knots.
    pub current_kn: f64,
    /// Safety factor for first searches.
    pub fs: f64,
    /// Track spacing, NM.
    pub spacing_nm: f64,
    /// Speed assumed for patrol units' ETA, knots.
    pub unit_speed_kn: f64,
    /// Task the nearest available units at once (rescue first); false leaves tasking to
    /// the SAR mission coordinator.
    pub auto_task: bool,
    /// How many units to task.
    pub task_units: u32,
}

impl Default for SarConfig {
    fn default() -> Self {
        SarConfig {
            wind_from_deg: 0.0,
            wind_kn: 0.0,
            current_to_deg: 0.0,
            current_kn: 0.0,
            fs: 1.1,
            spacing_nm: 1.0,
            unit_speed_kn: 20.0,
            auto_task: true,
            task_units: 1,
        }
    }
}

/// The risk score per vessel: alerts, watchlist and vessel type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// Vessels of interest (MMSIs).
    pub watchlist: Vec<u32>,
}

/// Reference data files replacing the built-in ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct GeodataConfig {
    /// Land polygons (GeoJSON, `.gz` allowed).
    pub land: Option<PathBuf>,
    /// Ports and anchorages (GeoJSON, `.gz` allowed).
    pub ports: Option<PathBuf>,
    /// MID table (CSV `mid,country,iso2,…`).
    pub mid: Option<PathBuf>,
    /// The centre's area of responsibility (a search-and-rescue region or area of
    /// interest: GeoJSON polygons). Alerts outside it are kept, marked `outside_area` and
    /// ranked below those inside; the console hides them unless asked.
    pub area: Option<PathBuf>,
    /// The sea off the coasts migrants' boats leave from (GeoJSON polygons, each with a
    /// `name`): a vessel that goes silent there is judged sooner (`ais_gap`). Built in: the
    /// central Mediterranean's (western and eastern Libya, eastern Tunisia, eastern Algeria).
    pub departure_coasts: Option<PathBuf>,
}

/// What a fusion engine is made from: the configuration and the geography it names. Built
/// once from the command line's files, it makes every engine of a process (the fusion
/// service's and the console's picture), so that the picture's risk and identity history
/// and the alerts never disagree.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Detector parameters, watchlist, reference data.
    pub config: FusionConfig,
    /// The geography the configuration names, and the zones.
    pub geodata: crate::Geodata,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup::built_in()
    }
}

impl Setup {
    /// `config` with the geography it names and the zones file `zones`, if any (files are
    /// read here).
    pub fn load(
        config: FusionConfig,
        zones: Option<&std::path::Path>,
    ) -> Result<Setup, crate::geodata::GeodataError> {
        let geodata = crate::Geodata::load(&config, zones)?;
        Ok(Setup { config, geodata })
    }

    /// The built-in configuration and geography.
    pub fn built_in() -> Setup {
        Setup::load(FusionConfig::default(), None).expect("the built-in geography loads")
    }

    /// A fresh engine on this setup.
    pub fn engine(&self) -> crate::FusionEngine {
        crate::FusionEngine::new(self.config.clone(), self.geodata.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_design_md_rules_and_unknown_keys_are_refused() {
        let c = FusionConfig::from_toml("").unwrap();
        assert_eq!(c.rendezvous.max_distance_m, 500.0);
        assert_eq!(c.rendezvous.min_duration_min, 30.0);
        assert_eq!(c.loitering.min_duration_min, 120.0);
        assert_eq!(c.ais_gap.coverage_radius_m, 30_000.0);
        assert_eq!(c.position_jump.max_speed_kn, 60.0);
        assert_eq!(c.dark_target.max_distance_m, 1000.0);
        let c = FusionConfig::from_toml("[rendezvous]\nmax_distance_m = 250\n").unwrap();
        assert_eq!(c.rendezvous.max_distance_m, 250.0);
        assert_eq!(c.rendezvous.min_duration_min, 30.0);
        let e = FusionConfig::from_toml("[rendezvous]\nmax_distanse_m = 250\n").unwrap_err();
        assert!(e.to_string().contains("max_distanse_m"), "{e}");
        let c = FusionConfig::from_toml(
            "[[ais_gap.receivers]]\nname = \"lampedusa\"\nlat = 35.515\nlon = 12.605\n",
        )
        .unwrap();
        assert_eq!(c.ais_gap.receivers[0].name, "lampedusa");
        let e = FusionConfig::from_toml(
            "[[ais_gap.receivers]]\nname = \"x\"\nlat = 95.0\nlon = 12.0\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("ais_gap.receivers"), "{e}");
        let e = FusionConfig::from_toml("[ais_gap]\nedge_lost_share = 2\n").unwrap_err();
        assert!(e.to_string().contains("ais_gap.edge_lost_share"), "{e}");
        let e = FusionConfig::from_toml("[loitering]\nmax_speed_kn = -1\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "loitering.max_speed_kn: must be a positive number"
        );
    }
}
