//! The first-order search plan of IAMSAR vol. II (RULES.md): datum from the last
//! known position plus total water current and leeway, total probable error, search
//! radius and area, and the search patterns of §2.6 as waypoints.
//!
//! Units: distances **NM**, speeds **knots**, angles **degrees true**, times UTC.
//! Currents are given as the direction they set *toward*; winds as the direction they
//! blow *from*, so leeway runs toward `wind_from + 180°` (R27).

use super::drift::DriftObject;
use crate::Position;
use crate::geodesy::METERS_PER_NM;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What a planner knows: everything a plan is computed from, stored with it so the same
/// inputs give the same plan (R26).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchInputs {
    /// Last known position.
    pub lkp: Position,
    /// When the object was there.
    pub lkp_time: Timestamp,
    /// When the search starts (the datum's time).
    pub at: Timestamp,
    /// The drift object class ([`super::drift::OBJECTS`]).
    pub object: String,
    /// Wind direction it blows **from**, degrees true.
    pub wind_from_deg: f64,
    /// Wind speed (10 m), knots.
    pub wind_kn: f64,
    /// Total water current direction it sets **toward**, degrees true.
    pub current_to_deg: f64,
    /// Total water current rate, knots.
    pub current_kn: f64,
    /// Initial position error X, NM (GPS 0.1, radar 1, visual 1, a relayed phone fix more).
    pub x_nm: f64,
    /// Search unit navigational error Y, NM.
    pub y_nm: f64,
    /// Drift error De, NM; `None`: 0.3 × the drift distance (R28).
    pub de_nm: Option<f64>,
    /// Safety factor fs (1.1 for a first search; more for later ones).
    pub fs: f64,
    /// Track spacing S for the patterns, NM.
    pub spacing_nm: f64,
}

/// One datum (the object's most probable position) and its errors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Datum {
    /// Where.
    pub position: Position,
    /// Drift from the LKP, NM.
    pub drift_nm: f64,
    /// Direction of that drift, degrees true.
    pub drift_bearing_deg: f64,
    /// Drift error De, NM.
    pub de_nm: f64,
    /// Total probable error E = √(X² + Y² + De²), NM (R28).
    pub e_nm: f64,
    /// Search radius R = fs · E, NM.
    pub radius_nm: f64,
}

/// A rectangle on the sea: centre, orientation of its length, dimensions, corners.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchArea {
    /// Centre.
    pub centre: Position,
    /// Bearing of the long axis, degrees true.
    pub axis_deg: f64,
    /// Along the axis, NM.
    pub length_nm: f64,
    /// Across the axis, NM.
    pub width_nm: f64,
    /// Area, NM².
    pub area_nm2: f64,
    /// Corners, clockwise from the one behind-left of the centre.
    pub corners: [Position; 4],
}

/// A search pattern as waypoints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pattern {
    /// IAMSAR code: `SS` (expanding square), `VS` (sector), `PS` (parallel sweep).
    pub code: &'static str,
    /// Commence search point.
    pub csp: Position,
    /// First leg's bearing, degrees true.
    pub first_leg_deg: f64,
    /// Turns: `right` (starboard), or `alternate` (parallel sweep).
    pub turns: &'static str,
    /// Track spacing (SS, PS) or radius (VS), NM.
    pub spacing_nm: f64,
    /// Leg lengths in order, NM.
    pub legs_nm: Vec<f64>,
    /// Total track, NM.
    pub track_nm: f64,
    /// The waypoints: CSP first, then the end of each leg.
    pub waypoints: Vec<Position>,
}

