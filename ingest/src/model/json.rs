//! Observations written as JSON without serde's machinery, byte for byte what
//! `serde_json` writes from their `Serialize` (the contract): ingest writes one for every
//! AIS message it publishes, a hundred thousand a second, and through the derive it cost
//! three times what decoding the message had (`tests/bench/decode.py`).
//!
//! Strings with anything to escape go through `serde_json`'s own escaping; coordinates and
//! values in tenths as decoded through the decoder's writer (the numerator found from the
//! double's bits, the digits `zmij` would find without its search), other floats through
//! the same `zmij`; integers as `Display` writes them (as `itoa` does); times as `jiff`
//! writes them, made in registers. What the tests hold: every byte is serde's.

use std::io::Write;

use jiff::Timestamp;

use super::{AisObservation, Observation, ObservationData, TimeSource};
use crate::ais::json::{eight_digits, push_coordinate_as_serde, push_i64, push_tenths_as_serde};

impl Observation {
    /// Append the observation as `serde_json::to_writer` writes it. Other observations
    /// than AIS (a unit's few a second) go through `serde_json`.
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let ObservationData::Ais(a) = &self.data else {
            return serde_json::to_writer(out, self);
        };
        out.extend_from_slice(b"{\"id\":");
        push_str(out, &self.id)?;
        out.extend_from_slice(b",\"time\":");
        let time = TimeText::of(self.time);
        push_quoted_time(out, time, self.time);
        out.extend_from_slice(match self.time_source {
            TimeSource::TagBlock => b",\"time_source\":\"tag_block\",\"received_at\":",
            TimeSource::Received => b",\"time_source\":\"received\",\"received_at\":",
            TimeSource::Sender => b",\"time_source\":\"sender\",\"received_at\":",
        });
        // Without a time of its own, an observation's time is its reception: the same text.
        let received = if self.received_at == self.time {
            time
        } else {
            TimeText::of(self.received_at)
        };
        push_quoted_time(out, received, self.received_at);
        out.extend_from_slice(b",\"receivers\":[");
        for (i, r) in self.receivers.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_str(out, r)?;
        }
        out.extend_from_slice(b"],\"data\":{\"kind\":\"ais\"");
        push_ais(out, a)?;
        out.extend_from_slice(b"}}");
        Ok(())
    }
}

/// The fields of `a`, each after a comma, in the order of its declaration.
fn push_ais(out: &mut Vec<u8>, a: &AisObservation) -> serde_json::Result<()> {
    // Destructured, so that a field added to the struct and not written here does not
    // compile.
    let AisObservation {
        mmsi,
        msg_type,
        own_ship,
        lat,
        lon,
        accuracy,
        sog_kn,
        cog_deg,
        heading_deg,
        nav_status,
        utc_second,
        name,
        callsign,
        imo,
        ship_type,
        length_m,
        beam_m,
        draught_m,
        destination,
        mothership_mmsi,
        text,
    } = a;
    key(out, b",\"mmsi\":");
    push_i64(out, i64::from(*mmsi));
    key(out, b",\"msg_type\":");
    push_i64(out, i64::from(*msg_type));
    if *own_ship {
        out.extend_from_slice(b",\"own_ship\":true");
    }
    opt_f64_as(out, b",\"lat\":", *lat, push_coordinate_as_serde);
    opt_f64_as(out, b",\"lon\":", *lon, push_coordinate_as_serde);
    if let Some(v) = accuracy {
        key(out, b",\"accuracy\":");
        out.extend_from_slice(if *v { b"true" } else { b"false" });
    }
    opt_f64_as(out, b",\"sog_kn\":", *sog_kn, push_tenths_as_serde);
    opt_f64_as(out, b",\"cog_deg\":", *cog_deg, push_tenths_as_serde);
    opt_int(out, b",\"heading_deg\":", *heading_deg);
    opt_int(out, b",\"nav_status\":", *nav_status);
    opt_int(out, b",\"utc_second\":", *utc_second);
    opt_str(out, b",\"name\":", name)?;
    opt_str(out, b",\"callsign\":", callsign)?;
    opt_int(out, b",\"imo\":", *imo);
    opt_int(out, b",\"ship_type\":", *ship_type);
    opt_int(out, b",\"length_m\":", *length_m);
    opt_int(out, b",\"beam_m\":", *beam_m);
    opt_f64_as(out, b",\"draught_m\":", *draught_m, push_tenths_as_serde);
    opt_str(out, b",\"destination\":", destination)?;
    opt_int(out, b",\"mothership_mmsi\":", *mothership_mmsi);
    opt_str(out, b",\"text\":", text)
}

