//! Drift objects: leeway `LW = a·U + b` (knots, U = 10 m wind in knots) and divergence,
//! the manual first-order coefficient set of RULES.md (a) (Danish SAR manual /
//! DMA EPD, from the US Coast Guard leeway research behind IAMSAR's graphs).

use serde::Serialize;

/// A search object's leeway behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DriftObject {
    /// Stable id used on the command line (`flat_bottom_dinghy`).
    pub id: &'static str,
    /// What it is.
    pub name: &'static str,
    /// Leeway per knot of wind (kn/kn).
    pub slope: f64,
    /// Leeway offset, knots.
    pub offset_kn: f64,
    /// Divergence either side of downwind, degrees.
    pub divergence_deg: f64,
    /// Why this class, when it stands in for another.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub note: &'static str,
}

impl DriftObject {
    /// Leeway speed in knots for a wind of `wind_kn` knots, never below zero (R30).
    pub fn leeway_kn(&self, wind_kn: f64) -> f64 {
        (self.slope * wind_kn + self.offset_kn).max(0.0)
    }
}

const fn obj(
    id: &'static str,
    name: &'static str,
    slope: f64,
    offset_kn: f64,
    divergence_deg: f64,
) -> DriftObject {
    DriftObject {
        id,
        name,
        slope,
        offset_kn,
        divergence_deg,
        note: "",
    }
}

/// Every class, the substitute for overcrowded inflatables first.
pub const OBJECTS: [DriftObject; 14] = [
    DriftObject {
        id: "overcrowded_inflatable",
        name: "Overcrowded inflatable (substitute: flat-bottom dinghy)",
        slope: 0.034,
        offset_kn: 0.040,
        divergence_deg: 22.0,
        note: "No leeway table has a class for overcrowded migrant inflatables (RULES.md). A heavily loaded \
               inflatable is a flat-bottomed, low-freeboard craft, so the flat-bottom dinghy coefficients stand in; \
               they drift faster than SAROPS' 'immigration vessel, raft, no sail' (1.56 % U + 8.3 cm/s), which makes \
               the search area larger, not smaller. Replace when measured coefficients exist.",
    },
    obj("person_in_water", "Person in water", 0.011, 0.068, 30.0),
    obj(
        "life_raft_4_6",
        "Life raft 4–6 persons, drogue status unknown",
        0.029,
        0.039,
        20.0,
    ),
    obj(
        "life_raft_4_6_drogue",
        "Life raft 4–6 persons, with drogue",
        0.018,
        0.027,
        16.0,
    ),
    obj(
        "life_raft_4_6_no_drogue",
        "Life raft 4–6 persons, without drogue",
        0.038,
        -0.041,
        20.0,
    ),
    obj(
        "life_raft_15_25",
        "Life raft 15–25 persons, drogue status unknown",
        0.036,
        -0.086,
        14.0,
    ),
    obj(
        "flat_bottom_dinghy",
        "Dinghy, flat bottom",
        0.034,
        0.040,
        22.0,
    ),
    obj("keel_dinghy", "Dinghy, with keel", 0.030, 0.080, 15.0),
    obj("capsized_dinghy", "Dinghy, capsized", 0.017, 0.0, 15.0),
    obj("motorboat", "Motorboat", 0.069, -0.080, 19.0),
    obj("fishing_vessel", "Fishing vessel", 0.042, 0.0, 48.0),
    obj("trawler", "Trawler", 0.040, 0.0, 33.0),
    obj("coaster", "Coaster", 0.028, 0.0, 48.0),
    obj("wreckage", "Wreckage", 0.020, 0.0, 10.0),
];

/// The class with this id.
pub fn object(id: &str) -> Option<&'static DriftObject> {
    OBJECTS.iter().find(|o| o.id == id)
}
