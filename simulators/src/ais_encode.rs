//! AIS encoder: the inverse of [`ingest::ais`]'s decoder.
//!
//! ```text
//!  AisMessage ──▶ six-bit values ──▶ armoring ──▶ fragments ──▶ !xxVDM/VDO,n,k,seq,ch,payload,fill*hh
//!  (types 1–27)   (to_sixbits)       (0–63 → ASCII) (≤ 60 chars)   with an optional \g:,s:,c:*hh\ tag block
//! ```
//!
//! The bit layout is not repeated here: [`AisMessage::to_sixbits`] writes each message
//! with the same layout listing the decoder reads it with. This module adds what a
//! transponder and a receiver add on air and on the wire: six-bit armoring, the split
//! into sentences of at most 60 payload characters (fill bits on the last one), the
//! sequential message id of a multi-sentence message, the NMEA checksum, and an
//! optional NMEA 4.0 tag block (`s:` source, `c:` Unix time, `g:` sentence group).
//!
//! ```
//! use ingest::ais::Decoder;
//! use simulators::ais_encode::{EncodeOptions, encode};
//!
//! // A real type 2 report (gpsd's sample.aivdm), decoded and encoded again.
//! let line = "!AIVDM,1,1,,B,25Cjtd0Oj;Jp7ilG7=UkKBoB0<06,0*60";
//! let msg = Decoder::new().decode_line(line.as_bytes(), 0).unwrap().unwrap().message;
//! let opts = EncodeOptions { channel: Some('B'), ..EncodeOptions::default() };
//! assert_eq!(encode(&msg, &opts).unwrap(), vec![line.to_owned()]);
//! ```
//!
//! Nothing here panics: options or messages that cannot be put on the wire are
//! [`EncodeError`]s.

use std::fmt::Write as _;

use ingest::ais::bits::MAX_BITS;
use ingest::ais::{AisMessage, Body, nmea_checksum};
use jiff::Timestamp;

/// Largest `c:` value written, in seconds. The decoder (like many feeds) reads larger
/// values as milliseconds, so a later time could not be read back.
pub const MAX_TAG_TIME_SECONDS: i64 = 100_000_000_000;

/// Longest tag block, in characters between the backslashes (NMEA 4.0).
pub const MAX_TAG_BLOCK_CHARS: usize = 80;