/// A key, given whole as `,"name":`: a constant the compiler copies in place (pieces of a
/// length it does not know were each a call to `memcpy`).
#[inline(always)]
fn key(out: &mut Vec<u8>, key: &'static [u8]) {
    out.extend_from_slice(key);
}

#[inline(always)]
fn opt_int<I: Into<i64>>(out: &mut Vec<u8>, name: &'static [u8], v: Option<I>) {
    if let Some(v) = v {
        key(out, name);
        push_i64(out, v.into());
    }
}

/// As `serde_json` writes an `f64`: by `fast` when it writes it (a coordinate, a value in
/// tenths, as decoded: the same bytes without the search for the shortest digits), else its
/// shortest form by `zmij`; `null` when not finite.
#[inline(always)]
fn opt_f64_as(
    out: &mut Vec<u8>,
    name: &'static [u8],
    v: Option<f64>,
    fast: fn(&mut Vec<u8>, f64) -> bool,
) {
    if let Some(v) = v {
        key(out, name);
        if !fast(out, v) {
            if v.is_finite() {
                out.extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
            } else {
                out.extend_from_slice(b"null");
            }
        }
    }
}

#[inline(always)]
fn opt_str(out: &mut Vec<u8>, name: &'static [u8], v: &Option<String>) -> serde_json::Result<()> {
    if let Some(v) = v {
        key(out, name);
        push_str(out, v)?;
    }
    Ok(())
}