/// A complete first-order plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchPlan {
    /// `manual_iamsar_rss`: E as the root sum of squares of X, Y and De.
    pub method: &'static str,
    /// What it was computed from.
    pub inputs: SearchInputs,
    /// The object class used, with its coefficients.
    pub object: DriftObject,
    /// Hours from the LKP to the search.
    pub hours: f64,
    /// Leeway speed, knots (≥ 0).
    pub leeway_kn: f64,
    /// Downwind bearing (leeway direction), degrees true.
    pub downwind_deg: f64,
    /// The datum downwind (the primary one).
    pub datum: Datum,
    /// The datums with leeway diverging left and right of downwind.
    pub datum_left: Datum,
    /// See `datum_left`.
    pub datum_right: Datum,
    /// Distance between the left and right datums, NM.
    pub divergence_distance_nm: f64,
    /// Point-datum search area 4R², NM².
    pub point_area_nm2: f64,
    /// The rectangle enclosing both divergence circles (the area to search).
    pub area: SearchArea,
    /// Expanding square from the datum (first leg into the wind).
    pub expanding_square: Pattern,
    /// Sector search from the datum (first leg down-drift).
    pub sector: Pattern,
    /// Parallel sweep of the area (CSP ½S inside a corner).
    pub parallel_sweep: Pattern,
}

/// A plan that cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The search would start before the object was last seen.
    #[error("the search time is before the last known position's time")]
    SearchBeforeLkp,
    /// A value out of range.
    #[error("{0}")]
    Range(&'static str),
}

/// `(east, north)` NM of `speed` knots on `bearing` for `hours`.
fn vector(speed_kn: f64, bearing_deg: f64, hours: f64) -> (f64, f64) {
    let b = bearing_deg.to_radians();
    (speed_kn * hours * b.sin(), speed_kn * hours * b.cos())
}

fn polar((east, north): (f64, f64)) -> (f64, f64) {
    let d = east.hypot(north);
    let brg = if d == 0.0 {
        0.0
    } else {
        east.atan2(north).to_degrees().rem_euclid(360.0)
    };
    (d, brg)
}

/// `p` moved `nm` on `bearing` (a negative distance goes the other way).
fn go(p: Position, bearing_deg: f64, nm: f64) -> Position {
    if nm < 0.0 {
        p.destination((bearing_deg + 180.0).rem_euclid(360.0), -nm * METERS_PER_NM)
    } else {
        p.destination(bearing_deg.rem_euclid(360.0), nm * METERS_PER_NM)
    }
}

