//! Scenarios: simulated vessels that transmit AIS as real transponders do, encoded to
//! NMEA lines with tag blocks by [`crate::ais_encode`].
//!
//! A scenario runs on its own clock: [`Scenario::advance`] moves it to a time and
//! returns the lines transmitted on the way, in time order, each stamped (tag block
//! `c:`) with the time it was sent. The same seedless scenario always produces the same
//! lines, so tests can rely on it.

use ingest::ais::AisMessage;
use ingest::ais::message::{
    Body, ClassBPosition, DimsOrMothership, PositionReport, StaticData, StaticDataB, StaticVoyage,
};
use ingest::ais::walk::Eta;
use jiff::{SignedDuration, Timestamp};

use crate::ais_encode::{EncodeOptions, Encoder, TagBlockOptions};

/// What a simulated station is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StationKind {
    /// A class A transponder: type 1 position reports, type 5 static data.
    ClassA,
    /// A class B transponder: type 18 position reports, type 24 static data.
    ClassB,
    /// An AIS-SART (search and rescue transmitter): type 1 with status 14, "SART ACTIVE".
    Sart,
}

/// One simulated vessel.
#[derive(Debug, Clone)]
pub struct SimVessel {
    /// MMSI.
    pub mmsi: u32,
    /// Name as transmitted.
    pub name: String,
    /// Call sign.
    pub callsign: String,
    /// Ship and cargo type code.
    pub shiptype: u8,
    /// Transponder kind.
    pub kind: StationKind,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Speed over ground, knots.
    pub speed_kn: f64,
    /// Course over ground, degrees true.
    pub course_deg: f64,
    /// Navigational status (types 1–3).
    pub status: u8,
    /// Seconds between position reports.
    pub report_every_s: i64,
    /// The transponder falls silent at this time (a vessel "going dark").
    pub silent_from: Option<Timestamp>,
    next_report: Timestamp,
    next_static: Timestamp,
}

impl SimVessel {
    /// Move along the course for `dt` (flat-earth step: fine for the seconds between
    /// reports).
    fn step(&mut self, dt: SignedDuration) {
        let hours = dt.as_secs_f64() / 3600.0;
        let dist_nm = self.speed_kn * hours;
        let c = self.course_deg.to_radians();
        self.lat += dist_nm * c.cos() / 60.0;
        self.lon += dist_nm * c.sin() / (60.0 * self.lat.to_radians().cos());
    }

    fn position_report(&self, now: Timestamp) -> AisMessage {
        let lon = (self.lon * 600_000.0).round() as i32;
        let lat = (self.lat * 600_000.0).round() as i32;
        let speed = ((self.speed_kn * 10.0).round() as u16).min(1022);
        let course = ((self.course_deg * 10.0).round() as u16) % 3600;
        let second = (now.as_second().rem_euclid(60)) as u8;
        match self.kind {
            StationKind::ClassA | StationKind::Sart => {
                let sart = self.kind == StationKind::Sart;
                AisMessage {
                    msg_type: 1,
                    repeat: 0,
                    mmsi: self.mmsi,
                    body: Body::Position(PositionReport {
                        status: if sart { 14 } else { self.status },
                        turn: if sart { -128 } else { 0 },
                        speed,
                        accuracy: true,
                        lon,
                        lat,
                        course,
                        heading: if sart { 511 } else { course / 10 },
                        second,
                        radio: 0x4000 | u32::from(second),
                        ..Default::default()
                    }),
                }
            }
            StationKind::ClassB => AisMessage {
                msg_type: 18,
                repeat: 0,
                mmsi: self.mmsi,
                body: Body::ClassB(ClassBPosition {
                    speed,
                    lon,
                    lat,
                    course,
                    heading: 511,
                    second,
                    cs: true,
                    band: true,
                    msg22: true,
                    radio: 0x60006,
                    ..Default::default()
                }),
            },
        }
    }

