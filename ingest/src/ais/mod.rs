//! Our AIS decoder: NMEA 0183 framing, NMEA 4.0 tag blocks, multi-fragment assembly
//! and every message type 1–27.
//!
//! ```text
//!  line ──▶ tag block ──▶ !xxVDM/VDO fields ──▶ checksum ──▶ fragment assembly ──▶ Bits ──▶ AisMessage
//!           (s:, c:, g:)   (any talker)          (XOR)        (source, channel, seq)  (6-bit)   (types 1–27)
//! ```
//!
//! The decoder is exact where gpsd is exact: positions stay the transmitted integers,
//! and `--format gpsd` reproduces `gpsdecode -u -j` (see `ingest/CONFORMANCE.md`).
//! It allocates nothing for the common position reports.
//!
//! ```
//! use ingest::ais::{Decoder, Body};
//! let mut d = Decoder::new();
//! let out = d
//!     .decode_line(b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A", 0)
//!     .unwrap()
//!     .unwrap();
//! assert_eq!(out.message.mmsi, 371_798_000);
//! let Body::Position(p) = &out.message.body else { panic!() };
//! assert_eq!(p.lat, 29_028_980); // 1/10 000 minute, exactly as transmitted
//! assert_eq!(p.speed_kn(), Some(12.3));
//! ```

pub mod application;
pub mod bits;
pub mod json;
pub mod message;
pub mod tables;
pub mod tagblock;
pub mod walk;

pub use bits::Bits;
pub use message::{AisMessage, Body};
pub use tagblock::TagBlock;

use jiff::Timestamp;

/// Why a line or a message was rejected. [`DecodeError::reason`] gives a stable,
/// low-cardinality code for counters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Nothing but blanks.
    #[error("empty line")]
    Empty,
    /// Longer than any NMEA sentence with a tag block can be.
    #[error("line too long: {len} bytes (limit {limit})")]
    LineTooLong {
        /// Length seen.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Not an NMEA sentence (after any tag block, no `!` or `$`).
    #[error("not an NMEA sentence")]
    NotNmea,
    /// An NMEA sentence, but not AIS VDM/VDO.
    #[error("not an AIS sentence (VDM/VDO): {0}")]
    NotAis(String),
    /// A malformed tag block.
    #[error("bad tag block: {0}")]
    TagBlock(&'static str),
    /// The tag block's checksum does not match.
    #[error("tag block checksum mismatch: computed {computed:02X}, sentence says {stated:02X}")]
    TagBlockChecksum {
        /// XOR of the tag block's characters.
        computed: u8,
        /// The `*hh` value.
        stated: u8,
    },
    /// No `*hh` checksum.
    #[error("no checksum")]
    NoChecksum,
    /// The sentence checksum does not match.
    #[error("checksum mismatch: computed {computed:02X}, sentence says {stated:02X}")]
    Checksum {
        /// XOR of the sentence's characters.
        computed: u8,
        /// The `*hh` value.
        stated: u8,
    },
    /// A VDM/VDO field is malformed.
    #[error("bad field: {0}")]
    Field(&'static str),
    /// A fill-bits value outside 0–6.
    #[error("bad fill bits: {0:?}")]
    FillBits(String),
    /// A payload character outside the 6-bit armoring alphabet.
    #[error("bad payload character {byte:#04x}")]
    BadPayloadChar {
        /// The byte.
        byte: u8,
    },
    /// The assembled payload is longer than any AIS message.
    #[error("payload too long: {bits} bits")]
    PayloadTooLong {
        /// Bits seen.
        bits: usize,
    },
    /// A fragment that continues no group in flight (its predecessor was lost, or it
    /// came out of order).
    #[error("fragment {num} of {total} (sequence {seq}) continues no message in flight")]
    OrphanFragment {
        /// Fragment number.
        num: u8,
        /// Fragment count.
        total: u8,
        /// Sequential message id, or `-`.
        seq: char,
    },
    /// A message type outside 1–27.
    #[error("unknown message type {0}")]
    UnknownType(u8),
    /// The payload length does not fit the message type.
    #[error("type {msg_type} message has {bits} bits, outside {min}..={max}")]
    Length {
        /// Message type.
        msg_type: u8,
        /// Payload length in bits.
        bits: usize,
        /// Shortest accepted.
        min: usize,
        /// Longest accepted.
        max: usize,
    },
    /// A type 24 part number other than A (0) or B (1).
    #[error("type 24 part number {0} (only 0 = A and 1 = B exist)")]
    Type24Part(u8),
}

impl DecodeError {
    /// A stable code for counting rejects by reason (`checksum`, `length`, ...).
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Empty => "empty",
            DecodeError::LineTooLong { .. } => "line_too_long",
            DecodeError::NotNmea => "not_nmea",
            DecodeError::NotAis(_) => "not_ais",
            DecodeError::TagBlock(_) => "tag_block",
            DecodeError::TagBlockChecksum { .. } => "tag_block_checksum",
            DecodeError::NoChecksum => "no_checksum",
            DecodeError::Checksum { .. } => "checksum",
            DecodeError::Field(_) => "field",
            DecodeError::FillBits(_) => "fill_bits",
            DecodeError::BadPayloadChar { .. } => "payload_char",
            DecodeError::PayloadTooLong { .. } => "payload_too_long",
            DecodeError::OrphanFragment { .. } => "orphan_fragment",
            DecodeError::UnknownType(_) => "unknown_type",
            DecodeError::Length { .. } => "length",
            DecodeError::Type24Part(_) => "type24_part",
        }
    }
}

