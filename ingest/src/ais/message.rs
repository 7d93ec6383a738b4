//! The AIS messages, types 1–27, with every field (ITU-R M.1371-5).
//!
//! Each field keeps the exact transmitted integer; accessors derive values in units
//! (`speed_kn()`, `position()`) and return `None` for "not available". Each message type
//! lists its layout once in `walk` (see [`super::walk`]), which drives decoding,
//! encoding and both JSON formats.
//!
//! Field names that start with `~` are decoded and shown in our JSON, but not in gpsd's,
//! because gpsd 3.22 does not print them (for example the `assigned` flag of type 18).

use super::application::Fields;
use super::bits::{Bits, trim_right_blanks};
use super::tables::{AID_TYPE, EPFD, NAV_STATUS, SHIP_TYPE, STATION_TYPE};
use super::walk::{CoordRes, Eta, Fmt, Payload, UtcFields, Walker};

const MIN: CoordRes = CoordRes::TenThousandthMinute;
const TENTH: CoordRes = CoordRes::TenthMinute;

/// A decoded AIS message: the common header and the type-specific body.
#[derive(Debug, Clone, PartialEq)]
pub struct AisMessage {
    /// Message type, 1–27.
    pub msg_type: u8,
    /// Repeat indicator, 0–3.
    pub repeat: u8,
    /// Source MMSI (nine digits, leading zeros dropped).
    pub mmsi: u32,
    /// The type-specific fields.
    pub body: Body,
}

/// The type-specific part of an AIS message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Body {
    /// Types 1, 2, 3: class A position report.
    Position(PositionReport),
    /// Types 4 and 11: base station report / UTC date response.
    BaseStation(BaseStationReport),
    /// Type 5: class A static and voyage related data.
    StaticVoyage(StaticVoyage),
    /// Type 6: addressed binary message.
    BinaryAddressed(BinaryAddressed),
    /// Types 7 and 13: binary / safety acknowledge.
    Acknowledge(Acknowledge),
    /// Type 8: binary broadcast message.
    BinaryBroadcast(BinaryBroadcast),
    /// Type 9: SAR aircraft position report.
    SarAircraft(SarAircraft),
    /// Type 10: UTC/date inquiry.
    UtcInquiry(UtcInquiry),
    /// Type 12: addressed safety related message.
    SafetyAddressed(SafetyAddressed),
    /// Type 14: safety related broadcast.
    SafetyBroadcast(SafetyBroadcast),
    /// Type 15: interrogation.
    Interrogation(Interrogation),
    /// Type 16: assignment mode command.
    Assignment(Assignment),
    /// Type 17: DGNSS broadcast binary message.
    Dgnss(Dgnss),
    /// Type 18: standard class B position report.
    ClassB(ClassBPosition),
    /// Type 19: extended class B position report.
    ClassBExtended(ClassBExtended),
    /// Type 20: data link management.
    DataLinkManagement(DataLinkManagement),
    /// Type 21: aid-to-navigation report.
    AidToNavigation(AidToNavigation),
    /// Type 22: channel management.
    ChannelManagement(ChannelManagement),
    /// Type 23: group assignment command.
    GroupAssignment(GroupAssignment),
    /// Type 24: static data report (part A or B).
    StaticData(StaticData),
    /// Type 25: single slot binary message.
    SingleSlotBinary(SlotBinary),
    /// Type 26: multiple slot binary message.
    MultiSlotBinary(SlotBinary),
    /// Type 27: long range position report.
    LongRange(LongRange),
}

// ---------------------------------------------------------------------------------
// Quantities shared by several types

/// Latitude/longitude in degrees from raw values, `None` when not available
/// (longitude 181°, latitude 91°) or out of range.
pub fn degrees(lon_raw: i32, lat_raw: i32, res: CoordRes) -> Option<(f64, f64)> {
    let per = res.per_degree();
    let lon = f64::from(lon_raw) / per;
    let lat = f64::from(lat_raw) / per;
    ((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)).then_some((lon, lat))
}

/// Speed in knots from 0.1-kn units (1023 = not available; 1022 means ≥ 102.2 kn).
pub fn speed_kn_from_deci(raw: u16) -> Option<f64> {
    (raw < 1023).then(|| f64::from(raw) / 10.0)
}

/// Course in degrees from 0.1° units (3600 = not available, larger values invalid).
pub fn course_deg_from_deci(raw: u16) -> Option<f64> {
    (raw < 3600).then(|| f64::from(raw) / 10.0)
}

/// True heading in degrees (511 = not available, 360–510 invalid).
pub fn heading_deg(raw: u16) -> Option<u16> {
    (raw < 360).then_some(raw)
}

/// Rate of turn in degrees per minute from ROT_AIS (`None` for −128, not available;
/// ±127 means turning faster than 5°/30 s with no turn indicator: shown as ±708°/min,
/// the largest value the formula gives).
pub fn turn_deg_per_min(raw: i8) -> Option<f64> {
    if raw == -128 {
        return None;
    }
    let r = f64::from(raw) / 4.733;
    Some(r * r * f64::from(raw).signum())
}

// ---------------------------------------------------------------------------------
// Types 1, 2, 3

/// Class A position report (types 1, 2, 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PositionReport {
    /// Navigational status, 0–15 (15 = not defined; 14 = AIS-SART active).
    pub status: u8,
    /// Rate of turn as ROT_AIS (−128 = not available); see [`turn_deg_per_min`].
    pub turn: i8,
    /// Speed over ground in 0.1 kn (1023 = not available).
    pub speed: u16,
    /// Position accuracy flag: true = high (≤ 10 m).
    pub accuracy: bool,
    /// Longitude in 1/10 000 minute (181° = not available).
    pub lon: i32,
    /// Latitude in 1/10 000 minute (91° = not available).
    pub lat: i32,
    /// Course over ground in 0.1° (3600 = not available).
    pub course: u16,
    /// True heading in degrees (511 = not available).
    pub heading: u16,
    /// UTC second of the fix (60–63 = not available / special).
    pub second: u8,
    /// Special manoeuvre indicator, 0–2.
    pub maneuver: u8,
    /// Spare bits (3), kept so the message re-encodes exactly.
    pub spare: u8,
    /// RAIM flag.
    pub raim: bool,
    /// Radio status (SOTDMA/ITDMA communication state), 19 bits (fewer in a report
    /// cut short: the bits that arrived).
    pub radio: u32,
}