    fn static_reports(&self) -> Vec<AisMessage> {
        match self.kind {
            StationKind::ClassA => vec![AisMessage {
                msg_type: 5,
                repeat: 0,
                mmsi: self.mmsi,
                body: Body::StaticVoyage(StaticVoyage {
                    ais_version: 2,
                    callsign: self.callsign.clone(),
                    shipname: self.name.clone(),
                    shiptype: self.shiptype,
                    to_bow: 40,
                    to_stern: 20,
                    to_port: 6,
                    to_starboard: 6,
                    epfd: 1,
                    eta: Eta {
                        month: 0,
                        day: 0,
                        hour: 24,
                        minute: 60,
                    },
                    draught: 45,
                    ..Default::default()
                }),
            }],
            StationKind::ClassB => vec![
                AisMessage {
                    msg_type: 24,
                    repeat: 0,
                    mmsi: self.mmsi,
                    body: Body::StaticData(StaticData::A {
                        shipname: self.name.clone(),
                        spare: 0,
                    }),
                },
                AisMessage {
                    msg_type: 24,
                    repeat: 0,
                    mmsi: self.mmsi,
                    body: Body::StaticData(StaticData::B(StaticDataB {
                        shiptype: self.shiptype,
                        callsign: self.callsign.clone(),
                        dims: DimsOrMothership::Dims {
                            to_bow: 8,
                            to_stern: 4,
                            to_port: 2,
                            to_starboard: 2,
                        },
                        ..Default::default()
                    })),
                },
            ],
            StationKind::Sart => Vec::new(),
        }
    }
}

/// A scenario: vessels, a receiver, a clock.
pub struct Scenario {
    /// Scenario name.
    pub name: &'static str,
    /// What it shows.
    pub description: &'static str,
    /// The vessels.
    pub vessels: Vec<SimVessel>,
    /// Current scenario time.
    pub now: Timestamp,
    encoder: Encoder,
    channel_b: bool,
}

impl Scenario {
    /// Run the scenario to `until`, returning every NMEA line transmitted in between,
    /// in time order, with the time it was sent.
    pub fn advance(&mut self, until: Timestamp) -> Vec<(Timestamp, String)> {
        let mut lines = Vec::new();
        loop {
            // The next transmission of any vessel, if before `until`.
            let next = self
                .vessels
                .iter()
                .enumerate()
                .filter(|(_, v)| v.silent_from.is_none_or(|s| v.next_report < s))
                .map(|(i, v)| (v.next_report.min(v.next_static), i))
                .min();
            let Some((at, i)) = next.filter(|(at, _)| *at <= until) else {
                break;
            };
            let dt = at.duration_since(self.now);
            for v in &mut self.vessels {
                v.step(dt);
            }
            self.now = at;
            let v = &mut self.vessels[i];
            let mut msgs = Vec::new();
            if v.next_static <= at {
                msgs.extend(v.static_reports());
                v.next_static = at + SignedDuration::from_mins(6);
            }
            if v.next_report <= at {
                msgs.push(v.position_report(at));
                v.next_report = at + SignedDuration::from_secs(v.report_every_s);
            }
            for m in msgs {
                // Transponders alternate channels.
                self.channel_b = !self.channel_b;
                self.encoder.opts.channel = Some(if self.channel_b { 'B' } else { 'A' });
                if let Some(tag) = &mut self.encoder.opts.tag {
                    tag.time = Some(at);
                }
                if let Ok(l) = self.encoder.encode(&m) {
                    lines.extend(l.into_iter().map(|l| (at, l)));
                }
            }
        }
        let dt = until.duration_since(self.now);
        if dt.is_positive() {
            for v in &mut self.vessels {
                v.step(dt);
            }
            self.now = until;
        }
        lines
    }
}

fn vessel(
    mmsi: u32,
    name: &str,
    kind: StationKind,
    (lat, lon): (f64, f64),
    speed_kn: f64,
    course_deg: f64,
    start: Timestamp,
) -> SimVessel {
    let report_every_s = match kind {
        StationKind::ClassA if speed_kn > 14.0 => 6,
        StationKind::ClassA if speed_kn > 2.0 => 10,
        StationKind::ClassA => 180,
        StationKind::ClassB if speed_kn > 2.0 => 30,
        StationKind::ClassB => 180,
        StationKind::Sart => 60,
    };
    // Spread first reports so the stations do not all speak at once.
    let offset = SignedDuration::from_secs(i64::from(mmsi % 17));
    SimVessel {
        mmsi,
        name: name.to_owned(),
        callsign: format!("C{}", mmsi % 100_000),
        shiptype: match kind {
            StationKind::ClassA => 70,
            StationKind::ClassB => 30,
            StationKind::Sart => 0,
        },
        kind,
        lat,
        lon,
        speed_kn,
        course_deg,
        status: if speed_kn < 0.5 { 1 } else { 0 },
        report_every_s,
        silent_from: None,
        next_report: start + offset,
        next_static: start + offset,
    }
}

