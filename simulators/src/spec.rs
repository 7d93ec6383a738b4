//! Scenario files: what a scenario is made of, as TOML.
//!
//! ```toml
//! name = "rendezvous"
//! description = "a mother ship meets a small boat far from port"
//! duration = "3h"                  # how long it runs unless told otherwise
//! seed = 1                         # noise and background traffic; `--seed` overrides
//! area = "central-med"             # receivers and background traffic of a sea area
//! background_vessels = 10          # how many (0: none)
//!
//! [[receiver]]                     # AIS receivers (default: the area's)
//! name = "lampedusa"
//! at = [35.52, 12.62]              # [lat, lon], degrees
//! range_nm = 40.0
//!
//! [[zone]]                         # zones fusion watches (GeoJSON for fusion: Scenario::zones_geojson)
//! name = "lampedusa-12nm"
//! polygon = [[35.3, 12.3], [35.8, 12.3], [35.8, 12.9], [35.3, 12.9]]
//!
//! [[vessel]]
//! id = "mother"                    # how events and expectations name it
//! mmsi = 636012345                 # leave out for a craft with no AIS
//! class = "A"                      # A or B
//! name = "OCEAN TRADER"
//! shiptype = 70
//! length_m = 90.0
//! route = [[34.5, 11.9], [34.92, 12.71]]
//! speed_kn = 11.0
//!
//! [[unit]]                         # patrol units: GNSS, compass, radar, taskings
//! id = "cp-301"
//! route = [[35.45, 12.55], [35.2, 12.75]]
//! speed_kn = 12.0
//!
//! [[event]]
//! at = "50m"                       # from the start
//! vessel = "mother"
//! action = "speed"                 # see Action
//! speed_kn = 0.8
//!
//! [[expect]]                       # alerts fusion must raise (tests)
//! kind = "rendezvous"
//! vessel = "mother"
//!
//! [[forbid]]                       # alerts fusion must not raise
//! kind = "dark_target"
//! ```

use jiff::SignedDuration;
use serde::Deserialize;

use crate::geodesy::Position;

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Short name (`rendezvous`), the one `tidewatch simulate` takes.
    pub name: String,
    /// What it shows, in one line.
    pub description: String,
    /// How long it runs unless told otherwise.
    #[serde(default = "default_duration", with = "span")]
    pub duration: SignedDuration,
    /// Seed for noise and background traffic.
    #[serde(default)]
    pub seed: u64,
    /// The sea area whose receivers and traffic lanes are used.
    #[serde(default)]
    pub area: Option<String>,
    /// How many background vessels the area's lanes, ports and fishing grounds hold.
    #[serde(default)]
    pub background_vessels: u32,
    /// AIS receivers; default: the area's.
    #[serde(default, rename = "receiver")]
    pub receivers: Vec<ReceiverSpec>,
    /// Zones for fusion.
    #[serde(default, rename = "zone")]
    pub zones: Vec<ZoneSpec>,
    /// The vessels the story is about.
    #[serde(default, rename = "vessel")]
    pub vessels: Vec<VesselSpec>,
    /// Patrol units.
    #[serde(default, rename = "unit")]
    pub units: Vec<UnitSpec>,
    /// The timeline.
    #[serde(default, rename = "event")]
    pub events: Vec<EventSpec>,
    /// Alerts fusion must raise.
    #[serde(default, rename = "expect")]
    pub expect: Vec<ExpectSpec>,
    /// Alerts fusion must not raise.
    #[serde(default, rename = "forbid")]
    pub forbid: Vec<ExpectSpec>,
}

fn default_duration() -> SignedDuration {
    SignedDuration::from_hours(1)
}

/// An AIS receiver on shore.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverSpec {
    /// Its name: the tag block `s:` and the topic `raw/ais/{name}`.
    pub name: String,
    /// Where it is.
    pub at: Position,
    /// How far it hears a class A transponder, NM (class B: 60 % of it).
    #[serde(default = "default_receiver_range")]
    pub range_nm: f64,
}

