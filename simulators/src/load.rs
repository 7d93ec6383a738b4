//! Load mode: N AIS sentences a second of realistic traffic, for benchmarks and soak
//! tests.
//!
//! A pool of background vessels of a sea area (lanes, fishing grounds, yachts: see
//! [`crate::area::background`]) reports in turn, as many sentences per second of
//! scenario time as asked: class A type 1 and type 5 (two sentences), class B type 18 and
//! type 24 A and B, with a static report every 36th turn (about every 6 minutes at real
//! rates), each heard by one of the area's receivers (tag blocks `s:` and `c:`). Vessels
//! move between their reports, so positions form tracks, not noise.

use std::io::{self, Write};

use jiff::{SignedDuration, Timestamp};

use crate::ais_encode::{EncodeOptions, Encoder, TagBlockOptions};
use crate::area::{Area, background};
use crate::geodesy::{METERS_PER_NM, Position};
use crate::scenario::{Station, position_report, static_reports};

/// Most vessels in the pool: more would only cost memory.
pub const MAX_POOL: usize = 20_000;

struct LoadVessel {
    station: Station,
    pos: Position,
    speed_kn: f64,
    course_deg: f64,
    turns: u32,
    receiver: usize,
}

/// A generator of `rate` sentences per second of scenario time.
pub struct Load {
    vessels: Vec<LoadVessel>,
    encoders: Vec<Encoder>,
    rate: u32,
    next: usize,
    /// Seconds between two turns of one vessel.
    turn_s: f64,
    /// Sentences already written beyond the last second's quota (a two-sentence message).
    carry: u32,
    /// The second being written.
    pub now: Timestamp,
}

impl Load {
    /// `rate` sentences per second from `start`, traffic of `area`, for `seed`.
    pub fn new(area: &Area, rate: u32, start: Timestamp, seed: u64) -> Load {
        let pool = (rate as usize * 10).clamp(100, MAX_POOL);
        let vessels = background(area, pool as u32, seed, &[])
            .into_iter()
            .enumerate()
            .map(|(k, v)| LoadVessel {
                pos: v.route[0],
                speed_kn: v.speed_kn,
                course_deg: v.route[0].bearing_deg(v.route[1 % v.route.len()]),
                turns: (k % 36) as u32,
                receiver: k % area.receivers.len().max(1),
                station: Station {
                    class: v.class,
                    mmsi: v.mmsi.unwrap_or_default(),
                    name: v.name,
                    callsign: v.callsign,
                    imo: v.imo,
                    shiptype: v.shiptype,
                    status: v.status,
                    length_m: v.length_m,
                },
            })
            .collect();
        let encoders = area
            .receivers
            .iter()
            .enumerate()
            .map(|(k, r)| {
                Encoder::new(EncodeOptions {
                    tag: Some(TagBlockOptions {
                        source: Some(r.name.clone()),
                        time: None,
                        group_id: 1 + 1000 * k as u32,
                    }),
                    ..EncodeOptions::default()
                })
            })
            .collect();
        Load {
            vessels,
            encoders,
            rate: rate.max(1),
            next: 0,
            turn_s: pool as f64 / f64::from(rate.max(1)),
            carry: 0,
            now: start,
        }
    }

