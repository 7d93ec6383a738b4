//! JSON output: gpsd's unscaled AIS JSON (`gpsdecode -u -j`), and our own model.
//!
//! Both are emitters over a message's layout walk ([`super::walk`]), so they list the
//! same fields in the same order. gpsd's format shows raw integers under gpsd's names;
//! ours shows values in units with the unit in the name (`speed_kn`, `course_deg`),
//! `null` for "not available", and adds how the message was heard (talker, channel,
//! tag block source and time).

use std::collections::{HashMap, VecDeque};

/// Most MMSIs with a held type 24 part A; past it the cache starts again empty.
const MAX_HELD_MMSIS: usize = 16_384;
/// Most part A names held for one MMSI (gpsd's cache has 8 slots per channel).
const MAX_HELD_PER_MMSI: usize = 8;
use std::fmt::Write as _;

use super::message::{Body, StaticData};
use super::walk::{CoordRes, Emit, Eta, Fmt, Payload, Raw, RawSigned, UtcFields, Walker};
use super::{AisMessage, Decoded};

/// Append `s` as a JSON string the way gpsd does (`"` and `\` escaped, control
/// characters as `\u00XX`).
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    // Runs that need no escaping (nearly every string) are copied whole.
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f {
            out.push_str(&s[start..i]);
            match b {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                _ => {
                    let _ = write!(out, "\\u{b:04x}");
                }
            }
            start = i + 1;
        }
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// A JSON number (or literal) written without `core::fmt` on the hot path: integers by
/// `itoa`, floats by `ryu` (the same shortest digits as `Display`, which the output keeps).
trait JsonValue {
    fn push(&self, out: &mut String);
}

macro_rules! json_int {
    ($($t:ty),*) => {$(
        impl JsonValue for $t {
            fn push(&self, out: &mut String) {
                out.push_str(itoa::Buffer::new().format(*self));
            }
        }
    )*};
}
json_int!(u8, u16, u32, u64, i8, i16, i32, i64, usize);

impl JsonValue for f64 {
    fn push(&self, out: &mut String) {
        push_f64(out, *self);
    }
}

impl JsonValue for bool {
    fn push(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl JsonValue for &str {
    fn push(&self, out: &mut String) {
        out.push_str(self);
    }
}

/// Append `v` as `Display` writes it (shortest digits that read back the same, no exponent,
/// no `.0` on whole numbers), by `ryu` where it writes the same.
fn push_f64(out: &mut String, v: f64) {
    if v.is_finite() {
        let mut b = ryu::Buffer::new();
        let s = b.format_finite(v);
        // ryu writes very small and very large numbers with an exponent; Display never does.
        if !s.contains('e') {
            out.push_str(s.strip_suffix(".0").unwrap_or(s));
            return;
        }
    }
    let _ = write!(out, "{v}");
}

/// Common output of both formats: a comma-separated list of `"key":value`.
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl Obj<'_> {
    /// `"{name}{suffix}":` (no key is made with `format!`: one allocation a field was the
    /// writer's cost).
    fn key(&mut self, name: &str, suffix: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        // Keys are this file's own names: nothing in them to escape.
        debug_assert!(
            name.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        );
        self.out.push('"');
        self.out.push_str(name);
        self.out.push_str(suffix);
        self.out.push_str("\":");
    }
    fn raw(&mut self, name: &str, v: impl JsonValue) {
        self.raw_s(name, "", v);
    }
    fn raw_s(&mut self, name: &str, suffix: &str, v: impl JsonValue) {
        self.key(name, suffix);
        v.push(self.out);
    }
    fn str(&mut self, name: &str, v: &str) {
        self.str_s(name, "", v);
    }
    fn str_s(&mut self, name: &str, suffix: &str, v: &str) {
        self.key(name, suffix);
        push_json_str(self.out, v);
    }
    fn opt(&mut self, name: &str, v: Option<impl JsonValue>) {
        self.opt_s(name, "", v);
    }
    fn opt_s(&mut self, name: &str, suffix: &str, v: Option<impl JsonValue>) {
        match v {
            Some(v) => self.raw_s(name, suffix, v),
            None => self.raw_s(name, suffix, "null"),
        }
    }
}

impl Emit for Obj<'_> {
    fn uint(&mut self, name: &str, v: u64) {
        self.raw(name.trim_start_matches('~'), v);
    }
    fn int(&mut self, name: &str, v: i64) {
        self.raw(name.trim_start_matches('~'), v);
    }
    fn flag(&mut self, name: &str, v: bool) {
        self.raw(name.trim_start_matches('~'), v);
    }
    fn str(&mut self, name: &str, v: &str) {
        Obj::str(self, name.trim_start_matches('~'), v);
    }
    fn begin_list(&mut self, name: &str) {
        self.key(name, "");
        self.out.push('[');
        self.first = true;
    }
    fn begin_item(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.out.push('{');
        self.first = true;
    }
    fn end_item(&mut self) {
        self.out.push('}');
        self.first = false;
    }
    fn end_list(&mut self) {
        self.out.push(']');
        self.first = false;
    }
}