/// Longest line accepted: a tag block (NMEA 4.0 limits it to 80 characters, some feeds
/// send more) plus an 82-character sentence, with generous room for trailing fields.
pub const MAX_LINE: usize = 1024;

/// The fields of one `!xxVDM`/`!xxVDO` sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vdm<'a> {
    /// Talker id, e.g. `AI`, `BS`, `AB`.
    pub talker: [u8; 2],
    /// True for VDO (the receiver's own ship).
    pub own_ship: bool,
    /// Number of fragments, 1–9.
    pub total: u8,
    /// This fragment's number, 1–`total`.
    pub num: u8,
    /// Sequential message id, 0–9, if given.
    pub seq: Option<u8>,
    /// Radio channel (`A`, `B`, `1`, `2`, ...), if given.
    pub channel: Option<u8>,
    /// Armored payload.
    pub payload: &'a [u8],
    /// Fill bits of the last payload character.
    pub fill_bits: u8,
}

/// Where a message's [`payload_hash`] starts.
pub(crate) const HASH_SEED: u64 = 0xcbf2_9ce4_8422_2325;

/// Continue the hash of a message over one fragment's armored payload and fill bits, eight
/// bytes a step (a multiply and a shift each). Only equality matters: the receive path
/// keeps it in memory to merge one transmission heard by several receivers.
#[inline]
pub(crate) fn payload_hash(mut h: u64, payload: &[u8], fill_bits: u8) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut mix = |w: u64| {
        h = (h ^ w).wrapping_mul(K);
        h ^= h >> 32;
    };
    let mut words = payload.chunks_exact(8);
    for w in &mut words {
        mix(u64::from_le_bytes(w.try_into().unwrap_or_default()));
    }
    // The last word: up to seven bytes, then the fill bits and how many bytes there were.
    let rest = words.remainder();
    let mut last = u64::from(fill_bits & 7 | (rest.len() as u8) << 3) << 56;
    for (i, &b) in rest.iter().enumerate() {
        last |= u64::from(b) << (8 * i);
    }
    mix(last);
    h
}

/// What one pass over a sentence body finds: the first `*`, the XOR of the bytes before it
/// (the NMEA checksum), and where the first commas before it are.
struct Scan {
    star: usize,
    checksum: u8,
    /// Positions of the first `commas` commas (at most [`Scan::MAX_COMMAS`]).
    comma_at: [usize; Scan::MAX_COMMAS],
    commas: usize,
}

impl Scan {
    /// A VDM body has 6 commas; one more is enough to know there are too many fields.
    const MAX_COMMAS: usize = 7;