    /// Write one second of traffic (`rate` sentences, give or take the second sentence
    /// of a type 5 or the B part of a type 24) to `out`; the number of sentences written.
    pub fn second(&mut self, out: &mut impl Write) -> io::Result<u64> {
        let mut written = 0u64;
        let quota = self.rate.saturating_sub(self.carry);
        self.carry = 0;
        let mut n = 0u32;
        while n < quota {
            let k = self.next;
            self.next = (self.next + 1) % self.vessels.len();
            let v = &mut self.vessels[k];
            // Dead reckoning since its last turn.
            let d_m = v.speed_kn * METERS_PER_NM * self.turn_s / 3600.0;
            let c = v.course_deg.to_radians();
            v.pos.lat += d_m * c.cos() / 111_120.0;
            v.pos.lon += d_m * c.sin() / (111_120.0 * v.pos.lat.to_radians().cos());
            if !(30.0..=40.0).contains(&v.pos.lat) || !(9.0..=17.0).contains(&v.pos.lon) {
                v.course_deg = (v.course_deg + 180.0).rem_euclid(360.0);
            }
            v.turns = v.turns.wrapping_add(1);
            let msgs = if v.turns.is_multiple_of(36) {
                static_reports(&v.station)
            } else {
                vec![position_report(
                    &v.station,
                    self.now,
                    v.pos,
                    v.speed_kn,
                    v.course_deg,
                )]
            };
            let enc = &mut self.encoders[v.receiver];
            if let Some(tag) = &mut enc.opts.tag {
                tag.time = Some(self.now);
            }
            enc.opts.channel = Some(if k.is_multiple_of(2) { 'A' } else { 'B' });
            for m in &msgs {
                let lines = enc
                    .encode(m)
                    .map_err(|e| io::Error::other(format!("encoding a load message: {e}")))?;
                for l in lines {
                    out.write_all(l.as_bytes())?;
                    out.write_all(b"\n")?;
                    n += 1;
                    written += 1;
                }
            }
        }
        self.carry = n - quota;
        self.now += SignedDuration::from_secs(1);
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingest::ais::Decoder;

    #[test]
    fn writes_the_rate_asked_and_every_line_decodes() {
        let area = crate::area::area("central-med").unwrap();
        let start: Timestamp = "2026-11-22T02:00:00Z".parse().unwrap();
        let mut load = Load::new(&area, 500, start, 1);
        let mut out = Vec::new();
        let mut n = 0;
        for _ in 0..20 {
            n += load.second(&mut out).unwrap();
        }
        assert!((10_000..=10_001).contains(&n), "{n}");
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count() as u64, n);
        let mut d = Decoder::new();
        let mut types = std::collections::BTreeSet::new();
        let mut messages = 0;
        for l in text.lines() {
            if let Some(m) = d
                .decode_line(l.as_bytes(), 0)
                .unwrap_or_else(|e| panic!("{l}: {e}"))
            {
                types.insert(m.message.msg_type);
                messages += 1;
                let t = m.heard.time().unwrap();
                assert!(t >= start && t < start + SignedDuration::from_secs(20));
            }
        }
        assert!(messages > 9_000);
        assert!(
            types.contains(&1) && types.contains(&5) && types.contains(&18) && types.contains(&24),
            "{types:?}"
        );
    }
}

/// One static report (type 5: two sentences) from each of `n` vessels numbered from
/// `first_mmsi`, as receiver `source` hears them a second apart from `start` (tag blocks
/// `s:`, `c:`, `g:`): for tests where every message of several sentences must come through.
/// Each entry is the vessel's MMSI and its lines.
pub fn static_fleet(
    source: &str,
    first_mmsi: u32,
    n: u32,
    start: Timestamp,
) -> Vec<(u32, Vec<String>)> {
    use ingest::ais::AisMessage;
    use ingest::ais::message::{Body, StaticVoyage};
    let mut enc = Encoder::new(EncodeOptions {
        tag: Some(TagBlockOptions {
            source: Some(source.to_owned()),
            time: None,
            group_id: 1,
        }),
        ..EncodeOptions::default()
    });
    (0..n)
        .filter_map(|i| {
            let mmsi = first_mmsi + i;
            if let Some(t) = &mut enc.opts.tag {
                t.time = Some(start + SignedDuration::from_secs(i64::from(i)));
            }
            let m = AisMessage {
                msg_type: 5,
                repeat: 0,
                mmsi,
                body: Body::StaticVoyage(StaticVoyage {
                    ais_version: 2,
                    callsign: format!("TW{}", i % 10_000),
                    shipname: format!("TIDEWATCH {i}"),
                    shiptype: 70,
                    ..Default::default()
                }),
            };
            Some((mmsi, enc.encode(&m).ok()?))
        })
        .collect()
}

#[cfg(test)]
mod fleet_tests {
    use super::*;

    #[test]
    fn a_static_fleet_is_two_sentences_a_vessel_and_decodes() {
        let fleet = static_fleet(
            "r1",
            201_000_000,
            3,
            "2026-12-05T03:00:00Z".parse().unwrap(),
        );
        assert_eq!(fleet.len(), 3);
        let mut d = ingest::ais::Decoder::new();
        for (mmsi, lines) in fleet {
            assert_eq!(lines.len(), 2);
            assert!(matches!(d.decode_line(lines[0].as_bytes(), 0), Ok(None)));
            let m = d.decode_line(lines[1].as_bytes(), 0).unwrap().unwrap();
            assert_eq!(m.message.mmsi, mmsi);
        }
    }
}
