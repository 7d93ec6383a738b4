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
use std::io::Write as _;

use super::message::{Body, StaticData};
use super::walk::{CoordRes, Emit, Eta, Fmt, Payload, Raw, RawSigned, UtcFields, Walker};
use super::{AisMessage, Decoded};

mod layouts;

/// Appending text to the output bytes.
trait Put {
    fn put(&mut self, s: &str);
}

impl Put for Vec<u8> {
    #[inline]
    fn put(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
}

/// Append `s` as a JSON string the way gpsd does (`"` and `\` escaped, control
/// characters as `\u00XX`).
pub fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    // One branch-free pass (the compiler vectorises it) decides: nearly every string needs
    // no escaping and is copied whole.
    let needs_escape = s.bytes().fold(false, |e, b| {
        e | (b == b'"') | (b == b'\\') | (b < 0x20) | (b == 0x7f)
    });
    if !needs_escape {
        out.put(s);
        out.push(b'"');
        return;
    }
    // Runs that need no escaping are copied whole.
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f {
            out.put(&s[start..i]);
            match b {
                b'"' => out.put("\\\""),
                b'\\' => out.put("\\\\"),
                _ => {
                    let _ = write!(out, "\\u{b:04x}");
                }
            }
            start = i + 1;
        }
    }
    out.put(&s[start..]);
    out.push(b'"');
}

/// A JSON number (or literal) written without `core::fmt` on the hot path: integers by
/// `itoa`, floats by `zmij` (the same shortest digits as `Display`, which the output keeps).
trait JsonValue {
    fn push(&self, out: &mut Vec<u8>);
}

macro_rules! json_int {
    ($($t:ty),*) => {$(
        impl JsonValue for $t {
            #[inline]
            fn push(&self, out: &mut Vec<u8>) {
                out.put(itoa::Buffer::new().format(*self));
            }
        }
    )*};
}
json_int!(u64, usize);

macro_rules! json_small_int {
    ($($t:ty),*) => {$(
        impl JsonValue for $t {
            #[inline]
            fn push(&self, out: &mut Vec<u8>) {
                push_i64(out, i64::from(*self));
            }
        }
    )*};
}
json_small_int!(u8, u16, u32, i8, i16, i32, i64);

/// `v` in decimal. Digits are made eight at a time in a register (no digit is stored and
/// reloaded) and written by fixed-size copies, not calls to `memcpy` for a few bytes.
#[inline(always)]
pub(crate) fn push_i64(out: &mut Vec<u8>, v: i64) {
    const E8: u64 = 100_000_000;
    // Most fields are a code or a flag of one digit.
    if (0..10).contains(&v) {
        out.push(b'0' + v as u8);
        return;
    }
    let m = v.unsigned_abs();
    if m >= E8 * E8 {
        return push_i64_long(out, v);
    }
    if v < 0 {
        out.push(b'-');
    }
    if m < E8 {
        push_up_to_eight(out, m as u32);
    } else {
        push_up_to_eight(out, (m / E8) as u32);
        out.extend_from_slice(&eight_digits((m % E8) as u32).to_le_bytes());
    }
}

/// `v` of 17 digits or more (no AIS field; application payloads' 64-bit values).
#[cold]
#[inline(never)]
fn push_i64_long(out: &mut Vec<u8>, v: i64) {
    out.put(itoa::Buffer::new().format(v));
}

/// `v` (< 10^8) in decimal, without leading zeros.
#[inline]
fn push_up_to_eight(out: &mut Vec<u8>, v: u32) {
    let digits = v.checked_ilog10().unwrap_or(0) + 1;
    // Drop the leading zeros: the first character is the lowest byte.
    let text = eight_digits(v) >> ((8 - digits) * 8);
    let at = out.len();
    out.extend_from_slice(&text.to_le_bytes());
    out.truncate(at + digits as usize);
}

/// `v` (< 10^8) as eight zero-padded ASCII digits, the first in the lowest byte: split in
/// lanes (two of four digits, four of two, eight of one) by multiplying by reciprocals.
#[inline]
pub(crate) fn eight_digits(v: u32) -> u64 {
    let x = u64::from(v / 10_000) | (u64::from(v % 10_000) << 32);
    // Each 32-bit lane (< 10 000): the hundreds in its low half, the rest in its high half.
    let hundreds = ((x * 10_486) >> 20) & 0x0000_007f_0000_007f;
    let x = hundreds | ((x - hundreds * 100) << 16);
    // Each 16-bit lane (< 100): the tens in its low byte, the units in its high byte.
    let tens = ((x * 103) >> 10) & 0x000f_000f_000f_000f;
    let x = tens | ((x - tens * 10) << 8);
    x | 0x3030_3030_3030_3030
}

impl JsonValue for f64 {
    fn push(&self, out: &mut Vec<u8>) {
        push_f64(out, *self);
    }
}

/// A value in tenths (speed, course, draught), written as `Display` writes the `f64`
/// `v / 10.0` (its shortest form is the one decimal, or none when it is zero) without
/// converting it.
#[derive(Clone, Copy)]
struct Tenths(u32);

impl JsonValue for Tenths {
    #[inline(always)]
    fn push(&self, out: &mut Vec<u8>) {
        push_i64(out, i64::from(self.0 / 10));
        // The decimal always written, then cut when it is zero: not a branch (a coin toss
        // for speeds, half of them zero).
        let tenth = (self.0 % 10) as u8;
        let at = out.len();
        out.extend_from_slice(&[b'.', b'0' + tenth]);
        out.truncate(at + 2 * usize::from(tenth != 0));
    }
}

/// A time, quoted, as `jiff`'s `Display` writes it (through the observations' writer of
/// times: `to_string` made and dropped a `String` a record).
#[derive(Clone, Copy)]
struct QuotedTime(jiff::Timestamp);

impl JsonValue for QuotedTime {
    fn push(&self, out: &mut Vec<u8>) {
        crate::model::json::push_time(out, self.0);
    }
}

impl JsonValue for bool {
    fn push(&self, out: &mut Vec<u8>) {
        out.put(if *self { "true" } else { "false" });
    }
}

impl JsonValue for &str {
    fn push(&self, out: &mut Vec<u8>) {
        out.put(self);
    }
}

/// Append `v` as `Display` writes it (shortest digits that read back the same, no exponent,
/// no `.0` on whole numbers), by `zmij` where it writes the same.
fn push_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        let mut b = zmij::Buffer::new();
        let s = b.format_finite(v);
        // zmij writes very small and very large numbers with an exponent; Display never does.
        if !s.contains('e') {
            out.put(s.strip_suffix(".0").unwrap_or(s));
            return;
        }
    }
    let _ = write!(out, "{v}");
}

