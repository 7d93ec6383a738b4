//! Patrol units: answering taskings, sailing their patrols and search patterns, their
//! GNSS, compass and radar sentences, what the crew sees, and rescues.

use ingest::wire::patrol::{Condition, Craft, MAX_PERSONS, UnitState};
use ingest::wire::{PatrolReport, Tasking, UnitId};
use jiff::{SignedDuration, Timestamp};

use super::{Channel, Emission, Motion, Scenario, UnitMode};
use crate::geodesy::{METERS_PER_NM, Position};
use crate::nmea::{self, Target, TargetState};

impl Scenario {
    /// Give a unit a tasking: it acknowledges and goes, or declines when it does not take
    /// taskings, is answering an earlier one, or is rescuing already (the SAR mission
    /// coordinator then tasks another). Unknown units are ignored (the tasking is for a unit of
    /// another scenario or a real one); the return says whether a unit took it.
    pub fn tasking(&mut self, t: &Tasking) -> bool {
        let now = self.now;
        let Some(u) = self.units.iter_mut().find(|u| u.spec.id == t.unit) else {
            return false;
        };
        let accepted = u.spec.answers_taskings && matches!(u.mode, UnitMode::Patrol);
        let ack = PatrolReport::TaskingAck {
            time: now,
            tasking: t.id.clone(),
            accepted,
            reason: (!accepted).then(|| {
                match u.mode {
                    UnitMode::Rescue { .. } => "on scene of a rescue with persons to take on board",
                    UnitMode::Tasked { .. } => "under way to an earlier tasking",
                    UnitMode::Patrol => "not available for tasking",
                }
                .to_owned()
            }),
        };
        let id = u.id.clone();
        self.out.push(report(now, &id, &ack));
        if !accepted {
            return false;
        }
        let datum = Position {
            lat: t.datum.lat,
            lon: t.datum.lon,
        };
        let mut legs = vec![datum];
        legs.extend(t.waypoints.iter().map(|w| Position {
            lat: w.lat,
            lon: w.lon,
        }));
        let u = self
            .units
            .iter_mut()
            .find(|u| u.spec.id == t.unit)
            .expect("found above");
        u.mode = UnitMode::Tasked {
            legs,
            next: 0,
            on_scene: false,
        };
        u.speed_kn = u.spec.dash_kn;
        set_state(
            (&mut u.state, &u.id, u.pos),
            UnitState::Responding,
            now,
            &mut self.out,
        );
        true
    }

    pub(super) fn unit_second(&mut self, k: usize) {
        let now = self.now;
        self.unit_move(k);
        let u = &mut self.units[k];
        if u.next_fix <= now {
            u.next_fix = now + SignedDuration::from_secs(u.spec.fix_every_s.into());
            let p = u
                .pos
                .destination(0.0, u.rng.normal(2.0))
                .destination(90.0, u.rng.normal(2.0));
            let sog = (u.speed_kn + u.rng.normal(0.05)).max(0.0);
            let cog = u.course_deg + u.rng.normal(0.5);
            let heading = u.course_deg + u.rng.normal(0.3);
            for body in [nmea::rmc(now, p, sog, cog), nmea::hdt(heading)] {
                self.out.push(Emission {
                    at: now,
                    channel: Channel::PatrolNmea(u.id.clone()),
                    payload: nmea::sentence(u.id.as_str(), now, &body),
                });
            }
        }
        if u.next_radar <= now {
            u.next_radar = now + SignedDuration::from_secs(u.spec.radar_every_s.into());
            self.radar_sweep(k);
        }
        self.look_out(k);
    }

