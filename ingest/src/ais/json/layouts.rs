//! Writers for the commonest layouts — the class A position report (types 1–3: more than
//! four records in five of real traffic), the base station report (4, 11: one in twenty),
//! class A static and voyage data (5) and the class B position report (18) — written
//! straight from their fields with the keys as literals,
//! instead of walked field by field (a key looked up, a value dispatched on its format, per
//! field).
//!
//! Their output is the walk's, byte for byte, in both formats: the tests below compare the
//! two over random reports covering every value each field can carry. Every other layout
//! is walked.

use std::sync::OnceLock;

use super::{JsonValue as _, Tenths, coord, push_f64, push_i64};
use crate::ais::message::{
    BaseStationReport, ClassBPosition, PositionReport, StaticVoyage, turn_deg_per_min,
};
use crate::ais::tables::{EPFD, NAV_STATUS, SHIP_TYPE};
use crate::ais::walk::{CoordRes, Table};

/// A position report's record is at most this long after the writer's prefix (the longest
/// status text is 52 bytes; every number has a bounded width).
const RECORD_MAX: usize = 512;

/// `,"status":N,"status_text":"…"` for each of the 16 status codes: both formats write the
/// code and its text the same way.
fn status_fields() -> &'static [Padded<96>] {
    static FIELDS: OnceLock<Vec<Padded<96>>> = OnceLock::new();
    FIELDS.get_or_init(|| coded_fields("status", NAV_STATUS, 16))
}

/// `,"shiptype":N,"shiptype_text":"…"` for each of the 256 ship and cargo types.
fn shiptype_fields() -> &'static [Padded<128>] {
    static FIELDS: OnceLock<Vec<Padded<128>>> = OnceLock::new();
    FIELDS.get_or_init(|| coded_fields("shiptype", SHIP_TYPE, 256))
}

/// `,"epfd":N,"epfd_text":"…"` for each of the 16 position fixing device codes.
fn epfd_fields() -> &'static [Padded<64>] {
    static FIELDS: OnceLock<Vec<Padded<64>>> = OnceLock::new();
    FIELDS.get_or_init(|| coded_fields("epfd", EPFD, 16))
}

/// `,"{name}":N,"{name}_text":"…"` for each of the `codes` a field can carry, as the walk
/// writes a code with its table's text.
fn coded_fields<const N: usize>(name: &str, table: Table, codes: u32) -> Vec<Padded<N>> {
    (0..codes)
        .map(|code| {
            let mut f = format!(",\"{name}\":{code},\"{name}_text\":").into_bytes();
            super::push_json_str(&mut f, table.text(code));
            Padded::new(&f)
        })
        .collect()
}

/// `,"turn_deg_min":…` for each rate of turn, as our format writes it (`null` for −128).
fn turn_fields() -> &'static [Padded<32>] {
    static FIELDS: OnceLock<Vec<Padded<32>>> = OnceLock::new();
    FIELDS.get_or_init(|| {
        (0..=255u8)
            .map(|raw| {
                let mut f = b",\"turn_deg_min\":".to_vec();
                match turn_deg_per_min(raw as i8).map(|r| (r * 10.0).round() / 10.0) {
                    Some(v) => push_f64(&mut f, v),
                    None => f.extend_from_slice(b"null"),
                }
                Padded::new(&f)
            })
            .collect()
    })
}

/// Bytes of a field made once, padded to `N` so appending them is one fixed-size copy.
struct Padded<const N: usize> {
    len: usize,
    bytes: [u8; N],
}

impl<const N: usize> Padded<N> {
    fn new(b: &[u8]) -> Self {
        let mut bytes = [0; N];
        bytes[..b.len()].copy_from_slice(b);
        Padded {
            len: b.len(),
            bytes,
        }
    }

    #[inline(always)]
    fn push(&self, out: &mut Vec<u8>) {
        let at = out.len();
        out.extend_from_slice(&self.bytes);
        out.truncate(at + self.len);
    }
}

#[inline(always)]
fn lit(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
}

#[inline(always)]
fn num(out: &mut Vec<u8>, v: impl Into<i64>) {
    push_i64(out, v.into());
}