/// Compute the plan.
pub fn plan(inputs: &SearchInputs, object: &DriftObject) -> Result<SearchPlan, PlanError> {
    let i = inputs;
    let hours = i.at.duration_since(i.lkp_time).as_secs_f64() / 3600.0;
    if hours < 0.0 {
        return Err(PlanError::SearchBeforeLkp);
    }
    let finite_nonneg = |v: f64| v.is_finite() && v >= 0.0;
    if !(finite_nonneg(i.wind_kn) && finite_nonneg(i.current_kn)) {
        return Err(PlanError::Range(
            "wind and current speeds must be 0 or more knots",
        ));
    }
    if !(finite_nonneg(i.x_nm) && finite_nonneg(i.y_nm) && i.de_nm.is_none_or(finite_nonneg)) {
        return Err(PlanError::Range("X, Y and De must be 0 or more NM"));
    }
    if !(i.fs.is_finite() && i.fs >= 1.0) {
        return Err(PlanError::Range("the safety factor fs must be at least 1"));
    }
    if !(i.spacing_nm.is_finite() && i.spacing_nm > 0.0) {
        return Err(PlanError::Range("the track spacing must be more than 0 NM"));
    }
    let downwind = (i.wind_from_deg + 180.0).rem_euclid(360.0);
    let leeway = object.leeway_kn(i.wind_kn);
    let current = vector(i.current_kn, i.current_to_deg, hours);
    let datum_at = |leeway_bearing: f64| {
        let lw = vector(leeway, leeway_bearing, hours);
        let (drift_nm, drift_bearing_deg) = polar((current.0 + lw.0, current.1 + lw.1));
        let de_nm = i.de_nm.unwrap_or(0.3 * drift_nm);
        let e_nm = (i.x_nm.powi(2) + i.y_nm.powi(2) + de_nm.powi(2)).sqrt();
        Datum {
            position: go(i.lkp, drift_bearing_deg, drift_nm),
            drift_nm,
            drift_bearing_deg,
            de_nm,
            e_nm,
            radius_nm: i.fs * e_nm,
        }
    };
    let datum = datum_at(downwind);
    let datum_left = datum_at(downwind - object.divergence_deg);
    let datum_right = datum_at(downwind + object.divergence_deg);
    let dd = datum_left.position.distance_m(datum_right.position) / METERS_PER_NM;
    // The rectangle enclosing both circles, along the line joining the datums; a square
    // of side 2R along the drift when they coincide.
    let (axis, length, width, centre) = if dd > 1e-9 {
        let axis = datum_left.position.bearing_deg(datum_right.position);
        let (rl, rr) = (datum_left.radius_nm, datum_right.radius_nm);
        let length = dd + rl + rr;
        let centre = go(datum_left.position, axis, (dd + rr - rl) / 2.0);
        (axis, length, 2.0 * rl.max(rr), centre)
    } else {
        let side = 2.0 * datum.radius_nm;
        (datum.drift_bearing_deg, side, side, datum.position)
    };
    let corner = |along: f64, across: f64| {
        go(
            go(centre, axis, along * length / 2.0),
            axis + 90.0,
            across * width / 2.0,
        )
    };
    let area = SearchArea {
        centre,
        axis_deg: axis,
        length_nm: length,
        width_nm: width,
        area_nm2: length * width,
        corners: [
            corner(-1.0, -1.0),
            corner(1.0, -1.0),
            corner(1.0, 1.0),
            corner(-1.0, 1.0),
        ],
    };
    let into_wind = if i.wind_kn > 0.0 {
        i.wind_from_deg.rem_euclid(360.0)
    } else {
        datum.drift_bearing_deg
    };
    let expanding_square = expanding_square(
        datum.position,
        into_wind,
        i.spacing_nm,
        2.0 * datum.radius_nm,
    );
    let sector = sector(
        datum.position,
        datum.drift_bearing_deg,
        datum.radius_nm.clamp(2.0, 5.0),
    );
    let parallel_sweep = parallel_sweep(&area, i.spacing_nm);
    Ok(SearchPlan {
        method: "manual_iamsar_rss",
        inputs: i.clone(),
        object: *object,
        hours,
        leeway_kn: leeway,
        downwind_deg: downwind,
        point_area_nm2: 4.0 * datum.radius_nm.powi(2),
        datum,
        datum_left,
        datum_right,
        divergence_distance_nm: dd,
        area,
        expanding_square,
        sector,
        parallel_sweep,
    })
}

fn walk(
    code: &'static str,
    turns: &'static str,
    csp: Position,
    first: f64,
    spacing_nm: f64,
    legs: Vec<(f64, f64)>,
) -> Pattern {
    let mut waypoints = vec![csp];
    let mut p = csp;
    for &(bearing, nm) in &legs {
        p = go(p, bearing, nm);
        waypoints.push(p);
    }
    let legs_nm: Vec<f64> = legs.iter().map(|(_, nm)| *nm).collect();
    Pattern {
        code,
        csp,
        first_leg_deg: first.rem_euclid(360.0),
        turns,
        spacing_nm,
        track_nm: legs_nm.iter().sum(),
        legs_nm,
        waypoints,
    }
}

/// Expanding square (SS): CSP at the datum, leg k of ⌈k/2⌉·S, 90° turns to starboard,
/// enough legs to cover a square of side `side_nm` (R29).
pub fn expanding_square(
    datum: Position,
    first_leg_deg: f64,
    spacing_nm: f64,
    side_nm: f64,
) -> Pattern {
    let n = 2 * (side_nm / spacing_nm).ceil().max(1.0) as usize;
    let legs = (1..=n)
        .map(|k| {
            (
                first_leg_deg + 90.0 * (k - 1) as f64,
                k.div_ceil(2) as f64 * spacing_nm,
            )
        })
        .collect();
    walk("SS", "right", datum, first_leg_deg, spacing_nm, legs)
}