impl PositionReport {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        w.u(&mut self.status, 38, 4, "status", Fmt::Lookup(NAV_STATUS));
        w.i(&mut self.turn, 42, 8, "turn", Fmt::Turn);
        w.u(&mut self.speed, 50, 10, "speed", Fmt::SpeedDeciKnots);
        w.flag(&mut self.accuracy, 60, "accuracy");
        w.i(&mut self.lon, 61, 28, "lon", Fmt::Lon(MIN));
        w.i(&mut self.lat, 89, 27, "lat", Fmt::Lat(MIN));
        w.u(&mut self.course, 116, 12, "course", Fmt::CourseDeciDegrees);
        w.u(&mut self.heading, 128, 9, "heading", Fmt::Heading);
        w.u(&mut self.second, 137, 6, "second", Fmt::Second);
        w.u(&mut self.maneuver, 143, 2, "maneuver", Fmt::Plain);
        w.u(&mut self.spare, 145, 3, "~spare", Fmt::Plain);
        w.flag(&mut self.raim, 148, "raim");
        // A report cut short (163–167 bits, which gpsd accepts) has a shorter radio field.
        let radio_width = match w.bits() {
            Some(b) => b.len().saturating_sub(149).min(19),
            None => 19,
        };
        w.u(&mut self.radio, 149, radio_width, "radio", Fmt::Plain);
    }

    /// Position in degrees (longitude, latitude), `None` when not available.
    pub fn position(&self) -> Option<(f64, f64)> {
        degrees(self.lon, self.lat, MIN)
    }
    /// Speed over ground in knots.
    pub fn speed_kn(&self) -> Option<f64> {
        speed_kn_from_deci(self.speed)
    }
    /// Course over ground in degrees true.
    pub fn course_deg(&self) -> Option<f64> {
        course_deg_from_deci(self.course)
    }
    /// True heading in degrees.
    pub fn heading_deg(&self) -> Option<u16> {
        heading_deg(self.heading)
    }
}

// ---------------------------------------------------------------------------------
// Types 4, 11

/// Base station report (type 4) or UTC/date response (type 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BaseStationReport {
    /// UTC date and time as transmitted.
    pub utc: UtcFields,
    /// Position accuracy flag.
    pub accuracy: bool,
    /// Longitude in 1/10 000 minute.
    pub lon: i32,
    /// Latitude in 1/10 000 minute.
    pub lat: i32,
    /// Type of electronic position fixing device, 0–15.
    pub epfd: u8,
    /// Spare bits (10).
    pub spare: u16,
    /// RAIM flag.
    pub raim: bool,
    /// Radio status, 19 bits.
    pub radio: u32,
}

impl BaseStationReport {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        w.utc(&mut self.utc, 38, "timestamp");
        w.flag(&mut self.accuracy, 78, "accuracy");
        w.i(&mut self.lon, 79, 28, "lon", Fmt::Lon(MIN));
        w.i(&mut self.lat, 107, 27, "lat", Fmt::Lat(MIN));
        w.u(&mut self.epfd, 134, 4, "epfd", Fmt::Lookup(EPFD));
        w.u(&mut self.spare, 138, 10, "~spare", Fmt::Plain);
        w.flag(&mut self.raim, 148, "raim");
        w.u(&mut self.radio, 149, 19, "radio", Fmt::Plain);
    }
    /// Position in degrees (longitude, latitude).
    pub fn position(&self) -> Option<(f64, f64)> {
        degrees(self.lon, self.lat, MIN)
    }
}

// ---------------------------------------------------------------------------------
// Type 5

/// Class A static and voyage related data (type 5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StaticVoyage {
    /// AIS version indicator, 0–3.
    pub ais_version: u8,
    /// IMO number (0 = not available).
    pub imo: u32,
    /// Call sign, up to 7 characters.
    pub callsign: String,
    /// Vessel name, up to 20 characters.
    pub shipname: String,
    /// Type of ship and cargo, 0–255.
    pub shiptype: u8,
    /// Distance from the reference point to the bow, m.
    pub to_bow: u16,
    /// Distance from the reference point to the stern, m.
    pub to_stern: u16,
    /// Distance from the reference point to port, m.
    pub to_port: u8,
    /// Distance from the reference point to starboard, m.
    pub to_starboard: u8,
    /// Type of electronic position fixing device.
    pub epfd: u8,
    /// Estimated time of arrival.
    pub eta: Eta,
    /// Maximum present static draught in 0.1 m (0 = not available).
    pub draught: u8,
    /// Destination, up to 20 characters.
    pub destination: String,
    /// Data terminal equipment: 0 = available.
    pub dte: u8,
    /// Spare bit.
    pub spare: bool,
}

impl StaticVoyage {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        w.u(&mut self.ais_version, 38, 2, "ais_version", Fmt::Plain);
        w.u(&mut self.imo, 40, 30, "imo", Fmt::Plain);
        w.text(&mut self.callsign, 70, 7, "callsign");
        w.text(&mut self.shipname, 112, 20, "shipname");
        w.u(
            &mut self.shiptype,
            232,
            8,
            "shiptype",
            Fmt::Lookup(SHIP_TYPE),
        );
        w.u(&mut self.to_bow, 240, 9, "to_bow", Fmt::Meters);
        w.u(&mut self.to_stern, 249, 9, "to_stern", Fmt::Meters);
        w.u(&mut self.to_port, 258, 6, "to_port", Fmt::Meters);
        w.u(&mut self.to_starboard, 264, 6, "to_starboard", Fmt::Meters);
        w.u(&mut self.epfd, 270, 4, "epfd", Fmt::Lookup(EPFD));
        w.eta(&mut self.eta, 274, "eta");
        w.u(&mut self.draught, 294, 8, "draught", Fmt::DraughtDeciMeters);
        w.text(&mut self.destination, 302, 20, "destination");
        // gpsd reads the DTE flag only when the message reaches it (420–422 bits are
        // accepted); a missing flag reads 0, "available".
        if w.bits().is_none_or(|b| b.len() >= 423) {
            w.u(&mut self.dte, 422, 1, "dte", Fmt::Plain);
        } else {
            self.dte = 0;
            w.derived(&mut |e| e.uint("dte", 0));
        }
        w.flag(&mut self.spare, 423, "~spare");
    }
}

// ---------------------------------------------------------------------------------
// Types 6, 8 (binary with DAC/FI)

/// Addressed binary message (type 6).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BinaryAddressed {
    /// Sequence number, 0–3.
    pub seqno: u8,
    /// Destination MMSI.
    pub dest_mmsi: u32,
    /// Retransmit flag.
    pub retransmit: bool,
    /// Spare bit.
    pub spare: bool,
    /// Designated area code.
    pub dac: u16,
    /// Function identifier.
    pub fid: u8,
    /// The application payload (after DAC/FI), kept whole.
    pub data: Payload,
    /// The payload decoded, where its DAC/FI is one gpsd decodes.
    pub decoded: Option<Fields>,
}