    /// Scan `s` eight bytes at a time; `None` if it has no `*`.
    #[inline]
    fn new(s: &[u8]) -> Option<Scan> {
        const STARS: u64 = 0x2a2a_2a2a_2a2a_2a2a;
        const COMMAS: u64 = 0x2c2c_2c2c_2c2c_2c2c;
        const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
        // 0x80 in exactly the zero bytes of t.
        let zero_bytes = |t: u64| !(((t & LOW7) + LOW7) | t | LOW7);
        let mut scan = Scan {
            star: 0,
            checksum: 0,
            comma_at: [0; Self::MAX_COMMAS],
            commas: 0,
        };
        let mut words = 0u64;
        let mut at = 0;
        for chunk in s.chunks_exact(8) {
            let w = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            if zero_bytes(w ^ STARS) != 0 {
                break;
            }
            words ^= w;
            let mut commas = zero_bytes(w ^ COMMAS);
            while commas != 0 && scan.commas < Self::MAX_COMMAS {
                scan.comma_at[scan.commas] = at + (commas.trailing_zeros() / 8) as usize;
                scan.commas += 1;
                commas &= commas - 1;
            }
            at += 8;
        }
        let mut x = words.to_le_bytes().iter().fold(0, |a, b| a ^ b);
        for (i, &c) in s[at..].iter().enumerate() {
            match c {
                b'*' => {
                    scan.star = at + i;
                    scan.checksum = x;
                    return Some(scan);
                }
                b',' if scan.commas < Self::MAX_COMMAS => {
                    scan.comma_at[scan.commas] = at + i;
                    scan.commas += 1;
                }
                _ => {}
            }
            x ^= c;
        }
        None
    }

    /// The comma-separated fields of `body` (the scanned bytes up to the star), as
    /// `body.split(b',')` gives them (past [`Scan::MAX_COMMAS`] commas, the rest is one).
    fn fields<'a>(&self, body: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let (comma_at, commas) = (self.comma_at, self.commas);
        let mut from = 0;
        (0..=commas).map(move |k| {
            let to = if k < commas { comma_at[k] } else { body.len() };
            let field = &body[from..to];
            from = to + 1;
            field
        })
    }
}

/// XOR of bytes (the NMEA checksum).
#[inline]
pub fn nmea_checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, b| a ^ b)
}

#[inline]
fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Parse a two-digit hex checksum.
pub(crate) fn parse_hex2(b: &[u8]) -> Option<u8> {
    match b {
        [h, l, ..] => Some(hex_digit(*h)? << 4 | hex_digit(*l)?),
        _ => None,
    }
}

/// Split a line into its optional tag block and the sentence (from `!`/`$` on,
/// trailing blanks and line endings removed).
pub fn split_tag_block(line: &[u8]) -> Result<(Option<&[u8]>, &[u8]), DecodeError> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return Err(DecodeError::Empty);
    }
    if line.len() > MAX_LINE {
        return Err(DecodeError::LineTooLong {
            len: line.len(),
            limit: MAX_LINE,
        });
    }
    if line[0] == b'\\' {
        let end = line[1..]
            .iter()
            .position(|&c| c == b'\\')
            .ok_or(DecodeError::TagBlock("no closing backslash"))?;
        Ok((Some(&line[1..=end]), &line[end + 2..]))
    } else {
        Ok((None, line))
    }
}