    /// Move a unit one second along what it is doing.
    fn unit_move(&mut self, k: usize) {
        let now = self.now;
        let u = &mut self.units[k];
        let (target, arrive) = match &mut u.mode {
            UnitMode::Patrol => (Some(u.spec.route[u.patrol_next]), 0.05),
            UnitMode::Tasked { legs, next, .. } => (legs.get(*next).copied(), 0.1),
            UnitMode::Rescue { vessel, .. } => (Some(self.vessels[*vessel].pos), 0.03),
        };
        let Some(target) = target else {
            return;
        };
        let d_nm = u.pos.distance_nm(target);
        if let UnitMode::Rescue { vessel, .. } = u.mode
            && d_nm < 0.3
        {
            // Closing slowly: a few knots faster than the craft.
            u.speed_kn = u.speed_kn.min(self.vessels[vessel].speed_kn + 3.0);
        }
        let step_nm = u.speed_kn / 3600.0;
        if d_nm > arrive {
            u.course_deg = u.pos.bearing_deg(target);
            u.pos = u
                .pos
                .destination(u.course_deg, step_nm.min(d_nm) * METERS_PER_NM);
            return;
        }
        match &mut u.mode {
            UnitMode::Patrol => {
                u.patrol_next = (u.patrol_next + 1) % u.spec.route.len();
            }
            UnitMode::Tasked {
                legs,
                next,
                on_scene,
            } => {
                if !*on_scene {
                    *on_scene = true;
                    u.speed_kn = u.spec.speed_kn.clamp(6.0, 12.0);
                    set_state(
                        (&mut u.state, &u.id, u.pos),
                        UnitState::OnScene,
                        now,
                        &mut self.out,
                    );
                }
                *next += 1;
                if *next >= legs.len() {
                    // Searched the whole pattern: found nothing, back on patrol.
                    u.mode = UnitMode::Patrol;
                    u.speed_kn = u.spec.speed_kn;
                    set_state(
                        (&mut u.state, &u.id, u.pos),
                        UnitState::OnPatrol,
                        now,
                        &mut self.out,
                    );
                }
            }
            UnitMode::Rescue {
                vessel,
                alongside_since,
            } => {
                u.speed_kn = 0.0;
                let vi = *vessel;
                let since = *alongside_since.get_or_insert(now);
                // The craft is stopped alongside while its people come on board.
                let v = &mut self.vessels[vi];
                if v.condition != Condition::Capsized {
                    v.motion = Motion::Drift {
                        toward_deg: v.course_deg,
                        rate_kn: 0.0,
                    };
                }
                u.pos = self.vessels[vi].pos;
                // Twenty minutes alongside to take everyone on board.
                if now.duration_since(since) >= SignedDuration::from_mins(20) {
                    let v = &mut self.vessels[vi];
                    u.rescued += v.persons;
                    let pob = PatrolReport::PersonsOnBoard {
                        time: now,
                        rescued: u.rescued,
                        crew: 14,
                        injured: Some(v.persons / 10),
                        deceased: Some(0),
                        notes: Some(format!(
                            "{} persons taken on board from the {}",
                            v.persons,
                            craft_words(v.craft())
                        )),
                    };
                    self.out.push(report(now, &u.id, &pob));
                    v.at_sea = false;
                    v.persons = 0;
                    v.sart = None;
                    u.mode = UnitMode::Patrol;
                    u.speed_kn = u.spec.speed_kn;
                    set_state(
                        (&mut u.state, &u.id, u.pos),
                        UnitState::Returning,
                        now,
                        &mut self.out,
                    );
                }
            }
        }
    }

    /// The radar's targets this sweep.
    fn radar_sweep(&mut self, k: usize) {
        let now = self.now;
        let u = &mut self.units[k];
        let mut seen = Vec::new();
        for (i, v) in self.vessels.iter().enumerate() {
            if !v.at_sea || v.condition == Condition::Capsized {
                continue;
            }
            let small = v.spec.length_m < 15.0;
            let range = if small {
                (u.spec.radar_range_nm / 3.0).min(6.0)
            } else {
                u.spec.radar_range_nm
            };
            let d = u.pos.distance_nm(v.pos);
            // Small craft in sea clutter are missed now and then.
            if d > range || d < 0.05 || (small && !u.rng.chance(0.9)) {
                continue;
            }
            seen.push(i);
            let (number, sweeps) = match u.targets.get(&i) {
                Some(&(n, s, _)) => (n, s + 1),
                None => {
                    let n = u.next_target;
                    u.next_target = if u.next_target >= 99 {
                        1
                    } else {
                        u.next_target + 1
                    };
                    (n, 1)
                }
            };
            u.targets.insert(i, (number, sweeps, 0));
            // Range noise 0.5 % (at least 15 m), bearing 0.7°.
            let range_nm = (d + u.rng.normal((d * 0.005).max(15.0 / METERS_PER_NM))).max(0.01);
            let bearing = u.pos.bearing_deg(v.pos) + u.rng.normal(0.7);
            let rad = bearing.to_radians();
            let rel = (range_nm * rad.sin(), range_nm * rad.cos());
            let (vs, vc) = (v.speed_kn, v.course_deg.to_radians());
            let (us, uc) = (u.speed_kn, u.course_deg.to_radians());
            let vel = (vs * vc.sin() - us * uc.sin(), vs * vc.cos() - us * uc.cos());
            let (cpa_nm, tcpa_min) = nmea::cpa(rel, vel);
            let state = if sweeps < 3 {
                TargetState::Acquiring
            } else {
                TargetState::Tracking
            };
            let t = Target {
                number,
                range_nm,
                bearing_deg: bearing,
                speed_kn: (vs + u.rng.normal(0.3)).max(0.0),
                course_deg: v.course_deg + u.rng.normal(3.0),
                cpa_nm,
                tcpa_min,
                state,
            };
            let measured = u.pos.destination(bearing, range_nm * METERS_PER_NM);
            let mut bodies = Vec::with_capacity(2);
            if u.spec.radar != "tll" {
                bodies.push(nmea::ttm(now, &t));
            }
            if u.spec.radar != "ttm" {
                bodies.push(nmea::tll(now, number, measured, state));
            }
            for b in bodies {
                self.out.push(Emission {
                    at: now,
                    channel: Channel::PatrolNmea(u.id.clone()),
                    payload: nmea::sentence(u.id.as_str(), now, &b),
                });
            }
        }
        // A target missed three sweeps in a row is lost.
        let mut lost = Vec::new();
        for (&i, (n, _, missed)) in u.targets.iter_mut() {
            if !seen.contains(&i) {
                *missed += 1;
                if *missed >= 3 {
                    lost.push((i, *n));
                }
            }
        }
        for (i, n) in lost {
            u.targets.remove(&i);
            let t = Target {
                number: n,
                range_nm: 0.0,
                bearing_deg: 0.0,
                speed_kn: 0.0,
                course_deg: 0.0,
                cpa_nm: 0.0,
                tcpa_min: 0.0,
                state: TargetState::Lost,
            };
            if u.spec.radar != "tll" {
                self.out.push(Emission {
                    at: now,
                    channel: Channel::PatrolNmea(u.id.clone()),
                    payload: nmea::sentence(u.id.as_str(), now, &nmea::ttm(now, &t)),
                });
            }
        }
    }