/// Sector search (VS), 120° pattern: three equilateral triangles of side `radius_nm` with a
/// vertex at the datum, nine legs, three passes through the datum, turns of 120° to
/// starboard except when passing the datum; total track 9r (R29). The outer points are
/// placed from the datum, so every pass goes through it exactly.
pub fn sector(datum: Position, first_leg_deg: f64, radius_nm: f64) -> Pattern {
    let out = |offset: f64| go(datum, first_leg_deg + offset, radius_nm);
    let waypoints = vec![
        datum,
        out(0.0),
        out(60.0),
        datum,
        out(240.0),
        out(300.0),
        datum,
        out(120.0),
        out(180.0),
        datum,
    ];
    let legs_nm: Vec<f64> = waypoints
        .windows(2)
        .map(|w| w[0].distance_m(w[1]) / METERS_PER_NM)
        .collect();
    Pattern {
        code: "VS",
        csp: datum,
        first_leg_deg: first_leg_deg.rem_euclid(360.0),
        turns: "right",
        spacing_nm: radius_nm,
        track_nm: legs_nm.iter().sum(),
        legs_nm,
        waypoints,
    }
}

/// Parallel sweep (PS) of `area`: legs parallel to its long side, S apart, CSP ½S inside
/// a corner (R29), each leg the length less S (½S inset at each end).
pub fn parallel_sweep(area: &SearchArea, spacing_nm: f64) -> Pattern {
    let (along, len, wid) = if area.length_nm >= area.width_nm {
        (area.axis_deg, area.length_nm, area.width_nm)
    } else {
        (area.axis_deg + 90.0, area.width_nm, area.length_nm)
    };
    let across = along + 90.0;
    let csp = go(
        go(area.centre, along, -(len / 2.0 - spacing_nm / 2.0)),
        across,
        -(wid / 2.0 - spacing_nm / 2.0),
    );
    let n = ((wid / spacing_nm).round() as usize).max(1);
    let leg = (len - spacing_nm).max(0.0);
    let mut legs = Vec::with_capacity(2 * n);
    for k in 0..n {
        let dir = if k % 2 == 0 { along } else { along + 180.0 };
        legs.push((dir.rem_euclid(360.0), leg));
        if k + 1 < n {
            legs.push((across.rem_euclid(360.0), spacing_nm));
        }
    }
    walk("PS", "alternate", csp, along, spacing_nm, legs)
}

impl SearchPlan {
    /// The plan as a GeoJSON FeatureCollection: the LKP, the three datums, the search
    /// area and each pattern's track, with what they are in `properties`.
    pub fn to_geojson(&self) -> serde_json::Value {
        let pt = |p: Position| serde_json::json!({"type": "Point", "coordinates": [p.lon, p.lat]});
        let line = |ps: &[Position]| serde_json::json!({"type": "LineString", "coordinates": ps.iter().map(|p| [p.lon, p.lat]).collect::<Vec<_>>()});
        let feature = |geometry: serde_json::Value, props: serde_json::Value| serde_json::json!({"type": "Feature", "geometry": geometry, "properties": props});
        let mut ring: Vec<[f64; 2]> = self.area.corners.iter().map(|p| [p.lon, p.lat]).collect();
        ring.push(ring[0]);
        let mut features = vec![
            feature(
                pt(self.inputs.lkp),
                serde_json::json!({"name": "LKP", "time": self.inputs.lkp_time}),
            ),
            feature(
                pt(self.datum.position),
                serde_json::json!({"name": "datum", "time": self.inputs.at, "radius_nm": self.datum.radius_nm}),
            ),
            feature(
                pt(self.datum_left.position),
                serde_json::json!({"name": "datum left", "radius_nm": self.datum_left.radius_nm}),
            ),
            feature(
                pt(self.datum_right.position),
                serde_json::json!({"name": "datum right", "radius_nm": self.datum_right.radius_nm}),
            ),
            feature(
                serde_json::json!({"type": "Polygon", "coordinates": [ring]}),
                serde_json::json!({"name": "search area", "area_nm2": self.area.area_nm2}),
            ),
        ];
        for p in [&self.expanding_square, &self.sector, &self.parallel_sweep] {
            features.push(feature(
                line(&p.waypoints),
                serde_json::json!({"name": p.code, "spacing_nm": p.spacing_nm, "track_nm": p.track_nm}),
            ));
        }
        serde_json::json!({"type": "FeatureCollection", "features": features})
    }
}