/// Parse the sentence part of a VDM/VDO line (starting at `!`), checking its checksum.
/// Anything after the `*hh` checksum (USCG receiver fields, a Unix time) is ignored.
pub fn parse_vdm(sentence: &[u8]) -> Result<Vdm<'_>, DecodeError> {
    match sentence.first() {
        Some(b'!') => {}
        Some(b'$') => {
            let name = sentence.split(|&c| c == b',').next().unwrap_or_default();
            return Err(DecodeError::NotAis(
                String::from_utf8_lossy(name).into_owned(),
            ));
        }
        _ => return Err(DecodeError::NotNmea),
    }
    let scan = Scan::new(&sentence[1..]).ok_or(DecodeError::NoChecksum)?;
    let (computed, star) = (scan.checksum, scan.star + 1);
    let body = &sentence[1..star];
    let stated = parse_hex2(&sentence[star + 1..]).ok_or(DecodeError::NoChecksum)?;
    if computed != stated {
        return Err(DecodeError::Checksum { computed, stated });
    }
    let mut fields = scan.fields(body);
    let head = fields.next().unwrap_or_default();
    let own_ship = match head {
        [_, _, b'V', b'D', b'M'] => false,
        [_, _, b'V', b'D', b'O'] => true,
        _ => {
            return Err(DecodeError::NotAis(
                String::from_utf8_lossy(head).into_owned(),
            ));
        }
    };
    let talker = [head[0], head[1]];
    let mut next = || fields.next().ok_or(DecodeError::Field("too few fields"));
    let total = single_digit(next()?).ok_or(DecodeError::Field("fragment count"))?;
    let num = single_digit(next()?).ok_or(DecodeError::Field("fragment number"))?;
    if total == 0 || num == 0 || num > total {
        return Err(DecodeError::Field("fragment number"));
    }
    let seq = match next()? {
        [] => None,
        s => Some(single_digit(s).ok_or(DecodeError::Field("sequential message id"))?),
    };
    let channel = match next()? {
        [] => None,
        [c] => Some(*c),
        _ => return Err(DecodeError::Field("channel")),
    };
    let payload = next()?;
    let fill_bits = match next()? {
        [] => 0,
        [d @ b'0'..=b'6'] => d - b'0',
        other => {
            return Err(DecodeError::FillBits(
                String::from_utf8_lossy(other).into_owned(),
            ));
        }
    };
    if fields.next().is_some() {
        return Err(DecodeError::Field("too many fields"));
    }
    Ok(Vdm {
        talker,
        own_ship,
        total,
        num,
        seq,
        channel,
        payload,
        fill_bits,
    })
}

fn single_digit(s: &[u8]) -> Option<u8> {
    match s {
        [d @ b'0'..=b'9'] => Some(d - b'0'),
        _ => None,
    }
}

/// Where and how a message was heard.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    /// Talker id of the (first) sentence.
    pub talker: [u8; 2],
    /// True when the receiver reported its own ship (VDO).
    pub own_ship: bool,
    /// Radio channel, if given.
    pub channel: Option<u8>,
    /// Number of sentences the message came in.
    pub fragments: u8,
    /// The tag block of the first sentence that had one.
    pub tag: Option<TagBlock>,
    /// Hash of the message's armored payload and fill bits, sentence by sentence:
    /// the same transmission heard by several receivers hashes the same (the receive
    /// path deduplicates on it).
    pub payload_hash: u64,
}

impl Heard {
    /// The tag block time (`c:`), if any.
    pub fn time(&self) -> Option<Timestamp> {
        self.tag.as_ref().and_then(|t| t.time)
    }

    /// The receiver that heard it, as fusion tells receivers apart: the feed it came from,
    /// or `feed/station` when the tag block names a station (`s:`) other than the feed (an
    /// aggregated feed's shore stations and satellites).
    pub fn receiver<'a>(&self, feed: &'a str) -> std::borrow::Cow<'a, str> {
        match self.tag.as_ref().and_then(|t| t.source.as_deref()) {
            Some(s) if !s.is_empty() && s != feed => format!("{feed}/{s}").into(),
            _ => feed.into(),
        }
    }
}

/// A decoded message and how it was heard.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The message.
    pub message: AisMessage,
    /// Talker, channel, tag block.
    pub heard: Heard,
}

/// A multi-fragment message being assembled.
struct Group {
    /// Caller's source id, channel, sequential id, fragment count.
    key: (u32, Option<u8>, Option<u8>, u8),
    /// Next fragment number expected.
    next: u8,
    /// Line counter when the group started (for expiry).
    started: u64,
    heard: Heard,
    bits: Bits,
}

