//! `rendezvous`: two vessels within `max_distance_m` of each other, both slower than
//! `max_speed_kn`, for at least `min_duration_min`, farther than `min_port_distance_m`
//! from any port or anchorage (the duration set short
//! for smuggling: transfers from a mother ship are quick). Moored vessels are not counted, and
//! two vessels both reporting "at anchor" are an anchorage, not a meeting (one at anchor
//! and one not still is).
//!
//! Slow vessels away from ports sit in a grid of 0.01° cells; a slow report looks for
//! partners in its own and the neighbouring cells. A meeting ends when the two have not
//! been seen close together for `max_silence_min`.

use crate::Position;
use crate::alert::{AlertKind, AlertState, Severity, duration_text};
use crate::engine::Ctx;
use crate::geodata::floor_i32;
use crate::hash::FastMap;
use crate::track::{Fix, Vessel};
use jiff::Timestamp;

const CELL_DEG: f64 = 0.01;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Meeting {
    start_ms: i64,
    last_ms: i64,
    closest_m: f32,
    position: Position,
    alert: Option<Box<str>>,
}

/// A slow vessel's latest report, as the grid keeps it (no lookup needed to compare).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Slot {
    mmsi: u32,
    time_ms: i64,
    position: Position,
}

/// Slow vessels by cell, and the meetings going on.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Meetings {
    grid: FastMap<(i32, i32), Vec<Slot>>,
    cell_of: FastMap<u32, (i32, i32)>,
    /// Meetings by pair (a hash map: looked up for every slow report near another; ended
    /// ones are taken in pair order).
    pairs: FastMap<(u32, u32), Meeting>,
    /// Vessels in alerts opened since the engine last took them (for the risk score).
    alerted: Vec<u32>,
}

fn key(p: Position) -> (i32, i32) {
    (floor_i32(p.lon / CELL_DEG), floor_i32(p.lat / CELL_DEG))
}

/// The columns and rows of cells a partner of a vessel at `p` can be in: within
/// `max_dlat_deg` of its latitude, and near enough in longitude for `fast_distance_m` to be
/// within `max_distance_m`: the cosine it scales longitude by is at least the one at the
/// band's latitude farthest from the equator, itself at least `cos_lat` (p's) less the
/// band's half-height in radians (a cosine changes no faster than its argument). Margins
/// of 1 % keep rounding from ever leaving out a cell holding one. A position is nearer one
/// side of its cell than the reach, mostly: two or four cells are looked in, not nine.
fn cells_in_reach(
    p: Position,
    cos_lat: f64,
    max_distance_m: f64,
    max_dlat_deg: f64,
) -> (std::ops::RangeInclusive<i32>, std::ops::RangeInclusive<i32>) {
    let dlat = max_dlat_deg * 1.01;
    let rows = floor_i32((p.lat - dlat) / CELL_DEG)..=floor_i32((p.lat + dlat) / CELL_DEG);
    let k_min = cos_lat - dlat.to_radians() * 1.01;
    // Near a pole the reach in longitude is a large part of the world: no bound.
    if k_min < 1e-3 {
        return (i32::MIN..=i32::MAX, rows);
    }
    let dlon = max_distance_m / (111_195.0 * k_min) * 1.01;
    let cols = floor_i32((p.lon - dlon) / CELL_DEG)..=floor_i32((p.lon + dlon) / CELL_DEG);
    (cols, rows)
}

impl Meetings {
    fn unregister(&mut self, mmsi: u32) {
        if let Some(cell) = self.cell_of.remove(&mmsi)
            && let Some(list) = self.grid.get_mut(&cell)
        {
            list.retain(|s| s.mmsi != mmsi);
            if list.is_empty() {
                self.grid.remove(&cell);
            }
        }
    }