fn default_receiver_range() -> f64 {
    40.0
}

/// A zone fusion watches.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    /// Its name.
    pub name: String,
    /// The ring, `[lat, lon]` points (closed or not).
    pub polygon: Vec<Position>,
    /// Only vessels of these AIS ship types are alerted (default: all).
    #[serde(default)]
    pub ship_types: Option<Vec<u8>>,
    /// Alert severity (`info` … `critical`; default: fusion's).
    #[serde(default)]
    pub severity: Option<String>,
}

/// A transponder class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum AisClass {
    /// Class A: types 1–3 and 5.
    A,
    /// Class B (CS): types 18 and 24.
    B,
}

/// A vessel of the story.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VesselSpec {
    /// How events and expectations name it.
    pub id: String,
    /// Its MMSI; none for a craft with no AIS.
    #[serde(default)]
    pub mmsi: Option<u32>,
    /// Transponder class (with `mmsi`).
    #[serde(default = "default_class")]
    pub class: AisClass,
    /// Name as transmitted.
    #[serde(default)]
    pub name: String,
    /// Call sign as transmitted.
    #[serde(default)]
    pub callsign: String,
    /// IMO number (class A).
    #[serde(default)]
    pub imo: u32,
    /// Ship and cargo type (ITU-R M.1371 table 53).
    #[serde(default)]
    pub shiptype: u8,
    /// Length overall, m.
    #[serde(default = "default_length")]
    pub length_m: f64,
    /// Persons on board (what a sighting estimates and a rescue counts).
    #[serde(default)]
    pub persons: u32,
    /// What a patrol would report it as (`rubber_boat`, `wooden_boat`, `fishing_vessel`, …).
    #[serde(default)]
    pub craft: Option<String>,
    /// Waypoints, from where it starts.
    pub route: Vec<Position>,
    /// Speed along the route, kn.
    pub speed_kn: f64,
    /// Sail the route round and round.
    #[serde(default, rename = "loop")]
    pub looping: bool,
    /// Not at sea before this time (from the start).
    #[serde(default, with = "opt_span")]
    pub appear: Option<SignedDuration>,
    /// Appears where this vessel is then (a boat released by a mother ship).
    #[serde(default)]
    pub appear_at: Option<String>,
    /// Navigational status (class A), 0 under way.
    #[serde(default)]
    pub status: u8,
}

fn default_class() -> AisClass {
    AisClass::A
}

fn default_length() -> f64 {
    30.0
}

/// A patrol unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitSpec {
    /// Its id, as in `patrol/{unit}/...`.
    pub id: String,
    /// Its patrol, sailed round and round until tasked.
    pub route: Vec<Position>,
    /// Patrol speed, kn.
    #[serde(default = "default_patrol_speed")]
    pub speed_kn: f64,
    /// Speed when answering a tasking, kn.
    #[serde(default = "default_dash_speed")]
    pub dash_kn: f64,
    /// Radar range on a ship, NM (small craft are seen at a third of it, at most 6 NM).
    #[serde(default = "default_radar_range")]
    pub radar_range_nm: f64,
    /// `ttm`, `tll` or `both`: what the radar reports.
    #[serde(default = "default_radar_output")]
    pub radar: String,
    /// Seconds between GNSS fixes (RMC) and headings (HDT).
    #[serde(default = "default_fix_every")]
    pub fix_every_s: u32,
    /// Seconds between radar target reports.
    #[serde(default = "default_radar_every")]
    pub radar_every_s: u32,
    /// Seen by eye within this range, NM: a craft with no AIS in sight is reported.
    #[serde(default = "default_sight_range")]
    pub sight_range_nm: f64,
    /// Answer taskings (go, search, report on scene, rescue).
    #[serde(default = "yes")]
    pub answers_taskings: bool,
}

fn default_patrol_speed() -> f64 {
    10.0
}
fn default_dash_speed() -> f64 {
    22.0
}
fn default_radar_range() -> f64 {
    16.0
}
fn default_radar_output() -> String {
    "both".to_owned()
}
fn default_fix_every() -> u32 {
    10
}
fn default_radar_every() -> u32 {
    6
}
fn default_sight_range() -> f64 {
    3.0
}
fn yes() -> bool {
    true
}