/// An emitter that drops `~` fields (the gpsd format) and hides nothing else.
struct Gpsd<'a> {
    obj: Obj<'a>,
    /// How many bits of a payload's bytes gpsd shows; the rest of the last byte is zero.
    shown_bits: fn(&Payload) -> usize,
}

/// gpsd shows the bits that follow a payload in its last byte (the fill bits, or for
/// type 26 the first radio bits) for types 6, 17, 25 and 26, but zeros them for type 8
/// and the DAC/FI payloads. For addressed 25/26 it copies whole bytes from before the
/// 30-bit destination and shifts them, so bits past that copy are zero.
fn shown_bits_for(msg: &AisMessage) -> fn(&Payload) -> usize {
    fn all(p: &Payload) -> usize {
        p.bytes.len() * 8
    }
    fn exact(p: &Payload) -> usize {
        p.bit_len
    }
    fn shifted(p: &Payload) -> usize {
        (p.bit_len + 30).div_ceil(8) * 8 - 30
    }
    match &msg.body {
        Body::SingleSlotBinary(b) | Body::MultiSlotBinary(b) if b.addressed => shifted,
        _ if matches!(msg.msg_type, 6 | 17 | 25 | 26) => all,
        _ => exact,
    }
}

/// `"<bits>:<hex>"`, gpsd's form of a binary payload, showing `shown` bits of its bytes.
fn data_text(v: &Payload, shown: usize) -> String {
    let mut s = format!("{}:", v.bit_len);
    for (k, b) in v.bytes.iter().enumerate() {
        let mut b = *b;
        let keep = shown.saturating_sub(8 * k);
        if keep < 8 {
            b &= !(0xffu8.checked_shr(keep as u32).unwrap_or(0));
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl Walker for Gpsd<'_> {
    fn bit_len(&self) -> usize {
        0
    }
    fn u<T: Raw>(&mut self, v: &mut T, _: usize, _: usize, name: &'static str, fmt: Fmt) {
        if name.starts_with('~') {
            return;
        }
        let v = v.to_u32();
        self.obj.raw(name, v);
        if let Fmt::Lookup(table) = fmt {
            self.obj.str_s(name, "_text", table.text(v));
        }
    }
    fn i<T: RawSigned>(&mut self, v: &mut T, _: usize, _: usize, name: &'static str, _: Fmt) {
        if !name.starts_with('~') {
            self.obj.raw(name, v.to_i32());
        }
    }
    fn flag(&mut self, v: &mut bool, _: usize, name: &'static str) {
        if !name.starts_with('~') {
            self.obj.raw(name, *v);
        }
    }
    fn text(&mut self, v: &mut String, _: usize, _: usize, name: &'static str) {
        if !name.starts_with('~') {
            self.obj.str(name, v);
        }
    }
    fn utc(&mut self, v: &mut UtcFields, _: usize, name: &'static str) {
        let s = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            v.year, v.month, v.day, v.hour, v.minute, v.second
        );
        self.obj.str(name, &s);
    }
    fn eta(&mut self, v: &mut Eta, _: usize, name: &'static str) {
        let s = format!("{:02}-{:02}T{:02}:{:02}Z", v.month, v.day, v.hour, v.minute);
        self.obj.str(name, &s);
    }
    fn data(&mut self, v: &mut Payload, _: usize, _: Option<usize>, name: &'static str) {
        if !name.starts_with('~') {
            self.obj.str(name, &data_text(v, (self.shown_bits)(v)));
        }
    }
    fn derived(&mut self, f: &mut dyn FnMut(&mut dyn Emit)) {
        let mut filter = SkipHidden(&mut self.obj);
        f(&mut filter);
    }
}

/// Passes derived fields through, minus the `~` ones (gpsd format).
struct SkipHidden<'a, 'b>(&'a mut Obj<'b>);

impl Emit for SkipHidden<'_, '_> {
    fn uint(&mut self, name: &str, v: u64) {
        if !name.starts_with('~') {
            self.0.uint(name, v);
        }
    }
    fn int(&mut self, name: &str, v: i64) {
        if !name.starts_with('~') {
            self.0.int(name, v);
        }
    }
    fn flag(&mut self, name: &str, v: bool) {
        if !name.starts_with('~') {
            Emit::flag(self.0, name, v);
        }
    }
    fn str(&mut self, name: &str, v: &str) {
        if !name.starts_with('~') {
            Emit::str(self.0, name, v);
        }
    }
    fn begin_list(&mut self, name: &str) {
        self.0.begin_list(name);
    }
    fn begin_item(&mut self) {
        self.0.begin_item();
    }
    fn end_item(&mut self) {
        self.0.end_item();
    }
    fn end_list(&mut self) {
        self.0.end_list();
    }
}

/// Writes messages as gpsd's unscaled AIS JSON, one object per line, the way
/// `gpsdecode -u -j` does, including its type 24 behaviour: part A is held, and one
/// record merging the held name with part B is written when part B arrives (part B
/// with no held part A writes nothing). Each part A is held once, so A, A, B, B gives
/// two records, as in gpsd. Unlike gpsd (one small cache per radio channel), a part A
/// and a part B heard on different channels are merged too: see CONFORMANCE.md.
#[derive(Default)]
pub struct GpsdWriter {
    /// Names from type 24 part A, by MMSI, oldest first, waiting for part B.
    held_names: HashMap<u32, VecDeque<String>>,
    /// `"device"` value gpsdecode puts in every record.
    pub device: Option<String>,
}

impl GpsdWriter {
    /// A writer whose records say `"device":"stdin"`, like `gpsdecode` reading stdin.
    pub fn new() -> Self {
        GpsdWriter {
            held_names: HashMap::new(),
            device: Some("stdin".to_owned()),
        }
    }

    /// Append the record for `msg` (and a newline) to `out`; returns false when gpsd
    /// would write nothing for it (a held type 24 part A, an unmatched part B).
    pub fn write(&mut self, msg: &AisMessage, out: &mut String) -> bool {
        let mut msg = msg.clone();
        if let Body::StaticData(part) = &msg.body {
            match part {
                StaticData::A { shipname, .. } => {
                    if self.held_names.len() >= MAX_HELD_MMSIS
                        && !self.held_names.contains_key(&msg.mmsi)
                    {
                        self.held_names.clear();
                    }
                    let q = self.held_names.entry(msg.mmsi).or_default();
                    if q.len() == MAX_HELD_PER_MMSI {
                        q.pop_front();
                    }
                    q.push_back(shipname.clone());
                    return false;
                }
                StaticData::B(_) => {
                    let Some(q) = self.held_names.get_mut(&msg.mmsi) else {
                        return false;
                    };
                    let name = q.pop_front().unwrap_or_default();
                    if q.is_empty() {
                        self.held_names.remove(&msg.mmsi);
                    }
                    return self.write_type24(&mut msg, &name, out);
                }
            }
        }
        self.open(&mut msg, out, |_| {});
        true
    }

    fn write_type24(&mut self, msg: &mut AisMessage, name: &str, out: &mut String) -> bool {
        self.open(msg, out, |g| g.obj.str("shipname", name));
        true
    }

    fn open(&self, msg: &mut AisMessage, out: &mut String, extra: impl FnOnce(&mut Gpsd<'_>)) {
        out.push_str("{\"class\":\"AIS\"");
        if let Some(d) = &self.device {
            out.push_str(",\"device\":");
            push_json_str(out, d);
        }
        let mut g = Gpsd {
            obj: Obj { out, first: false },
            shown_bits: shown_bits_for(msg),
        };
        // Header first, then "scaled", then the body: gpsd's order.
        g.obj.raw("type", msg.msg_type);
        g.obj.raw("repeat", msg.repeat);
        g.obj.raw("mmsi", msg.mmsi);
        g.obj.raw("scaled", false);
        extra(&mut g);
        let mut header_done = HeaderSkip {
            inner: g,
            skipped: 0,
        };
        msg.walk(&mut header_done);
        out.push_str("}\n");
    }
}

/// Skips the three header fields of a walk (already written) and forwards the rest.
struct HeaderSkip<'a> {
    inner: Gpsd<'a>,
    skipped: u8,
}

impl HeaderSkip<'_> {
    fn header(&mut self) -> bool {
        if self.skipped < 3 {
            self.skipped += 1;
            true
        } else {
            false
        }
    }
}