impl BinaryAddressed {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        w.u(&mut self.seqno, 38, 2, "seqno", Fmt::Plain);
        w.u(&mut self.dest_mmsi, 40, 30, "dest_mmsi", Fmt::Plain);
        w.flag(&mut self.retransmit, 70, "retransmit");
        w.flag(&mut self.spare, 71, "~spare");
        w.u(&mut self.dac, 72, 10, "dac", Fmt::Plain);
        w.u(&mut self.fid, 82, 6, "fid", Fmt::Plain);
        walk_application(w, &mut self.data, self.decoded.as_ref(), 88);
    }
}

/// Binary broadcast message (type 8).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BinaryBroadcast {
    /// Spare bits (2).
    pub spare: u8,
    /// Designated area code.
    pub dac: u16,
    /// Function identifier.
    pub fid: u8,
    /// The application payload (after DAC/FI), kept whole.
    pub data: Payload,
    /// The payload decoded, where its DAC/FI is one gpsd decodes.
    pub decoded: Option<Fields>,
}

impl BinaryBroadcast {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        w.u(&mut self.spare, 38, 2, "~spare", Fmt::Plain);
        w.u(&mut self.dac, 40, 10, "dac", Fmt::Plain);
        w.u(&mut self.fid, 50, 6, "fid", Fmt::Plain);
        walk_application(w, &mut self.data, self.decoded.as_ref(), 56);
    }
}

/// The payload of a DAC/FI message: decoded fields when there are some, else raw data.
/// Readers and writers always see the raw payload, so nothing is lost either way.
fn walk_application<W: Walker>(
    w: &mut W,
    data: &mut Payload,
    decoded: Option<&Fields>,
    start: usize,
) {
    match decoded {
        Some(fields) => {
            w.data(data, start, None, "~data");
            w.application(fields);
        }
        None => w.data(data, start, None, "data"),
    }
}

// ---------------------------------------------------------------------------------
// Types 7, 13

/// Binary acknowledge (type 7) or safety related acknowledge (type 13): up to four
/// acknowledged stations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Acknowledge {
    /// Spare bits (2).
    pub spare: u8,
    /// Acknowledged (MMSI, sequence number) pairs; MMSI 0 where the slot is absent.
    pub acks: [(u32, u8); 4],
}

impl Acknowledge {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        const MMSI: [&str; 4] = ["mmsi1", "mmsi2", "mmsi3", "mmsi4"];
        const SEQ: [&str; 4] = ["~seqno1", "~seqno2", "~seqno3", "~seqno4"];
        w.u(&mut self.spare, 38, 2, "~spare", Fmt::Plain);
        let len = w.bit_len();
        for (k, (mmsi, seq)) in self.acks.iter_mut().enumerate() {
            let start = 40 + 32 * k;
            // Absent slots are zero when read and are not written.
            if len > start || *mmsi != 0 || *seq != 0 {
                w.u(mmsi, start, 30, MMSI[k], Fmt::Plain);
                w.u(seq, start + 30, 2, SEQ[k], Fmt::Plain);
            } else {
                w.derived(&mut |e| e.uint(MMSI[k], 0));
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// Type 9

/// SAR aircraft position report (type 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SarAircraft {
    /// Altitude (GNSS) in m (4095 = not available, 4094 = 4094 m or higher).
    pub alt: u16,
    /// Speed over ground in knots (1023 = not available, 1022 = 1022 kn or higher).
    pub speed: u16,
    /// Position accuracy flag.
    pub accuracy: bool,
    /// Longitude in 1/10 000 minute.
    pub lon: i32,
    /// Latitude in 1/10 000 minute.
    pub lat: i32,
    /// Course over ground in 0.1°.
    pub course: u16,
    /// UTC second.
    pub second: u8,
    /// Regional reserved bits (8).
    pub regional: u8,
    /// Data terminal equipment: 0 = available.
    pub dte: u8,
    /// Spare bits (3).
    pub spare: u8,
    /// Assigned mode flag.
    pub assigned: bool,
    /// RAIM flag.
    pub raim: bool,
    /// Radio status, 20 bits.
    pub radio: u32,
}

impl SarAircraft {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        w.u(&mut self.alt, 38, 12, "alt", Fmt::AltitudeMeters);
        w.u(&mut self.speed, 50, 10, "speed", Fmt::SpeedKnots(1023));
        w.flag(&mut self.accuracy, 60, "accuracy");
        w.i(&mut self.lon, 61, 28, "lon", Fmt::Lon(MIN));
        w.i(&mut self.lat, 89, 27, "lat", Fmt::Lat(MIN));
        w.u(&mut self.course, 116, 12, "course", Fmt::CourseDeciDegrees);
        w.u(&mut self.second, 128, 6, "second", Fmt::Second);
        w.u(&mut self.regional, 134, 8, "regional", Fmt::Plain);
        w.u(&mut self.dte, 142, 1, "dte", Fmt::Plain);
        w.u(&mut self.spare, 143, 3, "~spare", Fmt::Plain);
        w.flag(&mut self.assigned, 146, "~assigned");
        w.flag(&mut self.raim, 147, "raim");
        w.u(&mut self.radio, 148, 20, "radio", Fmt::Plain);
    }
    /// Position in degrees (longitude, latitude).
    pub fn position(&self) -> Option<(f64, f64)> {
        degrees(self.lon, self.lat, MIN)
    }
}

// ---------------------------------------------------------------------------------
// Type 10

/// UTC/date inquiry (type 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UtcInquiry {
    /// Spare bits before the destination (2).
    pub spare: u8,
    /// Destination MMSI.
    pub dest_mmsi: u32,
    /// Spare bits after the destination (2).
    pub spare2: u8,
}

impl UtcInquiry {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        w.u(&mut self.spare, 38, 2, "~spare", Fmt::Plain);
        w.u(&mut self.dest_mmsi, 40, 30, "dest_mmsi", Fmt::Plain);
        w.u(&mut self.spare2, 70, 2, "~spare2", Fmt::Plain);
    }
}

// ---------------------------------------------------------------------------------
// Types 12, 14

/// Characters of six-bit text from `start` to the end of the message.
fn text_chars(len: usize, start: usize) -> usize {
    len.saturating_sub(start) / 6
}

/// Addressed safety related message (type 12).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SafetyAddressed {
    /// Sequence number, 0–3.
    pub seqno: u8,
    /// Destination MMSI.
    pub dest_mmsi: u32,
    /// Retransmit flag.
    pub retransmit: bool,
    /// Spare bit.
    pub spare: bool,
    /// Safety related text, up to 156 characters.
    pub text: String,
}