/// Counters of the assembly, for operators and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssemblyStats {
    /// Groups dropped incomplete: a new first fragment replaced them, they timed out, or
    /// too many were in flight.
    pub incomplete_groups: u64,
    /// Fragments those groups had collected (lost with them).
    pub fragments_lost: u64,
    /// Fragments joined to a group whose sequence id differs (see [`Decoder`]).
    pub sequence_id_mismatches: u64,
}

/// Decodes lines into messages, assembling multi-fragment messages.
///
/// Groups are keyed by the caller's source id, the channel, the sequential message id
/// and the fragment count, so several groups can be in flight and interleave (even
/// with the same sequence id on different channels or sources). A fragment whose
/// sequence id matches no group continues the latest group of its source and channel
/// that expects it (gpsd ignores sequence ids, and real feeds do change them). A group
/// that does not complete within [`Decoder::max_group_age_lines`] lines is dropped and
/// counted.
pub struct Decoder {
    groups: Vec<Group>,
    /// Spare buffers for new groups, so steady state allocates nothing.
    pool: Vec<Bits>,
    single: Bits,
    lines: u64,
    /// Most groups in flight at once; beyond, the oldest is dropped (and counted).
    pub max_groups: usize,
    /// Lines after which an incomplete group is dropped (and counted).
    pub max_group_age_lines: u64,
    stats: AssemblyStats,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// The group to drop when no room is left: the oldest of the source holding the most
    /// (the first to reach that count, in age order, on a tie). With one source that is the
    /// oldest group, as it always was; with several, a feed sending first fragments by the
    /// hundred drops its own groups, never another receiver's message half-way through.
    fn to_evict(&self) -> usize {
        let mut best = (0, 0);
        for (i, g) in self.groups.iter().enumerate() {
            let n = self.groups.iter().filter(|h| h.key.0 == g.key.0).count();
            if n > best.1 {
                best = (i, n);
            }
        }
        // `best.0` is where the heaviest source was first counted: its oldest group.
        self.groups
            .iter()
            .position(|g| g.key.0 == self.groups[best.0].key.0)
            .unwrap_or(0)
    }

    /// A decoder with room for 64 groups in flight, each given 2000 lines to complete.
    pub fn new() -> Self {
        Decoder {
            groups: Vec::new(),
            pool: Vec::new(),
            single: Bits::new(),
            lines: 0,
            max_groups: 64,
            max_group_age_lines: 2000,
            stats: AssemblyStats::default(),
        }
    }

    /// Assembly counters so far.
    pub fn stats(&self) -> AssemblyStats {
        self.stats
    }

    /// Groups still waiting for fragments.
    pub fn in_flight(&self) -> usize {
        self.groups.len()
    }

    /// Lines decoded so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Is a group that started after line `line` (a count of [`Decoder::lines`]) still
    /// waiting for fragments?
    pub fn waiting_since(&self, line: u64) -> bool {
        self.groups.iter().any(|g| g.started > line)
    }

    /// Decode one line (with or without a tag block). `source` separates inputs for
    /// fragment assembly (a receiver, a topic, a file). `Ok(None)` means the line was a
    /// fragment and was kept for its message.
    pub fn decode_line(
        &mut self,
        line: &[u8],
        source: u32,
    ) -> Result<Option<Decoded>, DecodeError> {
        self.lines += 1;
        let (tag, sentence) = split_tag_block(line)?;
        let tag = match tag {
            Some(t) => Some(TagBlock::parse(t)?),
            None => None,
        };
        let vdm = parse_vdm(sentence)?;
        self.decode_vdm(&vdm, tag, source)
    }

