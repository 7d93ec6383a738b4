//! The AIS payload as a bit vector: 6-bit de-armoring and field extraction.
//!
//! AIS payloads travel in NMEA sentences as "armored" ASCII, six bits per character
//! (ITU-R M.1371-5 §3.3.7). [`Bits`] holds the de-armored payload of one whole message
//! (all fragments) packed most-significant-bit first, and reads unsigned, signed,
//! boolean and six-bit text fields at bit offsets.
//!
//! Reads past the end return zero bits, never panic: a short message simply decodes
//! its missing tail as zeros, which is how gpsd behaves, and the per-type length checks
//! in [`super::message`] decide whether a message is long enough to be accepted.
//! The fill bits of the last character stay in the buffer (the length excludes them),
//! again as in gpsd, so binary payloads hex-dump byte for byte like `gpsdecode`.

use super::DecodeError;

/// Largest payload accepted, in bits (341 armored characters: more than any
/// real multi-slot AIS message, which tops out at 1008 bits for five slots).
pub const MAX_BITS: usize = 2048;
const MAX_BYTES: usize = MAX_BITS / 8;
/// Zero bytes kept after the payload so a 64-bit window read never leaves the buffer.
const SLACK: usize = 8;

/// The six-bit ASCII alphabet of ITU-R M.1371 Table 47, indexed by the 6-bit value.
pub const SIXBIT_ASCII: &[u8; 64] =
    b"@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !\"#$%&'()*+,-./0123456789:;<=>?";

/// A de-armored AIS payload, packed MSB first.
#[derive(Clone)]
pub struct Bits {
    /// Packed bits; everything after `stored_bits` is zero.
    buf: [u8; MAX_BYTES + SLACK],
    /// Bits written so far, fill bits included (the highest bit ever written).
    stored_bits: usize,
    /// Payload length in bits: `stored_bits` minus the fill bits.
    len: usize,
}

impl Default for Bits {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Bits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bits({}:{})", self.len, self.hex(0, self.len))
    }
}

/// 6-bit values of armored characters, `INVALID` for bytes outside the alphabet.
const DEARMOR: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b >= b'0' && b <= b'W' {
            t[c] = b - b'0';
        } else if b >= b'`' && b <= b'w' {
            t[c] = b - b'0' - 8;
        }
        c += 1;
    }
    t
};
const INVALID: u8 = 0xff;

/// The 6-bit value of one armored payload character, or `None` if the character is
/// outside the two armoring ranges `0`..=`W` and `` ` ``..=`w`.
#[inline]
pub fn dearmor(c: u8) -> Option<u8> {
    let v = DEARMOR[usize::from(c)];
    (v != INVALID).then_some(v)
}

impl Bits {
    /// An empty payload.
    pub fn new() -> Self {
        Bits {
            buf: [0; MAX_BYTES + SLACK],
            stored_bits: 0,
            len: 0,
        }
    }

    /// Forget the payload (zeroes what was written, so reads past the end stay zero).
    pub fn clear(&mut self) {
        let used = self.stored_bits.div_ceil(8);
        self.buf[..used].fill(0);
        self.stored_bits = 0;
        self.len = 0;
    }

