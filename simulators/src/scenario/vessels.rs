//! Vessels: how they move, what their events do to them, and what their AIS transponders
//! and SARTs send to the receivers in range.

use ingest::ais::AisMessage;
use ingest::ais::message::{
    Body, ClassBPosition, DimsOrMothership, PositionReport, SafetyBroadcast, StaticData,
    StaticDataB, StaticVoyage,
};
use ingest::ais::walk::Eta;
use ingest::wire::patrol::{Condition, Craft};
use jiff::{SignedDuration, Timestamp};

use super::build::condition;
use super::{Channel, Emission, Motion, Sart, Scenario, Station, Transponder, Vessel};
use crate::ais_encode::{encode_armored, encode_payload};
use crate::geodesy::{METERS_PER_NM, Position, angle_diff_deg};
use crate::rng::Rng;
use crate::spec::{Action, AisClass, VesselSpec};

impl Vessel {
    pub(super) fn new(spec: VesselSpec, start: Timestamp, seed: u64) -> Vessel {
        let mut rng = Rng::derive(seed, &spec.id);
        let pos = spec.route[0];
        // Spread first reports so stations do not all speak in the same second.
        let first = start + SignedDuration::from_secs(rng.below(10) as i64);
        let ais = spec.mmsi.map(|mmsi| Transponder {
            station: Station {
                class: spec.class,
                mmsi,
                name: spec.name.clone(),
                callsign: spec.callsign.clone(),
                imo: spec.imo,
                shiptype: spec.shiptype,
                status: spec.status,
                length_m: spec.length_m,
            },
            on: true,
            next_report: first,
            next_static: first,
            spoof: None,
        });
        let appear = spec.appear.map(|d| start + d);
        let course = if spec.route.len() > 1 {
            pos.bearing_deg(spec.route[1])
        } else {
            0.0
        };
        Vessel {
            pos,
            speed_kn: spec.speed_kn,
            course_deg: course,
            motion: Motion::Route {
                points: spec.route.clone(),
                next: 1.min(spec.route.len() - 1),
                looping: spec.looping,
            },
            at_sea: appear.is_none(),
            appear,
            turning_until: start,
            ais,
            sart: None,
            condition: Condition::UnderWay,
            persons: spec.persons,
            rng,
            spec,
        }
    }

    /// One second on.
    pub(super) fn step(&mut self, now: Timestamp) {
        let dist_m = self.speed_kn * METERS_PER_NM / 3600.0;
        match &mut self.motion {
            Motion::Route {
                points,
                next,
                looping,
            } => {
                if self.speed_kn <= 0.0 {
                    return;
                }
                let mut left = dist_m;
                loop {
                    let target = points[*next];
                    let d = self.pos.distance_m(target);
                    if d > left {
                        let c = self.pos.bearing_deg(target);
                        if angle_diff_deg(self.course_deg, c).abs() > 10.0 {
                            self.turning_until = now + SignedDuration::from_secs(30);
                        }
                        self.course_deg = c;
                        self.pos = self.pos.destination(c, left);
                        return;
                    }
                    self.pos = target;
                    left -= d;
                    if *next + 1 < points.len() {
                        *next += 1;
                    } else if *looping && points.len() > 1 {
                        *next = 0;
                    } else {
                        // Arrived: stays there.
                        self.speed_kn = 0.0;
                        return;
                    }
                }
            }
            Motion::Drift {
                toward_deg,
                rate_kn,
            } => {
                self.course_deg = *toward_deg;
                self.speed_kn = *rate_kn;
                self.pos = self
                    .pos
                    .destination(*toward_deg, *rate_kn * METERS_PER_NM / 3600.0);
            }
            Motion::Loiter {
                centre,
                radius_nm,
                angle_deg,
            } => {
                let r_m = (*radius_nm * METERS_PER_NM).max(50.0);
                *angle_deg = (*angle_deg + (dist_m / r_m).to_degrees()).rem_euclid(360.0);
                self.pos = centre.destination(*angle_deg, r_m);
                self.course_deg = (*angle_deg + 90.0).rem_euclid(360.0);
            }
        }
    }

    pub(super) fn transmitting(&self) -> bool {
        self.at_sea && self.ais.as_ref().is_some_and(|a| a.on)
    }