impl SafetyAddressed {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        w.u(&mut self.seqno, 38, 2, "seqno", Fmt::Plain);
        w.u(&mut self.dest_mmsi, 40, 30, "dest_mmsi", Fmt::Plain);
        w.flag(&mut self.retransmit, 70, "retransmit");
        w.flag(&mut self.spare, 71, "~spare");
        let n = text_chars(w.bit_len(), 72).max(self.text.chars().count());
        w.text(&mut self.text, 72, n, "text");
    }
}

/// Safety related broadcast message (type 14).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SafetyBroadcast {
    /// Spare bits (2).
    pub spare: u8,
    /// Safety related text, up to 161 characters.
    pub text: String,
}

impl SafetyBroadcast {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        w.u(&mut self.spare, 38, 2, "~spare", Fmt::Plain);
        let n = text_chars(w.bit_len(), 40).max(self.text.chars().count());
        w.text(&mut self.text, 40, n, "text");
    }
}

// ---------------------------------------------------------------------------------
// Type 15

/// Interrogation (type 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interrogation {
    /// First interrogated MMSI.
    pub mmsi1: u32,
    /// First message type requested from station 1.
    pub type1_1: u8,
    /// Slot offset of that reply.
    pub offset1_1: u16,
    /// Second message type requested from station 1.
    pub type1_2: u8,
    /// Slot offset of that reply.
    pub offset1_2: u16,
    /// Second interrogated MMSI.
    pub mmsi2: u32,
    /// Message type requested from station 2.
    pub type2_1: u8,
    /// Slot offset of that reply.
    pub offset2_1: u16,
    /// Spare bits, in order (2 each).
    pub spares: [u8; 4],
}

impl Interrogation {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        let [s0, s1, s2, s3] = &mut self.spares;
        w.u(s0, 38, 2, "~spare", Fmt::Plain);
        w.u(&mut self.mmsi1, 40, 30, "mmsi1", Fmt::Plain);
        w.u(&mut self.type1_1, 70, 6, "type1_1", Fmt::Plain);
        w.u(&mut self.offset1_1, 76, 12, "offset1_1", Fmt::Plain);
        // The second request to station 1, and the request to station 2, are optional
        // (88, 110 or 160 bits). As in gpsd, a part is read when the message goes past
        // its start, and is zero otherwise.
        let len = w.bits().map(Bits::len);
        let has = |start: usize, present: bool| len.map_or(present, |l| l > start);
        if has(
            90,
            self.type1_2 != 0
                || self.offset1_2 != 0
                || self.mmsi2 != 0
                || self.type2_1 != 0
                || self.offset2_1 != 0,
        ) {
            w.u(s1, 88, 2, "~spare2", Fmt::Plain);
            w.u(&mut self.type1_2, 90, 6, "type1_2", Fmt::Plain);
            w.u(&mut self.offset1_2, 96, 12, "offset1_2", Fmt::Plain);
        } else {
            w.derived(&mut |e| {
                e.uint("type1_2", 0);
                e.uint("offset1_2", 0);
            });
        }
        if has(
            110,
            self.mmsi2 != 0 || self.type2_1 != 0 || self.offset2_1 != 0,
        ) {
            w.u(s2, 108, 2, "~spare3", Fmt::Plain);
            w.u(&mut self.mmsi2, 110, 30, "mmsi2", Fmt::Plain);
            w.u(&mut self.type2_1, 140, 6, "type2_1", Fmt::Plain);
            w.u(&mut self.offset2_1, 146, 12, "offset2_1", Fmt::Plain);
            w.u(s3, 158, 2, "~spare4", Fmt::Plain);
        } else {
            w.derived(&mut |e| {
                e.uint("mmsi2", 0);
                e.uint("type2_1", 0);
                e.uint("offset2_1", 0);
            });
        }
    }
}

// ---------------------------------------------------------------------------------
// Type 16

/// Assignment mode command (type 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Assignment {
    /// Spare bits (2).
    pub spare: u8,
    /// First destination MMSI.
    pub mmsi1: u32,
    /// Its slot offset.
    pub offset1: u16,
    /// Its slot increment.
    pub increment1: u16,
    /// Second destination MMSI (0 when the message carries one assignment).
    pub mmsi2: u32,
    /// Its slot offset.
    pub offset2: u16,
    /// Its slot increment.
    pub increment2: u16,
}

impl Assignment {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        w.u(&mut self.spare, 38, 2, "~spare", Fmt::Plain);
        w.u(&mut self.mmsi1, 40, 30, "mmsi1", Fmt::Plain);
        w.u(&mut self.offset1, 70, 12, "offset1", Fmt::Plain);
        w.u(&mut self.increment1, 82, 10, "increment1", Fmt::Plain);
        // The second assignment is present in a 144-bit message, absent in a 96-bit one.
        let second = match w.bits() {
            Some(b) => b.len() >= 144,
            None => self.mmsi2 != 0 || self.offset2 != 0 || self.increment2 != 0,
        };
        if second {
            w.u(&mut self.mmsi2, 92, 30, "mmsi2", Fmt::Plain);
            w.u(&mut self.offset2, 122, 12, "offset2", Fmt::Plain);
            w.u(&mut self.increment2, 134, 10, "increment2", Fmt::Plain);
        } else {
            // One assignment: 4 spare bits make the 96-bit message.
            let mut spare = 0u8;
            w.u(&mut spare, 92, 4, "~spare2", Fmt::Plain);
            w.derived(&mut |e| {
                e.uint("mmsi2", 0);
                e.uint("offset2", 0);
                e.uint("increment2", 0);
            });
        }
    }
}

// ---------------------------------------------------------------------------------
// Type 17

/// DGNSS broadcast binary message (type 17).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dgnss {
    /// Spare bits (2).
    pub spare: u8,
    /// Reference station longitude in 1/10 minute.
    pub lon: i32,
    /// Reference station latitude in 1/10 minute.
    pub lat: i32,
    /// Spare bits (5).
    pub spare2: u8,
    /// The DGNSS correction data (RTCM SC-104 words).
    pub data: Payload,
}

impl Dgnss {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        w.u(&mut self.spare, 38, 2, "~spare", Fmt::Plain);
        w.i(&mut self.lon, 40, 18, "lon", Fmt::Lon(TENTH));
        w.i(&mut self.lat, 58, 17, "lat", Fmt::Lat(TENTH));
        w.u(&mut self.spare2, 75, 5, "~spare2", Fmt::Plain);
        w.data(&mut self.data, 80, None, "data");
    }
}

// ---------------------------------------------------------------------------------
// Types 18, 19