    /// Payload length in bits (fill bits excluded).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no bit has been stored.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Append one sentence's armored payload. `fill_bits` (0–5, or 6 as gpsd tolerates)
    /// are the unused bits of its last character. Each fragment's fill bits are dropped
    /// and the next fragment continues at the end of this one's payload, as in gpsd:
    /// real transmitters do put fill bits on non-final fragments.
    pub fn push_armored(&mut self, payload: &[u8], fill_bits: u8) -> Result<(), DecodeError> {
        let start = self.len;
        let total = start + payload.len() * 6;
        if total > MAX_BITS {
            return Err(DecodeError::PayloadTooLong { bits: total });
        }
        // Append through a bit accumulator: `pending` bits of `acc` not yet stored. The
        // partial byte we continue (if any) is taken back, minus the fill bits after it.
        let mut byte = start / 8;
        let mut pending = (start % 8) as u32;
        let mut acc: u64 = if pending > 0 {
            u64::from(self.buf[byte] >> (8 - pending))
        } else {
            0
        };
        // Four characters (24 bits, three bytes) at a time while they are all valid; the
        // rest, and a group with a bad character, one at a time below.
        let mut done = 0;
        for group in payload.chunks_exact(4) {
            let v = [
                DEARMOR[usize::from(group[0])],
                DEARMOR[usize::from(group[1])],
                DEARMOR[usize::from(group[2])],
                DEARMOR[usize::from(group[3])],
            ];
            if (v[0] | v[1] | v[2] | v[3]) & 0xc0 != 0 {
                break;
            }
            acc = (acc << 24)
                | u64::from(v[0]) << 18
                | u64::from(v[1]) << 12
                | u64::from(v[2]) << 6
                | u64::from(v[3]);
            // pending was below 8: now 24 to 31, three whole bytes to store.
            self.buf[byte] = (acc >> (pending + 16)) as u8;
            self.buf[byte + 1] = (acc >> (pending + 8)) as u8;
            self.buf[byte + 2] = (acc >> pending) as u8;
            byte += 3;
            done += 4;
        }
        for &c in &payload[done..] {
            let v = DEARMOR[usize::from(c)];
            if v == INVALID {
                self.truncate(start, byte.max(self.stored_bits.div_ceil(8)));
                return Err(DecodeError::BadPayloadChar { byte: c });
            }
            acc = (acc << 6) | u64::from(v);
            pending += 6;
            if pending >= 8 {
                pending -= 8;
                self.buf[byte] = (acc >> pending) as u8;
                byte += 1;
            }
        }
        if pending > 0 {
            self.buf[byte] = (acc << (8 - pending)) as u8;
        }
        // Stale fill bits of the previous fragment past the new end stay, as in gpsd
        // (they can only be seen by reads past the payload).
        self.stored_bits = total.max(self.stored_bits);
        self.len = total.saturating_sub(usize::from(fill_bits));
        Ok(())
    }

    /// Cut the payload back to `len` bits after a failed append, zeroing everything
    /// after it up to and including byte `last`.
    fn truncate(&mut self, len: usize, last: usize) {
        let first = len / 8;
        let keep = len % 8;
        let mut from = first;
        if keep > 0 {
            self.buf[first] &= 0xffu8 << (8 - keep);
            from += 1;
        }
        let last = last.min(self.buf.len() - 1);
        if from <= last {
            self.buf[from..=last].fill(0);
        }
        self.len = len;
        self.stored_bits = len;
    }

    /// The unsigned field of `width` (≤ 32) bits starting at bit `start`.
    #[inline]
    pub fn u(&self, start: usize, width: usize) -> u32 {
        debug_assert!(width <= 32);
        if width == 0 || start >= MAX_BITS {
            return 0;
        }
        let byte = start / 8;
        let mut w = [0u8; 8];
        w.copy_from_slice(&self.buf[byte..byte + 8]);
        let word = u64::from_be_bytes(w);
        let v = (word << (start % 8)) >> (64 - width);
        v as u32
    }

    /// The two's-complement signed field of `width` (≤ 32) bits starting at bit `start`.
    #[inline]
    pub fn i(&self, start: usize, width: usize) -> i32 {
        if width == 0 {
            return 0;
        }
        let v = self.u(start, width);
        let shift = 32 - width;
        ((v << shift) as i32) >> shift
    }

    /// The one-bit flag at `start`.
    #[inline]
    pub fn flag(&self, start: usize) -> bool {
        self.u(start, 1) == 1
    }

    /// Six-bit text of up to `nchars` characters starting at bit `start`, read the way
    /// gpsd does: cut at the first `@` (the padding character), trailing blanks trimmed,
    /// leading blanks kept.
    pub fn text(&self, start: usize, nchars: usize) -> String {
        let mut s = self.text_untrimmed(start, nchars);
        trim_right_blanks(&mut s);
        s
    }

    /// Six-bit text cut at the first `@` but with trailing blanks kept (gpsd does this
    /// for the first part of the type 21 name, before the extension is appended).
    pub fn text_untrimmed(&self, start: usize, nchars: usize) -> String {
        let mut s = String::with_capacity(nchars);
        for k in 0..nchars {
            let c = SIXBIT_ASCII[self.u(start + 6 * k, 6) as usize];
            if c == b'@' {
                break;
            }
            s.push(c as char);
        }
        s
    }