    pub(super) fn craft(&self) -> Craft {
        let named = self.spec.craft.as_deref().and_then(|c| {
            serde_json::from_value::<Craft>(serde_json::Value::String(c.to_owned())).ok()
        });
        named.unwrap_or(if self.spec.length_m < 12.0 {
            Craft::RubberBoat
        } else {
            Craft::WoodenBoat
        })
    }

    /// In distress: rescue first.
    pub(super) fn distressed(&self) -> bool {
        self.condition.is_distress() || self.sart.is_some()
    }
}

/// ITU-R M.1371-5 tables 1 and 2: seconds to the next position report.
pub(super) fn report_interval_s(class: AisClass, speed_kn: f64, status: u8, turning: bool) -> i64 {
    match class {
        AisClass::A => {
            let moored = status == 1 || status == 5;
            if moored && speed_kn <= 3.0 {
                180
            } else if speed_kn <= 14.0 {
                if turning { 3 } else { 10 }
            } else if speed_kn <= 23.0 {
                if turning { 2 } else { 6 }
            } else {
                2
            }
        }
        AisClass::B => {
            if speed_kn <= 2.0 {
                180
            } else {
                30
            }
        }
    }
}

impl Scenario {
    pub(super) fn appear(&mut self, i: usize) {
        let at = self.vessels[i]
            .spec
            .appear_at
            .as_ref()
            .and_then(|a| self.vessels.iter().find(|v| &v.spec.id == a))
            .map(|v| v.pos);
        let v = &mut self.vessels[i];
        if let Some(p) = at {
            v.pos = p;
        }
        v.at_sea = true;
        v.appear = None;
        if let Some(a) = &mut v.ais {
            a.next_report = self.now;
            a.next_static = self.now;
        }
    }

    pub(super) fn apply(&mut self, i: usize, action: Action) {
        let now = self.now;
        let v = &mut self.vessels[i];
        match action {
            Action::Speed { speed_kn } => {
                v.speed_kn = speed_kn;
                if !matches!(v.motion, Motion::Route { .. }) {
                    let mut route = vec![v.pos];
                    route.extend(v.spec.route.iter().skip(1));
                    v.motion = Motion::Route {
                        next: 1.min(route.len() - 1),
                        points: route,
                        looping: v.spec.looping,
                    };
                }
            }
            Action::Route { route, speed_kn } => {
                if let Some(s) = speed_kn {
                    v.speed_kn = s;
                }
                v.motion = Motion::Route {
                    points: route,
                    next: 0,
                    looping: false,
                };
            }
            Action::Drift {
                toward_deg,
                rate_kn,
            } => {
                v.motion = Motion::Drift {
                    toward_deg,
                    rate_kn,
                };
                v.condition = Condition::Adrift;
            }
            Action::Loiter {
                radius_nm,
                speed_kn,
            } => {
                let centre = v.pos.destination(
                    (v.course_deg + 90.0).rem_euclid(360.0),
                    radius_nm * METERS_PER_NM,
                );
                v.motion = Motion::Loiter {
                    centre,
                    radius_nm,
                    angle_deg: centre.bearing_deg(v.pos),
                };
                v.speed_kn = speed_kn;
            }
            Action::AisOff => {
                if let Some(a) = &mut v.ais {
                    a.on = false;
                }
            }
            Action::AisOn => {
                if let Some(a) = &mut v.ais {
                    a.on = true;
                    a.next_report = now;
                    a.next_static = now;
                }
            }
            Action::Identity {
                mmsi,
                name,
                callsign,
            } => {
                if let Some(a) = &mut v.ais {
                    if let Some(m) = mmsi {
                        a.station.mmsi = m;
                    }
                    if let Some(n) = name {
                        a.station.name = n;
                    }
                    if let Some(c) = callsign {
                        a.station.callsign = c;
                    }
                    a.next_static = now;
                }
            }
            Action::Spoof {
                offset_nm,
                bearing_deg,
                duration,
            } => {
                if let Some(a) = &mut v.ais {
                    a.spoof = Some((offset_nm, bearing_deg, now + duration));
                }
            }
            Action::Condition { condition: c } => {
                v.condition = condition("", &c).unwrap_or(Condition::Unknown);
            }
            Action::Capsize {
                toward_deg,
                rate_kn,
            } => {
                v.motion = Motion::Drift {
                    toward_deg,
                    rate_kn,
                };
                v.condition = Condition::Capsized;
                if let Some(a) = &mut v.ais {
                    a.on = false;
                }
            }
            Action::Sart { mmsi } => {
                v.sart = Some(Sart {
                    mmsi,
                    next_report: now,
                    next_text: now,
                });
            }
        }
    }