/// The keys of fields already written, `,"{name}{suffix}":`, so writing a field's key is
/// one fixed-size copy. The walk names its fields with `'static` literals, so a key is found
/// by the addresses of its name and suffix (a direct-mapped table: a collision only
/// rebuilds the key).
struct KeyCache {
    slots: Vec<KeySlot>,
}

/// One cached key, padded to a fixed size.
#[derive(Clone, Copy)]
struct KeySlot {
    name: usize,
    name_len: usize,
    suffix: usize,
    /// Length of the key in `bytes`; 0 for a key too long to cache.
    len: u8,
    bytes: [u8; KEY_BYTES],
}

const KEY_SLOTS: usize = 512;
const KEY_BYTES: usize = 32;

impl Default for KeyCache {
    fn default() -> Self {
        let empty = KeySlot {
            name: 0,
            name_len: 0,
            suffix: 0,
            len: 0,
            bytes: [0; KEY_BYTES],
        };
        KeyCache {
            slots: vec![empty; KEY_SLOTS],
        }
    }
}

impl KeyCache {
    /// Append `,"{name}{suffix}":` to `out`.
    #[inline]
    fn put(&mut self, out: &mut Vec<u8>, name: &'static str, suffix: &'static str) {
        let (n, x) = (name.as_ptr() as usize, suffix.as_ptr() as usize);
        let h = (n ^ x.rotate_left(17) ^ name.len()).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        // Two ways a set: the keys of one message type rarely evict each other.
        let set = (h >> 55) % (KEY_SLOTS / 2) * 2;
        let hit = |s: &KeySlot| s.name == n && s.suffix == x && s.name_len == name.len();
        let way = if hit(&self.slots[set]) {
            set
        } else if hit(&self.slots[set + 1]) {
            set + 1
        } else {
            self.slots[set + 1] = self.slots[set];
            self.slots[set] = Self::make(name, suffix);
            set
        };
        let slot = &self.slots[way];
        if slot.len == 0 {
            write_key(out, name, suffix, true);
            return;
        }
        let at = out.len();
        out.extend_from_slice(&slot.bytes);
        out.truncate(at + usize::from(slot.len));
    }

    #[cold]
    fn make(name: &'static str, suffix: &'static str) -> KeySlot {
        let mut key = Vec::with_capacity(KEY_BYTES);
        write_key(&mut key, name, suffix, true);
        let mut bytes = [0; KEY_BYTES];
        let len = if key.len() <= KEY_BYTES {
            bytes[..key.len()].copy_from_slice(&key);
            key.len() as u8
        } else {
            0
        };
        KeySlot {
            name: name.as_ptr() as usize,
            name_len: name.len(),
            suffix: suffix.as_ptr() as usize,
            len,
            bytes,
        }
    }
}

/// `"{name}{suffix}":`, after a comma if `comma`.
fn write_key(out: &mut Vec<u8>, name: &str, suffix: &str, comma: bool) {
    // Keys are this file's own names and the application tables': nothing to escape.
    debug_assert!(
        name.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    );
    if comma {
        out.push(b',');
    }
    out.push(b'"');
    out.put(name);
    out.put(suffix);
    out.put("\":");
}

/// Common output of both formats: a comma-separated list of `"key":value`.
struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    keys: &'a mut KeyCache,
}

impl Obj<'_> {
    /// `"{name}{suffix}":`, after a comma unless first, for names that are not `'static`
    /// (application fields).
    fn key(&mut self, name: &str, suffix: &str) {
        write_key(self.out, name, suffix, !self.first);
        self.first = false;
    }
    /// The same for the walk's own `'static` names: one copy from the cache.
    #[inline]
    fn skey(&mut self, name: &'static str, suffix: &'static str) {
        if self.first {
            self.key(name, suffix);
        } else {
            self.keys.put(self.out, name, suffix);
        }
    }
    fn raw(&mut self, name: &'static str, v: impl JsonValue) {
        self.raw_s(name, "", v);
    }
    fn raw_s(&mut self, name: &'static str, suffix: &'static str, v: impl JsonValue) {
        self.skey(name, suffix);
        v.push(self.out);
    }
    fn str(&mut self, name: &'static str, v: &str) {
        self.str_s(name, "", v);
    }
    fn str_s(&mut self, name: &'static str, suffix: &'static str, v: &str) {
        self.skey(name, suffix);
        push_json_str(self.out, v);
    }
    fn opt(&mut self, name: &'static str, v: Option<impl JsonValue>) {
        self.opt_s(name, "", v);
    }
    fn opt_s(&mut self, name: &'static str, suffix: &'static str, v: Option<impl JsonValue>) {
        match v {
            Some(v) => self.raw_s(name, suffix, v),
            None => self.raw_s(name, suffix, "null"),
        }
    }
}

impl Emit for Obj<'_> {
    fn uint(&mut self, name: &str, v: u64) {
        self.key(name.trim_start_matches('~'), "");
        v.push(self.out);
    }
    fn int(&mut self, name: &str, v: i64) {
        self.key(name.trim_start_matches('~'), "");
        v.push(self.out);
    }
    fn flag(&mut self, name: &str, v: bool) {
        self.key(name.trim_start_matches('~'), "");
        v.push(self.out);
    }
    fn str(&mut self, name: &str, v: &str) {
        self.key(name.trim_start_matches('~'), "");
        push_json_str(self.out, v);
    }
    fn begin_list(&mut self, name: &str) {
        self.key(name, "");
        self.out.push(b'[');
        self.first = true;
    }
    fn begin_item(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.out.push(b'{');
        self.first = true;
    }
    fn end_item(&mut self) {
        self.out.push(b'}');
        self.first = false;
    }
    fn end_list(&mut self) {
        self.out.push(b']');
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
fn push_data(out: &mut Vec<u8>, v: &Payload, shown: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    v.bit_len.push(out);
    out.push(b':');
    out.reserve(v.bytes.len() * 2 + 1);
    for (k, b) in v.bytes.iter().enumerate() {
        let mut b = *b;
        let keep = shown.saturating_sub(8 * k);
        if keep < 8 {
            b &= !(0xffu8.checked_shr(keep as u32).unwrap_or(0));
        }
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0xf)]);
    }
    out.push(b'"');
}

/// `v` in decimal, zero-padded to `width` digits (wider numbers are written whole, as
/// `{:0width$}` does).
fn push_digits(out: &mut Vec<u8>, v: u32, width: usize) {
    let mut b = itoa::Buffer::new();
    let s = b.format(v);
    for _ in s.len()..width {
        out.push(b'0');
    }
    out.put(s);
}