impl Walker for HeaderSkip<'_> {
    fn bit_len(&self) -> usize {
        0
    }
    fn u<T: Raw>(&mut self, v: &mut T, s: usize, w: usize, name: &'static str, fmt: Fmt) {
        if !self.header() {
            self.inner.u(v, s, w, name, fmt);
        }
    }
    fn i<T: RawSigned>(&mut self, v: &mut T, s: usize, w: usize, name: &'static str, f: Fmt) {
        self.inner.i(v, s, w, name, f);
    }
    fn flag(&mut self, v: &mut bool, s: usize, name: &'static str) {
        self.inner.flag(v, s, name);
    }
    fn text(&mut self, v: &mut String, s: usize, n: usize, name: &'static str) {
        self.inner.text(v, s, n, name);
    }
    fn utc(&mut self, v: &mut UtcFields, s: usize, name: &'static str) {
        self.inner.utc(v, s, name);
    }
    fn eta(&mut self, v: &mut Eta, s: usize, name: &'static str) {
        self.inner.eta(v, s, name);
    }
    fn data(&mut self, v: &mut Payload, s: usize, e: Option<usize>, name: &'static str) {
        self.inner.data(v, s, e, name);
    }
    fn derived(&mut self, f: &mut dyn FnMut(&mut dyn Emit)) {
        self.inner.derived(f);
    }
}