/// Standard class B position report (type 18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClassBPosition {
    /// Regional reserved bits (8).
    pub reserved: u8,
    /// Speed over ground in 0.1 kn.
    pub speed: u16,
    /// Position accuracy flag.
    pub accuracy: bool,
    /// Longitude in 1/10 000 minute.
    pub lon: i32,
    /// Latitude in 1/10 000 minute.
    pub lat: i32,
    /// Course over ground in 0.1°.
    pub course: u16,
    /// True heading in degrees.
    pub heading: u16,
    /// UTC second.
    pub second: u8,
    /// Regional reserved bits (2).
    pub regional: u8,
    /// Class B unit flag: true = carrier-sense (CS) unit.
    pub cs: bool,
    /// Display flag.
    pub display: bool,
    /// DSC flag.
    pub dsc: bool,
    /// Band flag.
    pub band: bool,
    /// Message 22 flag.
    pub msg22: bool,
    /// Assigned mode flag.
    pub assigned: bool,
    /// RAIM flag.
    pub raim: bool,
    /// Radio status, 20 bits.
    pub radio: u32,
}

impl ClassBPosition {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        w.u(&mut self.reserved, 38, 8, "reserved", Fmt::Plain);
        w.u(&mut self.speed, 46, 10, "speed", Fmt::SpeedDeciKnots);
        w.flag(&mut self.accuracy, 56, "accuracy");
        w.i(&mut self.lon, 57, 28, "lon", Fmt::Lon(MIN));
        w.i(&mut self.lat, 85, 27, "lat", Fmt::Lat(MIN));
        w.u(&mut self.course, 112, 12, "course", Fmt::CourseDeciDegrees);
        w.u(&mut self.heading, 124, 9, "heading", Fmt::Heading);
        w.u(&mut self.second, 133, 6, "second", Fmt::Second);
        w.u(&mut self.regional, 139, 2, "regional", Fmt::Plain);
        w.flag(&mut self.cs, 141, "cs");
        w.flag(&mut self.display, 142, "display");
        w.flag(&mut self.dsc, 143, "dsc");
        w.flag(&mut self.band, 144, "band");
        w.flag(&mut self.msg22, 145, "msg22");
        w.flag(&mut self.assigned, 146, "~assigned");
        w.flag(&mut self.raim, 147, "raim");
        w.u(&mut self.radio, 148, 20, "radio", Fmt::Plain);
    }
    /// Position in degrees (longitude, latitude).
    pub fn position(&self) -> Option<(f64, f64)> {
        degrees(self.lon, self.lat, MIN)
    }
    /// Speed over ground in knots.
    pub fn speed_kn(&self) -> Option<f64> {
        speed_kn_from_deci(self.speed)
    }
    /// Course over ground in degrees true.
    pub fn course_deg(&self) -> Option<f64> {
        course_deg_from_deci(self.course)
    }
}

/// Extended class B position report (type 19).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClassBExtended {
    /// Regional reserved bits (8).
    pub reserved: u8,
    /// Speed over ground in 0.1 kn.
    pub speed: u16,
    /// Position accuracy flag.
    pub accuracy: bool,
    /// Longitude in 1/10 000 minute.
    pub lon: i32,
    /// Latitude in 1/10 000 minute.
    pub lat: i32,
    /// Course over ground in 0.1°.
    pub course: u16,
    /// True heading in degrees.
    pub heading: u16,
    /// UTC second.
    pub second: u8,
    /// Regional reserved bits (4).
    pub regional: u8,
    /// Vessel name.
    pub shipname: String,
    /// Type of ship and cargo.
    pub shiptype: u8,
    /// Distance to bow, m.
    pub to_bow: u16,
    /// Distance to stern, m.
    pub to_stern: u16,
    /// Distance to port, m.
    pub to_port: u8,
    /// Distance to starboard, m.
    pub to_starboard: u8,
    /// Type of electronic position fixing device.
    pub epfd: u8,
    /// RAIM flag.
    pub raim: bool,
    /// Data terminal equipment: 0 = available.
    pub dte: u8,
    /// Assigned mode flag.
    pub assigned: bool,
    /// Spare bits (4).
    pub spare: u8,
}

impl ClassBExtended {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        w.u(&mut self.reserved, 38, 8, "reserved", Fmt::Plain);
        w.u(&mut self.speed, 46, 10, "speed", Fmt::SpeedDeciKnots);
        w.flag(&mut self.accuracy, 56, "accuracy");
        w.i(&mut self.lon, 57, 28, "lon", Fmt::Lon(MIN));
        w.i(&mut self.lat, 85, 27, "lat", Fmt::Lat(MIN));
        w.u(&mut self.course, 112, 12, "course", Fmt::CourseDeciDegrees);
        w.u(&mut self.heading, 124, 9, "heading", Fmt::Heading);
        w.u(&mut self.second, 133, 6, "second", Fmt::Second);
        w.u(&mut self.regional, 139, 4, "regional", Fmt::Plain);
        w.text(&mut self.shipname, 143, 20, "shipname");
        w.u(
            &mut self.shiptype,
            263,
            8,
            "shiptype",
            Fmt::Lookup(SHIP_TYPE),
        );
        w.u(&mut self.to_bow, 271, 9, "to_bow", Fmt::Meters);
        w.u(&mut self.to_stern, 280, 9, "to_stern", Fmt::Meters);
        w.u(&mut self.to_port, 289, 6, "to_port", Fmt::Meters);
        w.u(&mut self.to_starboard, 295, 6, "to_starboard", Fmt::Meters);
        w.u(&mut self.epfd, 301, 4, "epfd", Fmt::Lookup(EPFD));
        w.flag(&mut self.raim, 305, "raim");
        w.u(&mut self.dte, 306, 1, "dte", Fmt::Plain);
        w.flag(&mut self.assigned, 307, "assigned");
        w.u(&mut self.spare, 308, 4, "~spare", Fmt::Plain);
    }
    /// Position in degrees (longitude, latitude).
    pub fn position(&self) -> Option<(f64, f64)> {
        degrees(self.lon, self.lat, MIN)
    }
}

// ---------------------------------------------------------------------------------
// Type 20

/// One reserved-slot block of a data link management message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlotReservation {
    /// Reserved slot offset.
    pub offset: u16,
    /// Number of slots.
    pub number: u8,
    /// Time-out in minutes.
    pub timeout: u8,
    /// Slot increment.
    pub increment: u16,
}

/// Data link management message (type 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataLinkManagement {
    /// Spare bits (2).
    pub spare: u8,
    /// Up to four reservations; absent ones are zero.
    pub slots: [SlotReservation; 4],
}