/// The type, repeat and MMSI, each after its key.
#[inline(always)]
fn header(out: &mut Vec<u8>, msg_type: u8, repeat: u8, mmsi: u32) {
    field(out, ",\"type\":", msg_type);
    field(out, ",\"repeat\":", repeat);
    field(out, ",\"mmsi\":", mmsi);
}

/// gpsd's fields of a position report after the writer's prefix, and the record's end.
pub(super) fn gpsd(out: &mut Vec<u8>, msg_type: u8, repeat: u8, mmsi: u32, p: &PositionReport) {
    out.reserve(RECORD_MAX);
    header(out, msg_type, repeat, mmsi);
    lit(out, ",\"scaled\":false");
    status_fields()[usize::from(p.status & 15)].push(out);
    field(out, ",\"turn\":", p.turn);
    motion_gpsd(out, p.into());
    field(out, ",\"maneuver\":", p.maneuver);
    end(out, p.raim, p.radio);
}

/// `key` then `v`.
#[inline(always)]
fn field(out: &mut Vec<u8>, key: &str, v: impl Into<i64>) {
    lit(out, key);
    num(out, v);
}

/// The RAIM flag and the radio status (every layout here ends with them), and the record's end.
#[inline(always)]
fn end(out: &mut Vec<u8>, raim: bool, radio: u32) {
    flag(out, ",\"raim\":", raim);
    field(out, ",\"radio\":", radio);
    lit(out, "}\n");
}

/// `key` then `true` or `false`.
#[inline(always)]
fn flag(out: &mut Vec<u8>, key: &str, v: bool) {
    lit(out, key);
    lit(out, if v { "true" } else { "false" });
}

/// gpsd's fields of a base station report (types 4 and 11), and the record's end.
pub(super) fn gpsd_base_station(
    out: &mut Vec<u8>,
    msg_type: u8,
    repeat: u8,
    mmsi: u32,
    b: &BaseStationReport,
) {
    out.reserve(RECORD_MAX);
    header(out, msg_type, repeat, mmsi);
    lit(out, ",\"scaled\":false,\"timestamp\":");
    super::push_gpsd_utc(out, &b.utc);
    flag(out, ",\"accuracy\":", b.accuracy);
    field(out, ",\"lon\":", b.lon);
    field(out, ",\"lat\":", b.lat);
    epfd_fields()[usize::from(b.epfd & 15)].push(out);
    end(out, b.raim, b.radio);
}

/// Our fields of a base station report (types 4 and 11), and the record's end.
pub(super) fn ours_base_station(
    out: &mut Vec<u8>,
    msg_type: u8,
    repeat: u8,
    mmsi: u32,
    b: &BaseStationReport,
) {
    out.reserve(RECORD_MAX);
    header(out, msg_type, repeat, mmsi);
    lit(out, ",\"timestamp\":");
    super::push_our_utc(out, &b.utc);
    flag(out, ",\"accuracy\":", b.accuracy);
    lon_lat_ours(out, b.lon, b.lat);
    epfd_fields()[usize::from(b.epfd & 15)].push(out);
    field(out, ",\"spare\":", b.spare);
    end(out, b.raim, b.radio);
}

/// gpsd's fields of a class B position report (type 18), and the record's end.
pub(super) fn gpsd_class_b(
    out: &mut Vec<u8>,
    msg_type: u8,
    repeat: u8,
    mmsi: u32,
    b: &ClassBPosition,
) {
    out.reserve(RECORD_MAX);
    header(out, msg_type, repeat, mmsi);
    field(out, ",\"scaled\":false,\"reserved\":", b.reserved);
    motion_gpsd(out, b.into());
    field(out, ",\"regional\":", b.regional);
    class_b_flags(out, b);
    end(out, b.raim, b.radio);
}

/// `cs`, `display`, `dsc`, `band`, `msg22`: both formats.
#[inline(always)]
fn class_b_flags(out: &mut Vec<u8>, b: &ClassBPosition) {
    flag(out, ",\"cs\":", b.cs);
    flag(out, ",\"display\":", b.display);
    flag(out, ",\"dsc\":", b.dsc);
    flag(out, ",\"band\":", b.band);
    flag(out, ",\"msg22\":", b.msg22);
}