    /// A vessel's transponder and SART, if due.
    pub(super) fn transmit(&mut self, i: usize) {
        let now = self.now;
        let mut msgs: Vec<(AisMessage, f64)> = Vec::new();
        let v = &mut self.vessels[i];
        let turning = v.turning_until > now;
        if v.transmitting() {
            let (pos, speed, course) = (v.pos, v.speed_kn, v.course_deg);
            let noise = (
                v.rng.normal(3.0),
                v.rng.normal(3.0),
                v.rng.normal(0.1),
                v.rng.normal(1.0),
            );
            let a = v.ais.as_mut().expect("transmitting");
            let range = match a.station.class {
                AisClass::A => 1.0,
                AisClass::B => 0.6,
            };
            if a.next_static <= now {
                msgs.extend(static_reports(&a.station).into_iter().map(|m| (m, range)));
                a.next_static = now + SignedDuration::from_mins(6);
            }
            if a.next_report <= now {
                let reported = match a.spoof {
                    Some((off, brg, until)) if until > now => {
                        pos.destination(brg, off * METERS_PER_NM)
                    }
                    Some(_) => {
                        a.spoof = None;
                        pos
                    }
                    None => pos,
                };
                let reported = reported
                    .destination(0.0, noise.0)
                    .destination(90.0, noise.1);
                let sog = if speed > 0.0 {
                    (speed + noise.2).max(0.0)
                } else {
                    0.0
                };
                let cog = (course + noise.3).rem_euclid(360.0);
                msgs.push((position_report(&a.station, now, reported, sog, cog), range));
                a.next_report = now
                    + SignedDuration::from_secs(report_interval_s(
                        a.station.class,
                        speed,
                        a.station.status,
                        turning,
                    ));
            }
        }
        if v.at_sea
            && let Some(s) = &mut v.sart
        {
            if s.next_report <= now {
                msgs.push((
                    sart_report(s.mmsi, now, v.pos, v.speed_kn, v.course_deg),
                    0.4,
                ));
                s.next_report = now + SignedDuration::from_secs(60);
            }
            if s.next_text <= now {
                msgs.push((
                    AisMessage {
                        msg_type: 14,
                        repeat: 0,
                        mmsi: s.mmsi,
                        body: Body::SafetyBroadcast(SafetyBroadcast {
                            spare: 0,
                            text: "SART ACTIVE".to_owned(),
                        }),
                    },
                    0.4,
                ));
                s.next_text = now + SignedDuration::from_mins(4);
            }
        }
        let pos = v.pos;
        for (m, range_factor) in msgs {
            self.broadcast(&m, pos, range_factor);
        }
    }

    /// Every receiver in range that decodes the message reports it.
    fn broadcast(&mut self, m: &AisMessage, from: Position, range_factor: f64) {
        let Ok((payload, fill)) = encode_payload(m) else {
            return;
        };
        let now = self.now;
        for r in &mut self.receivers {
            let range = r.spec.range_nm * range_factor;
            let d = r.spec.at.distance_nm(from);
            if d > range {
                continue;
            }
            // Reception falls off near the edge of range (slot collisions, fading).
            let p = if d < 0.7 * range {
                0.97
            } else {
                0.97 - 0.5 * (d - 0.7 * range) / (0.3 * range)
            };
            if !self.reception.chance(p) {
                continue;
            }
            r.channel_b = !r.channel_b;
            r.encoder.opts.channel = Some(if r.channel_b { 'B' } else { 'A' });
            if let Some(tag) = &mut r.encoder.opts.tag {
                tag.time = Some(now);
            }
            let Ok(lines) = encode_armored(&payload, fill, &r.encoder.opts) else {
                continue;
            };
            if lines.len() > 1 {
                r.encoder.opts.seq_id = (r.encoder.opts.seq_id + 1) % 10;
                if let Some(tag) = &mut r.encoder.opts.tag {
                    tag.group_id = tag.group_id.wrapping_add(1);
                }
            }
            for l in lines {
                self.out.push(Emission {
                    at: now,
                    channel: Channel::Ais {
                        receiver: r.spec.name.clone(),
                    },
                    payload: l,
                });
            }
        }
    }
}