impl DataLinkManagement {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        const NAMES: [[&str; 4]; 4] = [
            ["offset1", "number1", "timeout1", "increment1"],
            ["offset2", "number2", "timeout2", "increment2"],
            ["offset3", "number3", "timeout3", "increment3"],
            ["offset4", "number4", "timeout4", "increment4"],
        ];
        w.u(&mut self.spare, 38, 2, "~spare", Fmt::Plain);
        // gpsd reads all four blocks whatever the length (past the end: fill bits, then
        // zeros); the encoder writes the first block and any up to the last one set.
        let last_set = self
            .slots
            .iter()
            .rposition(|s| *s != SlotReservation::default())
            .unwrap_or(0);
        for (k, s) in self.slots.iter_mut().enumerate() {
            let start = 40 + 30 * k;
            let [n_off, n_num, n_to, n_inc] = NAMES[k];
            if !w.is_writer() || k <= last_set {
                w.u(&mut s.offset, start, 12, n_off, Fmt::Plain);
                w.u(&mut s.number, start + 12, 4, n_num, Fmt::Plain);
                w.u(&mut s.timeout, start + 16, 3, n_to, Fmt::Plain);
                w.u(&mut s.increment, start + 19, 11, n_inc, Fmt::Plain);
            } else {
                w.derived(&mut |e| {
                    for n in [n_off, n_num, n_to, n_inc] {
                        e.uint(n, 0);
                    }
                });
            }
        }
        // The standard pads 70/100/130 bits to 72/104/136 with spare bits.
        if w.is_writer() {
            let end = 40 + 30 * (last_set + 1);
            let mut pad = 0u8;
            w.u(
                &mut pad,
                end,
                end.next_multiple_of(8) - end,
                "~spare2",
                Fmt::Plain,
            );
        }
    }
}

// ---------------------------------------------------------------------------------
// Type 21

/// Aid-to-navigation report (type 21).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AidToNavigation {
    /// Type of aid to navigation, 0–31.
    pub aid_type: u8,
    /// Name, with the name extension appended (up to 34 characters).
    pub name: String,
    /// Position accuracy flag.
    pub accuracy: bool,
    /// Longitude in 1/10 000 minute.
    pub lon: i32,
    /// Latitude in 1/10 000 minute.
    pub lat: i32,
    /// Distance to bow, m.
    pub to_bow: u16,
    /// Distance to stern, m.
    pub to_stern: u16,
    /// Distance to port, m.
    pub to_port: u8,
    /// Distance to starboard, m.
    pub to_starboard: u8,
    /// Type of electronic position fixing device.
    pub epfd: u8,
    /// UTC second.
    pub second: u8,
    /// Off-position indicator.
    pub off_position: bool,
    /// Regional reserved bits (8).
    pub regional: u8,
    /// RAIM flag.
    pub raim: bool,
    /// Virtual aid flag: true = virtual AtoN (no physical mark).
    pub virtual_aid: bool,
    /// Assigned mode flag.
    pub assigned: bool,
    /// Spare bit.
    pub spare: bool,
}

impl AidToNavigation {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        w.u(&mut self.aid_type, 38, 5, "aid_type", Fmt::Lookup(AID_TYPE));
        walk_aton_name(w, &mut self.name);
        w.flag(&mut self.accuracy, 163, "accuracy");
        w.i(&mut self.lon, 164, 28, "lon", Fmt::Lon(MIN));
        w.i(&mut self.lat, 192, 27, "lat", Fmt::Lat(MIN));
        w.u(&mut self.to_bow, 219, 9, "to_bow", Fmt::Meters);
        w.u(&mut self.to_stern, 228, 9, "to_stern", Fmt::Meters);
        w.u(&mut self.to_port, 237, 6, "to_port", Fmt::Meters);
        w.u(&mut self.to_starboard, 243, 6, "to_starboard", Fmt::Meters);
        w.u(&mut self.epfd, 249, 4, "epfd", Fmt::Lookup(EPFD));
        w.u(&mut self.second, 253, 6, "second", Fmt::Second);
        w.flag(&mut self.off_position, 259, "off_position");
        w.u(&mut self.regional, 260, 8, "regional", Fmt::Plain);
        w.flag(&mut self.raim, 268, "raim");
        w.flag(&mut self.virtual_aid, 269, "virtual_aid");
        w.flag(&mut self.assigned, 270, "~assigned");
        w.flag(&mut self.spare, 271, "~spare");
    }
    /// Position in degrees (longitude, latitude).
    pub fn position(&self) -> Option<(f64, f64)> {
        degrees(self.lon, self.lat, MIN)
    }
}

/// The type 21 name: 20 characters at bit 43, continued by the name extension (up to 14
/// characters) that follows the fixed fields at bit 272. Like gpsd, the extension is
/// appended only when the first part fills all 20 characters, and trailing blanks of
/// the whole are trimmed.
fn walk_aton_name<W: Walker>(w: &mut W, name: &mut String) {
    if let Some(bits) = w.bits() {
        let mut s = bits.text_untrimmed(43, 20);
        if s.len() == 20 && bits.len() > 272 {
            s.push_str(&bits.text_untrimmed(272, (bits.len() - 272) / 6));
        }
        trim_right_blanks(&mut s);
        *name = s;
    } else if w.is_writer() {
        let mut head: String = name.chars().take(20).collect();
        let mut tail: String = name.chars().skip(20).collect();
        w.text(&mut head, 43, 20, "name");
        if !tail.is_empty() {
            let n = tail.chars().count();
            w.text(&mut tail, 272, n, "~name_extension");
        }
    } else {
        w.text(name, 43, 20, "name");
    }
}

// ---------------------------------------------------------------------------------
// Type 22

/// Where a channel management message applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelArea {
    /// Addressed to two stations.
    Addressed {
        /// First destination MMSI (bits 69–98; 5 spare bits follow).
        dest1: u32,
        /// Second destination MMSI (bits 104–133; 5 spare bits follow).
        dest2: u32,
    },
    /// A rectangle, corners in 1/10 minute.
    Area {
        /// North-east longitude.
        ne_lon: i32,
        /// North-east latitude.
        ne_lat: i32,
        /// South-west longitude.
        sw_lon: i32,
        /// South-west latitude.
        sw_lat: i32,
    },
}

impl Default for ChannelArea {
    fn default() -> Self {
        ChannelArea::Area {
            ne_lon: 0,
            ne_lat: 0,
            sw_lon: 0,
            sw_lat: 0,
        }
    }
}

/// Channel management (type 22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelManagement {
    /// Spare bits (2).
    pub spare: u8,
    /// Channel A number.
    pub channel_a: u16,
    /// Channel B number.
    pub channel_b: u16,
    /// Tx/Rx mode, 0–3.
    pub txrx: u8,
    /// Power flag: true = low power.
    pub power: bool,
    /// Addressed stations, or the area.
    pub area: ChannelArea,
    /// Channel A bandwidth flag.
    pub band_a: bool,
    /// Channel B bandwidth flag.
    pub band_b: bool,
    /// Transitional zone size in NM, minus one.
    pub zonesize: u8,
    /// Spare bits (23).
    pub spare2: u32,
}