/// One event on the timeline.
#[derive(Debug, Clone, Deserialize)]
pub struct EventSpec {
    /// When, from the start.
    #[serde(with = "span")]
    pub at: SignedDuration,
    /// To which vessel.
    pub vessel: String,
    /// What happens.
    #[serde(flatten)]
    pub action: Action,
}

/// What can happen to a vessel.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Change speed (0 stops), keeping the route.
    Speed {
        /// New speed, kn.
        speed_kn: f64,
    },
    /// Leave the route for new waypoints, from where it is.
    Route {
        /// The waypoints.
        route: Vec<Position>,
        /// New speed, kn (default: unchanged).
        #[serde(default)]
        speed_kn: Option<f64>,
    },
    /// Engine failure: adrift with wind and current.
    Drift {
        /// The direction it drifts toward, degrees true.
        toward_deg: f64,
        /// Drift rate, kn.
        rate_kn: f64,
    },
    /// Slow circles around where it is (loitering).
    Loiter {
        /// Circle radius, NM.
        #[serde(default = "default_loiter_radius")]
        radius_nm: f64,
        /// Speed, kn.
        #[serde(default = "default_loiter_speed")]
        speed_kn: f64,
    },
    /// The transponder is switched off (going dark).
    AisOff,
    /// The transponder is switched back on.
    AisOn,
    /// The transponder sends another identity from now on (identity swap).
    Identity {
        /// New MMSI.
        #[serde(default)]
        mmsi: Option<u32>,
        /// New name.
        #[serde(default)]
        name: Option<String>,
        /// New call sign.
        #[serde(default)]
        callsign: Option<String>,
    },
    /// The transponder reports a false position, this far off, for a while (spoofing).
    Spoof {
        /// Offset, NM.
        offset_nm: f64,
        /// Direction of the offset, degrees true.
        bearing_deg: f64,
        /// For how long.
        #[serde(with = "span")]
        duration: SignedDuration,
    },
    /// The condition a sighting would report (`overcrowded`, `taking_water`, …).
    Condition {
        /// The condition.
        condition: String,
    },
    /// Capsized: stopped, adrift slowly, persons in the water, its AIS (if any) silent.
    Capsize {
        /// The direction it drifts toward, degrees true.
        #[serde(default)]
        toward_deg: f64,
        /// Drift rate, kn.
        #[serde(default = "default_capsize_drift")]
        rate_kn: f64,
    },
    /// An AIS-SART on board is switched on.
    Sart {
        /// The SART's MMSI (970xxyyyy).
        mmsi: u32,
    },
}

fn default_loiter_radius() -> f64 {
    0.3
}
fn default_loiter_speed() -> f64 {
    1.2
}
fn default_capsize_drift() -> f64 {
    0.6
}

/// An alert a test expects (or forbids).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectSpec {
    /// Alert kind (`rendezvous`, …).
    pub kind: String,
    /// About this vessel (by id): its MMSI among the alert's, or, for a craft with no AIS,
    /// the alert within 2 NM of it. Without: any alert of the kind.
    #[serde(default)]
    pub vessel: Option<String>,
}

/// `"40m"`, `"1h 30m"`, `"90s"`: a duration as a jiff span.
pub(crate) fn parse_span(s: &str) -> Result<SignedDuration, String> {
    let sp: jiff::Span = s
        .parse()
        .map_err(|e| format!("{s:?} is not a duration like 40m or 1h30m: {e}"))?;
    SignedDuration::try_from(sp).map_err(|e| format!("{s:?}: {e}"))
}

mod span {
    use jiff::SignedDuration;
    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SignedDuration, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_span(&s).map_err(serde::de::Error::custom)
    }
}

mod opt_span {
    use jiff::SignedDuration;
    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SignedDuration>, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_span(&s)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}