    /// Decode one parsed sentence (see [`Decoder::decode_line`]).
    pub fn decode_vdm(
        &mut self,
        vdm: &Vdm<'_>,
        tag: Option<TagBlock>,
        source: u32,
    ) -> Result<Option<Decoded>, DecodeError> {
        if vdm.total == 1 {
            self.single.clear();
            self.single.push_armored(vdm.payload, vdm.fill_bits)?;
            let message = decode_message(&self.single)?;
            return Ok(Some(Decoded {
                message,
                heard: Heard {
                    talker: vdm.talker,
                    own_ship: vdm.own_ship,
                    channel: vdm.channel,
                    fragments: 1,
                    tag,
                    payload_hash: payload_hash(HASH_SEED, vdm.payload, vdm.fill_bits),
                },
            }));
        }
        self.expire();
        let key = (source, vdm.channel, vdm.seq, vdm.total);
        let found = self.groups.iter().position(|g| g.key == key);
        if vdm.num == 1 {
            if let Some(i) = found {
                // A new message reuses the key: the old one will never complete.
                let old = self.groups.remove(i);
                self.drop_group(old);
            }
            if self.groups.len() >= self.max_groups {
                let old = self.groups.remove(self.to_evict());
                self.drop_group(old);
            }
            let mut bits = self.pool.pop().unwrap_or_default();
            bits.clear();
            bits.push_armored(vdm.payload, vdm.fill_bits)?;
            self.groups.push(Group {
                key,
                next: 2,
                started: self.lines,
                heard: Heard {
                    talker: vdm.talker,
                    own_ship: vdm.own_ship,
                    channel: vdm.channel,
                    fragments: vdm.total,
                    tag,
                    payload_hash: payload_hash(HASH_SEED, vdm.payload, vdm.fill_bits),
                },
                bits,
            });
            return Ok(None);
        }
        let orphan = || DecodeError::OrphanFragment {
            num: vdm.num,
            total: vdm.total,
            seq: vdm.seq.map_or('-', |s| (b'0' + s) as char),
        };
        // A feed that changes the sequence id mid-message (seen in real data; gpsd
        // ignores sequence ids) still assembles: with no group under the exact key,
        // the latest group on the same source and channel that expects exactly this
        // fragment is continued, and the join is counted.
        let found = found.or_else(|| {
            let i = self.groups.iter().rposition(|g| {
                g.key.0 == source
                    && g.key.1 == vdm.channel
                    && g.key.3 == vdm.total
                    && g.next == vdm.num
            })?;
            self.stats.sequence_id_mismatches += 1;
            Some(i)
        });
        let i = found.ok_or_else(orphan)?;
        if self.groups[i].next != vdm.num {
            // Out of order or a fragment lost: the group cannot complete.
            let old = self.groups.remove(i);
            self.drop_group(old);
            return Err(orphan());
        }
        let g = &mut self.groups[i];
        if let Err(e) = g.bits.push_armored(vdm.payload, vdm.fill_bits) {
            let old = self.groups.remove(i);
            self.drop_group(old);
            return Err(e);
        }
        if g.heard.tag.is_none() {
            g.heard.tag = tag;
        }
        g.heard.payload_hash = payload_hash(g.heard.payload_hash, vdm.payload, vdm.fill_bits);
        g.next += 1;
        if vdm.num < vdm.total {
            return Ok(None);
        }
        let g = self.groups.remove(i);
        let result = decode_message(&g.bits);
        self.pool.push(g.bits);
        Ok(Some(Decoded {
            message: result?,
            heard: g.heard,
        }))
    }

    fn drop_group(&mut self, g: Group) {
        self.stats.incomplete_groups += 1;
        self.stats.fragments_lost += u64::from(g.next - 1);
        self.pool.push(g.bits);
    }

    fn expire(&mut self) {
        let lines = self.lines;
        let max_age = self.max_group_age_lines;
        while let Some(i) = self.groups.iter().position(|g| lines - g.started > max_age) {
            let old = self.groups.remove(i);
            self.drop_group(old);
        }
    }

    /// Drop every group in flight (end of input), counting them as incomplete.
    pub fn finish(&mut self) {
        for g in std::mem::take(&mut self.groups) {
            self.drop_group(g);
        }
    }
}

