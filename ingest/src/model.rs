//! Normalized observations: what ingest publishes on `obs/...` and fusion consumes.
//!
//! An observation is one thing seen at one time: an AIS message (heard by one or more
//! receivers), a patrol unit's own position fix, a radar target, or a unit's report.
//! Units are in the field names; "not available" is absent (`null`).
//!
//! ```json
//! {"id":"ais-9f1c2a7b3e4d5f60","time":"2026-11-22T02:10:07Z","time_source":"tag_block",
//!  "received_at":"2026-11-22T02:10:07.412Z","receivers":["lampedusa","linosa"],
//!  "data":{"kind":"ais","mmsi":247123456,"msg_type":1,"lat":35.2,"lon":12.9,"sog_kn":13.5,...}}
//! ```

pub(crate) mod json;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ais::message::{DimsOrMothership, StaticData};
use crate::ais::{AisMessage, Body};
use crate::telemetry::{TargetStatus, Telemetry};
use crate::wire::{PatrolReport, UnitId};

/// Where an observation's time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// The tag block `c:` of the (first) receiver: when the receiver heard it.
    TagBlock,
    /// No tag block: when ingest received it.
    Received,
    /// The sender's own time (a patrol report's `time`).
    Sender,
}

/// One normalized observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    /// Stable id: the same AIS transmission heard by several receivers has one id, a
    /// later update of the observation (more receivers) carries the same id, and a
    /// message delivered again (MQTT QoS 1 is at least once) gets the same id again when
    /// its time comes from a tag block. Consumers must treat a known id as an update.
    pub id: String,
    /// When it was observed, UTC.
    pub time: Timestamp,
    /// Where `time` comes from.
    pub time_source: TimeSource,
    /// When ingest received it (first receiver).
    pub received_at: Timestamp,
    /// Every receiver (AIS station, feed, patrol unit) that reported it.
    pub receivers: Vec<String>,
    /// What was observed.
    pub data: ObservationData,
}

/// What an observation holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum ObservationData {
    /// An AIS message.
    Ais(AisObservation),
    /// A patrol unit's own position, course and speed (from its GNSS and compass).
    PatrolFix {
        /// The unit.
        unit: UnitId,
        /// Latitude, degrees (absent in a heading-only or course-only sentence).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lat: Option<f64>,
        /// Longitude, degrees.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lon: Option<f64>,
        /// Speed over ground, knots.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sog_kn: Option<f64>,
        /// Course over ground, degrees true.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cog_deg: Option<f64>,
        /// Heading, degrees true.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        heading_deg: Option<f64>,
    },
    /// A target tracked by a unit's radar.
    RadarTarget {
        /// The unit whose radar.
        unit: UnitId,
        /// The radar's target number.
        target: u8,
        /// Latitude, degrees (TLL).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lat: Option<f64>,
        /// Longitude, degrees (TLL).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lon: Option<f64>,
        /// Range from the unit, nautical miles (TTM).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        range_nm: Option<f64>,
        /// Bearing from the unit, degrees (TTM).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bearing_deg: Option<f64>,
        /// True when the bearing is true, false when relative to the unit's heading.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bearing_true: Option<bool>,
        /// Target speed, knots (TTM).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        speed_kn: Option<f64>,
        /// Target course, degrees (TTM).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        course_deg: Option<f64>,
        /// `lost`, `query` or `tracking`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<TargetStatus>,
    },
    /// A unit's report (sighting, status, persons on board).
    Report {
        /// The unit.
        unit: UnitId,
        /// The report.
        report: PatrolReport,
    },
}

/// The fields of an AIS message that fusion uses, in units; the full message stays
/// available through `tidewatch decode` and the raw archive.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AisObservation {
    /// MMSI of the sender.
    pub mmsi: u32,
    /// Message type, 1–27.
    pub msg_type: u8,
    /// True when the receiver reported its own ship (VDO).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own_ship: bool,
    /// Latitude, degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// Longitude, degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// Position accuracy flag (true: ≤ 10 m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<bool>,
    /// Speed over ground, knots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sog_kn: Option<f64>,
    /// Course over ground, degrees true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cog_deg: Option<f64>,
    /// True heading, degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading_deg: Option<u16>,
    /// Navigational status code (types 1–3, 27): 14 is an active AIS-SART.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nav_status: Option<u8>,
    /// UTC second of the position fix, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_second: Option<u8>,
    /// Vessel (or aid) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Call sign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callsign: Option<String>,
    /// IMO number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imo: Option<u32>,
    /// Ship and cargo type code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_type: Option<u8>,
    /// Length overall, m (bow + stern).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length_m: Option<u16>,
    /// Beam, m (port + starboard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beam_m: Option<u16>,
    /// Draught, m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draught_m: Option<f64>,
    /// Destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// Mothership of an auxiliary craft (type 24 part B of a 98XXXYYYY MMSI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mothership_mmsi: Option<u32>,
    /// Safety-related text (types 12 and 14), e.g. `SART ACTIVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

fn nonempty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn dims(bow: u16, stern: u16, port: u8, starboard: u8) -> (Option<u16>, Option<u16>) {
    let length = bow + stern;
    let beam = u16::from(port) + u16::from(starboard);
    ((length > 0).then_some(length), (beam > 0).then_some(beam))
}