impl ChannelManagement {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        w.u(&mut self.spare, 38, 2, "~spare", Fmt::Plain);
        w.u(&mut self.channel_a, 40, 12, "channel_a", Fmt::Plain);
        w.u(&mut self.channel_b, 52, 12, "channel_b", Fmt::Plain);
        w.u(&mut self.txrx, 64, 4, "txrx", Fmt::Plain);
        w.flag(&mut self.power, 68, "power");
        // The addressed flag comes after the fields it selects: look ahead for it.
        let mut addressed = match w.bits() {
            Some(bits) => bits.flag(139),
            None => matches!(self.area, ChannelArea::Addressed { .. }),
        };
        if addressed {
            let (mut d1, mut d2) = match self.area {
                ChannelArea::Addressed { dest1, dest2 } => (dest1, dest2),
                ChannelArea::Area { .. } => (0, 0),
            };
            w.u(&mut d1, 69, 30, "dest1", Fmt::Plain);
            w.u(&mut d2, 104, 30, "dest2", Fmt::Plain);
            self.area = ChannelArea::Addressed {
                dest1: d1,
                dest2: d2,
            };
        } else {
            let (mut a, mut b, mut c, mut d) = match self.area {
                ChannelArea::Area {
                    ne_lon,
                    ne_lat,
                    sw_lon,
                    sw_lat,
                } => (ne_lon, ne_lat, sw_lon, sw_lat),
                ChannelArea::Addressed { .. } => (0, 0, 0, 0),
            };
            w.i(&mut a, 69, 18, "ne_lon", Fmt::Lon(TENTH));
            w.i(&mut b, 87, 17, "ne_lat", Fmt::Lat(TENTH));
            w.i(&mut c, 104, 18, "sw_lon", Fmt::Lon(TENTH));
            w.i(&mut d, 122, 17, "sw_lat", Fmt::Lat(TENTH));
            self.area = ChannelArea::Area {
                ne_lon: a,
                ne_lat: b,
                sw_lon: c,
                sw_lat: d,
            };
        }
        w.flag(&mut addressed, 139, "addressed");
        w.flag(&mut self.band_a, 140, "band_a");
        w.flag(&mut self.band_b, 141, "band_b");
        w.u(&mut self.zonesize, 142, 3, "zonesize", Fmt::Plain);
        w.u(&mut self.spare2, 145, 23, "~spare2", Fmt::Plain);
    }
}

// ---------------------------------------------------------------------------------
// Type 23

/// Group assignment command (type 23).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupAssignment {
    /// Spare bits (2).
    pub spare: u8,
    /// North-east longitude, 1/10 minute.
    pub ne_lon: i32,
    /// North-east latitude, 1/10 minute.
    pub ne_lat: i32,
    /// South-west longitude, 1/10 minute.
    pub sw_lon: i32,
    /// South-west latitude, 1/10 minute.
    pub sw_lat: i32,
    /// Station type, 0–15.
    pub stationtype: u8,
    /// Ship type, 0–255.
    pub shiptype: u8,
    /// Spare bits (22).
    pub spare2: u32,
    /// Tx/Rx mode, 0–3.
    pub txrx: u8,
    /// Reporting interval code, 0–15.
    pub interval: u8,
    /// Quiet time in minutes, 0–15.
    pub quiet: u8,
    /// Spare bits (6).
    pub spare3: u8,
}

impl GroupAssignment {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        w.u(&mut self.spare, 38, 2, "~spare", Fmt::Plain);
        w.i(&mut self.ne_lon, 40, 18, "ne_lon", Fmt::Lon(TENTH));
        w.i(&mut self.ne_lat, 58, 17, "ne_lat", Fmt::Lat(TENTH));
        w.i(&mut self.sw_lon, 75, 18, "sw_lon", Fmt::Lon(TENTH));
        w.i(&mut self.sw_lat, 93, 17, "sw_lat", Fmt::Lat(TENTH));
        w.u(
            &mut self.stationtype,
            110,
            4,
            "stationtype",
            Fmt::Lookup(STATION_TYPE),
        );
        w.u(
            &mut self.shiptype,
            114,
            8,
            "shiptype",
            Fmt::Lookup(SHIP_TYPE),
        );
        w.u(&mut self.spare2, 122, 22, "~spare2", Fmt::Plain);
        w.u(&mut self.txrx, 144, 2, "~txrx", Fmt::Plain);
        w.u(&mut self.interval, 146, 4, "interval", Fmt::Plain);
        w.u(&mut self.quiet, 150, 4, "quiet", Fmt::Plain);
        w.u(&mut self.spare3, 154, 6, "~spare3", Fmt::Plain);
    }
}

// ---------------------------------------------------------------------------------
// Type 24

/// Static data report (type 24), part A or part B.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaticData {
    /// Part A: the name.
    A {
        /// Vessel name.
        shipname: String,
        /// Spare bits (8).
        spare: u8,
    },
    /// Part B: type, vendor, call sign, dimensions or mothership.
    B(StaticDataB),
}

impl Default for StaticData {
    fn default() -> Self {
        StaticData::A {
            shipname: String::new(),
            spare: 0,
        }
    }
}

/// Part B of a static data report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StaticDataB {
    /// Type of ship and cargo.
    pub shiptype: u8,
    /// Vendor ID as gpsd 3.22 reads it: 7 six-bit characters spanning the manufacturer
    /// code, model and serial number.
    pub vendorid: String,
    /// Unit model code, 4 bits (inside the vendor ID field).
    pub model: u8,
    /// Serial number, 20 bits (inside the vendor ID field).
    pub serial: u32,
    /// Call sign.
    pub callsign: String,
    /// Dimensions, or for an auxiliary craft (MMSI 98XXXYYYY) the mothership MMSI.
    pub dims: DimsOrMothership,
    /// Spare bits (6).
    pub spare: u8,
}

/// The 30 bits at 132 of a type 24 part B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DimsOrMothership {
    /// Dimensions to the reference point, m.
    Dims {
        /// Distance to bow, m.
        to_bow: u16,
        /// Distance to stern, m.
        to_stern: u16,
        /// Distance to port, m.
        to_port: u8,
        /// Distance to starboard, m.
        to_starboard: u8,
    },
    /// MMSI of the mothership of an auxiliary craft.
    Mothership(u32),
}

impl Default for DimsOrMothership {
    fn default() -> Self {
        DimsOrMothership::Dims {
            to_bow: 0,
            to_stern: 0,
            to_port: 0,
            to_starboard: 0,
        }
    }
}

/// True for an auxiliary craft's MMSI (98MIDXXXX), whose part B names its mothership.
pub fn is_auxiliary_craft(mmsi: u32) -> bool {
    mmsi / 10_000_000 == 98
}