/// Most sentences one message may take: the fragment count is a single digit.
pub const MAX_FRAGMENTS: usize = 9;

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The talker id is not two printable ASCII characters outside `,*!$\`.
    #[error("bad talker id {0:?}: two printable ASCII characters other than , * ! $ \\")]
    Talker([u8; 2]),
    /// The channel is not one ASCII letter or digit.
    #[error("bad channel {0:?}: one ASCII letter or digit")]
    Channel(char),
    /// The sequential message id is above 9.
    #[error("sequential message id {0} is not 0–9")]
    SeqId(u8),
    /// Fewer than one payload character per sentence.
    #[error("max_payload_chars must be at least 1")]
    MaxPayloadChars,
    /// The message needs more sentences than a single-digit fragment count allows.
    #[error("message needs {needed} sentences; at most {MAX_FRAGMENTS} are possible")]
    TooManyFragments {
        /// Sentences needed at the configured `max_payload_chars`.
        needed: usize,
    },
    /// The payload is longer than the decoder's buffer ([`MAX_BITS`]).
    #[error("payload of {bits} bits exceeds {MAX_BITS}")]
    PayloadTooLong {
        /// Bits the message would take.
        bits: usize,
    },
    /// Fill bits above 5.
    #[error("fill bits {0} is not 0–5")]
    FillBits(u8),
    /// A payload character outside the armoring alphabet.
    #[error("payload character {0:#04x} is not six-bit armoring")]
    PayloadChar(u8),
    /// The tag block source holds a character that cannot appear there.
    #[error("tag block source {0:?}: printable ASCII other than , * \\ only")]
    TagSource(String),
    /// The tag block time is before 1970 or too late to be read back as seconds.
    #[error("tag block time {0} is outside 0..={MAX_TAG_TIME_SECONDS} Unix seconds")]
    TagTime(i64),
    /// The tag block is longer than NMEA 4.0 allows.
    #[error("tag block of {len} characters exceeds {MAX_TAG_BLOCK_CHARS}")]
    TagBlockTooLong {
        /// Characters between the backslashes.
        len: usize,
    },
}

/// An NMEA 4.0 tag block to put before the sentences of a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagBlockOptions {
    /// `s:` source, the receiving station (printable ASCII except `,` `*` `\`).
    pub source: Option<String>,
    /// `c:` time of reception, written in whole Unix seconds (any sub-second part is
    /// dropped).
    pub time: Option<Timestamp>,
    /// `g:` group id: a message of several sentences gets `g:<num>-<total>-<id>` on
    /// each of them. Single-sentence messages carry no group.
    pub group_id: u32,
}

/// How messages are put into sentences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Talker id (`AI` for a mobile station, `BS` for a base station, ...).
    pub talker: [u8; 2],
    /// `VDO` (the receiver's own ship) instead of `VDM`.
    pub own_ship: bool,
    /// Radio channel (`A`, `B`, `1`, `2`), or none (an empty field).
    pub channel: Option<char>,
    /// Most payload characters per sentence. 60 keeps a sentence within NMEA's 82
    /// characters and is what transponders use.
    pub max_payload_chars: usize,
    /// Sequential message id (0–9) written in the sentences of a multi-sentence
    /// message; single-sentence messages leave the field empty.
    pub seq_id: u8,
    /// Tag block, if any (on the first sentence: `s:`, `c:`; on every sentence of a
    /// multi-sentence message: `g:`).
    pub tag: Option<TagBlockOptions>,
}

impl Default for EncodeOptions {
    /// `!AIVDM` on channel A, 60 payload characters per sentence, sequential id 0, no
    /// tag block.
    fn default() -> Self {
        EncodeOptions {
            talker: *b"AI",
            own_ship: false,
            channel: Some('A'),
            max_payload_chars: 60,
            seq_id: 0,
            tag: None,
        }
    }
}

/// Armor six-bit values (0–63) into payload characters: `0`–`W` for 0–39 and
/// `` ` ``–`w` for 40–63. Only the low six bits of each value count.
pub fn armor(sixbits: &[u8]) -> String {
    sixbits
        .iter()
        .map(|&v| {
            let v = v & 0x3f;
            char::from(if v < 40 { v + 48 } else { v + 56 })
        })
        .collect()
}

/// The armored payload of a message and the fill bits of its last character, the
/// payload unsplit.
pub fn encode_payload(msg: &AisMessage) -> Result<(String, u8), EncodeError> {
    check_size(msg)?;
    let (six, fill) = msg.to_sixbits();
    if six.len() * 6 > MAX_BITS {
        return Err(EncodeError::PayloadTooLong {
            bits: six.len() * 6 - usize::from(fill),
        });
    }
    Ok((armor(&six), fill))
}

/// Encode a message into complete NMEA lines (without line endings), one per
/// sentence, each with its `*hh` checksum and, if asked, a tag block.
pub fn encode(msg: &AisMessage, opts: &EncodeOptions) -> Result<Vec<String>, EncodeError> {
    let (payload, fill) = encode_payload(msg)?;
    encode_armored(&payload, fill, opts)
}

