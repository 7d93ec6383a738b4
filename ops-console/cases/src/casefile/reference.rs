//! Reference data a case file is judged against: States, units, maritime zones.

use super::*;

/// The reference data shipped for the demonstration area (see its header).
pub const DEFAULT_REFERENCE: &str = include_str!("reference.toml");

/// A State (RULES.md `State`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateRef {
    /// ISO 3166 alpha-2.
    pub code: String,
    /// Name.
    pub name: String,
    /// Party to the Protocol from this date (absent: not a party).
    #[serde(default)]
    pub som_party_from: Option<jiff::civil::Date>,
}

/// A unit and what it may do (R11).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitRef {
    /// Its name, as patrol telemetry names it.
    pub name: String,
    /// `warship`, `military_aircraft`, `coastguard_vessel`, `ngo_vessel`, …
    pub kind: String,
    /// Clearly marked and identifiable as on government service.
    pub clearly_marked_government_service: bool,
    /// Authorized for law enforcement.
    pub enforcement_capable: bool,
}

/// A maritime zone (RULES.md `MaritimeZone`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneRef {
    /// Name.
    pub name: String,
    /// `internal_waters`, `territorial_sea`, `contiguous_zone`, `eez`.
    pub kind: String,
    /// Its State.
    pub state: String,
    /// One ring of `[lon, lat]`.
    pub polygon: Vec<[f64; 2]>,
}

/// Reference data: States, units, zones.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// Our State.
    pub own_state: String,
    /// How long we take at most to answer a request where we are the flag State, hours
    /// (art. 8(4) "expeditiously"; R17).
    #[serde(default = "default_sla_h")]
    pub incoming_sla_h: f64,
    /// States.
    #[serde(default, rename = "state")]
    pub states: Vec<StateRef>,
    /// Units.
    #[serde(default, rename = "unit")]
    pub units: Vec<UnitRef>,
    /// Zones.
    #[serde(default, rename = "zone")]
    pub zones: Vec<ZoneRef>,
    /// Agreements with other States (R07, R08): the only source of a measure outside an
    /// authorization, or of an authorization deemed from silence.
    #[serde(default, rename = "agreement")]
    pub agreements: Vec<crate::flag_state::Agreement>,
}

impl Reference {
    /// Parse reference data (TOML).
    pub fn from_toml(text: &str) -> Result<Reference, String> {
        let r: Reference = toml::from_str(text).map_err(|e| format!("reference data: {e}"))?;
        if let Some(z) = r.zones.iter().find(|z| z.polygon.len() < 4) {
            return Err(format!(
                "reference data: zone {:?} needs a closed ring",
                z.name
            ));
        }
        if let Some(p) = r.agreements.iter().find_map(|a| a.problem()) {
            return Err(format!("reference data: agreement {p}"));
        }
        Ok(r)
    }

    /// The shipped reference data.
    pub fn default_demo() -> Reference {
        Reference::from_toml(DEFAULT_REFERENCE).expect("the shipped reference data parses")
    }

    /// Is `state` a party to the Protocol on `date` (R02)?
    pub fn som_party(&self, state: &str, date: jiff::civil::Date) -> Result<bool, Refused> {
        let s = self
            .states
            .iter()
            .find(|s| s.code.eq_ignore_ascii_case(state))
            .ok_or_else(|| {
                refuse(
                    "R02",
                    format!("{state} is not in the reference data: its status under the Protocol is unknown"),
                )
            })?;
        Ok(s.som_party_from.is_some_and(|d| d <= date))
    }

    /// The unit as the Protocol sees it (R11); unknown units may not enforce.
    pub fn unit(&self, name: &str) -> Unit {
        let u = self
            .units
            .iter()
            .find(|u| u.name.eq_ignore_ascii_case(name));
        Unit {
            name: name.to_owned(),
            warship_or_military_aircraft: u
                .is_some_and(|u| matches!(u.kind.as_str(), "warship" | "military_aircraft")),
            clearly_marked_government_service: u
                .is_some_and(|u| u.clearly_marked_government_service),
            enforcement_capable: u.is_some_and(|u| u.enforcement_capable),
        }
    }

    /// The maritime zone of a position: `(kind, state)`, `("high_seas", "")` outside all.
    pub fn zone(&self, lat: f64, lon: f64) -> (String, String) {
        self.zones
            .iter()
            .find(|z| inside(&z.polygon, lon, lat))
            .map_or_else(
                || ("high_seas".to_owned(), String::new()),
                |z| (z.kind.clone(), z.state.clone()),
            )
    }
}

fn default_sla_h() -> f64 {
    4.0
}

/// Is `(x, y)` (longitude, latitude) inside the ring (`[lon, lat]` pairs, closed)?
fn inside(ring: &[[f64; 2]], x: f64, y: f64) -> bool {
    use geo::{Contains, LineString, Point, Polygon};
    let ring: LineString<f64> = ring.iter().map(|&[x, y]| (x, y)).collect();
    Polygon::new(ring, vec![]).contains(&Point::new(x, y))
}
