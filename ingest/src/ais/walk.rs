//! One description of each message layout, walked four ways.
//!
//! Every message type lists its fields once, in transmission order, in a `walk`
//! method over a [`Walker`]. The same listing then
//! - reads the fields out of a [`Bits`] payload ([`Reader`]),
//! - writes them into a payload (the encoder, [`Writer`]),
//! - emits gpsd's unscaled JSON and our own JSON ([`super::json`]).
//!
//! So the decoder and encoder cannot drift apart, and a field added once shows up
//! everywhere. Field metadata ([`Fmt`]) says how a raw value is shown: as is, through
//! a lookup table, or as a quantity with a unit and a "not available" value.

use super::bits::{Bits, SIXBIT_ASCII};

/// Resolution of a transmitted latitude/longitude.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordRes {
    /// 1/10 000 minute (most position reports, 28/27 bits).
    TenThousandthMinute,
    /// 1/1 000 minute (some DAC/FI payloads, 25/24 bits).
    ThousandthMinute,
    /// 1/10 minute (types 17, 22, 23 and 27, 18/17 bits).
    TenthMinute,
}

impl CoordRes {
    /// Raw units per degree.
    pub fn per_degree(self) -> f64 {
        match self {
            CoordRes::TenThousandthMinute => 600_000.0,
            CoordRes::ThousandthMinute => 60_000.0,
            CoordRes::TenthMinute => 600.0,
        }
    }
}

/// How a raw field is presented, and its unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fmt {
    /// A plain number (an identifier, a code, a count).
    Plain,
    /// A code with a text: gpsd adds `<name>_text` from the table.
    Lookup(Table),
    /// Longitude at a resolution; 181° means not available.
    Lon(CoordRes),
    /// Latitude at a resolution; 91° means not available.
    Lat(CoordRes),
    /// Speed over ground in 0.1 kn; 1023 not available, 1022 means ≥ 102.2 kn.
    SpeedDeciKnots,
    /// Speed in whole knots with the given "not available" value.
    SpeedKnots(u32),
    /// Course over ground in 0.1°; 3600 not available.
    CourseDeciDegrees,
    /// Course in whole degrees with the given "not available" value.
    CourseDegrees(u32),
    /// True heading in degrees; 511 not available.
    Heading,
    /// Rate of turn, ROT_AIS; −128 not available.
    Turn,
    /// UTC second of the report; 60–63 mean not available.
    Second,
    /// Draught in 0.1 m; 0 not available.
    DraughtDeciMeters,
    /// A length in meters.
    Meters,
    /// Altitude in meters; 4095 not available.
    AltitudeMeters,
}

/// A code table shown next to its code (gpsd's `*_text` fields).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Table {
    /// Texts indexed by code.
    pub texts: &'static [&'static str],
    /// Text for a code past the end of `texts`.
    pub otherwise: &'static str,
}

impl Table {
    /// The text of `code`.
    pub fn text(&self, code: u32) -> &'static str {
        self.texts
            .get(code as usize)
            .copied()
            .unwrap_or(self.otherwise)
    }
}

/// A UTC date and time as transmitted (types 4 and 11): 0 / 24 / 60 mean not available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UtcFields {
    /// Year, 1–9999; 0 not available.
    pub year: u16,
    /// Month, 1–12; 0 not available.
    pub month: u8,
    /// Day, 1–31; 0 not available.
    pub day: u8,
    /// Hour, 0–23; 24 not available.
    pub hour: u8,
    /// Minute, 0–59; 60 not available.
    pub minute: u8,
    /// Second, 0–59; 60 not available.
    pub second: u8,
}

/// An estimated time of arrival as transmitted (month, day, hour, minute; 0 / 0 / 24 / 60
/// mean not available). There is no year: the receiver decides which year it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Eta {
    /// Month, 1–12; 0 not available.
    pub month: u8,
    /// Day, 1–31; 0 not available.
    pub day: u8,
    /// Hour, 0–23; 24 not available.
    pub hour: u8,
    /// Minute, 0–59; 60 not available.
    pub minute: u8,
}