/// Our fields of a class B position report (type 18), and the record's end.
pub(super) fn ours_class_b(
    out: &mut Vec<u8>,
    msg_type: u8,
    repeat: u8,
    mmsi: u32,
    b: &ClassBPosition,
) {
    out.reserve(RECORD_MAX);
    header(out, msg_type, repeat, mmsi);
    field(out, ",\"reserved\":", b.reserved);
    motion_ours(out, b.into());
    field(out, ",\"regional\":", b.regional);
    class_b_flags(out, b);
    flag(out, ",\"assigned\":", b.assigned);
    end(out, b.raim, b.radio);
}

/// Our fields of a position report after the record's reception fields, and its end.
pub(super) fn ours(out: &mut Vec<u8>, msg_type: u8, repeat: u8, mmsi: u32, p: &PositionReport) {
    out.reserve(RECORD_MAX);
    header(out, msg_type, repeat, mmsi);
    status_fields()[usize::from(p.status & 15)].push(out);
    turn_fields()[usize::from(p.turn as u8)].push(out);
    motion_ours(out, p.into());
    field(out, ",\"maneuver\":", p.maneuver);
    field(out, ",\"spare\":", p.spare);
    end(out, p.raim, p.radio);
}

/// gpsd's fields of class A static and voyage data (type 5), and the record's end.
pub(super) fn gpsd_static_voyage(
    out: &mut Vec<u8>,
    msg_type: u8,
    repeat: u8,
    mmsi: u32,
    v: &StaticVoyage,
) {
    out.reserve(RECORD_MAX);
    header(out, msg_type, repeat, mmsi);
    lit(out, ",\"scaled\":false");
    voyage_names(out, v);
    field(out, ",\"to_bow\":", v.to_bow);
    field(out, ",\"to_stern\":", v.to_stern);
    field(out, ",\"to_port\":", v.to_port);
    field(out, ",\"to_starboard\":", v.to_starboard);
    epfd_fields()[usize::from(v.epfd & 15)].push(out);
    lit(out, ",\"eta\":");
    super::push_eta(out, &v.eta);
    field(out, ",\"draught\":", v.draught);
    lit(out, ",\"destination\":");
    super::push_json_str(out, &v.destination);
    field(out, ",\"dte\":", v.dte);
    lit(out, "}\n");
}

/// Our fields of class A static and voyage data (type 5), and the record's end.
pub(super) fn ours_static_voyage(
    out: &mut Vec<u8>,
    msg_type: u8,
    repeat: u8,
    mmsi: u32,
    v: &StaticVoyage,
) {
    out.reserve(RECORD_MAX);
    header(out, msg_type, repeat, mmsi);
    voyage_names(out, v);
    field(out, ",\"to_bow_m\":", v.to_bow);
    field(out, ",\"to_stern_m\":", v.to_stern);
    field(out, ",\"to_port_m\":", v.to_port);
    field(out, ",\"to_starboard_m\":", v.to_starboard);
    epfd_fields()[usize::from(v.epfd & 15)].push(out);
    lit(out, ",\"eta\":");
    let e = &v.eta;
    if e.month == 0 || e.day == 0 || e.hour > 23 || e.minute > 59 {
        lit(out, "null");
    } else {
        super::push_eta(out, e);
    }
    lit(out, ",\"draught_m\":");
    if v.draught > 0 {
        Tenths(v.draught.into()).push(out);
    } else {
        lit(out, "null");
    }
    lit(out, ",\"destination\":");
    super::push_json_str(out, &v.destination);
    field(out, ",\"dte\":", v.dte);
    flag(out, ",\"spare\":", v.spare);
    lit(out, "}\n");
}

/// The AIS version, IMO number, call sign, name and ship type: both formats.
#[inline(always)]
fn voyage_names(out: &mut Vec<u8>, v: &StaticVoyage) {
    field(out, ",\"ais_version\":", v.ais_version);
    field(out, ",\"imo\":", v.imo);
    lit(out, ",\"callsign\":");
    super::push_json_str(out, &v.callsign);
    lit(out, ",\"shipname\":");
    super::push_json_str(out, &v.shipname);
    shiptype_fields()[usize::from(v.shiptype)].push(out);
}