/// Put an already armored payload, with `fill` (0–5) fill bits in its last character,
/// into NMEA lines as [`encode`] does. For payloads that are not an [`AisMessage`]:
/// random bits, or a message of a length the layouts do not write.
pub fn encode_armored(
    payload: &str,
    fill: u8,
    opts: &EncodeOptions,
) -> Result<Vec<String>, EncodeError> {
    check_options(opts)?;
    if fill > 5 {
        return Err(EncodeError::FillBits(fill));
    }
    let bad = payload
        .bytes()
        .find(|&c| ingest::ais::bits::dearmor(c).is_none());
    if let Some(byte) = bad {
        return Err(EncodeError::PayloadChar(byte));
    }
    let chunks: Vec<&str> = chunks(payload, opts.max_payload_chars);
    let total = chunks.len();
    if total > MAX_FRAGMENTS {
        return Err(EncodeError::TooManyFragments { needed: total });
    }
    let mut lines = Vec::with_capacity(total);
    for (k, chunk) in chunks.iter().enumerate() {
        let num = k + 1;
        let mut line = String::with_capacity(100);
        if let Some(tag) = &opts.tag {
            let group = (total > 1).then_some((num, total, tag.group_id));
            let (source, time) = if num == 1 {
                (tag.source.as_deref(), tag.time)
            } else {
                (None, None)
            };
            line.push_str(&tag_block(group, source, time)?);
        }
        let mut body = String::with_capacity(90);
        body.push(char::from(opts.talker[0]));
        body.push(char::from(opts.talker[1]));
        body.push_str(if opts.own_ship { "VDO" } else { "VDM" });
        let _ = write!(body, ",{total},{num},");
        if total > 1 {
            let _ = write!(body, "{}", opts.seq_id);
        }
        body.push(',');
        if let Some(c) = opts.channel {
            body.push(c);
        }
        let chunk_fill = if num == total { fill } else { 0 };
        let _ = write!(body, ",{chunk},{chunk_fill}");
        let _ = write!(line, "!{body}*{:02X}", nmea_checksum(body.as_bytes()));
        lines.push(line);
    }
    Ok(lines)
}

/// Encodes a stream of messages the way one receiver would report them: the
/// sequential message id cycles 0–9 over multi-sentence messages, and the tag block
/// group id increases with every multi-sentence message.
#[derive(Debug, Clone)]
pub struct Encoder {
    /// Options for every message; `seq_id` and the tag block's `group_id` are the
    /// values the next multi-sentence message gets.
    pub opts: EncodeOptions,
}

impl Encoder {
    /// An encoder starting at `opts.seq_id` and the tag block's `group_id`.
    pub fn new(opts: EncodeOptions) -> Self {
        Encoder { opts }
    }

    /// Encode one message (see [`encode`]), then advance the sequential id and group
    /// id if it took several sentences.
    pub fn encode(&mut self, msg: &AisMessage) -> Result<Vec<String>, EncodeError> {
        let lines = encode(msg, &self.opts)?;
        if lines.len() > 1 {
            self.opts.seq_id = (self.opts.seq_id + 1) % 10;
            if let Some(tag) = &mut self.opts.tag {
                tag.group_id = tag.group_id.wrapping_add(1);
            }
        }
        Ok(lines)
    }
}

fn check_options(opts: &EncodeOptions) -> Result<(), EncodeError> {
    let talker_ok = opts
        .talker
        .iter()
        .all(|&c| c.is_ascii_graphic() && !b",*!$\\".contains(&c));
    if !talker_ok {
        return Err(EncodeError::Talker(opts.talker));
    }
    if let Some(c) = opts.channel
        && !c.is_ascii_alphanumeric()
    {
        return Err(EncodeError::Channel(c));
    }
    if opts.seq_id > 9 {
        return Err(EncodeError::SeqId(opts.seq_id));
    }
    if opts.max_payload_chars == 0 {
        return Err(EncodeError::MaxPayloadChars);
    }
    Ok(())
}

/// Refuse binary payloads and texts so long that writing them would be pointless
/// (and, for absurd lengths, slow), before the layout walk writes them.
fn check_size(msg: &AisMessage) -> Result<(), EncodeError> {
    let variable = match &msg.body {
        Body::BinaryAddressed(m) => m.data.bit_len,
        Body::BinaryBroadcast(m) => m.data.bit_len,
        Body::Dgnss(m) => m.data.bit_len,
        Body::SingleSlotBinary(m) | Body::MultiSlotBinary(m) => m.data.bit_len,
        Body::SafetyAddressed(m) => m.text.len().saturating_mul(6),
        Body::SafetyBroadcast(m) => m.text.len().saturating_mul(6),
        _ => 0,
    };
    if variable > MAX_BITS {
        return Err(EncodeError::PayloadTooLong { bits: variable });
    }
    Ok(())
}