/// A station's position report (type 1 or 18).
pub(crate) fn position_report(
    a: &Station,
    now: Timestamp,
    p: Position,
    sog_kn: f64,
    cog_deg: f64,
) -> AisMessage {
    let lon = (p.lon * 600_000.0).round() as i32;
    let lat = (p.lat * 600_000.0).round() as i32;
    let speed = ((sog_kn * 10.0).round() as u16).min(1022);
    let course = ((cog_deg * 10.0).round() as u16) % 3600;
    let second = now.as_second().rem_euclid(60) as u8;
    match a.class {
        AisClass::A => AisMessage {
            msg_type: 1,
            repeat: 0,
            mmsi: a.mmsi,
            body: Body::Position(PositionReport {
                status: a.status,
                turn: 0,
                speed,
                accuracy: true,
                lon,
                lat,
                course,
                heading: (course / 10) % 360,
                second,
                radio: 0x4000 | u32::from(second),
                ..Default::default()
            }),
        },
        AisClass::B => AisMessage {
            msg_type: 18,
            repeat: 0,
            mmsi: a.mmsi,
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

fn sart_report(mmsi: u32, now: Timestamp, p: Position, sog_kn: f64, cog_deg: f64) -> AisMessage {
    let second = now.as_second().rem_euclid(60) as u8;
    AisMessage {
        msg_type: 1,
        repeat: 0,
        mmsi,
        body: Body::Position(PositionReport {
            status: 14,
            turn: -128,
            speed: ((sog_kn * 10.0).round() as u16).min(1022),
            accuracy: true,
            lon: (p.lon * 600_000.0).round() as i32,
            lat: (p.lat * 600_000.0).round() as i32,
            course: ((cog_deg * 10.0).round() as u16) % 3600,
            heading: 511,
            second,
            radio: 0x4000 | u32::from(second),
            ..Default::default()
        }),
    }
}

/// A station's static reports (type 5, or type 24 parts A and B).
pub(crate) fn static_reports(a: &Station) -> Vec<AisMessage> {
    let length_m = a.length_m;
    let bow = (length_m * 0.7).round().clamp(1.0, 511.0) as u16;
    let stern = (length_m * 0.3).round().clamp(1.0, 511.0) as u16;
    let beam = (length_m / 6.0).round().clamp(2.0, 126.0) as u8;
    match a.class {
        AisClass::A => vec![AisMessage {
            msg_type: 5,
            repeat: 0,
            mmsi: a.mmsi,
            body: Body::StaticVoyage(StaticVoyage {
                ais_version: 2,
                imo: a.imo,
                callsign: a.callsign.clone(),
                shipname: a.name.clone(),
                shiptype: a.shiptype,
                to_bow: bow,
                to_stern: stern,
                to_port: beam / 2,
                to_starboard: beam - beam / 2,
                epfd: 1,
                eta: Eta {
                    month: 0,
                    day: 0,
                    hour: 24,
                    minute: 60,
                },
                draught: (length_m / 20.0 * 10.0).round().clamp(5.0, 250.0) as u8,
                ..Default::default()
            }),
        }],
        AisClass::B => vec![
            AisMessage {
                msg_type: 24,
                repeat: 0,
                mmsi: a.mmsi,
                body: Body::StaticData(StaticData::A {
                    shipname: a.name.clone(),
                    spare: 0,
                }),
            },
            AisMessage {
                msg_type: 24,
                repeat: 0,
                mmsi: a.mmsi,
                body: Body::StaticData(StaticData::B(StaticDataB {
                    shiptype: a.shiptype,
                    callsign: a.callsign.clone(),
                    dims: DimsOrMothership::Dims {
                        to_bow: bow.min(511),
                        to_stern: stern.min(511),
                        to_port: (beam / 2).min(63),
                        to_starboard: (beam - beam / 2).min(63),
                    },
                    ..Default::default()
                })),
            },
        ],
    }
}