/// Accepted payload lengths per type, in bits: gpsd 3.22's checks, found by sweeping
/// every length through `gpsdecode` (see CONFORMANCE.md). Most types accept longer
/// messages than the standard's, as gpsd does; reads past the end give the fill bits
/// and then zeros.
fn length_ok(msg_type: u8, bits: &Bits) -> Result<(), (usize, usize)> {
    let len = bits.len();
    let (min, max) = match msg_type {
        1..=3 => (163, MAX),
        4 | 11 | 9 | 18 | 22 => (168, MAX),
        5 => (420, MAX),
        6 => (88, 1008),
        7 | 13 => (72, 168),
        8 => (56, 1008),
        10 => (72, MAX),
        12 => (72, 1008),
        14 => (40, 1008),
        15 => (88, 168),
        16 => (96, 168),
        17 => (80, 816),
        19 => (312, MAX),
        20 => (72, 186),
        21 => (272, 368),
        23 => (160, MAX),
        24 if bits.u(38, 2) == 0 => (160, 168),
        24 => (168, MAX),
        25 | 26 => {
            // The addressed and structured flags add a destination and an app id.
            let flags = 30 * bits.u(38, 1) as usize + 16 * bits.u(39, 1) as usize;
            let (min, max, radio) = if msg_type == 25 {
                (40, 168, 0)
            } else {
                (60, 1004, 20)
            };
            (min.max(40 + flags + radio), max)
        }
        // Long range: one slot (96) or padded to a standard slot (168), nothing between.
        27 if len == 96 || len == 168 => return Ok(()),
        27 => return Err((96, 168)),
        _ => (0, MAX),
    };
    if len < min || len > max {
        return Err((min, max));
    }
    Ok(())
}

const MAX: usize = bits::MAX_BITS;

/// Decode an assembled payload into a message.
pub fn decode_message(bits: &Bits) -> Result<AisMessage, DecodeError> {
    let msg_type = bits.u(0, 6) as u8;
    if !(1..=27).contains(&msg_type) {
        return Err(DecodeError::UnknownType(msg_type));
    }
    if msg_type == 24 {
        let part = bits.u(38, 2) as u8;
        if part > 1 {
            return Err(DecodeError::Type24Part(part));
        }
    }
    length_ok(msg_type, bits).map_err(|(min, max)| DecodeError::Length {
        msg_type,
        bits: bits.len(),
        min,
        max,
    })?;
    let mut m = AisMessage::empty(msg_type);
    m.walk(&mut walk::Reader { bits });
    match &mut m.body {
        Body::BinaryAddressed(b) => {
            b.decoded = application::decode_addressed(b.dac, b.fid, bits);
        }
        Body::BinaryBroadcast(b) => {
            b.decoded = application::decode_broadcast(b.dac, b.fid, bits);
        }
        _ => {}
    }
    Ok(m)
}

impl AisMessage {
    /// A message of `msg_type` with every field zero (the starting point for decoding).
    pub fn empty(msg_type: u8) -> AisMessage {
        use message::*;
        let body = match msg_type {
            1..=3 => Body::Position(PositionReport::default()),
            4 | 11 => Body::BaseStation(BaseStationReport::default()),
            5 => Body::StaticVoyage(StaticVoyage::default()),
            6 => Body::BinaryAddressed(BinaryAddressed::default()),
            7 | 13 => Body::Acknowledge(Acknowledge::default()),
            8 => Body::BinaryBroadcast(BinaryBroadcast::default()),
            9 => Body::SarAircraft(SarAircraft::default()),
            10 => Body::UtcInquiry(UtcInquiry::default()),
            12 => Body::SafetyAddressed(SafetyAddressed::default()),
            14 => Body::SafetyBroadcast(SafetyBroadcast::default()),
            15 => Body::Interrogation(Interrogation::default()),
            16 => Body::Assignment(Assignment::default()),
            17 => Body::Dgnss(Dgnss::default()),
            18 => Body::ClassB(ClassBPosition::default()),
            19 => Body::ClassBExtended(ClassBExtended::default()),
            20 => Body::DataLinkManagement(DataLinkManagement::default()),
            21 => Body::AidToNavigation(AidToNavigation::default()),
            22 => Body::ChannelManagement(ChannelManagement::default()),
            23 => Body::GroupAssignment(GroupAssignment::default()),
            24 => Body::StaticData(StaticData::default()),
            25 => Body::SingleSlotBinary(SlotBinary::default()),
            26 => Body::MultiSlotBinary(SlotBinary::default()),
            _ => Body::LongRange(LongRange::default()),
        };
        AisMessage {
            msg_type,
            repeat: 0,
            mmsi: 0,
            body,
        }
    }