/// Split the payload into sentence payloads of at most `max` characters (armored
/// payload is ASCII, so byte offsets are character offsets).
fn chunks(payload: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::with_capacity(payload.len().div_ceil(max).max(1));
    let mut rest = payload;
    while rest.len() > max {
        let (head, tail) = rest.split_at(max);
        out.push(head);
        rest = tail;
    }
    out.push(rest);
    out
}

/// A tag block with its backslashes, fields in the order real feeds use
/// (`g:`, `s:`, `c:`), or an empty string when there is no field.
pub(crate) fn tag_block(
    group: Option<(usize, usize, u32)>,
    source: Option<&str>,
    time: Option<Timestamp>,
) -> Result<String, EncodeError> {
    let mut fields: Vec<String> = Vec::with_capacity(3);
    if let Some((num, total, id)) = group {
        fields.push(format!("g:{num}-{total}-{id}"));
    }
    if let Some(s) = source {
        let ok = s
            .bytes()
            .all(|c| (c == b' ' || c.is_ascii_graphic()) && !b",*\\".contains(&c));
        if !ok {
            return Err(EncodeError::TagSource(s.to_owned()));
        }
        fields.push(format!("s:{s}"));
    }
    if let Some(t) = time {
        let secs = t.as_second();
        if !(0..=MAX_TAG_TIME_SECONDS).contains(&secs) {
            return Err(EncodeError::TagTime(secs));
        }
        fields.push(format!("c:{secs}"));
    }
    if fields.is_empty() {
        return Ok(String::new());
    }
    let body = fields.join(",");
    let len = body.len() + 3;
    if len > MAX_TAG_BLOCK_CHARS {
        return Err(EncodeError::TagBlockTooLong { len });
    }
    Ok(format!("\\{body}*{:02X}\\", nmea_checksum(body.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingest::ais::Decoder;

    fn decode_all(lines: &[String]) -> Vec<ingest::ais::Decoded> {
        let mut d = Decoder::new();
        lines
            .iter()
            .filter_map(|l| d.decode_line(l.as_bytes(), 0).unwrap())
            .collect()
    }

    /// Decode real lines, encode the message again with the same talker, channel and
    /// sequential id, and expect the very same lines.
    fn reencodes_byte_for_byte(lines: &[&str], seq_id: u8) {
        let lines: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        let decoded = decode_all(&lines);
        assert_eq!(decoded.len(), 1, "{lines:?}");
        let d = &decoded[0];
        let opts = EncodeOptions {
            talker: d.heard.talker,
            own_ship: d.heard.own_ship,
            channel: d.heard.channel.map(char::from),
            seq_id,
            ..EncodeOptions::default()
        };
        assert_eq!(encode(&d.message, &opts).unwrap(), lines);
    }

    // The real sentences below are from gpsd's regression corpus,
    // shared/testdata/ais/gpsd/release-3.22/sample.aivdm.

    #[test]
    fn a_real_type1_sentence_reencodes_byte_for_byte() {
        reencodes_byte_for_byte(&["!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A"], 0);
        reencodes_byte_for_byte(&["!AIVDM,1,1,,B,25Cjtd0Oj;Jp7ilG7=UkKBoB0<06,0*60"], 0);
    }

    #[test]
    fn real_two_sentence_messages_reencode_byte_for_byte() {
        // Type 17 (DGNSS), 456 bits: 60 + 16 characters, no fill bits.
        reencodes_byte_for_byte(
            &[
                "!AIVDM,2,1,5,A,A02VqLPA4I6C07h5Ed1h<OrsuBTTwS?r:C?w`?la<gno1RTRwSP9:BcurA8a,0*3A",
                "!AIVDM,2,2,5,A,:Oko02TSwu8<:Jbb,0*11",
            ],
            5,
        );
        // Type 8 (binary broadcast): 60 + 11 characters, 2 fill bits on the last.
        reencodes_byte_for_byte(
            &[
                "!AIVDM,2,1,4,A,83aDChPj2d<dL<uM=hhhI?a@6HP0e9QvUEEEOPPrE4t880>p2JqA6wimt:Ow,0*22",
                "!AIVDM,2,2,4,A,UPP8k;JvOeD,2*7F",
            ],
            4,
        );
    }

    #[test]
    fn a_real_tagged_sentence_reencodes_byte_for_byte() {
        // shared/testdata/ais/real/kystverket-tagblock.nmea, first line.
        let line = "\\s:2573238,c:1733782034*0A\\!BSVDM,1,1,,A,13o4g`00000I2ENRH4g83S0L088C,0*3F";
        let d = &decode_all(&[line.to_owned()])[0];
        let opts = EncodeOptions {
            talker: *b"BS",
            tag: Some(TagBlockOptions {
                source: Some("2573238".into()),
                time: Some(Timestamp::from_second(1_733_782_034).unwrap()),
                group_id: 0,
            }),
            ..EncodeOptions::default()
        };
        assert_eq!(encode(&d.message, &opts).unwrap(), vec![line.to_owned()]);
    }

    #[test]
    fn group_tag_blocks_match_a_real_feed() {
        // shared/testdata/ais/real/exactearth-tagblock-groups.nmea, lines 1 and 2.
        let t = Timestamp::from_second(1_334_337_317).unwrap();
        assert_eq!(
            tag_block(Some((1, 2, 3985)), Some("rEV02"), Some(t)).unwrap(),
            "\\g:1-2-3985,s:rEV02,c:1334337317*2D\\"
        );
        assert_eq!(
            tag_block(Some((2, 2, 3985)), None, None).unwrap(),
            "\\g:2-2-3985*5A\\"
        );
        assert_eq!(tag_block(None, None, None).unwrap(), "");
    }

    #[test]
    fn armor_covers_both_ranges_and_ignores_high_bits() {
        assert_eq!(armor(&[0, 39, 40, 63]), "0W`w");
        assert_eq!(armor(&[64 + 1, 255]), "1w");
        for v in 0..64u8 {
            let c = armor(&[v]).as_bytes()[0];
            assert_eq!(ingest::ais::bits::dearmor(c), Some(v));
        }
    }

    #[test]
    fn a_long_message_is_split_with_fill_bits_and_tags_on_every_fragment() {
        let mut msg = AisMessage::empty(14);
        msg.mmsi = 123_456_789;
        let Body::SafetyBroadcast(b) = &mut msg.body else {
            unreachable!()
        };
        b.text = "SECURITE ".repeat(17).trim_end().to_owned(); // 152 characters
        let opts = EncodeOptions {
            channel: None,
            seq_id: 7,
            tag: Some(TagBlockOptions {
                source: Some("sim".into()),
                time: Some(Timestamp::from_second(1_700_000_000).unwrap()),
                group_id: 42,
            }),
            ..EncodeOptions::default()
        };
        let lines = encode(&msg, &opts).unwrap();
        // 40 + 152 × 6 = 952 bits = 158.67 characters: 159 = 60 + 60 + 39, 2 fill bits.
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("\\g:1-3-42,s:sim,c:1700000000*"));
        assert!(lines[1].starts_with("\\g:2-3-42*"));
        assert!(lines[2].contains("\\!AIVDM,3,3,7,,"));
        let fill = |l: &str| l[l.len() - 4..l.len() - 3].to_owned();
        assert_eq!(
            [fill(&lines[0]), fill(&lines[1]), fill(&lines[2])],
            ["0", "0", "2"]
        );
        let decoded = decode_all(&lines);
        assert_eq!(decoded.len(), 1);
        assert_eq!(decoded[0].message, msg);
        let tag = decoded[0].heard.tag.as_ref().unwrap();
        assert_eq!(tag.source.as_deref(), Some("sim"));
        assert_eq!(tag.time, opts.tag.unwrap().time);
        for l in &lines {
            let sentence = &l[l.find('!').unwrap()..];
            assert!(sentence.len() <= 82, "{sentence}");
        }
    }

    #[test]
    fn the_encoder_cycles_sequential_and_group_ids_over_multi_sentence_messages() {
        let mut five = AisMessage::empty(5);
        five.mmsi = 1;
        let one = AisMessage::empty(1);
        let mut e = Encoder::new(EncodeOptions {
            seq_id: 9,
            tag: Some(TagBlockOptions {
                group_id: 1,
                ..TagBlockOptions::default()
            }),
            ..EncodeOptions::default()
        });
        let a = e.encode(&five).unwrap();
        let b = e.encode(&one).unwrap();
        let c = e.encode(&five).unwrap();
        assert!(a[0].starts_with("\\g:1-2-1*") && a[0].contains("VDM,2,1,9,A,"));
        assert!(b[0].starts_with("!AIVDM,1,1,,A,"));
        assert!(c[1].starts_with("\\g:2-2-2*") && c[1].contains("VDM,2,2,0,A,"));
    }

    #[test]
    fn vdo_and_other_talkers_are_written() {
        let msg = AisMessage::empty(18);
        let opts = EncodeOptions {
            talker: *b"AB",
            own_ship: true,
            channel: Some('2'),
            ..EncodeOptions::default()
        };
        let lines = encode(&msg, &opts).unwrap();
        assert!(lines[0].starts_with("!ABVDO,1,1,,2,B"));
        let d = &decode_all(&lines)[0];
        assert!(d.heard.own_ship);
        assert_eq!(d.heard.talker, *b"AB");
        assert_eq!(d.heard.channel, Some(b'2'));
    }

    #[test]
    fn bad_options_are_errors_not_panics() {
        let msg = AisMessage::empty(1);
        let with = |f: fn(&mut EncodeOptions)| {
            let mut o = EncodeOptions::default();
            f(&mut o);
            encode(&msg, &o).unwrap_err()
        };
        assert_eq!(with(|o| o.talker = *b"A,"), EncodeError::Talker(*b"A,"));
        assert_eq!(with(|o| o.channel = Some('*')), EncodeError::Channel('*'));
        assert_eq!(with(|o| o.seq_id = 10), EncodeError::SeqId(10));
        assert_eq!(
            with(|o| o.max_payload_chars = 0),
            EncodeError::MaxPayloadChars
        );
        assert_eq!(
            with(|o| o.tag = Some(TagBlockOptions {
                source: Some("a\\b".into()),
                ..TagBlockOptions::default()
            })),
            EncodeError::TagSource("a\\b".into())
        );
        assert_eq!(
            with(|o| o.tag = Some(TagBlockOptions {
                time: Some(Timestamp::from_second(-1).unwrap()),
                ..TagBlockOptions::default()
            })),
            EncodeError::TagTime(-1)
        );
        assert!(matches!(
            with(|o| o.tag = Some(TagBlockOptions {
                source: Some("x".repeat(90)),
                ..TagBlockOptions::default()
            })),
            EncodeError::TagBlockTooLong { .. }
        ));
        let mut five = AisMessage::empty(5);
        five.mmsi = 1;
        let o = EncodeOptions {
            max_payload_chars: 7,
            ..EncodeOptions::default()
        };
        assert_eq!(
            encode(&five, &o).unwrap_err(),
            EncodeError::TooManyFragments { needed: 11 }
        );
    }

    #[test]
    fn armored_payloads_are_checked_and_framed() {
        let opts = EncodeOptions::default();
        assert_eq!(
            encode_armored("15RTgt0PAso;90TKcjM8h6g208CQ", 0, &opts).unwrap(),
            vec!["!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A".to_owned()]
        );
        assert_eq!(
            encode_armored("1x", 0, &opts).unwrap_err(),
            EncodeError::PayloadChar(b'x')
        );
        assert_eq!(
            encode_armored("1", 6, &opts).unwrap_err(),
            EncodeError::FillBits(6)
        );
    }

    #[test]
    fn oversized_payloads_are_errors() {
        let mut msg = AisMessage::empty(8);
        let Body::BinaryBroadcast(b) = &mut msg.body else {
            unreachable!()
        };
        b.data.bit_len = usize::MAX;
        assert!(matches!(
            encode(&msg, &EncodeOptions::default()),
            Err(EncodeError::PayloadTooLong { .. })
        ));
        let mut msg = AisMessage::empty(14);
        let Body::SafetyBroadcast(b) = &mut msg.body else {
            unreachable!()
        };
        b.text = "A".repeat(400);
        assert!(matches!(
            encode(&msg, &EncodeOptions::default()),
            Err(EncodeError::PayloadTooLong { .. })
        ));
    }
}