    /// Lower-case hex of the `nbits` bits from `start`, padded with whatever follows
    /// them in the buffer to whole bytes (gpsd's `data` field dumps bytes this way).
    pub fn hex(&self, start: usize, nbits: usize) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let nbytes = nbits.div_ceil(8);
        let mut s = String::with_capacity(nbytes * 2);
        for k in 0..nbytes {
            let b = self.u(start + 8 * k, 8) as u8;
            s.push(HEX[usize::from(b >> 4)] as char);
            s.push(HEX[usize::from(b & 0xf)] as char);
        }
        s
    }

    /// The `nbits` bits from `start` as bytes, left-aligned, last byte zero-padded.
    pub fn bytes(&self, start: usize, nbits: usize) -> Vec<u8> {
        let nbytes = nbits.div_ceil(8);
        let mut out = Vec::with_capacity(nbytes);
        for k in 0..nbytes {
            let take = (nbits - 8 * k).min(8);
            let b = (self.u(start + 8 * k, take) << (8 - take)) as u8;
            out.push(b);
        }
        out
    }
}

/// Trim trailing blanks in place.
pub fn trim_right_blanks(s: &mut String) {
    let n = s.trim_end_matches(' ').len();
    s.truncate(n);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(payload: &str, fill: u8) -> Bits {
        let mut b = Bits::new();
        b.push_armored(payload.as_bytes(), fill).unwrap();
        b
    }

    #[test]
    fn dearmor_covers_both_ranges_and_rejects_the_gap() {
        assert_eq!(dearmor(b'0'), Some(0));
        assert_eq!(dearmor(b'W'), Some(39));
        assert_eq!(dearmor(b'`'), Some(40));
        assert_eq!(dearmor(b'w'), Some(63));
        assert_eq!(dearmor(b'X'), None);
        assert_eq!(dearmor(b'_'), None);
        assert_eq!(dearmor(b'x'), None);
    }

    #[test]
    fn reads_type_mmsi_and_signed_position_of_a_known_report() {
        // gpsd sample.aivdm: type 1, MMSI 371798000, lon -74037230, lat 29028980.
        let b = bits("15RTgt0PAso;90TKcjM8h6g208CQ", 0);
        assert_eq!(b.len(), 168);
        assert_eq!(b.u(0, 6), 1);
        assert_eq!(b.u(8, 30), 371_798_000);
        assert_eq!(b.i(61, 28), -74_037_230);
        assert_eq!(b.i(89, 27), 29_028_980);
    }

    #[test]
    fn reads_past_the_end_are_zero_and_fill_bits_shorten_the_length() {
        let b = bits("1", 2);
        assert_eq!(b.len(), 4);
        assert_eq!(b.u(6, 32), 0);
        assert_eq!(b.u(MAX_BITS + 100, 8), 0);
    }

    #[test]
    fn text_cuts_at_at_sign_and_trims_right_only() {
        // " AB  @C" in six-bit: ' '=32, 'A'=1, 'B'=2, '@'=0, 'C'=3
        let mut b = Bits::new();
        let payload: Vec<u8> = [32u8, 1, 2, 32, 32, 0, 3]
            .iter()
            .map(|&v| if v < 40 { v + 48 } else { v + 56 })
            .collect();
        b.push_armored(&payload, 0).unwrap();
        assert_eq!(b.text(0, 7), " AB");
        assert_eq!(b.text_untrimmed(0, 7), " AB  ");
    }

    #[test]
    fn each_fragments_fill_bits_are_dropped() {
        let mut b = Bits::new();
        b.push_armored(b"w", 2).unwrap(); // 1111 + two fill bits
        b.push_armored(b"0", 1).unwrap(); // 00000 + one fill bit
        assert_eq!(b.len(), 9);
        assert_eq!(b.u(0, 12), 0b1111_0000_0000);
    }

    #[test]
    fn a_bad_character_leaves_nothing_behind() {
        let mut b = Bits::new();
        b.push_armored(b"w", 0).unwrap();
        assert!(b.push_armored(b"wwwwww!", 0).is_err());
        assert_eq!(b.len(), 6);
        assert_eq!(b.u(0, 32), 0b111111 << 26);
        assert_eq!(b.u(6, 32), 0);
    }

    #[test]
    fn too_long_payload_is_an_error() {
        let mut b = Bits::new();
        let long = vec![b'0'; MAX_BITS / 6 + 1];
        assert!(matches!(
            b.push_armored(&long, 0),
            Err(DecodeError::PayloadTooLong { .. })
        ));
    }
}