/// A binary payload: `bit_len` bits, left-aligned in `bytes`. The bits of the last byte
/// past `bit_len` are whatever followed in the message (gpsd dumps them too).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Payload {
    /// Length in bits.
    pub bit_len: usize,
    /// The bits, MSB first, `bit_len.div_ceil(8)` bytes.
    pub bytes: Vec<u8>,
}

/// A walk over a message's fields; see the module docs.
pub trait Walker {
    /// The message length in bits when reading or writing, for layouts whose tail is
    /// optional or whose payload runs to the end.
    fn bit_len(&self) -> usize;
    /// An unsigned field of `width` bits at `start`.
    fn u<T: Raw>(&mut self, v: &mut T, start: usize, width: usize, name: &'static str, fmt: Fmt);
    /// A signed field of `width` bits at `start`.
    fn i<T: RawSigned>(
        &mut self,
        v: &mut T,
        start: usize,
        width: usize,
        name: &'static str,
        fmt: Fmt,
    );
    /// A one-bit flag.
    fn flag(&mut self, v: &mut bool, start: usize, name: &'static str);
    /// Six-bit text of `nchars` characters.
    fn text(&mut self, v: &mut String, start: usize, nchars: usize, name: &'static str);
    /// A date and time (types 4 and 11), shown as one `timestamp`.
    fn utc(&mut self, v: &mut UtcFields, start: usize, name: &'static str);
    /// An ETA (month, day, hour, minute at 4/5/5/6 bits), shown as one `eta`.
    fn eta(&mut self, v: &mut Eta, start: usize, name: &'static str);
    /// A binary payload at `start`. Reading, it runs to `end` (default: the end of the
    /// message); writing, it is `v.bit_len` bits long.
    fn data(&mut self, v: &mut Payload, start: usize, end: Option<usize>, name: &'static str);
    /// The payload, when this walker reads one (layouts that depend on a later flag, such
    /// as type 22's `addressed`, look ahead with it).
    fn bits(&self) -> Option<&Bits> {
        None
    }
    /// True for the encoder, which must skip fields that overlap others.
    fn is_writer(&self) -> bool {
        false
    }
    /// Decoded application (DAC/FI) fields. By default they are emitted in line with
    /// the message's own fields, as gpsd does.
    fn application(&mut self, fields: &super::application::Fields) {
        self.derived(&mut |e| emit_fields(e, fields));
    }
    /// Fields the emitters show but the bits do not hold directly (derived text, or
    /// decoded application payload); readers and writers ignore them.
    fn derived(&mut self, f: &mut dyn FnMut(&mut dyn Emit));
}

/// What an emitter receives for derived fields.
pub trait Emit {
    /// A number.
    fn uint(&mut self, name: &str, v: u64);
    /// A signed number.
    fn int(&mut self, name: &str, v: i64);
    /// A flag.
    fn flag(&mut self, name: &str, v: bool);
    /// A string.
    fn str(&mut self, name: &str, v: &str);
    /// Open a list of objects under `name`.
    fn begin_list(&mut self, name: &str);
    /// Open the next object of the open list.
    fn begin_item(&mut self);
    /// Close the current object.
    fn end_item(&mut self);
    /// Close the open list.
    fn end_list(&mut self);
}

/// An unsigned integer type a field can be stored in.
pub trait Raw: Copy {
    /// From the bits (truncating is impossible: the width fits the type by construction).
    fn from_u32(v: u32) -> Self;
    /// To the bits.
    fn to_u32(self) -> u32;
}

/// A signed integer type a field can be stored in.
pub trait RawSigned: Copy {
    /// From the bits.
    fn from_i32(v: i32) -> Self;
    /// To the bits.
    fn to_i32(self) -> i32;
}

macro_rules! raw_impls {
    ($($t:ty),*) => {$(
        impl Raw for $t {
            #[inline]
            fn from_u32(v: u32) -> Self { v as $t }
            #[inline]
            fn to_u32(self) -> u32 { self as u32 }
        }
    )*};
}
raw_impls!(u8, u16, u32);

macro_rules! raw_signed_impls {
    ($($t:ty),*) => {$(
        impl RawSigned for $t {
            #[inline]
            fn from_i32(v: i32) -> Self { v as $t }
            #[inline]
            fn to_i32(self) -> i32 { self as i32 }
        }
    )*};
}
raw_signed_impls!(i8, i16, i32);

/// Reads fields out of a payload.
pub struct Reader<'a> {
    /// The message being decoded.
    pub bits: &'a Bits,
}

impl Walker for Reader<'_> {
    fn bit_len(&self) -> usize {
        self.bits.len()
    }
    #[inline]
    fn u<T: Raw>(&mut self, v: &mut T, start: usize, width: usize, _: &'static str, _: Fmt) {
        *v = T::from_u32(self.bits.u(start, width));
    }
    #[inline]
    fn i<T: RawSigned>(&mut self, v: &mut T, start: usize, width: usize, _: &'static str, _: Fmt) {
        *v = T::from_i32(self.bits.i(start, width));
    }
    #[inline]
    fn flag(&mut self, v: &mut bool, start: usize, _: &'static str) {
        *v = self.bits.flag(start);
    }
    fn text(&mut self, v: &mut String, start: usize, nchars: usize, _: &'static str) {
        *v = self.bits.text(start, nchars);
    }
    fn utc(&mut self, v: &mut UtcFields, start: usize, _: &'static str) {
        let b = self.bits;
        *v = UtcFields {
            year: b.u(start, 14) as u16,
            month: b.u(start + 14, 4) as u8,
            day: b.u(start + 18, 5) as u8,
            hour: b.u(start + 23, 5) as u8,
            minute: b.u(start + 28, 6) as u8,
            second: b.u(start + 34, 6) as u8,
        };
    }
    fn eta(&mut self, v: &mut Eta, start: usize, _: &'static str) {
        let b = self.bits;
        *v = Eta {
            month: b.u(start, 4) as u8,
            day: b.u(start + 4, 5) as u8,
            hour: b.u(start + 9, 5) as u8,
            minute: b.u(start + 14, 6) as u8,
        };
    }
    fn data(&mut self, v: &mut Payload, start: usize, end: Option<usize>, _: &'static str) {
        let end = end.unwrap_or(self.bits.len());
        let bit_len = end.saturating_sub(start);
        let nbytes = bit_len.div_ceil(8);
        v.bit_len = bit_len;
        v.bytes.clear();
        v.bytes
            .extend((0..nbytes).map(|k| self.bits.u(start + 8 * k, 8) as u8));
    }
    fn derived(&mut self, _: &mut dyn FnMut(&mut dyn Emit)) {}
    fn bits(&self) -> Option<&Bits> {
        Some(self.bits)
    }
}

/// Writes fields into a bit buffer (the encoder side).
pub struct Writer {
    /// Packed bits, MSB first.
    pub buf: Vec<u8>,
    /// Bits written (the highest end of any field).
    pub len: usize,
}

impl Writer {
    /// An empty buffer.
    pub fn new() -> Self {
        Writer {
            buf: Vec::with_capacity(128),
            len: 0,
        }
    }

    /// Write the low `width` bits of `v` at `start`.
    pub fn put(&mut self, start: usize, width: usize, v: u64) {
        let end = start + width;
        if self.buf.len() < end.div_ceil(8) {
            self.buf.resize(end.div_ceil(8), 0);
        }
        for k in 0..width {
            let bit = (v >> (width - 1 - k)) & 1;
            let pos = start + k;
            let mask = 0x80u8 >> (pos % 8);
            if bit == 1 {
                self.buf[pos / 8] |= mask;
            } else {
                self.buf[pos / 8] &= !mask;
            }
        }
        self.len = self.len.max(end);
    }

    /// The bits as six-bit values (the last one zero-padded) and the number of fill bits.
    pub fn sixbits(&self) -> (Vec<u8>, u8) {
        let nchars = self.len.div_ceil(6);
        let fill = (nchars * 6 - self.len) as u8;
        let mut out = Vec::with_capacity(nchars);
        for c in 0..nchars {
            let mut v = 0u8;
            for k in 0..6 {
                let pos = c * 6 + k;
                let bit = if pos < self.len {
                    (self.buf[pos / 8] >> (7 - pos % 8)) & 1
                } else {
                    0
                };
                v = (v << 1) | bit;
            }
            out.push(v);
        }
        (out, fill)
    }
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

/// Six-bit code of a character, or `None` if it has none.
pub fn sixbit_code(c: char) -> Option<u8> {
    SIXBIT_ASCII
        .iter()
        .position(|&a| a as char == c)
        .map(|p| p as u8)
}

impl Walker for Writer {
    fn bit_len(&self) -> usize {
        self.len
    }
    fn u<T: Raw>(&mut self, v: &mut T, start: usize, width: usize, _: &'static str, _: Fmt) {
        self.put(start, width, u64::from(v.to_u32()));
    }
    fn i<T: RawSigned>(&mut self, v: &mut T, start: usize, width: usize, _: &'static str, _: Fmt) {
        let mask = if width >= 64 {
            u64::MAX
        } else {
            (1u64 << width) - 1
        };
        self.put(start, width, (i64::from(v.to_i32()) as u64) & mask);
    }
    fn flag(&mut self, v: &mut bool, start: usize, _: &'static str) {
        self.put(start, 1, u64::from(*v));
    }
    fn text(&mut self, v: &mut String, start: usize, nchars: usize, _: &'static str) {
        let mut chars = v.chars();
        for k in 0..nchars {
            // Characters without a six-bit code, and the padding past the text, are '@'.
            let code = chars.next().and_then(sixbit_code).unwrap_or(0);
            self.put(start + 6 * k, 6, u64::from(code));
        }
    }
    fn utc(&mut self, v: &mut UtcFields, start: usize, _: &'static str) {
        self.put(start, 14, u64::from(v.year));
        self.put(start + 14, 4, u64::from(v.month));
        self.put(start + 18, 5, u64::from(v.day));
        self.put(start + 23, 5, u64::from(v.hour));
        self.put(start + 28, 6, u64::from(v.minute));
        self.put(start + 34, 6, u64::from(v.second));
    }
    fn eta(&mut self, v: &mut Eta, start: usize, _: &'static str) {
        self.put(start, 4, u64::from(v.month));
        self.put(start + 4, 5, u64::from(v.day));
        self.put(start + 9, 5, u64::from(v.hour));
        self.put(start + 14, 6, u64::from(v.minute));
    }
    fn data(&mut self, v: &mut Payload, start: usize, _: Option<usize>, _: &'static str) {
        for k in 0..v.bit_len {
            let byte = v.bytes.get(k / 8).copied().unwrap_or(0);
            self.put(start + k, 1, u64::from((byte >> (7 - k % 8)) & 1));
        }
        self.len = self.len.max(start + v.bit_len);
    }
    fn derived(&mut self, _: &mut dyn FnMut(&mut dyn Emit)) {}
    fn is_writer(&self) -> bool {
        true
    }
}

/// Emit decoded application fields, lists as arrays of objects.
pub fn emit_fields(e: &mut dyn Emit, fields: &super::application::Fields) {
    use super::application::FieldValue as V;
    for (name, value) in fields {
        match value {
            V::Uint(v) => e.uint(name, *v),
            V::Int(v) => e.int(name, *v),
            V::Bool(v) => e.flag(name, *v),
            V::Text(v) => e.str(name, v),
            V::List(items) => {
                e.begin_list(name);
                for item in items {
                    e.begin_item();
                    emit_fields(e, item);
                    e.end_item();
                }
                e.end_list();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_then_reader_gives_back_signed_and_text_fields() {
        let mut w = Writer::new();
        let mut lon: i32 = -74_037_230;
        let mut name = String::from("EVER DIADEM");
        w.i(
            &mut lon,
            61,
            28,
            "lon",
            Fmt::Lon(CoordRes::TenThousandthMinute),
        );
        w.text(&mut name, 112, 20, "shipname");
        let (six, fill) = w.sixbits();
        let armored: Vec<u8> = six
            .iter()
            .map(|&v| if v < 40 { v + 48 } else { v + 56 })
            .collect();
        let mut bits = Bits::new();
        bits.push_armored(&armored, fill).unwrap();
        let mut r = Reader { bits: &bits };
        let mut lon2 = 0i32;
        let mut name2 = String::new();
        r.i(&mut lon2, 61, 28, "lon", Fmt::Plain);
        r.text(&mut name2, 112, 20, "shipname");
        assert_eq!(lon2, lon);
        assert_eq!(name2, name);
        assert_eq!(bits.len(), 232);
    }
}