    /// What the crew sees: a craft with no AIS within sight is reported (again when its
    /// condition changes); a craft in distress in sight is rescued.
    fn look_out(&mut self, k: usize) {
        let now = self.now;
        let u = &mut self.units[k];
        for (i, v) in self.vessels.iter().enumerate() {
            if !v.at_sea || v.transmitting() || u.pos.distance_nm(v.pos) > u.spec.sight_range_nm {
                continue;
            }
            // Reported once, and again when its condition changes: each report is a new
            // sighting to fusion.
            let due = u.sighted.get(&i).is_none_or(|(c, _)| *c != v.condition);
            if due {
                u.sighted.insert(i, (v.condition, now));
                let estimate = ((f64::from(v.persons) * (1.0 + u.rng.normal(0.08)))
                    .round()
                    .max(0.0)) as u32;
                let notes = match v.condition {
                    Condition::Capsized => Some("capsized, persons in the water".to_owned()),
                    Condition::Overcrowded => Some("no life jackets seen".to_owned()),
                    _ => None,
                };
                let s = PatrolReport::Sighting {
                    time: now,
                    position: ingest::wire::patrol::Position {
                        lat: v.pos.lat,
                        lon: v.pos.lon,
                    },
                    craft: v.craft(),
                    persons_estimate: estimate.min(MAX_PERSONS),
                    condition: v.condition,
                    notes,
                };
                self.out.push(report(now, &u.id, &s));
            }
            // Rescue first: a unit that is tasked, or that sees distress, goes alongside.
            let tasked = matches!(u.mode, UnitMode::Tasked { .. });
            if v.distressed()
                && v.persons > 0
                && u.spec.answers_taskings
                && (tasked || matches!(u.mode, UnitMode::Patrol))
            {
                u.mode = UnitMode::Rescue {
                    vessel: i,
                    alongside_since: None,
                };
                // At best speed to the craft, alongside slowly.
                u.speed_kn = u.spec.dash_kn;
                set_state(
                    (&mut u.state, &u.id, u.pos),
                    UnitState::OnScene,
                    now,
                    &mut self.out,
                );
            }
        }
    }
}

fn craft_words(c: Craft) -> &'static str {
    match c {
        Craft::RubberBoat => "rubber boat",
        Craft::WoodenBoat => "wooden boat",
        Craft::FishingVessel => "fishing vessel",
        Craft::SailingYacht => "sailing yacht",
        Craft::Speedboat => "speedboat",
        Craft::MerchantVessel => "merchant vessel",
        Craft::Other | Craft::Unknown => "craft",
    }
}

fn report(at: Timestamp, unit: &UnitId, r: &PatrolReport) -> Emission {
    Emission {
        at,
        channel: Channel::PatrolReport(unit.clone()),
        payload: serde_json::to_string(r).expect("reports serialize"),
    }
}

/// Report a unit's new state (nothing when unchanged).
fn set_state(
    (current, id, pos): (&mut UnitState, &UnitId, Position),
    state: UnitState,
    now: Timestamp,
    out: &mut Vec<Emission>,
) {
    if *current == state {
        return;
    }
    *current = state;
    let r = PatrolReport::Status {
        time: now,
        state,
        position: Some(ingest::wire::patrol::Position {
            lat: pos.lat,
            lon: pos.lon,
        }),
        notes: None,
    };
    out.push(report(now, id, &r));
}