/// The names of the scenarios [`by_name`] knows.
pub const NAMES: [&str; 1] = ["central-med"];

/// A scenario by name, starting at `start`.
pub fn by_name(name: &str, start: Timestamp) -> Option<Scenario> {
    match name {
        "central-med" => Some(central_med(start)),
        _ => None,
    }
}

/// South of Lampedusa: a cargo ship in transit, a fishing vessel, a mother ship and a
/// small boat meeting far from port, a vessel that goes dark after five minutes, and an
/// AIS-SART transmitting from a boat in distress.
pub fn central_med(start: Timestamp) -> Scenario {
    let mut vessels = vec![
        vessel(
            247_123_456,
            "MARE NOSTRUM STAR",
            StationKind::ClassA,
            (35.20, 12.95),
            13.5,
            278.0,
            start,
        ),
        vessel(
            247_654_321,
            "SAN GIUSEPPE",
            StationKind::ClassA,
            (35.38, 12.41),
            3.1,
            145.0,
            start,
        ),
        vessel(
            636_012_345,
            "OCEAN TRADER",
            StationKind::ClassA,
            (34.92, 12.71),
            1.2,
            90.0,
            start,
        ),
        vessel(
            247_900_111,
            "MIRAGE",
            StationKind::ClassB,
            // Alongside the mother ship, about 300 m off: a transfer under way.
            (34.9225, 12.7115),
            1.1,
            95.0,
            start,
        ),
        vessel(
            620_999_001,
            "SILENT WAVE",
            StationKind::ClassA,
            (35.05, 12.20),
            9.0,
            20.0,
            start,
        ),
        vessel(
            970_123_456,
            "",
            StationKind::Sart,
            (34.98, 12.55),
            0.8,
            200.0,
            start,
        ),
    ];
    vessels[1].shiptype = 30;
    vessels[1].status = 7;
    vessels[4].silent_from = Some(start + SignedDuration::from_mins(5));
    Scenario {
        name: "central-med",
        description: "south of Lampedusa: transit, fishing, a rendezvous, a vessel going dark, an AIS-SART",
        vessels,
        now: start,
        encoder: Encoder::new(EncodeOptions {
            tag: Some(TagBlockOptions {
                source: Some("sim-lampedusa".to_owned()),
                time: None,
                group_id: 1,
            }),
            ..EncodeOptions::default()
        }),
        channel_b: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingest::ais::Decoder;

    #[test]
    fn central_med_decodes_and_the_dark_vessel_falls_silent() {
        let start: Timestamp = "2026-11-22T02:00:00Z".parse().unwrap();
        let mut s = central_med(start);
        let lines = s.advance(start + SignedDuration::from_mins(20));
        let mut d = Decoder::new();
        let mut last_heard = std::collections::HashMap::new();
        let mut sart = 0;
        for (sent, l) in &lines {
            if let Some(m) = d
                .decode_line(l.as_bytes(), 0)
                .expect("our own lines decode")
            {
                let t = m.heard.time().expect("tag block time");
                assert_eq!(t.as_second(), sent.as_second());
                last_heard.insert(m.message.mmsi, t);
                if let Body::Position(p) = &m.message.body
                    && p.status == 14
                {
                    sart += 1;
                }
            }
        }
        assert_eq!(last_heard.len(), 6);
        assert!(sart >= 19, "{sart}");
        let dark = last_heard[&620_999_001];
        assert!(dark < start + SignedDuration::from_mins(5));
        assert!(last_heard[&247_123_456] > start + SignedDuration::from_mins(19));
    }

    #[test]
    fn the_same_scenario_gives_the_same_lines() {
        let start: Timestamp = "2026-11-22T02:00:00Z".parse().unwrap();
        let a = central_med(start).advance(start + SignedDuration::from_mins(3));
        let b = central_med(start).advance(start + SignedDuration::from_mins(3));
        assert_eq!(a, b);
        assert!(a.len() > 20);
    }
}
