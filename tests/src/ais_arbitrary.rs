//! proptest strategies for AIS messages of every type 1–27, in normalized form.
//!
//! Every field is drawn over its full bit width (with its edge values: zero, all ones,
//! the sign bit alone, all ones but the sign bit, drawn often). "Normalized" means the
//! message is exactly what the decoder gives back for its encoding, so a round trip
//! can be compared with `==`:
//!
//! - six-bit text only from the six-bit alphabet without `@` (the padding character,
//!   where the decoder cuts), no trailing blanks (the decoder trims them), at most the
//!   field's length;
//! - binary payloads with the pad bits of their last byte equal to the bits that follow
//!   the payload in the message: zero (fill bits) everywhere, except type 26, where the
//!   radio status follows;
//! - type 6/8 `decoded` computed from the message bits by the decoder's own
//!   application decoders (the round trip checks the raw payload; the differential test
//!   against gpsd checks the decoded fields);
//! - type 7/13: a run of 1–4 acknowledgements, absent ones zero;
//! - type 15: 0–2 of its optional parts, an absent part's spare bits zero;
//! - type 16: one or two assignments, and type 20: 1–4 reservations (the encoder pads
//!   them to 96 and 72/104/136/160 bits, as the standard does);
//! - type 21: names up to 34 characters (the 14-character extension follows the 20
//!   first ones);
//! - type 24 part B: `model` and `serial` are the bits of the vendor ID's last
//!   characters, and the 30 bits at 132 are a mothership MMSI exactly for auxiliary
//!   craft MMSIs (98XXXYYYY), which are drawn often;
//! - types 25/26: `dest_mmsi` / `app_id` zero when the flag says absent.
//!
//! Types 6 and 8 draw their DAC/FI from the pairs gpsd decodes half of the time, often
//! with the exact length gpsd requires, so the application decoders are exercised.

use ingest::ais::bits::{Bits, SIXBIT_ASCII};
use ingest::ais::message::*;
use ingest::ais::walk::{Eta, Payload, UtcFields};
use ingest::ais::{AisMessage, Body, application};
use proptest::collection::vec;
use proptest::prelude::*;

/// One raw draw, read at whatever width a field has: its low four bits choose an edge
/// value (0: zero, 1: all ones, 2: the top bit alone, 3: all bits but the top one, each
/// 1 time in 16) or else random bits (the upper 60). Zero, where proptest shrinks to,
/// reads as zero.
pub type RawDraw = u64;

/// Reads fields from a list of raw draws (cycling when it runs out).
pub struct Draw<'a> {
    raw: &'a [RawDraw],
    next: usize,
}

impl<'a> Draw<'a> {
    /// Draw from `raw` (which must not be empty).
    pub fn new(raw: &'a [RawDraw]) -> Self {
        Draw { raw, next: 0 }
    }

    fn bits64(&mut self, width: u32) -> u64 {
        let mask = if width >= 64 {
            u64::MAX
        } else {
            (1u64 << width) - 1
        };
        let r = self
            .raw
            .get(self.next % self.raw.len().max(1))
            .copied()
            .unwrap_or(0);
        self.next += 1;
        match r & 0xf {
            0 => 0,
            1 => mask,
            2 => 1u64 << (width - 1),
            3 => mask >> 1,
            _ => (r >> 4) & mask,
        }
    }

    /// An unsigned field of `width` (1–32) bits.
    pub fn u(&mut self, width: u32) -> u32 {
        self.bits64(width) as u32
    }

    /// A two's-complement field of `width` (1–32) bits.
    pub fn i(&mut self, width: u32) -> i32 {
        let v = self.bits64(width) as u32;
        let shift = 32 - width;
        ((v << shift) as i32) >> shift
    }

    /// A flag.
    pub fn flag(&mut self) -> bool {
        self.u(1) == 1
    }

    /// A number in `0..=max` (uniform-ish, for counts and lengths; `max` and 0 often).
    pub fn upto(&mut self, max: usize) -> usize {
        match self.bits64(64) {
            0 => 0,
            u64::MAX => max,
            v => (v % (max as u64 + 1)) as usize,
        }
    }