// ---------------------------------------------------------------------------------
// Our own JSON

/// Our JSON emitter: values in units, `null` when not available.
struct Ours<'a> {
    obj: Obj<'a>,
}

fn coord(raw: i32, res: CoordRes, limit: f64) -> Option<f64> {
    let v = f64::from(raw) / res.per_degree();
    (v.abs() <= limit).then_some(v)
}

impl Walker for Ours<'_> {
    fn bit_len(&self) -> usize {
        0
    }
    fn u<T: Raw>(&mut self, v: &mut T, _: usize, _: usize, name: &'static str, fmt: Fmt) {
        let name = name.trim_start_matches('~');
        let v = v.to_u32();
        let o = &mut self.obj;
        match fmt {
            Fmt::Lookup(table) => {
                o.raw(name, v);
                o.str_s(name, "_text", table.text(v));
            }
            Fmt::SpeedDeciKnots => o.opt_s(name, "_kn", (v < 1023).then(|| f64::from(v) / 10.0)),
            Fmt::SpeedKnots(na) => o.opt_s(name, "_kn", (v != na).then_some(v)),
            Fmt::CourseDeciDegrees => {
                o.opt_s(name, "_deg", (v < 3600).then(|| f64::from(v) / 10.0))
            }
            Fmt::CourseDegrees(_) => o.opt_s(name, "_deg", (v < 360).then_some(v)),
            Fmt::Heading => o.opt_s(name, "_deg", (v < 360).then_some(v)),
            Fmt::Second => o.opt(name, (v < 60).then_some(v)),
            Fmt::DraughtDeciMeters => o.opt_s(name, "_m", (v > 0).then(|| f64::from(v) / 10.0)),
            Fmt::Meters => o.raw_s(name, "_m", v),
            Fmt::AltitudeMeters => o.opt_s(name, "_m", (v < 4095).then_some(v)),
            Fmt::Plain | Fmt::Turn | Fmt::Lon(_) | Fmt::Lat(_) => o.raw(name, v),
        }
    }
    fn i<T: RawSigned>(&mut self, v: &mut T, _: usize, _: usize, name: &'static str, f: Fmt) {
        let name = name.trim_start_matches('~');
        let v = v.to_i32();
        let o = &mut self.obj;
        match f {
            Fmt::Lon(res) => o.opt(name, coord(v, res, 180.0)),
            Fmt::Lat(res) => o.opt(name, coord(v, res, 90.0)),
            Fmt::Turn => o.opt(
                "turn_deg_min",
                super::message::turn_deg_per_min(v as i8).map(|r| (r * 10.0).round() / 10.0),
            ),
            _ => o.raw(name, v),
        }
    }
    fn flag(&mut self, v: &mut bool, _: usize, name: &'static str) {
        self.obj.raw(name.trim_start_matches('~'), *v);
    }
    fn text(&mut self, v: &mut String, _: usize, _: usize, name: &'static str) {
        self.obj.str(name.trim_start_matches('~'), v);
    }
    fn utc(&mut self, v: &mut UtcFields, _: usize, name: &'static str) {
        let t = jiff::civil::DateTime::new(
            v.year as i16,
            v.month as i8,
            v.day as i8,
            v.hour as i8,
            v.minute as i8,
            v.second as i8,
            0,
        )
        .ok()
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp());
        match t {
            Some(t) => self.obj.str(name, &t.to_string()),
            None => self.obj.raw(name, "null"),
        }
    }
    fn eta(&mut self, v: &mut Eta, _: usize, name: &'static str) {
        if v.month == 0 || v.day == 0 || v.hour > 23 || v.minute > 59 {
            self.obj.raw(name, "null");
        } else {
            let s = format!("{:02}-{:02}T{:02}:{:02}Z", v.month, v.day, v.hour, v.minute);
            self.obj.str(name, &s);
        }
    }
    fn data(&mut self, v: &mut Payload, _: usize, _: Option<usize>, name: &'static str) {
        self.obj
            .str(name.trim_start_matches('~'), &data_text(v, v.bit_len));
    }
    fn derived(&mut self, f: &mut dyn FnMut(&mut dyn Emit)) {
        f(&mut self.obj);
    }
    fn application(&mut self, fields: &super::application::Fields) {
        // Nested, so application field names never collide with the message's own.
        self.obj.key("application", "");
        self.obj.out.push('{');
        self.obj.first = true;
        super::walk::emit_fields(&mut self.obj, fields);
        self.obj.out.push('}');
        self.obj.first = false;
    }
}