/// The fields class A and class B position reports share, in the order both send them.
#[derive(Clone, Copy)]
struct Motion {
    speed: u16,
    accuracy: bool,
    lon: i32,
    lat: i32,
    course: u16,
    heading: u16,
    second: u8,
}

/// `Motion` from a report type with those fields under the same names.
macro_rules! motion_from {
    ($($report:ty),*) => {$(
        impl From<&$report> for Motion {
            #[inline(always)]
            fn from(r: &$report) -> Self {
                Motion {
                    speed: r.speed,
                    accuracy: r.accuracy,
                    lon: r.lon,
                    lat: r.lat,
                    course: r.course,
                    heading: r.heading,
                    second: r.second,
                }
            }
        }
    )*};
}
motion_from!(PositionReport, ClassBPosition);

/// gpsd's speed, accuracy, position, course, heading and second: the raw values.
#[inline(always)]
fn motion_gpsd(out: &mut Vec<u8>, m: Motion) {
    field(out, ",\"speed\":", m.speed);
    flag(out, ",\"accuracy\":", m.accuracy);
    field(out, ",\"lon\":", m.lon);
    field(out, ",\"lat\":", m.lat);
    field(out, ",\"course\":", m.course);
    field(out, ",\"heading\":", m.heading);
    field(out, ",\"second\":", m.second);
}

/// Ours: in units, `null` where not available.
#[inline(always)]
fn motion_ours(out: &mut Vec<u8>, m: Motion) {
    lit(out, ",\"speed_kn\":");
    tenths_below(out, m.speed, 1023);
    flag(out, ",\"accuracy\":", m.accuracy);
    lon_lat_ours(out, m.lon, m.lat);
    lit(out, ",\"course_deg\":");
    tenths_below(out, m.course, 3600);
    lit(out, ",\"heading_deg\":");
    below(out, m.heading, 360);
    lit(out, ",\"second\":");
    below(out, m.second.into(), 60);
}

/// `v / 10` when `v < na`, else `null`.
#[inline(always)]
fn tenths_below(out: &mut Vec<u8>, v: u16, na: u16) {
    if v < na {
        Tenths(v.into()).push(out);
    } else {
        lit(out, "null");
    }
}

/// `v` when `v < na`, else `null`.
#[inline(always)]
fn below(out: &mut Vec<u8>, v: u16, na: u16) {
    if v < na {
        num(out, v);
    } else {
        lit(out, "null");
    }
}

/// `lon` and `lat` in degrees, each after its key.
#[inline(always)]
fn lon_lat_ours(out: &mut Vec<u8>, lon: i32, lat: i32) {
    lit(out, ",\"lon\":");
    degrees(out, lon, 180.0);
    lit(out, ",\"lat\":");
    degrees(out, lat, 90.0);
}