    /// Normalized six-bit text of at most `max` characters.
    pub fn text(&mut self, max: usize) -> String {
        let n = self.upto(max);
        let mut s: String = (0..n)
            .map(|_| {
                // Codes 1–63: every character but '@'.
                let code = 1 + self.bits64(64) % 63;
                char::from(SIXBIT_ASCII[code as usize])
            })
            .collect();
        let trimmed = s.trim_end_matches(' ').len();
        s.truncate(trimmed);
        s
    }

    /// A binary payload of `bit_len` bits, pad bits zero.
    pub fn payload(&mut self, bit_len: usize) -> Payload {
        let mut bytes: Vec<u8> = (0..bit_len.div_ceil(8)).map(|_| self.u(8) as u8).collect();
        let pad = bytes.len() * 8 - bit_len;
        if let Some(last) = bytes.last_mut() {
            *last &= 0xffu8 << pad;
        }
        Payload { bit_len, bytes }
    }
}

/// DAC/FI pairs gpsd 3.22 decodes in type 6, with the payload length it requires
/// (bits after the FI), if any.
pub const ADDRESSED_APPS: &[(u16, u8, Option<usize>)] = &[
    (1, 12, None),
    (1, 14, None),
    (1, 15, None),
    (1, 16, None),
    (1, 18, None),
    (1, 20, None),
    (1, 25, None),
    (1, 28, None),
    (1, 30, None),
    (1, 32, None),
    (200, 21, Some(248 - 88)),
    (200, 22, Some(232 - 88)),
    (200, 55, Some(168 - 88)),
    (235, 10, Some(136 - 88)),
    (250, 10, Some(136 - 88)),
];

/// DAC/FI pairs gpsd 3.22 decodes in type 8, with the payload length it requires.
pub const BROADCAST_APPS: &[(u16, u8, Option<usize>)] = &[
    (1, 11, None),
    (1, 13, None),
    (1, 15, None),
    (1, 16, Some(72)),
    (1, 16, Some(136)),
    (1, 17, None),
    (1, 19, None),
    (1, 27, None),
    (1, 29, None),
    (1, 31, None),
    (200, 10, Some(168 - 56)),
    (200, 23, Some(256 - 56)),
    (200, 24, Some(168 - 56)),
    (200, 40, Some(168 - 56)),
];

/// DAC, FI and payload for a type 6 or 8 message: half the time a pair gpsd decodes
/// (with its required length, when it has one, three times out of four).
fn application_payload(
    d: &mut Draw<'_>,
    apps: &[(u16, u8, Option<usize>)],
    max_bits: usize,
) -> (u16, u8, Payload) {
    if d.flag() {
        let (dac, fi, need) = apps[d.upto(apps.len() - 1)];
        let len = match need {
            Some(n) if d.upto(3) > 0 => n,
            _ => d.upto(max_bits),
        };
        (dac, fi, d.payload(len))
    } else {
        let dac = d.u(10) as u16;
        let fi = d.u(6) as u8;
        let len = d.upto(max_bits);
        (dac, fi, d.payload(len))
    }
}

/// The message's bits as the decoder sees them.
pub fn message_bits(msg: &AisMessage) -> Bits {
    let (six, fill) = msg.to_sixbits();
    let armored = simulators::ais_encode::armor(&six);
    let mut bits = Bits::new();
    // A generated message is never longer than the decoder's buffer.
    let _ = bits.push_armored(armored.as_bytes(), fill);
    bits
}

/// Fill in `decoded` of a type 6 or 8 message the way the decoder does.
pub fn with_decoded(mut msg: AisMessage) -> AisMessage {
    let bits = message_bits(&msg);
    match &mut msg.body {
        Body::BinaryAddressed(b) => b.decoded = application::decode_addressed(b.dac, b.fid, &bits),
        Body::BinaryBroadcast(b) => b.decoded = application::decode_broadcast(b.dac, b.fid, &bits),
        _ => {}
    }
    msg
}