/// Append our JSON for a decoded message (and a newline) to `out`.
pub fn write_ours(d: &Decoded, out: &mut String) {
    out.push('{');
    let mut o = Ours {
        obj: Obj { out, first: true },
    };
    o.obj.str("class", "AIS");
    let talker = String::from_utf8_lossy(&d.heard.talker).into_owned();
    o.obj.str("talker", &talker);
    o.obj.raw("own_ship", d.heard.own_ship);
    match d.heard.channel {
        Some(c) => o.obj.str("channel", &(c as char).to_string()),
        None => o.obj.raw("channel", "null"),
    }
    o.obj.raw("fragments", d.heard.fragments);
    if let Some(tag) = &d.heard.tag {
        if let Some(s) = &tag.source {
            o.obj.str("source", s);
        }
        if let Some(t) = tag.time {
            o.obj.str("time", &t.to_string());
        }
    }
    let mut msg = d.message.clone();
    msg.walk(&mut o);
    out.push_str("}\n");
}

#[cfg(test)]
mod tests {

    /// The writers' numbers read exactly as `Display` writes them (the output is unchanged by
    /// writing them without `core::fmt`): every coordinate, speed and course AIS can carry,
    /// and the edges.
    #[test]
    fn numbers_are_written_as_display_writes_them() {
        let mut values: Vec<f64> = vec![
            0.0,
            -0.0,
            12.0,
            35.71,
            -127.0,
            1e-7,
            1e-5,
            0.000001,
            1e15,
            1e16,
            1e17,
            1e21,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            102.3,
        ];
        // Coordinates at every resolution AIS uses, across the whole range.
        for per_degree in [600_000.0, 60_000.0, 600.0, 10.0] {
            let mut raw = -108_000_000i64;
            while raw <= 108_000_000 {
                values.push(raw as f64 / per_degree);
                raw += 7_919;
            }
        }
        values.extend((0..=3600).map(|v| f64::from(v) / 10.0));
        for v in values {
            let mut out = String::new();
            push_f64(&mut out, v);
            assert_eq!(out, format!("{v}"), "{v:?}");
        }
        let mut out = String::new();
        for v in [0u64, 9, 10, 4_294_967_295, u64::MAX] {
            out.clear();
            v.push(&mut out);
            assert_eq!(out, v.to_string());
        }
        for v in [i64::MIN, -128, -1, 0, 127] {
            out.clear();
            v.push(&mut out);
            assert_eq!(out, v.to_string());
        }
    }