    /// Walk the header and the body (see [`walk`]).
    pub fn walk<W: walk::Walker>(&mut self, w: &mut W) {
        use walk::Fmt;
        w.u(&mut self.msg_type, 0, 6, "type", Fmt::Plain);
        w.u(&mut self.repeat, 6, 2, "repeat", Fmt::Plain);
        w.u(&mut self.mmsi, 8, 30, "mmsi", Fmt::Plain);
        let mmsi = self.mmsi;
        match &mut self.body {
            Body::Position(m) => m.walk(w),
            Body::BaseStation(m) => m.walk(w),
            Body::StaticVoyage(m) => m.walk(w),
            Body::BinaryAddressed(m) => m.walk(w),
            Body::Acknowledge(m) => m.walk(w),
            Body::BinaryBroadcast(m) => m.walk(w),
            Body::SarAircraft(m) => m.walk(w),
            Body::UtcInquiry(m) => m.walk(w),
            Body::SafetyAddressed(m) => m.walk(w),
            Body::SafetyBroadcast(m) => m.walk(w),
            Body::Interrogation(m) => m.walk(w),
            Body::Assignment(m) => m.walk(w),
            Body::Dgnss(m) => m.walk(w),
            Body::ClassB(m) => m.walk(w),
            Body::ClassBExtended(m) => m.walk(w),
            Body::DataLinkManagement(m) => m.walk(w),
            Body::AidToNavigation(m) => m.walk(w),
            Body::ChannelManagement(m) => m.walk(w),
            Body::GroupAssignment(m) => m.walk(w),
            Body::StaticData(m) => m.walk(w, mmsi),
            Body::SingleSlotBinary(m) => m.walk(w, false),
            Body::MultiSlotBinary(m) => m.walk(w, true),
            Body::LongRange(m) => m.walk(w),
        }
    }

    /// Encode the message into six-bit values (0–63, not yet armored) and the number of
    /// fill bits of the last one: the inverse of [`decode_message`].
    pub fn to_sixbits(&self) -> (Vec<u8>, u8) {
        let mut m = self.clone();
        let mut w = walk::Writer::new();
        m.walk(&mut w);
        w.sixbits()
    }

    /// Position as (longitude, latitude) in degrees, for the types that report one.
    pub fn position(&self) -> Option<(f64, f64)> {
        match &self.body {
            Body::Position(m) => m.position(),
            Body::BaseStation(m) => m.position(),
            Body::SarAircraft(m) => m.position(),
            Body::ClassB(m) => m.position(),
            Body::ClassBExtended(m) => m.position(),
            Body::AidToNavigation(m) => m.position(),
            Body::LongRange(m) => m.position(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;

pub mod fuzz {
    //! The fuzzing entry point, shared by `ingest/fuzz` and the robustness tests.

    use super::{Decoder, json};

    /// Feed arbitrary bytes, split into lines, through the decoder (with few groups in
    /// flight so eviction is exercised), both JSON writers and the telemetry parser.
    /// Must never panic, whatever the input.
    pub fn decode_everything(data: &[u8]) {
        let mut d = Decoder::new();
        d.max_groups = 4;
        d.max_group_age_lines = 16;
        let mut gpsd = json::GpsdWriter::new();
        let mut ours = json::OurWriter::new();
        let mut out = Vec::new();
        for (i, line) in data.split(|&c| c == b'\n').enumerate() {
            let source = (i % 3) as u32;
            if let Ok(Some(m)) = d.decode_line(line, source) {
                gpsd.write(&m.message, &mut out);
                ours.write(&m, &mut out);
                // The writers build JSON from bytes: it must still be text.
                assert!(
                    std::str::from_utf8(&out).is_ok(),
                    "JSON output is not UTF-8"
                );
                let _ = m.message.to_sixbits();
            }
            let _ = crate::telemetry::parse_line(line);
            out.clear();
        }
        d.finish();
    }
}