    /// Vessels in alerts opened since the last call.
    pub(crate) fn take_alerted(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.alerted)
    }

    /// The vessel is forgotten.
    pub(crate) fn forget(&mut self, mmsi: u32) {
        self.unregister(mmsi);
    }

    /// Approximate bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.grid.len() * 48 + self.cell_of.len() * 16 + self.pairs.len() * 96
    }

    pub(crate) fn on_fix(
        &mut self,
        cx: &mut Ctx<'_>,
        vessels: &FastMap<u32, Vessel>,
        mmsi: u32,
        fix: &Fix,
        slow: bool,
    ) {
        if !slow {
            self.unregister(mmsi);
            return;
        }
        let cell = key(fix.position);
        let me = Slot {
            mmsi,
            time_ms: fix.time_ms,
            position: fix.position,
        };
        // A vessel at anchor looks for partners but is not itself a candidate: two ships
        // at anchor side by side are an anchorage, not a meeting.
        if fix.nav_status == 1 {
            self.unregister(mmsi);
        } else if self.cell_of.get(&mmsi) != Some(&cell) {
            self.unregister(mmsi);
            self.cell_of.insert(mmsi, cell);
            self.grid.entry(cell).or_default().push(me);
        } else if let Some(slot) = self
            .grid
            .get_mut(&cell)
            .and_then(|l| l.iter_mut().find(|s| s.mmsi == mmsi))
        {
            *slot = me;
        }
        let c = &cx.cfg.rendezvous;
        let silence_ms = (c.max_silence_min * 60_000.0) as i64;
        let cos_lat = fix.position.lat.to_radians().cos();
        let cell_w_m = CELL_DEG * 111_195.0 * cos_lat.max(0.01);
        let dx = (c.max_distance_m / cell_w_m).ceil() as i32;
        let dy = (c.max_distance_m / (CELL_DEG * 111_195.0)).ceil() as i32;
        // Two positions farther apart in latitude than this are farther apart than the
        // distance (an arc is at least its change in latitude): skipped without a cosine.
        // The margin keeps rounding from ever skipping a pair the distance would keep.
        let max_dlat_deg = c.max_distance_m * 1.001 / 111_195.0 + 1e-6;
        let (xs, ys) = cells_in_reach(fix.position, cos_lat, c.max_distance_m, max_dlat_deg);
        let mut near: Vec<(Slot, f64)> = Vec::new();
        for x in (cell.0 - dx).max(*xs.start())..=(cell.0 + dx).min(*xs.end()) {
            for y in (cell.1 - dy).max(*ys.start())..=(cell.1 + dy).min(*ys.end()) {
                let Some(list) = self.grid.get(&(x, y)) else {
                    continue;
                };
                for slot in list {
                    if slot.mmsi == mmsi
                        || (fix.time_ms - slot.time_ms).abs() > silence_ms
                        || (fix.position.lat - slot.position.lat).abs() > max_dlat_deg
                    {
                        continue;
                    }
                    let d = fix.position.fast_distance_m(slot.position);
                    if d <= c.max_distance_m {
                        near.push((*slot, d));
                    }
                }
            }
        }
        for (of, d) in near {
            let other = of.mmsi;
            let pair = (mmsi.min(other), mmsi.max(other));
            let mid = Position {
                lat: (fix.position.lat + of.position.lat) / 2.0,
                lon: (fix.position.lon + of.position.lon) / 2.0,
            };
            let m = self.pairs.entry(pair).or_insert(Meeting {
                start_ms: fix.time_ms.min(of.time_ms),
                last_ms: fix.time_ms,
                closest_m: d as f32,
                position: mid,
                alert: None,
            });
            m.last_ms = m.last_ms.max(fix.time_ms);
            if (d as f32) < m.closest_m {
                m.closest_m = d as f32;
                m.position = mid;
            }
            let min_ms = (c.min_duration_min * 60_000.0) as i64;
            if m.alert.is_none() && m.last_ms - m.start_ms >= min_ms {
                let names = [vessels.get(&pair.0), vessels.get(&pair.1)]
                    .map(|v| v.map_or_else(String::new, Vessel::label));
                let minutes = (m.last_ms - m.start_ms) as f64 / 60_000.0;
                let score = 0.6
                    + 0.2 * (minutes / (4.0 * c.min_duration_min)).min(1.0)
                    + 0.2 * (1.0 - m.closest_m as f64 / c.max_distance_m);
                let reasons = vec![
                    format!(
                        "{} and {} within {:.0} m of each other for {}, both under {} kn, near {}, {}",
                        names[0],
                        names[1],
                        c.max_distance_m,
                        duration_text((m.last_ms - m.start_ms) / 1000),
                        c.max_speed_kn,
                        m.position,
                        cx.port_text(m.position),
                    ),
                    format!("closest approach {:.0} m", m.closest_m),
                ];
                let a = cx.alert(
                    AlertKind::Rendezvous,
                    &format!("{}-{}", pair.0, pair.1),
                    Timestamp::from_millisecond(m.start_ms).unwrap_or(cx.now),
                    Severity::High,
                    vec![pair.0, pair.1],
                    m.position,
                    score,
                    reasons,
                );
                m.alert = Some(cx.open(a));
                self.alerted.extend([pair.0, pair.1]);
            }
        }
    }

    /// Meetings not confirmed for `max_silence_min` end; vessels silent that long leave
    /// the grid (so a scan only meets live candidates).
    pub(crate) fn on_tick(&mut self, cx: &mut Ctx<'_>) {
        let silence_ms = (cx.cfg.rendezvous.max_silence_min * 60_000.0) as i64;
        let now_ms = cx.now.as_millisecond();
        let cell_of = &mut self.cell_of;
        self.grid.retain(|_, list| {
            list.retain(|s| {
                let live = now_ms - s.time_ms <= silence_ms;
                if !live {
                    cell_of.remove(&s.mmsi);
                }
                live
            });
            !list.is_empty()
        });
        let mut ended: Vec<(u32, u32)> = self
            .pairs
            .iter()
            .filter(|(_, m)| now_ms - m.last_ms > silence_ms)
            .map(|(k, _)| *k)
            .collect();
        ended.sort_unstable();
        for k in ended {
            let m = self.pairs.remove(&k).expect("listed");
            if let Some(id) = m.alert {
                let end = Timestamp::from_millisecond(m.last_ms).unwrap_or(cx.now);
                cx.revise(&id, |a| {
                    a.state = AlertState::Closed;
                    a.end = Some(end);
                    a.reasons.push(format!(
                        "ended: together for {} in all, closest {:.0} m",
                        duration_text((m.last_ms - m.start_ms) / 1000),
                        m.closest_m
                    ));
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every position a report within the distance can come from (as the detector
        /// measures it, past its latitude filter) is in a cell `cells_in_reach` looks in:
        /// anywhere on Earth, at the edges of cells, at any distance configured.
        #[test]
        fn every_partner_in_reach_is_in_a_cell_looked_in(
            lat in -89.0f64..89.0, lon in -179.0f64..179.0,
            on_edge in any::<bool>(),
            bearing in 0.0f64..360.0, fraction in 0.0f64..=1.0,
            max_distance_m in prop_oneof![Just(250.0f64), 1.0f64..5_000.0],
        ) {
            let (lat, lon) = if on_edge {
                ((lat / CELL_DEG).round() * CELL_DEG, (lon / CELL_DEG).round() * CELL_DEG)
            } else {
                (lat, lon)
            };
            let p = Position::new(lat, lon).unwrap();
            let max_dlat_deg = max_distance_m * 1.001 / 111_195.0 + 1e-6;
            // Aimed at the distance itself, and a hair inside it.
            for d in [max_distance_m * fraction, max_distance_m, max_distance_m * 0.999_999] {
                let q = p.destination(bearing, d);
                if p.fast_distance_m(q) > max_distance_m || (p.lat - q.lat).abs() > max_dlat_deg {
                    continue;
                }
                let (cols, rows) = cells_in_reach(p, p.lat.to_radians().cos(), max_distance_m, max_dlat_deg);
                let (x, y) = key(q);
                prop_assert!(cols.contains(&x) && rows.contains(&y), "{:?} {:?}: {:?} {:?}", p, q, cols, rows);
            }
        }
    }
}