/// A string, quoted; one with anything to escape (a quote, a backslash, a control
/// character) is escaped by `serde_json` itself.
#[inline]
fn push_str(out: &mut Vec<u8>, s: &str) -> serde_json::Result<()> {
    if needs_escape(s.as_bytes()) {
        return serde_json::to_writer(out, s);
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
    Ok(())
}

/// Does `s` hold a byte JSON escapes (a control character, `"`, `\`)? Eight bytes a step:
/// a byte is below `n` (≤ 0x80) when subtracting `n` from it borrows and its high bit was
/// clear; equal to `c` when its XOR with `c` is zero, i.e. below 1. (A borrow carried into
/// a higher byte only follows a byte that is itself found.)
#[inline]
fn needs_escape(s: &[u8]) -> bool {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES * 0x80;
    let below = |w: u64, n: u64| w.wrapping_sub(ONES * n) & !w & HIGH != 0;
    let mut words = s.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_le_bytes(w.try_into().unwrap_or_default());
        if below(w, 0x20) || below(w ^ (ONES * 0x22), 1) || below(w ^ (ONES * 0x5c), 1) {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// A time, quoted, as `jiff` writes it (see [`push_timestamp`]).
pub(crate) fn push_time(out: &mut Vec<u8>, t: Timestamp) {
    push_quoted_time(out, TimeText::of(t), t);
}

/// `t`, quoted, from its text `text` when it has one.
#[inline]
fn push_quoted_time(out: &mut Vec<u8>, text: Option<TimeText>, t: Timestamp) {
    out.push(b'"');
    push_time_text(out, text, t);
    out.push(b'"');
}

/// A time as `jiff`'s `Display` writes it (RFC 3339 in UTC, `Z`, the fraction of a second
/// without its trailing zeros). Also the raw archive's record times.
pub(crate) fn push_timestamp(out: &mut Vec<u8>, t: Timestamp) {
    push_time_text(out, TimeText::of(t), t);
}

/// `t` from its text `text`, or through `Display` (before 1970) when it has none.
#[inline]
fn push_time_text(out: &mut Vec<u8>, text: Option<TimeText>, t: Timestamp) {
    match text {
        Some(text) => text.push(out),
        // Writing to a Vec cannot fail.
        None => drop(write!(out, "{t}")),
    }
}

/// A time's text from 1970 on, as `jiff`'s `Display` writes it, made in registers: the
/// first `len` bytes of four words, the first byte lowest. Made once for two copies of one
/// time (copying the first back out of the output waited on the stores that had just
/// written it).
#[derive(Clone, Copy)]
struct TimeText {
    words: [u64; 4],
    len: usize,
}

impl TimeText {
    /// The text of `t`; `None` before 1970 (`jiff`'s times end within the year 9999: four
    /// digits).
    #[inline]
    fn of(t: Timestamp) -> Option<TimeText> {
        let (secs, nanos) = (t.as_second(), t.subsec_nanosecond());
        if secs < 0 || nanos < 0 {
            return None;
        }
        // The same second comes again and again (the observations of one second, the
        // archive's records of one message): its date and time are made once. Bytes 0–18;
        // the third word's other bytes are zero.
        thread_local! {
            static LAST: std::cell::Cell<(i64, [u64; 3])> =
                const { std::cell::Cell::new((-1, [0; 3])) };
        }
        let (last, mut w) = LAST.get();
        if last != secs {
            let (days, second_of_day) = (secs / 86_400, (secs % 86_400) as u32);
            let (year, month, day) = civil_from_days(days);
            let mut b = *b"0000-00-00T00:00:00\0\0\0\0\0";
            put4(&mut b[0..4], year);
            put2(&mut b[5..7], month);
            put2(&mut b[8..10], day);
            put2(&mut b[11..13], second_of_day / 3600);
            put2(&mut b[14..16], second_of_day / 60 % 60);
            put2(&mut b[17..19], second_of_day % 60);
            let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
            w = [word(0), word(8), word(16)];
            LAST.set((secs, w));
        }
        // Bytes 16–31 (the end of the seconds, then `.`, the nine digits of the fraction
        // and `Z`), cut after the last digit that is not a trailing zero.
        let n = nanos as u32;
        let (tail, len) = if n == 0 {
            (u128::from(w[2]) | u128::from(b'Z') << 24, 20)
        } else {
            let first = u128::from(b'0' + (n / 100_000_000) as u8);
            let rest = eight_digits(n % 100_000_000);
            // The trailing zeros: the highest bytes of `rest` that are `0` (eight when all
            // are: the first digit is then not zero).
            let zeros = ((rest ^ 0x3030_3030_3030_3030).leading_zeros() / 8) as usize;
            let digits = 9 - zeros;
            let text =
                u128::from(w[2]) | u128::from(b'.') << 24 | first << 32 | u128::from(rest) << 40;
            // `Z` in place of the byte after the last digit.
            let z = 8 * (4 + digits);
            ((text & !(0xff << z)) | u128::from(b'Z') << z, 21 + digits)
        };
        Some(TimeText {
            words: [w[0], w[1], tail as u64, (tail >> 64) as u64],
            len,
        })
    }

    /// Append the text.
    #[inline]
    fn push(self, out: &mut Vec<u8>) {
        let mut bytes = [0; 32];
        for (b, w) in bytes.chunks_exact_mut(8).zip(self.words) {
            b.copy_from_slice(&w.to_le_bytes());
        }
        let at = out.len();
        out.extend_from_slice(&bytes);
        out.truncate(at + self.len);
    }
}

#[inline]
fn put2(b: &mut [u8], v: u32) {
    b[0] = b'0' + (v / 10) as u8;
    b[1] = b'0' + (v % 10) as u8;
}

#[inline]
fn put4(b: &mut [u8], v: u32) {
    put2(&mut b[..2], v / 100);
    put2(&mut b[2..], v % 100);
}

/// Year, month and day of the `days`-th day after 1970-01-01 (`days` ≥ 0), in the
/// proleptic Gregorian calendar (the civil-from-days algorithm of H. Hinnant).
fn civil_from_days(days: i64) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as u32, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::UnitId;
    use proptest::prelude::*;

    fn serde_bytes(o: &Observation) -> Vec<u8> {
        serde_json::to_vec(o).expect("serializes")
    }

    fn ours(o: &Observation) -> Vec<u8> {
        let mut out = b"before".to_vec();
        o.write_json(&mut out).expect("writes");
        assert!(out.starts_with(b"before"), "appends");
        out.split_off(6)
    }

    /// Text with what JSON escapes: quotes, backslashes, control characters, and
    /// characters beyond ASCII.
    fn text() -> impl Strategy<Value = String> {
        "(a|\"|\\\\|\\n|\\t|\\x00|\\x1f|\\x7f|é|€|𝄞| ){0,6}"
    }

    fn float() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            -180.0..180.0f64,
            (-108_000_000i32..108_000_000).prop_map(|r| f64::from(r) / 600_000.0),
            (-40_000i32..40_000).prop_map(|t| f64::from(t) / 10.0),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-0.0),
            Just(1e21),
            Just(1e-7),
        ]
    }

    /// Coordinates and values in tenths as decoded are written by their own paths as
    /// serde_json writes them: every tenth to ±3 000 (speeds, courses, draughts) and values
    /// around that path's edges; whole degrees and their neighbours, the edges of the
    /// coordinate path, and half a million coordinates spread over the whole range. Nearly
    /// all take the paths (which are what keeps writing an observation cheaper than
    /// decoding it).
    #[test]
    fn coordinates_and_tenths_are_written_as_serde_writes_them() {
        use crate::ais::json::{push_coordinate_as_serde, push_tenths_as_serde};
        let check = |v: f64, fast: fn(&mut Vec<u8>, f64) -> bool| {
            let mut out = Vec::new();
            let taken = fast(&mut out, v);
            if taken {
                let expected = serde_json::to_string(&v).unwrap();
                assert_eq!(String::from_utf8(out).unwrap(), expected, "{v:?}");
            } else {
                assert!(out.is_empty(), "{v:?}");
            }
            usize::from(taken)
        };
        let tenths: usize = (-30_000..=30_000)
            .map(|t| check(f64::from(t) / 10.0, push_tenths_as_serde))
            .sum();
        assert_eq!(tenths, 60_001);
        // A double next to a value in tenths is not one: written by zmij, or as serde would.
        for t in (-30_000..=30_000).chain((0..1_000).map(|i| 999_999_000 + i)) {
            let v = t as f64 / 10.0;
            check(v.next_up(), push_tenths_as_serde);
            check(v.next_down(), push_tenths_as_serde);
        }
        for v in [
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.05,
            0.25,
            1e8,
            99_999_999.9,
            -99_999_999.9,
            123.45,
            1e-7,
        ] {
            check(v, push_tenths_as_serde);
        }
        let mut raws: Vec<i64> = (-3_000..=3_000).collect();
        for degree in -181..=181i64 {
            raws.extend((-3..=3).map(|d| degree * 600_000 + d));
        }
        raws.extend([
            108_600_000,
            108_600_001,
            108_599_999,
            -108_600_001,
            i64::from(i32::MAX),
        ]);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..500_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            raws.push((seed % 217_200_001) as i64 - 108_600_000);
        }
        let n = raws.len();
        let taken: usize = raws
            .into_iter()
            .map(|r| {
                let v = r as f64 / 600_000.0;
                check(v.next_up(), push_coordinate_as_serde);
                check(v.next_down(), push_coordinate_as_serde);
                check(v, push_coordinate_as_serde)
            })
            .sum();
        assert!(taken * 100 > n * 99, "{taken} of {n} took the path");
        for v in [-0.0, 0.0, f64::NAN, f64::INFINITY, 1e-7, 0.1, 1e300, 181.5] {
            check(v, push_coordinate_as_serde);
        }
    }

    /// The word-at-a-time test finds exactly the bytes JSON escapes: each byte value at
    /// each place of strings up to three words and a bit, and every pair of neighbours
    /// within a word and across two (where a borrow could carry).
    #[test]
    fn needs_escape_finds_exactly_what_json_escapes() {
        let escaped = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
        for len in 1..=27 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut s = vec![b'a'; len];
                    s[at] = b;
                    assert_eq!(needs_escape(&s), escaped(b), "{b:#x} at {at} of {len}");
                }
            }
        }
        for at in [0, 6, 7] {
            for (x, y) in (0..=255u8).flat_map(|x| (0..=255u8).map(move |y| (x, y))) {
                let mut s = vec![b' '; 16];
                (s[at], s[at + 1]) = (x, y);
                assert_eq!(
                    needs_escape(&s),
                    escaped(x) || escaped(y),
                    "{x:#x} {y:#x} at {at}"
                );
            }
        }
        assert!(!needs_escape(b""));
    }

    /// A string of each length up to five words, with each ASCII byte at each place (and
    /// characters beyond ASCII across the words' ends): quoted and escaped as serde does,
    /// appended after what was there.
    #[test]
    fn a_string_is_written_as_serde_writes_it() {
        let check = |s: &str| {
            let mut out = b"before".to_vec();
            push_str(&mut out, s).expect("writes");
            assert_eq!(out[..6], *b"before");
            assert_eq!(
                String::from_utf8(out.split_off(6)).unwrap(),
                serde_json::to_string(s).unwrap()
            );
        };
        for len in 0..=40 {
            check(&"a".repeat(len));
            for at in 0..len {
                for b in 0..0x80u8 {
                    let mut s = vec![b'a'; len];
                    s[at] = b;
                    check(std::str::from_utf8(&s).unwrap());
                }
                for c in ["é", "€", "𝄞"] {
                    check(&format!("{}{c}{}", "a".repeat(at), "\"".repeat(len - at)));
                    check(&format!("{}{c}{}", "a".repeat(at), "b".repeat(len - at)));
                }
            }
        }
    }

    fn time() -> impl Strategy<Value = Timestamp> {
        let (min, max) = (Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
        prop_oneof![
            (min..=max, 0..1_000_000_000i32),
            (0..=4_102_444_800i64, 0..1_000_000_000i32),
            (
                0..=4_102_444_800i64,
                (0..1_000i32).prop_map(|ms| ms * 1_000_000)
            ),
            (0..=max, Just(0)),
        ]
        .prop_filter_map("in range", |(s, n)| Timestamp::new(s, n).ok())
    }

    prop_compose! {
        fn ais()(
            head in (any::<u32>(), any::<u8>(), any::<bool>(), proptest::option::of(float()),
                proptest::option::of(float()), proptest::option::of(any::<bool>()),
                proptest::option::of(float()), proptest::option::of(float())),
            small in (proptest::option::of(any::<u16>()), proptest::option::of(any::<u8>()),
                proptest::option::of(any::<u8>()), proptest::option::of(any::<u32>()),
                proptest::option::of(any::<u8>()), proptest::option::of(any::<u16>()),
                proptest::option::of(any::<u16>()), proptest::option::of(any::<u32>())),
            texts in (proptest::option::of(text()), proptest::option::of(text()),
                proptest::option::of(text()), proptest::option::of(text()),
                proptest::option::of(float())),
        ) -> AisObservation {
            let (mmsi, msg_type, own_ship, lat, lon, accuracy, sog_kn, cog_deg) = head;
            let (heading_deg, nav_status, utc_second, imo, ship_type, length_m, beam_m,
                mothership_mmsi) = small;
            let (name, callsign, destination, text, draught_m) = texts;
            AisObservation {
                mmsi, msg_type, own_ship, lat, lon, accuracy, sog_kn, cog_deg, heading_deg,
                nav_status, utc_second, name, callsign, imo, ship_type, length_m, beam_m,
                draught_m, destination, mothership_mmsi, text,
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3_000))]

        /// Any AIS observation: the bytes `serde_json` writes from its `Serialize`.
        #[test]
        fn an_ais_observation_is_written_as_serde_writes_it(
            a in ais(),
            id in text(),
            time in time(),
            received_at in time(),
            received_then in any::<bool>(),
            source in 0..3u8,
            receivers in proptest::collection::vec(text(), 0..3),
        ) {
            let o = Observation {
                id,
                time,
                time_source: [TimeSource::TagBlock, TimeSource::Received, TimeSource::Sender]
                    [usize::from(source)],
                // Half the cases without a time of their own (their time is their reception).
                received_at: if received_then { time } else { received_at },
                receivers,
                data: ObservationData::Ais(a),
            };
            prop_assert_eq!(
                String::from_utf8(ours(&o)).unwrap(),
                String::from_utf8(serde_bytes(&o)).unwrap()
            );
        }

        /// Every time `jiff` can hold: the text its `Display` writes.
        #[test]
        fn a_time_is_written_as_jiff_writes_it(t in time()) {
            let mut out = Vec::new();
            push_time(&mut out, t);
            prop_assert_eq!(String::from_utf8(out).unwrap(), format!("\"{t}\""));
        }
    }

    /// Every raw coordinate of the range, both signs, and the doubles either side of each
    /// (650 million values; under a minute in release), and every value in tenths up to
    /// 10 000 000 (knots, degrees, metres) and its neighbours, written by the fast paths as serde
    /// writes them, or left to serde: `cargo test --release -p ingest --lib -- --ignored
    /// every_value_as_decoded`.
    #[test]
    #[ignore = "every value of the range: run in release"]
    fn every_value_as_decoded_is_written_as_serde_writes_it() {
        use crate::ais::json::{push_coordinate_as_serde, push_tenths_as_serde};
        let mut out = Vec::new();
        let mut check = |v: f64, fast: fn(&mut Vec<u8>, f64) -> bool| {
            out.clear();
            if fast(&mut out, v) {
                assert_eq!(out, serde_json::to_vec(&v).unwrap(), "{v:?}");
                1u64
            } else {
                0
            }
        };
        // Every quotient of the numerators, checked with its neighbours: how many the fast
        // path wrote.
        let mut every = |numerators: std::ops::RangeInclusive<i32>,
                         den: f64,
                         fast: fn(&mut Vec<u8>, f64) -> bool| {
            let mut taken = 0;
            for a in numerators {
                let v = f64::from(a) / den;
                taken += check(v, fast);
                assert_eq!(check(v.next_up(), fast), 0, "{a} / {den}");
                assert_eq!(check(v.next_down(), fast), 0, "{a} / {den}");
            }
            taken
        };
        let taken = every(
            -108_600_000..=108_600_000,
            600_000.0,
            push_coordinate_as_serde,
        );
        eprintln!("{taken} of 217 200 001 coordinates written by the fast path");
        assert_eq!(
            every(-100_000_000..=100_000_000, 10.0, push_tenths_as_serde),
            200_000_001
        );
    }

    /// Fractions of every length, from one significant digit to nine, with zeros inside
    /// them and at their ends, written by the same thread across seconds (its remembered
    /// date and time) and in the observation's two times.
    #[test]
    fn fractions_of_every_length_are_written_as_jiff_writes_them() {
        let mut nanos = vec![0, 1, 5, 999_999_999, 100_000_001, 123_456_789, 120_000_000];
        for z in 0..9 {
            let unit = 10i32.pow(z);
            nanos.extend([unit, 7 * unit, 10 * unit + unit, 999_999_999 / unit * unit]);
        }
        for secs in [0, 59, 86_399, 951_782_400, 1_795_305_600, 253_402_207_199] {
            for &n in &nanos {
                let t = Timestamp::new(secs, n % 1_000_000_000).unwrap();
                let mut out = Vec::new();
                push_time(&mut out, t);
                assert_eq!(String::from_utf8(out).unwrap(), format!("\"{t}\""));
                let o = Observation {
                    id: "x".into(),
                    time: t,
                    time_source: TimeSource::Received,
                    received_at: t,
                    receivers: vec![],
                    data: ObservationData::Ais(AisObservation::default()),
                };
                assert_eq!(ours(&o), serde_bytes(&o), "{t}");
            }
        }
    }

    #[test]
    fn the_days_of_the_calendar_are_jiffs() {
        // Every day from 1970 to 2100, and the last `jiff` has.
        let day = |d: i64| Timestamp::new(d * 86_400, 0).unwrap().to_string();
        for d in (0..47_482).chain([2_932_895]) {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(
                format!("{y:04}-{m:02}-{dd:02}T00:00:00Z"),
                day(d),
                "day {d}"
            );
        }
    }

    #[test]
    fn other_observations_are_written_by_serde() {
        let o = Observation {
            id: "patrol-1".into(),
            time: Timestamp::UNIX_EPOCH,
            time_source: TimeSource::Sender,
            received_at: Timestamp::UNIX_EPOCH,
            receivers: vec!["patrol-7".into()],
            data: ObservationData::PatrolFix {
                unit: UnitId::new("patrol-7").unwrap(),
                lat: Some(35.5),
                lon: None,
                sog_kn: Some(f64::NAN),
                cog_deg: None,
                heading_deg: None,
            },
        };
        assert_eq!(ours(&o), serde_bytes(&o));
    }
}