    /// Strings are escaped as gpsd escapes them, runs without escapes copied whole.
    #[test]
    fn strings_are_escaped_as_gpsd_escapes_them() {
        let mut out = String::new();
        push_json_str(&mut out, "A\"B\\C\u{1}\u{7f}é@ D");
        assert_eq!(out, "\"A\\\"B\\\\C\\u0001\\u007fé@ D\"");
        out.clear();
        push_json_str(&mut out, "");
        assert_eq!(out, "\"\"");
    }
    use super::*;
    use crate::ais::Decoder;

    #[test]
    fn gpsd_record_of_a_position_report_matches_gpsdecode() {
        let mut d = Decoder::new();
        let m = d
            .decode_line(b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A", 0)
            .unwrap()
            .unwrap();
        let mut out = String::new();
        assert!(GpsdWriter::new().write(&m.message, &mut out));
        assert_eq!(
            out,
            "{\"class\":\"AIS\",\"device\":\"stdin\",\"type\":1,\"repeat\":0,\"mmsi\":371798000,\
             \"scaled\":false,\"status\":0,\"status_text\":\"Under way using engine\",\
             \"turn\":-127,\"speed\":123,\"accuracy\":true,\"lon\":-74037230,\"lat\":29028980,\
             \"course\":2240,\"heading\":215,\"second\":33,\"maneuver\":0,\"raim\":false,\
             \"radio\":34017}\n"
        );
    }

    #[test]
    fn our_record_states_units_and_nulls() {
        let mut d = Decoder::new();
        let m = d
            .decode_line(b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A", 0)
            .unwrap()
            .unwrap();
        let mut out = String::new();
        write_ours(&m, &mut out);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["speed_kn"], 12.3);
        assert_eq!(v["course_deg"], 224.0);
        assert_eq!(v["heading_deg"], 215);
        assert_eq!(v["lat"], 29_028_980.0 / 600_000.0);
        assert_eq!(v["channel"], "A");
        assert_eq!(v["turn_deg_min"], -720.0);
    }
}