/// `MM-DDTHH:MM`, each zero-padded to two digits: an ETA, and a UTC time after its year.
fn push_month_to_minute(out: &mut Vec<u8>, month: u8, day: u8, hour: u8, minute: u8) {
    push_digits(out, month.into(), 2);
    out.push(b'-');
    push_digits(out, day.into(), 2);
    out.push(b'T');
    push_digits(out, hour.into(), 2);
    out.push(b':');
    push_digits(out, minute.into(), 2);
}

/// `"YYYY-MM-DDTHH:MM:SSZ"` of the transmitted fields as they are, gpsd's form of a time.
fn push_gpsd_utc(out: &mut Vec<u8>, v: &UtcFields) {
    out.push(b'"');
    push_digits(out, v.year.into(), 4);
    out.push(b'-');
    push_month_to_minute(out, v.month, v.day, v.hour, v.minute);
    out.push(b':');
    push_digits(out, v.second.into(), 2);
    out.put("Z\"");
}

/// `"MM-DDTHH:MMZ"`, the form both formats give an ETA.
fn push_eta(out: &mut Vec<u8>, v: &Eta) {
    out.push(b'"');
    push_month_to_minute(out, v.month, v.day, v.hour, v.minute);
    out.put("Z\"");
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
        self.obj.skey(name, "");
        push_gpsd_utc(self.obj.out, v);
    }
    fn eta(&mut self, v: &mut Eta, _: usize, name: &'static str) {
        self.obj.skey(name, "");
        push_eta(self.obj.out, v);
    }
    fn data(&mut self, v: &mut Payload, _: usize, _: Option<usize>, name: &'static str) {
        if !name.starts_with('~') {
            self.obj.skey(name, "");
            push_data(self.obj.out, v, (self.shown_bits)(v));
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
pub struct GpsdWriter {
    /// Names from type 24 part A, by MMSI, oldest first, waiting for part B.
    held_names: HashMap<u32, VecDeque<String>>,
    /// `{"class":"AIS"` and the `"device"` gpsdecode puts in every record.
    prefix: Vec<u8>,
    keys: KeyCache,
}

impl Default for GpsdWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl GpsdWriter {
    /// A writer whose records say `"device":"stdin"`, like `gpsdecode` reading stdin.
    pub fn new() -> Self {
        GpsdWriter {
            held_names: HashMap::new(),
            prefix: Vec::new(),
            keys: KeyCache::default(),
        }
        .with_device(Some("stdin"))
    }

    /// The same writer with `"device":device` in every record, or no device.
    pub fn with_device(mut self, device: Option<&str>) -> Self {
        self.prefix.clear();
        self.prefix.put("{\"class\":\"AIS\"");
        if let Some(d) = device {
            self.prefix.put(",\"device\":");
            push_json_str(&mut self.prefix, d);
        }
        self
    }

    /// Append the record for `msg` (and a newline) to `out`; returns false when gpsd
    /// would write nothing for it (a held type 24 part A, an unmatched part B).
    pub fn write(&mut self, msg: &AisMessage, out: &mut Vec<u8>) -> bool {
        match &msg.body {
            Body::Position(p) => {
                self.prefix(out);
                layouts::gpsd(out, msg.msg_type, msg.repeat, msg.mmsi, p);
                return true;
            }
            Body::BaseStation(b) => {
                self.prefix(out);
                layouts::gpsd_base_station(out, msg.msg_type, msg.repeat, msg.mmsi, b);
                return true;
            }
            Body::ClassB(b) => {
                self.prefix(out);
                layouts::gpsd_class_b(out, msg.msg_type, msg.repeat, msg.mmsi, b);
                return true;
            }
            Body::StaticVoyage(v) => {
                self.prefix(out);
                layouts::gpsd_static_voyage(out, msg.msg_type, msg.repeat, msg.mmsi, v);
                return true;
            }
            _ => {}
        }
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

    /// The record for `msg` (with its newline) as text, or `None` where gpsd writes nothing
    /// (see [`GpsdWriter::write`]).
    pub fn record(&mut self, msg: &AisMessage) -> Option<String> {
        let mut out = Vec::new();
        self.write(msg, &mut out)
            .then(|| String::from_utf8(out).expect("the writer writes UTF-8"))
    }

    fn write_type24(&mut self, msg: &mut AisMessage, name: &str, out: &mut Vec<u8>) -> bool {
        self.open(msg, out, |g| g.obj.str("shipname", name));
        true
    }

    /// The record of any message but a type 24 part, walked (the layouts' writers are
    /// compared with it).
    #[cfg(test)]
    fn write_walked(&mut self, msg: &AisMessage, out: &mut Vec<u8>) {
        self.open(&mut msg.clone(), out, |_| {});
    }

    /// `{"class":"AIS"` and the device.
    #[inline]
    fn prefix(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.prefix);
    }

    fn open(&mut self, msg: &mut AisMessage, out: &mut Vec<u8>, extra: impl FnOnce(&mut Gpsd<'_>)) {
        self.prefix(out);
        let mut g = Gpsd {
            obj: Obj {
                out,
                first: false,
                keys: &mut self.keys,
            },
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
        out.put("}\n");
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

/// Degrees from a raw coordinate, `None` beyond `limit`.
fn coord(raw: i32, res: CoordRes, limit: f64) -> Option<Degrees> {
    let v = f64::from(raw) / res.per_degree();
    (v.abs() <= limit).then_some(Degrees { raw, res, v })
}

/// A coordinate in degrees, written as `Display` writes the `f64` quotient `v`.
#[derive(Clone, Copy)]
struct Degrees {
    raw: i32,
    res: CoordRes,
    v: f64,
}

impl JsonValue for Degrees {
    #[inline]
    fn push(&self, out: &mut Vec<u8>) {
        // At 1/10 000 minute a raw value divisible by 3 is a whole number of millionths of
        // a degree: its shortest form is that decimal (a decimal of at most 15 significant
        // digits is the shortest that reads back as the nearest double), written without
        // the float. The other two thirds repeat (…333, …666) and are written from
        // their bits.
        if self.res == CoordRes::TenThousandthMinute
            && push_ten_thousandths_minute(out, self.raw, self.v)
        {
            return;
        }
        push_f64(out, self.v);
    }
}

/// `v`, the quotient `raw / 600 000`, as `Display` writes it, by [`push_millionths`] or
/// [`push_repeating_degrees`]; false, with nothing written, where neither settles it.
#[inline]
fn push_ten_thousandths_minute(out: &mut Vec<u8>, raw: i32, v: f64) -> bool {
    if raw % 3 == 0 {
        push_millionths(out, raw < 0, raw.unsigned_abs() / 3 * 5);
        return true;
    }
    push_repeating_degrees(out, raw, v)
}

/// `m` and `s` with `|v| = m / 2^s`, `m` of 53 bits (the hidden one set), for a normal `v`
/// (`s` is 1 075 for a subnormal or zero, and wraps beyond 2^31 for infinities and
/// NaN: the callers' range checks refuse them).
#[inline(always)]
fn mantissa_shift(v: f64) -> (u64, u32) {
    const HIDDEN: u64 = 1 << 52;
    let bits = v.abs().to_bits();
    (
        (bits & (HIDDEN - 1)) | HIDDEN,
        1075u32.wrapping_sub((bits >> 52) as u32),
    )
}

/// `den · 2^s · (|v| − a / den)` for `|v| = m / 2^s` (`s` ≤ 63): how far `|v|` is from the
/// quotient `a / den`, in units that make it a whole number. Exact whenever its magnitude
/// is below 2^63 (the products wrap, their difference does not), which it is for `a`
/// within one of `den · |v|`.
#[inline(always)]
fn residual(m: u64, s: u32, a: u64, den: u64) -> i64 {
    m.wrapping_mul(den).wrapping_sub(a << s) as i64
}

/// The whole number `a` of which `|v|` is the quotient `a / den` as dividing finds it (the
/// double nearest), if there is one, for `den` below 2^20 and `|v|` from 2^-10 to below
/// 2^52 / `den`: the numerator of a coordinate or of a value in tenths as decoded. The
/// candidate is the whole number nearest `|v| · den` in floats (within one of the exact
/// product), and the check is exact integer arithmetic on `v`'s bits: with `|v| = m / 2^s`,
/// the quotient lies within half a unit in the last place of `v` when
/// `res = den · m − a · 2^s` is within `den / 2` of zero (computed wrapping: it is below
/// 2^63 for a candidate within one). Then `a` is the only candidate: the quotients are
/// `1 / den` apart, more than a unit in the last place of any value in range, which also
/// keeps the narrower interval below a power of two out of it. Never a tie: a quotient is
/// exact, or further from either neighbour. Zero is `0 / den`. `None` for any other `v`
/// (not normal, or out of range). (Dividing back to check had the latency of a tenth of
/// writing an observation's fields; 128-bit products and shifts, twice this one's.)
#[inline]
fn numerator_of(v: f64, den: u64) -> Option<u64> {
    // Zero as 0 · 2^-1: without a branch of its own (half the speeds are zero).
    let (m, s) = if v == 0.0 { (0, 1) } else { mantissa_shift(v) };
    // From 2^-10 (s = 62) to 2^52 (s = 1); not subnormal (s = 1075).
    if !(1..=62).contains(&s) {
        return None;
    }
    // To a signed integer: one instruction (an unsigned one takes a dozen); beyond the
    // range it saturates, and the last check refuses it.
    let a = (v.abs() * den as f64 + 0.5) as i64 as u64;
    (2 * residual(m, s, a, den).unsigned_abs() < den && a < 1 << 52).then_some(a)
}

/// `v` as `serde_json` writes an `f64` (zmij's shortest digits, `.0` after a whole number)
/// when it is a coordinate as decoded, a whole number of 1/10 000 minute (`raw / 600 000`)
/// from a thousandth of a degree up: written as [`Degrees`] writes it for our JSON (the same
/// digits as `Display`, which in that range are zmij's), without the float search. False,
/// with nothing written, for any other value.
#[inline]
pub(crate) fn push_coordinate_as_serde(out: &mut Vec<u8>, v: f64) -> bool {
    // Its numerator, if it is a quotient, within a coordinate's range (109 million is past
    // 181°).
    let Some(a) = numerator_of(v, 600_000).filter(|a| (600..=108_600_000).contains(a)) else {
        return false;
    };
    let raw = if v < 0.0 { -(a as i32) } else { a as i32 };
    if !push_ten_thousandths_minute(out, raw, v) {
        return false;
    }
    // A whole degree: `Display` writes no `.0`, serde does.
    if raw % 600_000 == 0 {
        out.extend_from_slice(b".0");
    }
    true
}

/// `v` as `serde_json` writes an `f64`, when it is a whole number of tenths (speed,
/// course, draught: `tenths / 10`) below 10⁸: the one decimal, `.0` included (a decimal of
/// so few digits is the shortest that reads back as the nearest double). False, with
/// nothing written, for any other value.
#[inline(always)]
pub(crate) fn push_tenths_as_serde(out: &mut Vec<u8>, v: f64) -> bool {
    let Some(t) = numerator_of(v, 10).filter(|&t| t < 1_000_000_000) else {
        return false;
    };
    // -0.0 included, as serde_json writes it.
    if v.is_sign_negative() {
        out.push(b'-');
    }
    push_i64(out, (t / 10) as i64);
    out.push(b'.');
    out.push(b'0' + (t % 10) as u8);
    true
}

/// Powers of ten that fit a `u64`.
const POW10: [u64; 20] = {
    let mut p = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// `v`, the `f64` quotient `raw / 600 000` of a raw coordinate not divisible by 3, as
/// `Display` writes it, without searching for its shortest digits; `false`, with nothing
/// written, below 2^-8 degrees (`zmij` then writes it).
///
/// From the seventh decimal on, the quotient's digits repeat (`10^6 raw / 600 000 = 5 raw / 3`
/// leaves a third: …333 or …666), so every decimal of `p` places is at least a third of
/// `10^-p` from it. At 15 significant digits or fewer that is more than `v`'s unit in the last
/// place (a third of 10^-15 exceeds 2^-52) and no such decimal reads back as `v`: the shortest
/// form has 16 significant digits, or else 17 (which always suffice). At each length the
/// decimal nearest `v` is the one within half a unit of `v` if any is (the interval is
/// symmetric, `v` being no power of two, below, and no decimal lies on its ends), and
/// `Display` writes the nearest.
///
/// All of it is arithmetic on the exact residual `res = 600 000 · 2^s (v − raw / 600 000)`
/// (|res| ≤ 300 000, `v` being the quotient rounded): with `N` the quotient's first `p`
/// decimals (its last digit the repeated one, `3j`) and `j/3` what follows them,
/// `3 · 2^(s+1) · (10^p v − N) = j · 2^(s+1) + a` with `a = res · 10^(p−5)`. The nearest decimal is
/// `N + k` for `3k` the multiple of 3 nearest that over `2^(s+1)`, and it is within half a
/// unit (`2^-(s+1)`) when `|(j − 3k) 2^(s+1) + a| < 3 · 10^p`. Its digits are
/// the quotient's six decimals, the repeated digit and the last, `3j + k`: never a carry
/// (a value whose 16 digits do not suffice lies within a few units of its 17th place of the
/// quotient), which is checked all the same. Everything fits 64 bits from 2^-8 degrees up.
#[inline]
fn push_repeating_degrees(out: &mut Vec<u8>, raw: i32, v: f64) -> bool {
    let (m, s) = mantissa_shift(v);
    let r = raw.unsigned_abs();
    // From 2^-8 degrees (s ≤ 60) to 181° (s ≥ 45).
    if !(600..=108_600_000).contains(&r) || !(45..=60).contains(&s) {
        return false;
    }
    // 10^6 · quotient: its whole part (whose digit count places the decimal point) and the
    // thirds that follow it.
    let whole = r * 5 / 3;
    let j = i64::from(r * 5 % 3);
    let places = 22 - (whole.ilog10() + 1);
    let res = residual(m, s, u64::from(r), 600_000);
    // `v` is the quotient rounded (the callers' promise, checked); no power of two (an
    // asymmetric interval) and never halfway between two decimals of `places` digits or
    // one more: either would need at least 30 trailing zero bits in `m` (2^s dividing
    // m · 2^(p+1) · 5^p, s − p ≥ 30 in this range), but `m · 600 000 = r · 2^s + res` with
    // `res` not zero (a third is no binary fraction) and below 2^19 leaves `m` at most 12.
    // (Counted over every raw value: none.)
    if j == 0 || res.unsigned_abs() > 300_000 {
        return false;
    }
    // The multiple of 3 nearest `j + a / 2^(s+1)`, over 3: ⌊(⌊a / 2^s⌋ + 1) / 2⌋ is
    // ⌊a / 2^(s+1) + 1/2⌋ (never a tie, above), then ⌊n / 3⌋ for n above −30.
    let third = |n: i64| (n + 30) / 3 - 10;
    let a16 = res * POW10[places as usize - 5] as i64;
    let k16 = third(j + 1 + (((a16 >> s) + 1) >> 1));
    // Below 2^62 in magnitude when it matters (at most 1.5 · 2^(s+1)): the wrapping is exact.
    let off16 = (j - 3 * k16).wrapping_shl(s + 1).wrapping_add(a16);
    let in16 = off16.unsigned_abs() < 3 * POW10[places as usize];
    // ⌊10 a16 / 2^s⌋ without the product (beyond 64 bits at the smallest values).
    let h17 = 10 * (a16 >> s) + ((10 * (a16 as u64 & ((1 << s) - 1))) >> s) as i64;
    let k17 = third(j + 1 + ((h17 + 1) >> 1));
    // Chosen without a branch (which one is a coin toss, and a mispredicted branch cost a
    // sixth of the whole).
    let sel = -i64::from(in16);
    let k = k17 ^ ((k16 ^ k17) & sel);
    let places = places + u32::from(!in16);
    let last = 3 * j + k;
    if !(0..=9).contains(&last) {
        return false;
    }
    let repeated = if j == 1 { b'3' } else { b'6' };
    push_thirds(
        out,
        raw < 0,
        whole,
        repeated,
        places as usize,
        b'0' + last as u8,
    );
    true
}

/// `-`, `whole / 10^6`, `.`, its six decimals, then `repeated` up to `places` decimals of which
/// `last` is the last (`places` ≤ 19), written in place (assembled in a buffer on the
/// stack and copied, it spent a third of its time waiting on its own stores).
#[inline]
fn push_thirds(
    out: &mut Vec<u8>,
    negative: bool,
    whole: u32,
    repeated: u8,
    places: usize,
    last: u8,
) {
    let (at, six) = push_degrees_head(out, negative, whole, repeated);
    // Six decimals, the repeated digit in the two bytes left.
    let text = six | ((u64::from(repeated) * 0x0101) << 48);
    out[at..at + 8].copy_from_slice(&text.to_le_bytes());
    out[at + places - 1] = last;
    out.truncate(at + places);
}

/// `-` when `negative`, then `whole / 10^6` (`whole` below 2 · 10^8) in decimal as
/// `Display` writes it: no trailing zeros, no `.` for a whole number.
#[inline]
fn push_millionths(out: &mut Vec<u8>, negative: bool, whole: u32) {
    let (at, six) = push_degrees_head(out, negative, whole, 0);
    // The trailing zeros, counted from the text (the highest digit bytes that are `0`), not
    // by dividing in a loop (its count of turns was a branch mispredicted half the time).
    let decimals = 6 - ((six ^ 0x3030_3030_3030).leading_zeros() / 8 - 2) as usize;
    out[at..at + 8].copy_from_slice(&six.to_le_bytes());
    // A whole number ends before its `.`.
    out.truncate(at + decimals - usize::from(decimals == 0));
}

/// Appends 32 bytes of `pad` and writes over them `-` (kept when `negative`), the whole
/// part of `whole / 10^6` (`whole` below 2 · 10^8) and `.`; returns where its decimals go
/// and their six digits (the first lowest), from one conversion of eight digits (a hundred
/// is a `1` before the last two). The caller writes the decimals and cuts the rest.
#[inline(always)]
fn push_degrees_head(out: &mut Vec<u8>, negative: bool, whole: u32, pad: u8) -> (usize, u64) {
    debug_assert!(whole < 200_000_000);
    let hundred = whole >= 100_000_000;
    let text = eight_digits(whole - 100_000_000 * u32::from(hundred));
    let n = 1 + usize::from(whole >= 10_000_000) + usize::from(hundred);
    let int = (u64::from(b'1') | (text & 0xffff) << 8) >> (8 * (3 - n));
    let head = int | u64::from(b'.') << (8 * n);
    let len = out.len();
    out.extend_from_slice(&[pad; 32]);
    out[len] = b'-';
    let at = len + usize::from(negative);
    out[at..at + 8].copy_from_slice(&head.to_le_bytes());
    (at + n + 1, text >> 16)
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
            Fmt::SpeedDeciKnots => o.opt_s(name, "_kn", (v < 1023).then_some(Tenths(v))),
            Fmt::SpeedKnots(na) => o.opt_s(name, "_kn", (v != na).then_some(v)),
            Fmt::CourseDeciDegrees => o.opt_s(name, "_deg", (v < 3600).then_some(Tenths(v))),
            Fmt::CourseDegrees(_) => o.opt_s(name, "_deg", (v < 360).then_some(v)),
            Fmt::Heading => o.opt_s(name, "_deg", (v < 360).then_some(v)),
            Fmt::Second => o.opt(name, (v < 60).then_some(v)),
            Fmt::DraughtDeciMeters => o.opt_s(name, "_m", (v > 0).then_some(Tenths(v))),
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
        self.obj.skey(name, "");
        push_our_utc(self.obj.out, v);
    }
    fn eta(&mut self, v: &mut Eta, _: usize, name: &'static str) {
        if v.month == 0 || v.day == 0 || v.hour > 23 || v.minute > 59 {
            self.obj.raw(name, "null");
        } else {
            self.obj.skey(name, "");
            push_eta(self.obj.out, v);
        }
    }
    fn data(&mut self, v: &mut Payload, _: usize, _: Option<usize>, name: &'static str) {
        self.obj.skey(name.trim_start_matches('~'), "");
        push_data(self.obj.out, v, v.bit_len);
    }
    fn derived(&mut self, f: &mut dyn FnMut(&mut dyn Emit)) {
        f(&mut self.obj);
    }
    fn application(&mut self, fields: &super::application::Fields) {
        // Nested, so application field names never collide with the message's own.
        self.obj.skey("application", "");
        self.obj.out.push(b'{');
        self.obj.first = true;
        super::walk::emit_fields(&mut self.obj, fields);
        self.obj.out.push(b'}');
        self.obj.first = false;
    }
}

/// A report's date and time in our JSON: a whole second in UTC, RFC 3339 as a timestamp
/// shows it (which is the fields as they are, as gpsd writes them), or `null` when the
/// fields are no time.
fn push_our_utc(out: &mut Vec<u8>, v: &UtcFields) {
    if is_a_time(v) {
        push_gpsd_utc(out, v);
    } else {
        out.extend_from_slice(b"null");
    }
}

/// True when a date and time report's fields are a time: a valid date and time of day (no
/// "not available" value) that a timestamp can hold.
fn is_a_time(v: &UtcFields) -> bool {
    let (y, mo, d) = (v.year as i16, v.month as i8, v.day as i8);
    let Ok(t) =
        jiff::civil::DateTime::new(y, mo, d, v.hour as i8, v.minute as i8, v.second as i8, 0)
    else {
        return false;
    };
    // Only the last hours of the year 9999 lie beyond the latest timestamp.
    v.year < 9999 || t.to_zoned(jiff::tz::TimeZone::UTC).is_ok()
}

/// Writes decoded messages as our JSON, one object per line.
#[derive(Default)]
pub struct OurWriter {
    keys: KeyCache,
}

impl OurWriter {
    /// A writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append the record for `d` (and a newline) to `out`.
    pub fn write(&mut self, d: &Decoded, out: &mut Vec<u8>) {
        let o = self.reception(d, out);
        match &d.message.body {
            Body::Position(p) => {
                let m = &d.message;
                layouts::ours(o.obj.out, m.msg_type, m.repeat, m.mmsi, p);
            }
            Body::ClassB(b) => {
                let m = &d.message;
                layouts::ours_class_b(o.obj.out, m.msg_type, m.repeat, m.mmsi, b);
            }
            Body::BaseStation(b) => {
                let m = &d.message;
                layouts::ours_base_station(o.obj.out, m.msg_type, m.repeat, m.mmsi, b);
            }
            Body::StaticVoyage(v) => {
                let m = &d.message;
                layouts::ours_static_voyage(o.obj.out, m.msg_type, m.repeat, m.mmsi, v);
            }
            _ => Self::walk(o, d),
        }
    }

    /// `{`, then how the message was heard: talker, channel, fragments, tag block.
    fn reception<'a>(&'a mut self, d: &Decoded, out: &'a mut Vec<u8>) -> Ours<'a> {
        // Talkers and channels are letters and digits (any other byte goes through the
        // string writer, as in `reception_walked`).
        let plain = |b: u8| b.is_ascii_alphanumeric();
        let h = &d.heard;
        out.put("{\"class\":\"AIS\",\"talker\":");
        match h.talker {
            [a, b] if plain(a) && plain(b) => out.extend_from_slice(&[b'"', a, b, b'"']),
            t => push_json_str(out, &String::from_utf8_lossy(&t)),
        }
        out.put(if h.own_ship {
            ",\"own_ship\":true,\"channel\":"
        } else {
            ",\"own_ship\":false,\"channel\":"
        });
        match h.channel {
            Some(c) if plain(c) => out.extend_from_slice(&[b'"', c, b'"']),
            Some(c) => push_json_str(out, char::from(c).encode_utf8(&mut [0; 4])),
            None => out.put("null"),
        }
        out.put(",\"fragments\":");
        h.fragments.push(out);
        let mut o = Ours {
            obj: Obj {
                out,
                first: false,
                keys: &mut self.keys,
            },
        };
        Self::tag(&mut o, d);
        o
    }

    /// The tag block's source and time.
    fn tag(o: &mut Ours<'_>, d: &Decoded) {
        if let Some(tag) = &d.heard.tag {
            if let Some(s) = &tag.source {
                o.obj.str("source", s);
            }
            if let Some(t) = tag.time {
                o.obj.raw("time", QuotedTime(t));
            }
        }
    }

    /// [`OurWriter::reception`] field by field (what it is compared with).
    #[cfg(test)]
    fn reception_walked<'a>(&'a mut self, d: &Decoded, out: &'a mut Vec<u8>) -> Ours<'a> {
        out.push(b'{');
        let mut o = Ours {
            obj: Obj {
                out,
                first: true,
                keys: &mut self.keys,
            },
        };
        o.obj.str("class", "AIS");
        o.obj.skey("talker", "");
        push_json_str(o.obj.out, &String::from_utf8_lossy(&d.heard.talker));
        o.obj.raw("own_ship", d.heard.own_ship);
        match d.heard.channel {
            Some(c) => o.obj.str("channel", char::from(c).encode_utf8(&mut [0; 4])),
            None => o.obj.raw("channel", "null"),
        }
        o.obj.raw("fragments", d.heard.fragments);
        Self::tag(&mut o, d);
        o
    }

    /// The message's fields walked, and the record's end.
    fn walk(mut o: Ours<'_>, d: &Decoded) {
        let mut msg = d.message.clone();
        msg.walk(&mut o);
        o.obj.out.put("}\n");
    }

    /// The record of `d` with its message walked (the layouts' writers are compared with it).
    #[cfg(test)]
    fn write_walked(&mut self, d: &Decoded, out: &mut Vec<u8>) {
        let o = self.reception_walked(d, out);
        Self::walk(o, d);
    }
}

/// Append our JSON for a decoded message (and a newline) to `out` (a one-off: a stream of
/// messages is faster through one [`OurWriter`]).
pub fn write_ours(d: &Decoded, out: &mut Vec<u8>) {
    OurWriter::new().write(d, out);
}

#[cfg(test)]
mod tests {

    /// A tag block's time, in seconds or in milliseconds, before 1970 and after, is written
    /// in our JSON as `jiff` writes it.
    #[test]
    fn a_tag_blocks_time_is_written_as_jiff_writes_it() {
        let sentence = b"!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23";
        let mut decoder = super::super::Decoder::new();
        for c in [
            0i64,
            1,
            -1,
            -86_401,
            1_334_337_317,
            1_795_305_599,
            99_999_999_999,
            100_000_000_001,
            1_795_305_600_123,
            1_795_305_600_100,
            1_795_305_600_010,
            1_795_305_600_000,
        ] {
            let line = [format!("\\c:{c}*00\\").as_bytes(), sentence].concat();
            let line = super::super::tagblock::stamp(&line, jiff::Timestamp::UNIX_EPOCH, 1);
            let d = decoder
                .decode_line(&line, 0)
                .expect("decodes")
                .expect("one sentence");
            let t = d.heard.tag.as_ref().and_then(|t| t.time).expect("a time");
            let mut out = Vec::new();
            OurWriter::new().write(&d, &mut out);
            let record: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
            assert_eq!(record["time"], t.to_string(), "c:{c}");
        }
    }

    /// The numerator found from a value's bits is the one dividing finds it from: for
    /// every numerator of a coordinate (1/10 000 minute, `raw / 600 000`) and of a value in
    /// tenths, the quotient itself, its neighbouring doubles either side, and doubles a
    /// little and far away, powers of two and zero included; `None` where no numerator's
    /// quotient is the value.
    #[test]
    fn a_quotients_numerator_is_the_one_dividing_finds() {
        use super::numerator_of;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Dividing: the numerator next to `v · den` whose quotient is `v`, if one is.
        let dividing = |v: f64, den: u64| {
            let guess = (v.abs() * den as f64).round() as u64;
            (guess.saturating_sub(1)..=guess + 1).find(|&a| a as f64 / den as f64 == v.abs())
        };
        let (mut checked, mut found) = (0, 0);
        for (den, max) in [(600_000u64, 108_600_000u64), (10, 999_999_999)] {
            // Zero, and from 2^-10 up.
            let dividing =
                |v: f64, den| dividing(v, den).filter(|_| v == 0.0 || v.abs() >= 1.0 / 1024.0);
            let mut numerators: Vec<u64> = (0..=5_000).collect();
            numerators.extend((0..40).map(|p| 1u64 << p).filter(|&a| a <= max));
            numerators.extend((0..40).map(|p| den << p).filter(|&a| a <= max));
            numerators.extend((0..300_000).map(|_| 1 + next() % max));
            for a in numerators {
                let q = a as f64 / den as f64;
                let ulp = q.next_up() - q;
                for v in [
                    q,
                    -q,
                    q.next_up(),
                    q.next_down(),
                    q.next_up().next_up(),
                    q.next_down().next_down(),
                    q + 1e3 * ulp,
                    q * 1.5,
                    q / 3.0,
                ] {
                    let expected = dividing(v, den);
                    assert_eq!(numerator_of(v, den), expected, "{v:?}, {a} / {den}");
                    checked += 1;
                    found += usize::from(expected.is_some());
                }
            }
        }
        assert!(
            checked > 5_000_000 && found > checked / 4,
            "{found} of {checked}"
        );
        // Not normal, or beyond the range: none, whatever the denominator.
        for v in [
            f64::MIN_POSITIVE / 2.0,
            f64::INFINITY,
            f64::NAN,
            1e300,
            1e-300,
        ] {
            assert_eq!(numerator_of(v, 10), None, "{v:?}");
        }
    }

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
            let mut out = Vec::new();
            push_f64(&mut out, v);
            assert_eq!(text(&out), format!("{v}"), "{v:?}");
        }
        let mut out = Vec::new();
        for v in [0u64, 9, 10, 4_294_967_295, u64::MAX] {
            out.clear();
            v.push(&mut out);
            assert_eq!(text(&out), v.to_string());
        }
        for v in [i64::MIN, -128, -1, 0, 127] {
            out.clear();
            v.push(&mut out);
            assert_eq!(text(&out), v.to_string());
        }
    }

    /// A date and time report's time in our format is the timestamp's own text, or `null`
    /// exactly when the fields are no timestamp: every month, day and second code, hours and
    /// minutes at their edges, years from 0 to the field's largest.
    #[test]
    fn report_times_are_written_as_timestamps_write_themselves() {
        let years = [
            0, 1, 9, 10, 99, 100, 999, 1000, 1970, 2000, 2024, 2100, 9998, 9999, 10000, 16383,
        ];
        let mut ours = OurWriter::new();
        let mut decoded = Decoder::new()
            .decode_line(b"!AIVDM,1,1,,B,15RTgt0PAso;90TKcjM8h6g208CQ,0*49", 0)
            .unwrap()
            .unwrap();
        decoded.message.msg_type = 4;
        let mut out = Vec::new();
        for year in years {
            for month in 0..16 {
                for day in 0..32 {
                    for (hour, minute) in [(0, 0), (23, 59), (24, 0), (0, 60), (31, 63)] {
                        for second in [0, 30, 59, 60, 63] {
                            let v = UtcFields {
                                year,
                                month,
                                day,
                                hour,
                                minute,
                                second,
                            };
                            let want = jiff::civil::DateTime::new(
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
                            .map(|z| z.timestamp().to_string());
                            decoded.message.body = Body::BaseStation(BaseStationReport {
                                utc: v,
                                ..Default::default()
                            });
                            out.clear();
                            ours.write(&decoded, &mut out);
                            let record: serde_json::Value = serde_json::from_slice(&out).unwrap();
                            assert_eq!(record["timestamp"].as_str(), want.as_deref(), "{v:?}");
                        }
                    }
                }
            }
        }
    }

    /// Coordinates read as `Display` writes their `f64` degrees, whichever way they are
    /// written (millionths of a degree for a third of the values at 1/10 000 minute, the
    /// float for the rest and the other resolutions): every raw value near zero, near each
    /// power of ten and the range's ends, and a stride over the whole range, both signs.
    #[test]
    fn coordinates_are_written_as_display_writes_the_degrees() {
        let mut raws: Vec<i32> = (-3_000..=3_000).collect();
        for p in 1..=8 {
            let t = 10i32.pow(p);
            raws.extend((t - 40..=t + 40).flat_map(|r| [r, -r, r * 6, -r * 6]));
        }
        raws.extend((-108_600_000..=108_600_000).step_by(997));
        raws.extend([
            i32::MAX >> 4,
            i32::MIN >> 4,
            108_000_000,
            -108_000_000,
            54_000_000,
        ]);
        let mut out = Vec::new();
        for res in [
            CoordRes::TenThousandthMinute,
            CoordRes::ThousandthMinute,
            CoordRes::TenthMinute,
        ] {
            for &raw in &raws {
                let want = coord(raw, res, 181.0).map(|d| d.v.to_string());
                out.clear();
                if let Some(d) = coord(raw, res, 181.0) {
                    d.push(&mut out);
                }
                assert_eq!(
                    want.as_deref().unwrap_or(""),
                    text(&out),
                    "{raw} at {res:?}"
                );
            }
        }
    }

    /// Coordinates whose decimals repeat, written from their bits (`push_repeating_degrees`),
    /// read as `Display` writes them: two million raw values spread over the whole range
    /// (xorshift), a thousand either side of each power of ten of degrees, and the smallest
    /// values the path takes. Nearly all must take it (the rest go to `zmij`).
    #[test]
    fn repeating_coordinates_are_written_as_display_writes_them() {
        let mut raws: Vec<i32> = (590..=2_000).collect();
        for degrees in [1, 10, 100] {
            let at = degrees * 600_000;
            raws.extend(at - 1_000..=at + 1_000);
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2_000_000 {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            raws.push((x.wrapping_mul(0x2545_f491_4f6c_dd1d) % 108_600_001) as i32);
        }
        let (mut taken, mut repeating) = (0, 0);
        let mut out = Vec::new();
        for r in raws {
            for raw in [r, -r] {
                let v = f64::from(raw) / 600_000.0;
                out.clear();
                if push_repeating_degrees(&mut out, raw, v) {
                    taken += 1;
                    assert_eq!(v.to_string(), text(&out), "{raw}");
                }
                repeating += usize::from(raw % 3 != 0);
            }
        }
        assert!(
            taken * 1000 >= repeating * 999,
            "{taken} of {repeating} taken"
        );
    }

    /// Every raw coordinate of the range, both signs (217 million values; about a minute in
    /// release): `cargo test --release -p ingest --lib -- --ignored every_coordinate`.
    #[test]
    #[ignore = "every value of the range: run in release"]
    fn every_coordinate_is_written_as_display_writes_it() {
        let mut out = Vec::new();
        let mut fell_back = 0u64;
        for raw in -108_600_000..=108_600_000 {
            let d = coord(raw, CoordRes::TenThousandthMinute, 181.0).unwrap();
            out.clear();
            d.push(&mut out);
            assert_eq!(d.v.to_string(), text(&out), "{raw}");
            if raw % 3 != 0 && !push_repeating_degrees(&mut Vec::new(), raw, d.v) {
                fell_back += 1;
            }
        }
        eprintln!("{fell_back} repeating values written by zmij");
    }

    /// Integers of the fields' own types (written four digits at a time through a fixed
    /// copy) read as `Display` writes them: every value near each power of ten, both signs,
    /// the types' limits, and every value below 100 000. Appending keeps what was there.
    #[test]
    fn integers_are_written_as_display_writes_them() {
        let mut values: Vec<i64> = (0..100_000).collect();
        let mut p = 1i64;
        for _ in 0..19 {
            for d in -2..=2 {
                values.push(p.saturating_add(d));
            }
            p = p.saturating_mul(10);
        }
        values.extend([
            i64::from(i32::MIN),
            i64::from(i32::MAX),
            i64::from(u32::MAX),
            99_999_999,
        ]);
        values.extend(values.clone().iter().map(|v| -v));
        let mut out = b"x".to_vec();
        for v in values {
            out.truncate(1);
            push_i64(&mut out, v);
            assert_eq!(text(&out[1..]), v.to_string());
        }
        for v in [i32::MIN, -1, 0, i32::MAX] {
            out.clear();
            v.push(&mut out);
            assert_eq!(text(&out), v.to_string());
        }
        for v in [0, u32::MAX] {
            out.clear();
            v.push(&mut out);
            assert_eq!(text(&out), v.to_string());
        }
    }

    /// The lane arithmetic gives every eight-digit group right (every value below 10^6 and
    /// a stride through the rest; an exhaustive run over all 10^8 passed when it was written).
    #[test]
    fn eight_digits_are_the_decimal_digits() {
        let check = |v: u32| {
            assert_eq!(
                eight_digits(v).to_le_bytes(),
                *format!("{v:08}").as_bytes(),
                "{v}"
            );
        };
        (0..1_000_000).for_each(check);
        (1_000_000..100_000_000).step_by(997).for_each(check);
        check(99_999_999);
    }

    /// Tenths read as `Display` writes the quotient, for every 16-bit raw value and past it.
    #[test]
    fn tenths_are_written_as_display_writes_the_quotient() {
        let mut out = Vec::new();
        for v in (0..=70_000).chain([u32::MAX - 1, u32::MAX]) {
            out.clear();
            Tenths(v).push(&mut out);
            assert_eq!(text(&out), format!("{}", f64::from(v) / 10.0), "{v}");
        }
    }

    fn text(b: &[u8]) -> &str {
        std::str::from_utf8(b).expect("UTF-8")
    }

    /// Strings are escaped as gpsd escapes them, runs without escapes copied whole.
    #[test]
    fn strings_are_escaped_as_gpsd_escapes_them() {
        let mut out = Vec::new();
        push_json_str(&mut out, "A\"B\\C\u{1}\u{7f}é@ D");
        assert_eq!(text(&out), "\"A\\\"B\\\\C\\u0001\\u007fé@ D\"");
        out.clear();
        push_json_str(&mut out, "");
        assert_eq!(text(&out), "\"\"");
    }
    use super::*;
    use crate::ais::Decoder;
    use crate::ais::message::BaseStationReport;

    #[test]
    fn gpsd_record_of_a_position_report_matches_gpsdecode() {
        let mut d = Decoder::new();
        let m = d
            .decode_line(b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A", 0)
            .unwrap()
            .unwrap();
        let mut out = Vec::new();
        assert!(GpsdWriter::new().write(&m.message, &mut out));
        assert_eq!(
            text(&out),
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
        let mut out = Vec::new();
        write_ours(&m, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["speed_kn"], 12.3);
        assert_eq!(v["course_deg"], 224.0);
        assert_eq!(v["heading_deg"], 215);
        assert_eq!(v["lat"], 29_028_980.0 / 600_000.0);
        assert_eq!(v["channel"], "A");
        assert_eq!(v["turn_deg_min"], -720.0);
    }
}