/// Degrees from 1/10 000 minute when within `limit`, else `null` (the walk's `coord`).
#[inline(always)]
fn degrees(out: &mut Vec<u8>, raw: i32, limit: f64) {
    match coord(raw, CoordRes::TenThousandthMinute, limit) {
        Some(d) => d.push(out),
        None => lit(out, "null"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{GpsdWriter, OurWriter};
    use crate::ais::bits::SIXBIT_ASCII;
    use crate::ais::message::{
        BaseStationReport, Body, ClassBPosition, PositionReport, StaticVoyage,
    };
    use crate::ais::tagblock::TagBlock;
    use crate::ais::walk::{Eta, UtcFields};
    use crate::ais::{AisMessage, Decoded, Decoder};

    /// A small deterministic generator (xorshift64*), so a failure names its case.
    struct Rng(u64);
    impl Rng {
        fn bits(&mut self, n: u32) -> u32 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> (64 - n)) as u32
        }
        fn signed(&mut self, n: u32) -> i32 {
            ((self.bits(n) << (32 - n)) as i32) >> (32 - n)
        }
    }

    /// `v`, or one time in four one of `edges` ("not available", range ends).
    fn edge(r: &mut Rng, edges: &[i32], v: i32) -> i32 {
        if r.bits(2) == 0 {
            edges[r.bits(8) as usize % edges.len()]
        } else {
            v
        }
    }

    const LON_EDGES: [i32; 8] = [
        0,
        1,
        -1,
        108_000_000,
        108_000_001,
        -108_000_000,
        -108_000_001,
        108_600_000,
    ];
    const LAT_EDGES: [i32; 8] = [
        0,
        1,
        -1,
        54_000_000,
        54_000_001,
        -54_000_000,
        -54_000_001,
        54_600_000,
    ];

    /// A class A report with every field drawn over its whole width.
    fn report(r: &mut Rng) -> PositionReport {
        let (speed, lon, lat) = (r.bits(10) as i32, r.signed(28), r.signed(27));
        let (course, heading, second) = (r.bits(12) as i32, r.bits(9) as i32, r.bits(6) as i32);
        PositionReport {
            status: r.bits(4) as u8,
            turn: r.bits(8) as u8 as i8,
            speed: edge(r, &[0, 9, 10, 1022, 1023], speed) as u16,
            accuracy: r.bits(1) == 1,
            lon: edge(r, &LON_EDGES, lon),
            lat: edge(r, &LAT_EDGES, lat),
            course: edge(r, &[0, 3599, 3600, 4095], course) as u16,
            heading: edge(r, &[0, 359, 360, 511], heading) as u16,
            second: edge(r, &[0, 59, 60, 63], second) as u8,
            maneuver: r.bits(2) as u8,
            spare: r.bits(3) as u8,
            raim: r.bits(1) == 1,
            radio: {
                let shift = r.bits(2) * 6;
                r.bits(19) >> shift
            },
        }
    }

    /// A base station report: any date and time the fields can carry, valid or not.
    fn base_station(r: &mut Rng) -> BaseStationReport {
        let (year, lon, lat) = (r.bits(14) as i32, r.signed(28), r.signed(27));
        let utc = UtcFields {
            year: edge(r, &[0, 1, 999, 2024, 9999, 16383], year) as u16,
            month: r.bits(4) as u8,
            day: r.bits(5) as u8,
            hour: r.bits(5) as u8,
            minute: r.bits(6) as u8,
            second: r.bits(6) as u8,
        };
        BaseStationReport {
            utc,
            accuracy: r.bits(1) == 1,
            lon: edge(r, &LON_EDGES, lon),
            lat: edge(r, &LAT_EDGES, lat),
            epfd: r.bits(4) as u8,
            spare: r.bits(10) as u16,
            raim: r.bits(1) == 1,
            radio: r.bits(19),
        }
    }

    /// Static and voyage data: texts of six-bit characters (quotes and backslashes among
    /// them) up to their length, any ETA, every field over its width.
    fn static_voyage(r: &mut Rng) -> StaticVoyage {
        let text = |r: &mut Rng, n: u32| -> String {
            let len = r.bits(5) % (n + 1);
            (0..len)
                .map(|_| char::from(SIXBIT_ASCII[r.bits(6) as usize]))
                .collect()
        };
        let (callsign, shipname, destination) = (text(r, 7), text(r, 20), text(r, 20));
        let eta = Eta {
            month: r.bits(4) as u8,
            day: r.bits(5) as u8,
            hour: r.bits(5) as u8,
            minute: r.bits(6) as u8,
        };
        let (imo, shift, draught) = (r.bits(30), r.bits(2) * 8, r.bits(8) as i32);
        StaticVoyage {
            ais_version: r.bits(2) as u8,
            imo: imo >> shift,
            callsign,
            shipname,
            shiptype: r.bits(8) as u8,
            to_bow: r.bits(9) as u16,
            to_stern: r.bits(9) as u16,
            to_port: r.bits(6) as u8,
            to_starboard: r.bits(6) as u8,
            epfd: r.bits(4) as u8,
            eta,
            draught: edge(r, &[0, 1, 10, 255], draught) as u8,
            destination,
            dte: r.bits(1) as u8,
            spare: r.bits(1) == 1,
        }
    }

    /// A class B position report with every field drawn over its width.
    fn class_b(r: &mut Rng) -> ClassBPosition {
        let (speed, lon, lat) = (r.bits(10) as i32, r.signed(28), r.signed(27));
        let (course, heading, second) = (r.bits(12) as i32, r.bits(9) as i32, r.bits(6) as i32);
        ClassBPosition {
            reserved: r.bits(8) as u8,
            speed: edge(r, &[0, 9, 10, 1022, 1023], speed) as u16,
            accuracy: r.bits(1) == 1,
            lon: edge(r, &LON_EDGES, lon),
            lat: edge(r, &LAT_EDGES, lat),
            course: edge(r, &[0, 3599, 3600, 4095], course) as u16,
            heading: edge(r, &[0, 359, 360, 511], heading) as u16,
            second: edge(r, &[0, 59, 60, 63], second) as u8,
            regional: r.bits(2) as u8,
            cs: r.bits(1) == 1,
            display: r.bits(1) == 1,
            dsc: r.bits(1) == 1,
            band: r.bits(1) == 1,
            msg22: r.bits(1) == 1,
            assigned: r.bits(1) == 1,
            raim: r.bits(1) == 1,
            radio: r.bits(20),
        }
    }

    /// Both formats' records of the layouts written straight (types 1–3, 4 and 11, 5, 18)
    /// are the walk's, byte for byte, for every status, EPFD and ship type code, every rate of
    /// turn, any date and ETA, texts with characters to escape, "not available" and range
    /// edges, and random values over every field's width.
    #[test]
    fn layout_records_are_the_walks_byte_for_byte() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut gpsd = GpsdWriter::new();
        let mut ours = OurWriter::new();
        let mut decoded = Decoder::new()
            .decode_line(b"!AIVDM,1,1,,B,15RTgt0PAso;90TKcjM8h6g208CQ,0*49", 0)
            .unwrap()
            .unwrap();
        for case in 0..200_000 {
            let (msg_type, body) = match case % 6 {
                0..=2 => (1 + rng.bits(2) as u8 % 3, Body::Position(report(&mut rng))),
                3 => (
                    4 + rng.bits(1) as u8 * 7,
                    Body::BaseStation(base_station(&mut rng)),
                ),
                4 => (5, Body::StaticVoyage(static_voyage(&mut rng))),
                _ => (18, Body::ClassB(class_b(&mut rng))),
            };
            let shift = rng.bits(2) * 8;
            let message = AisMessage {
                msg_type,
                repeat: rng.bits(2) as u8,
                mmsi: rng.bits(30) >> shift,
                body,
            };
            let (mut fast, mut walked) = (Vec::new(), Vec::new());
            assert!(gpsd.write(&message, &mut fast));
            gpsd.write_walked(&message, &mut walked);
            assert_eq!(
                String::from_utf8_lossy(&fast),
                String::from_utf8_lossy(&walked),
                "gpsd format, case {case}: {message:?}"
            );
            // Every other record with a tag block's source and time, every fourth without a
            // channel.
            decoded.heard.tag = (case % 2 == 0).then(|| TagBlock {
                source: Some(format!("rx{case}")),
                time: jiff::Timestamp::from_second(1_700_000_000 + case).ok(),
                ..TagBlock::default()
            });
            // How it was heard: usual talkers and channels, and now and then a byte the
            // string writer must escape or encode.
            let odd = [b'"', b'\\', 0x7f, 0xe9, b' ', b'\n'];
            let mut byte = |usual: u8| match rng.bits(4) {
                0 => odd[rng.bits(8) as usize % odd.len()],
                _ => usual,
            };
            decoded.heard.talker = [byte(b'A'), byte(b'I')];
            decoded.heard.channel = (case % 4 != 0).then(|| byte(b'B'));
            decoded.heard.own_ship = case % 3 == 0;
            decoded.heard.fragments = 1 + (case % 3) as u8;
            let d = Decoded {
                message: message.clone(),
                heard: decoded.heard.clone(),
            };
            let (mut fast, mut walked) = (Vec::new(), Vec::new());
            ours.write(&d, &mut fast);
            ours.write_walked(&d, &mut walked);
            assert_eq!(
                String::from_utf8_lossy(&fast),
                String::from_utf8_lossy(&walked),
                "our format, case {case}: {message:?}"
            );
        }
    }
}