impl StaticData {
    /// Walk the layout (`mmsi` decides dimensions versus mothership in part B).
    pub fn walk<W: Walker>(&mut self, w: &mut W, mmsi: u32) {
        let mut partno: u8 = match (w.bits(), &*self) {
            (Some(bits), _) => bits.u(38, 2) as u8,
            (None, StaticData::A { .. }) => 0,
            (None, StaticData::B(_)) => 1,
        };
        w.u(&mut partno, 38, 2, "~partno", Fmt::Plain);
        if partno == 0 {
            let (mut name, mut spare) = match std::mem::take(self) {
                StaticData::A { shipname, spare } => (shipname, spare),
                StaticData::B(_) => (String::new(), 0),
            };
            w.derived(&mut |e| e.str("~part", "A"));
            w.text(&mut name, 40, 20, "shipname");
            w.u(&mut spare, 160, 8, "~spare", Fmt::Plain);
            *self = StaticData::A {
                shipname: name,
                spare,
            };
        } else {
            let mut b = match std::mem::take(self) {
                StaticData::B(b) => b,
                StaticData::A { .. } => StaticDataB::default(),
            };
            w.derived(&mut |e| e.str("~part", "B"));
            w.u(&mut b.shiptype, 40, 8, "shiptype", Fmt::Lookup(SHIP_TYPE));
            w.text(&mut b.vendorid, 48, 7, "vendorid");
            // Model and serial overlap the vendor ID's last three characters; gpsd
            // shows both readings. The encoder writes them after the text, so a vendor
            // ID shorter than 7 characters (its tail is then model and serial) and a
            // full one (the same bits twice) both come back as they were.
            w.u(&mut b.model, 66, 4, "model", Fmt::Plain);
            w.u(&mut b.serial, 70, 20, "serial", Fmt::Plain);
            w.text(&mut b.callsign, 90, 7, "callsign");
            if is_auxiliary_craft(mmsi) {
                let mut m = match b.dims {
                    DimsOrMothership::Mothership(m) => m,
                    DimsOrMothership::Dims { .. } => 0,
                };
                w.u(&mut m, 132, 30, "mothership_mmsi", Fmt::Plain);
                b.dims = DimsOrMothership::Mothership(m);
            } else {
                let (mut a, mut s, mut p, mut sb) = match b.dims {
                    DimsOrMothership::Dims {
                        to_bow,
                        to_stern,
                        to_port,
                        to_starboard,
                    } => (to_bow, to_stern, to_port, to_starboard),
                    DimsOrMothership::Mothership(_) => (0, 0, 0, 0),
                };
                w.u(&mut a, 132, 9, "to_bow", Fmt::Meters);
                w.u(&mut s, 141, 9, "to_stern", Fmt::Meters);
                w.u(&mut p, 150, 6, "to_port", Fmt::Meters);
                w.u(&mut sb, 156, 6, "to_starboard", Fmt::Meters);
                b.dims = DimsOrMothership::Dims {
                    to_bow: a,
                    to_stern: s,
                    to_port: p,
                    to_starboard: sb,
                };
            }
            w.u(&mut b.spare, 162, 6, "~spare", Fmt::Plain);
            *self = StaticData::B(b);
        }
    }
}

// ---------------------------------------------------------------------------------
// Types 25, 26

/// Single slot (type 25) or multiple slot (type 26) binary message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SlotBinary {
    /// Addressed flag: true = `dest_mmsi` is present.
    pub addressed: bool,
    /// Structured flag: true = `app_id` (DAC + FI) is present.
    pub structured: bool,
    /// Destination MMSI (0 when broadcast).
    pub dest_mmsi: u32,
    /// Application identifier, 16 bits (0 when unstructured).
    pub app_id: u16,
    /// The binary data.
    pub data: Payload,
    /// Communication state (type 26 only): 1 selector bit + 19 bits.
    pub radio: u32,
}

impl SlotBinary {
    /// Walk the layout; `multislot` for type 26, which ends with 20 bits of radio status.
    pub fn walk<W: Walker>(&mut self, w: &mut W, multislot: bool) {
        w.flag(&mut self.addressed, 38, "addressed");
        w.flag(&mut self.structured, 39, "structured");
        let mut pos = 40;
        if self.addressed {
            w.u(&mut self.dest_mmsi, pos, 30, "dest_mmsi", Fmt::Plain);
            pos += 30;
        } else {
            w.derived(&mut |e| e.uint("dest_mmsi", 0));
        }
        if self.structured {
            w.u(&mut self.app_id, pos, 16, "app_id", Fmt::Plain);
            pos += 16;
        } else {
            w.derived(&mut |e| e.uint("app_id", 0));
        }
        if multislot {
            // The data runs up to the 20 bits of radio status that end the message.
            let end = w.bits().map(|b| b.len().saturating_sub(20).max(pos));
            w.data(&mut self.data, pos, end, "data");
            let radio_at = pos + self.data.bit_len;
            w.u(&mut self.radio, radio_at, 20, "radio", Fmt::Plain);
        } else {
            w.data(&mut self.data, pos, None, "data");
        }
    }
}

// ---------------------------------------------------------------------------------
// Type 27

/// Long range AIS broadcast message (type 27).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LongRange {
    /// Position accuracy flag.
    pub accuracy: bool,
    /// RAIM flag.
    pub raim: bool,
    /// Navigational status.
    pub status: u8,
    /// Longitude in 1/10 minute (181° = not available).
    pub lon: i32,
    /// Latitude in 1/10 minute (91° = not available).
    pub lat: i32,
    /// Speed over ground in knots (63 = not available).
    pub speed: u8,
    /// Course over ground in degrees (511 = not available).
    pub course: u16,
    /// GNSS position status: false = current GNSS position.
    pub gnss: bool,
    /// Spare bit.
    pub spare: bool,
}

impl LongRange {
    /// Walk the layout.
    pub fn walk<W: Walker>(&mut self, w: &mut W) {
        w.flag(&mut self.accuracy, 38, "accuracy");
        w.flag(&mut self.raim, 39, "raim");
        w.u(&mut self.status, 40, 4, "status", Fmt::Plain);
        w.i(&mut self.lon, 44, 18, "lon", Fmt::Lon(TENTH));
        w.i(&mut self.lat, 62, 17, "lat", Fmt::Lat(TENTH));
        w.u(&mut self.speed, 79, 6, "speed", Fmt::SpeedKnots(63));
        w.u(&mut self.course, 85, 9, "course", Fmt::CourseDegrees(511));
        w.flag(&mut self.gnss, 94, "gnss");
        w.flag(&mut self.spare, 95, "~spare");
    }
    /// Position in degrees (longitude, latitude).
    pub fn position(&self) -> Option<(f64, f64)> {
        degrees(self.lon, self.lat, TENTH)
    }
}