impl AisObservation {
    /// The observation of a decoded message.
    pub fn from_message(m: &AisMessage, own_ship: bool) -> AisObservation {
        let mut o = AisObservation {
            mmsi: m.mmsi,
            msg_type: m.msg_type,
            own_ship,
            ..Default::default()
        };
        if let Some((lon, lat)) = m.position() {
            o.lon = Some(lon);
            o.lat = Some(lat);
        }
        let second = |s: u8| (s < 60).then_some(s);
        match &m.body {
            Body::Position(p) => {
                o.accuracy = Some(p.accuracy);
                o.sog_kn = p.speed_kn();
                o.cog_deg = p.course_deg();
                o.heading_deg = p.heading_deg();
                o.nav_status = Some(p.status);
                o.utc_second = second(p.second);
            }
            Body::ClassB(p) => {
                o.accuracy = Some(p.accuracy);
                o.sog_kn = p.speed_kn();
                o.cog_deg = p.course_deg();
                o.heading_deg = crate::ais::message::heading_deg(p.heading);
                o.utc_second = second(p.second);
            }
            Body::ClassBExtended(p) => {
                o.accuracy = Some(p.accuracy);
                o.sog_kn = crate::ais::message::speed_kn_from_deci(p.speed);
                o.cog_deg = crate::ais::message::course_deg_from_deci(p.course);
                o.heading_deg = crate::ais::message::heading_deg(p.heading);
                o.utc_second = second(p.second);
                o.name = nonempty(&p.shipname);
                o.ship_type = Some(p.shiptype);
                (o.length_m, o.beam_m) = dims(p.to_bow, p.to_stern, p.to_port, p.to_starboard);
            }
            Body::SarAircraft(p) => {
                o.accuracy = Some(p.accuracy);
                o.sog_kn = (p.speed < 1023).then_some(f64::from(p.speed));
                o.cog_deg = crate::ais::message::course_deg_from_deci(p.course);
                o.utc_second = second(p.second);
            }
            Body::LongRange(p) => {
                o.accuracy = Some(p.accuracy);
                o.sog_kn = (p.speed < 63).then_some(f64::from(p.speed));
                o.cog_deg = (p.course < 360).then_some(f64::from(p.course));
                o.nav_status = Some(p.status);
            }
            Body::StaticVoyage(s) => {
                o.name = nonempty(&s.shipname);
                o.callsign = nonempty(&s.callsign);
                o.imo = (s.imo != 0).then_some(s.imo);
                o.ship_type = Some(s.shiptype);
                (o.length_m, o.beam_m) = dims(s.to_bow, s.to_stern, s.to_port, s.to_starboard);
                o.draught_m = (s.draught > 0).then(|| f64::from(s.draught) / 10.0);
                o.destination = nonempty(&s.destination);
            }
            Body::StaticData(StaticData::A { shipname, .. }) => o.name = nonempty(shipname),
            Body::SafetyBroadcast(b) => o.text = nonempty(b.text.trim_end()),
            Body::SafetyAddressed(b) => o.text = nonempty(b.text.trim_end()),
            Body::StaticData(StaticData::B(b)) => {
                o.callsign = nonempty(&b.callsign);
                o.ship_type = Some(b.shiptype);
                match b.dims {
                    DimsOrMothership::Dims {
                        to_bow,
                        to_stern,
                        to_port,
                        to_starboard,
                    } => (o.length_m, o.beam_m) = dims(to_bow, to_stern, to_port, to_starboard),
                    DimsOrMothership::Mothership(m) => o.mothership_mmsi = Some(m),
                }
            }
            Body::AidToNavigation(a) => {
                o.accuracy = Some(a.accuracy);
                o.name = nonempty(&a.name);
                o.utc_second = second(a.second);
            }
            Body::BaseStation(b) => o.accuracy = Some(b.accuracy),
            _ => {}
        }
        o
    }
}

/// A patrol unit's telemetry sentence as observation data.
pub fn from_telemetry(unit: &UnitId, t: &Telemetry) -> Option<ObservationData> {
    let fix = |lat, lon, sog_kn, cog_deg, heading_deg| ObservationData::PatrolFix {
        unit: unit.clone(),
        lat,
        lon,
        sog_kn,
        cog_deg,
        heading_deg,
    };
    Some(match t {
        Telemetry::Rmc {
            valid: true,
            lat,
            lon,
            sog_kn,
            cog_deg,
            ..
        } => fix(*lat, *lon, *sog_kn, *cog_deg, None),
        Telemetry::Gga { lat, lon, .. } if lat.is_some() => fix(*lat, *lon, None, None, None),
        Telemetry::Vtg { cog_deg, sog_kn } => fix(None, None, *sog_kn, *cog_deg, None),
        Telemetry::Hdt { heading_deg } => fix(None, None, None, None, *heading_deg),
        Telemetry::Ttm {
            target,
            distance,
            bearing_deg,
            bearing_true,
            speed,
            course_deg,
            distance_unit,
            status,
            ..
        } => {
            // Ranges and speeds in nautical miles and knots; convert the other units.
            let factor = match distance_unit {
                Some('K') => 1.0 / 1.852,
                Some('S') => 1.609_344 / 1.852,
                _ => 1.0,
            };
            ObservationData::RadarTarget {
                unit: unit.clone(),
                target: *target,
                lat: None,
                lon: None,
                range_nm: distance.map(|d| d * factor),
                bearing_deg: *bearing_deg,
                bearing_true: Some(*bearing_true),
                speed_kn: speed.map(|s| s * factor),
                course_deg: *course_deg,
                status: *status,
            }
        }
        Telemetry::Tll {
            target,
            lat,
            lon,
            status,
            ..
        } => ObservationData::RadarTarget {
            unit: unit.clone(),
            target: *target,
            lat: Some(*lat),
            lon: Some(*lon),
            range_nm: None,
            bearing_deg: None,
            bearing_true: None,
            speed_kn: None,
            course_deg: None,
            status: *status,
        },
        // A fix the receiver marks invalid, a GGA without a fix, ZDA (time only).
        _ => return None,
    })
}