fn utc(d: &mut Draw<'_>) -> UtcFields {
    UtcFields {
        year: d.u(14) as u16,
        month: d.u(4) as u8,
        day: d.u(5) as u8,
        hour: d.u(5) as u8,
        minute: d.u(6) as u8,
        second: d.u(6) as u8,
    }
}

fn eta(d: &mut Draw<'_>) -> Eta {
    Eta {
        month: d.u(4) as u8,
        day: d.u(5) as u8,
        hour: d.u(5) as u8,
        minute: d.u(6) as u8,
    }
}

/// Build a normalized message of `msg_type` (1–27; others give type 27) from draws.
pub fn build(msg_type: u8, raw: &[RawDraw]) -> AisMessage {
    let mut d = Draw::new(raw);
    let d = &mut d;
    let mut m = AisMessage::empty(msg_type);
    m.repeat = d.u(2) as u8;
    m.mmsi = d.u(30);
    let mmsi = &mut m.mmsi;
    match &mut m.body {
        Body::Position(p) => {
            *p = PositionReport {
                status: d.u(4) as u8,
                turn: d.i(8) as i8,
                speed: d.u(10) as u16,
                accuracy: d.flag(),
                lon: d.i(28),
                lat: d.i(27),
                course: d.u(12) as u16,
                heading: d.u(9) as u16,
                second: d.u(6) as u8,
                maneuver: d.u(2) as u8,
                spare: d.u(3) as u8,
                raim: d.flag(),
                radio: d.u(19),
            }
        }
        Body::BaseStation(b) => {
            *b = BaseStationReport {
                utc: utc(d),
                accuracy: d.flag(),
                lon: d.i(28),
                lat: d.i(27),
                epfd: d.u(4) as u8,
                spare: d.u(10) as u16,
                raim: d.flag(),
                radio: d.u(19),
            }
        }
        Body::StaticVoyage(s) => {
            *s = StaticVoyage {
                ais_version: d.u(2) as u8,
                imo: d.u(30),
                callsign: d.text(7),
                shipname: d.text(20),
                shiptype: d.u(8) as u8,
                to_bow: d.u(9) as u16,
                to_stern: d.u(9) as u16,
                to_port: d.u(6) as u8,
                to_starboard: d.u(6) as u8,
                epfd: d.u(4) as u8,
                eta: eta(d),
                draught: d.u(8) as u8,
                destination: d.text(20),
                dte: d.u(1) as u8,
                spare: d.flag(),
            }
        }
        Body::BinaryAddressed(b) => {
            b.seqno = d.u(2) as u8;
            b.dest_mmsi = d.u(30);
            b.retransmit = d.flag();
            b.spare = d.flag();
            (b.dac, b.fid, b.data) = application_payload(d, ADDRESSED_APPS, 1008 - 88);
        }
        Body::Acknowledge(a) => {
            a.spare = d.u(2) as u8;
            let n = 1 + d.upto(3);
            for slot in &mut a.acks[..n] {
                *slot = (d.u(30), d.u(2) as u8);
            }
            // Not one acknowledgement would be a 40-bit message, shorter than any.
            if a.acks.iter().all(|&s| s == (0, 0)) {
                a.acks[0].0 = 1;
            }
        }
        Body::BinaryBroadcast(b) => {
            b.spare = d.u(2) as u8;
            (b.dac, b.fid, b.data) = application_payload(d, BROADCAST_APPS, 1008 - 56);
        }
        Body::SarAircraft(s) => {
            *s = SarAircraft {
                alt: d.u(12) as u16,
                speed: d.u(10) as u16,
                accuracy: d.flag(),
                lon: d.i(28),
                lat: d.i(27),
                course: d.u(12) as u16,
                second: d.u(6) as u8,
                regional: d.u(8) as u8,
                dte: d.u(1) as u8,
                spare: d.u(3) as u8,
                assigned: d.flag(),
                raim: d.flag(),
                radio: d.u(20),
            }
        }
        Body::UtcInquiry(u) => {
            *u = UtcInquiry {
                spare: d.u(2) as u8,
                dest_mmsi: d.u(30),
                spare2: d.u(2) as u8,
            }
        }
        Body::SafetyAddressed(s) => {
            *s = SafetyAddressed {
                seqno: d.u(2) as u8,
                dest_mmsi: d.u(30),
                retransmit: d.flag(),
                spare: d.flag(),
                text: d.text((1008 - 72) / 6),
            }
        }
        Body::SafetyBroadcast(s) => {
            *s = SafetyBroadcast {
                spare: d.u(2) as u8,
                text: d.text((1008 - 40) / 6),
            }
        }
        Body::Interrogation(q) => {
            // Two optional parts: the second request to station 1, the request to
            // station 2 (88, 108 or 160 bits). An absent part, and a part whose fields
            // are all zero, is not written: its spare bits are zero.
            let parts = d.upto(2);
            q.spares[0] = d.u(2) as u8;
            q.mmsi1 = d.u(30);
            q.type1_1 = d.u(6) as u8;
            q.offset1_1 = d.u(12) as u16;
            if parts >= 1 {
                q.spares[1] = d.u(2) as u8;
                q.type1_2 = d.u(6) as u8;
                q.offset1_2 = d.u(12) as u16;
            }
            if parts == 2 {
                q.spares[2] = d.u(2) as u8;
                q.mmsi2 = d.u(30);
                q.type2_1 = d.u(6) as u8;
                q.offset2_1 = d.u(12) as u16;
                q.spares[3] = d.u(2) as u8;
            }
            let station2 = q.mmsi2 != 0 || q.type2_1 != 0 || q.offset2_1 != 0;
            if !station2 {
                (q.spares[2], q.spares[3]) = (0, 0);
                if q.type1_2 == 0 && q.offset1_2 == 0 {
                    q.spares[1] = 0;
                }
            }
        }
        Body::Assignment(a) => {
            *a = Assignment {
                spare: d.u(2) as u8,
                mmsi1: d.u(30),
                offset1: d.u(12) as u16,
                increment1: d.u(10) as u16,
                mmsi2: d.u(30),
                offset2: d.u(12) as u16,
                increment2: d.u(10) as u16,
            };
        }
        Body::Dgnss(g) => {
            g.spare = d.u(2) as u8;
            g.lon = d.i(18);
            g.lat = d.i(17);
            g.spare2 = d.u(5) as u8;
            let len = d.upto(816 - 80);
            g.data = d.payload(len);
        }
        Body::ClassB(b) => {
            *b = ClassBPosition {
                reserved: d.u(8) as u8,
                speed: d.u(10) as u16,
                accuracy: d.flag(),
                lon: d.i(28),
                lat: d.i(27),
                course: d.u(12) as u16,
                heading: d.u(9) as u16,
                second: d.u(6) as u8,
                regional: d.u(2) as u8,
                cs: d.flag(),
                display: d.flag(),
                dsc: d.flag(),
                band: d.flag(),
                msg22: d.flag(),
                assigned: d.flag(),
                raim: d.flag(),
                radio: d.u(20),
            }
        }
        Body::ClassBExtended(b) => {
            *b = ClassBExtended {
                reserved: d.u(8) as u8,
                speed: d.u(10) as u16,
                accuracy: d.flag(),
                lon: d.i(28),
                lat: d.i(27),
                course: d.u(12) as u16,
                heading: d.u(9) as u16,
                second: d.u(6) as u8,
                regional: d.u(4) as u8,
                shipname: d.text(20),
                shiptype: d.u(8) as u8,
                to_bow: d.u(9) as u16,
                to_stern: d.u(9) as u16,
                to_port: d.u(6) as u8,
                to_starboard: d.u(6) as u8,
                epfd: d.u(4) as u8,
                raim: d.flag(),
                dte: d.u(1) as u8,
                assigned: d.flag(),
                spare: d.u(4) as u8,
            }
        }
        Body::DataLinkManagement(l) => {
            l.spare = d.u(2) as u8;
            let n = 1 + d.upto(3);
            for s in &mut l.slots[..n] {
                *s = SlotReservation {
                    offset: d.u(12) as u16,
                    number: d.u(4) as u8,
                    timeout: d.u(3) as u8,
                    increment: d.u(11) as u16,
                };
            }
        }
        Body::AidToNavigation(a) => {
            *a = AidToNavigation {
                aid_type: d.u(5) as u8,
                name: d.text(34),
                accuracy: d.flag(),
                lon: d.i(28),
                lat: d.i(27),
                to_bow: d.u(9) as u16,
                to_stern: d.u(9) as u16,
                to_port: d.u(6) as u8,
                to_starboard: d.u(6) as u8,
                epfd: d.u(4) as u8,
                second: d.u(6) as u8,
                off_position: d.flag(),
                regional: d.u(8) as u8,
                raim: d.flag(),
                virtual_aid: d.flag(),
                assigned: d.flag(),
                spare: d.flag(),
            }
        }
        Body::ChannelManagement(c) => {
            c.spare = d.u(2) as u8;
            c.channel_a = d.u(12) as u16;
            c.channel_b = d.u(12) as u16;
            c.txrx = d.u(4) as u8;
            c.power = d.flag();
            c.area = if d.flag() {
                ChannelArea::Addressed {
                    dest1: d.u(30),
                    dest2: d.u(30),
                }
            } else {
                ChannelArea::Area {
                    ne_lon: d.i(18),
                    ne_lat: d.i(17),
                    sw_lon: d.i(18),
                    sw_lat: d.i(17),
                }
            };
            c.band_a = d.flag();
            c.band_b = d.flag();
            c.zonesize = d.u(3) as u8;
            c.spare2 = d.u(23);
        }
        Body::GroupAssignment(g) => {
            *g = GroupAssignment {
                spare: d.u(2) as u8,
                ne_lon: d.i(18),
                ne_lat: d.i(17),
                sw_lon: d.i(18),
                sw_lat: d.i(17),
                stationtype: d.u(4) as u8,
                shiptype: d.u(8) as u8,
                spare2: d.u(22),
                txrx: d.u(2) as u8,
                interval: d.u(4) as u8,
                quiet: d.u(4) as u8,
                spare3: d.u(6) as u8,
            }
        }
        Body::StaticData(s) => {
            if d.flag() {
                *s = StaticData::A {
                    shipname: d.text(20),
                    spare: d.u(8) as u8,
                };
            } else {
                if d.flag() {
                    // An auxiliary craft: 98XXXYYYY.
                    *mmsi = 980_000_000 + d.u(30) % 10_000_000;
                }
                let vendorid = d.text(7);
                let (model, serial) = model_serial(&vendorid);
                let dims = if is_auxiliary_craft(*mmsi) {
                    DimsOrMothership::Mothership(d.u(30))
                } else {
                    DimsOrMothership::Dims {
                        to_bow: d.u(9) as u16,
                        to_stern: d.u(9) as u16,
                        to_port: d.u(6) as u8,
                        to_starboard: d.u(6) as u8,
                    }
                };
                *s = StaticData::B(StaticDataB {
                    shiptype: d.u(8) as u8,
                    vendorid,
                    model,
                    serial,
                    callsign: d.text(7),
                    dims,
                    spare: d.u(6) as u8,
                });
            }
        }
        Body::SingleSlotBinary(b) | Body::MultiSlotBinary(b) => {
            let multislot = msg_type == 26;
            b.addressed = d.flag();
            b.structured = d.flag();
            b.dest_mmsi = if b.addressed { d.u(30) } else { 0 };
            b.app_id = if b.structured { d.u(16) as u16 } else { 0 };
            let head = 40 + 30 * usize::from(b.addressed) + 16 * usize::from(b.structured);
            // Type 26 is at most 1004 bits long: gpsd 3.22 applies ITU's limit on the
            // data to the whole message, and our decoder follows it.
            let len = if multislot {
                d.upto(1004 - 20 - head)
            } else {
                d.upto(168 - head)
            };
            b.data = d.payload(len);
            if multislot {
                b.radio = d.u(20);
                // The 20 bits of radio status follow the data: they fill its last byte.
                let pad = b.data.bytes.len() * 8 - len;
                if let Some(last) = b.data.bytes.last_mut() {
                    *last |= ((b.radio >> (20 - pad)) as u8) & ((1u16 << pad) - 1) as u8;
                }
            }
        }
        Body::LongRange(l) => {
            *l = LongRange {
                accuracy: d.flag(),
                raim: d.flag(),
                status: d.u(4) as u8,
                lon: d.i(18),
                lat: d.i(17),
                speed: d.u(6) as u8,
                course: d.u(9) as u16,
                gnss: d.flag(),
                spare: d.flag(),
            }
        }
        _ => {}
    }
    with_decoded(m)
}

/// Model (4 bits) and serial (20 bits) of a type 24 part B: bits 18–41 of the
/// 42-bit vendor ID field (its characters 3–6, `@` past the text's end).
pub fn model_serial(vendorid: &str) -> (u8, u32) {
    let code = |k: usize| {
        vendorid
            .as_bytes()
            .get(k)
            .and_then(|c| SIXBIT_ASCII.iter().position(|a| a == c))
            .unwrap_or(0) as u32
    };
    let tail = (code(3) << 18) | (code(4) << 12) | (code(5) << 6) | code(6);
    ((tail >> 20) as u8, tail & 0xf_ffff)
}

/// Raw draws enough for the longest message (a 161-character text).
const DRAWS: usize = 200;

/// A normalized message of type `msg_type` (1–27).
pub fn arb_message_of_type(msg_type: u8) -> impl Strategy<Value = AisMessage> {
    vec(any::<u64>(), DRAWS).prop_map(move |raw| build(msg_type, &raw))
}

/// A normalized message of any type 1–27.
pub fn arb_message() -> impl Strategy<Value = AisMessage> {
    (1u8..=27, vec(any::<u64>(), DRAWS)).prop_map(|(t, raw)| build(t, &raw))
}

/// A tag block: optional source (printable ASCII but `,` `*` `\`), optional time
/// (whole seconds), any group id.
pub fn arb_tag_block() -> impl Strategy<Value = simulators::ais_encode::TagBlockOptions> {
    let source_char = prop_oneof![
        (b' '..=b'~').prop_filter_map("not , * \\", |c| {
            (!b",*\\".contains(&c)).then_some(char::from(c))
        }),
        prop::sample::select(vec!['r', 'E', 'V', '0', '2']),
    ];
    (
        proptest::option::of(vec(source_char, 0..=20).prop_map(String::from_iter)),
        proptest::option::of(0i64..=simulators::ais_encode::MAX_TAG_TIME_SECONDS),
        any::<u32>(),
    )
        .prop_map(
            |(source, time, group_id)| simulators::ais_encode::TagBlockOptions {
                source,
                time: time.and_then(|s| jiff::Timestamp::from_second(s).ok()),
                group_id,
            },
        )
}

/// Sentence options: talker, VDM/VDO, channel, sequential id, 20–80 payload characters
/// per sentence (so a message never needs more than 9), and an optional tag block.
pub fn arb_encode_options() -> impl Strategy<Value = simulators::ais_encode::EncodeOptions> {
    let talker = prop_oneof![
        Just(*b"AI"),
        Just(*b"AB"),
        Just(*b"BS"),
        Just(*b"SA"),
        [b'A'..=b'Z', b'A'..=b'Z'],
    ];
    let channel = proptest::option::of(prop::sample::select(vec!['A', 'B', '1', '2']));
    let max_chars = prop_oneof![Just(60usize), 20usize..=80];
    (
        talker,
        any::<bool>(),
        channel,
        max_chars,
        0u8..=9,
        proptest::option::of(arb_tag_block()),
    )
        .prop_map(
            |(talker, own_ship, channel, max_payload_chars, seq_id, tag)| {
                simulators::ais_encode::EncodeOptions {
                    talker,
                    own_ship,
                    channel,
                    max_payload_chars,
                    seq_id,
                    tag,
                }
            },
        )
}
