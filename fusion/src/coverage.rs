//! Receiver coverage learned from traffic: where vessels are being heard, and lately.
//!
//! A grid of 0.1° cells keeps the two most recent distinct MMSIs heard in each. A silent
//! vessel is suspicious only where others are still heard (`ais_gap`), all along the way
//! its course would have taken it ([`Coverage::along`]); a gap in a coverage hole, or on
//! a way that leaves the receivers' reach, is not.

use crate::Position;
use crate::hash::FastMap;

const CELL_DEG: f64 = 0.1;

#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
struct Heard {
    /// The two most recent distinct MMSIs and when, ms; newest first.
    recent: [(u32, i64); 2],
    /// The same, of Class B transmitters only (shorter range: where they are heard, a
    /// Class B vessel would be).
    #[serde(default)]
    recent_b: [(u32, i64); 2],
}

/// Keep `mmsi` heard at `time_ms` among the two most recent distinct ones of `r`.
fn keep(r: &mut [(u32, i64); 2], mmsi: u32, time_ms: i64) {
    if r[0].0 == mmsi {
        r[0].1 = r[0].1.max(time_ms);
    } else if r[1].0 == mmsi {
        r[1].1 = r[1].1.max(time_ms);
        if r[1].1 > r[0].1 {
            r.swap(0, 1);
        }
    } else if time_ms >= r[0].1 {
        r[1] = r[0];
        r[0] = (mmsi, time_ms);
    } else if time_ms >= r[1].1 {
        r[1] = (mmsi, time_ms);
    }
}

/// The coverage grid.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Coverage {
    cells: FastMap<(i32, i32), Heard>,
}

fn key(p: Position) -> (i32, i32) {
    (
        (p.lon / CELL_DEG).floor() as i32,
        (p.lat / CELL_DEG).floor() as i32,
    )
}

impl Coverage {
    /// `mmsi` was heard at `p` at `time_ms` (`class_b`: from a Class B transmitter).
    pub(crate) fn heard(&mut self, p: Position, mmsi: u32, time_ms: i64, class_b: bool) {
        let h = self.cells.entry(key(p)).or_default();
        keep(&mut h.recent, mmsi, time_ms);
        if class_b {
            keep(&mut h.recent_b, mmsi, time_ms);
        }
    }

    /// Distinct vessels other than `except` heard within `radius_m` of `p` at or after
    /// `since_ms` (counting at most two per cell); `class_b`: Class B transmitters only
    /// (where they are heard, a Class B vessel would be).
    pub(crate) fn others_heard(
        &self,
        p: Position,
        radius_m: f64,
        except: u32,
        since_ms: i64,
        class_b: bool,
    ) -> Vec<u32> {
        let dlat = radius_m / 111_195.0;
        let dlon = radius_m / (111_195.0 * p.lat.to_radians().cos().max(0.01));
        let (x1, y1) = key(Position {
            lat: p.lat - dlat,
            lon: p.lon - dlon,
        });
        let (x2, y2) = key(Position {
            lat: p.lat + dlat,
            lon: p.lon + dlon,
        });
        let mut found = Vec::new();
        for x in x1..=x2 {
            for y in y1..=y2 {
                let Some(h) = self.cells.get(&(x, y)) else {
                    continue;
                };
                // The cell's centre must be within the radius (cells are ~11 km).
                let centre = Position {
                    lat: (y as f64 + 0.5) * CELL_DEG,
                    lon: (x as f64 + 0.5) * CELL_DEG,
                };
                if p.distance_m(centre) > radius_m + 8_000.0 {
                    continue;
                }
                for (mmsi, t) in if class_b { h.recent_b } else { h.recent } {
                    if mmsi != except && mmsi != 0 && t >= since_ms && !found.contains(&mmsi) {
                        found.push(mmsi);
                    }
                }
            }
        }
        found.sort_unstable();
        found
    }

    /// How much of the way from `from` to `to` lies where receivers hear vessels: the way
    /// sampled every `step_m` (ends included), a point counting as covered when a vessel
    /// other than `except` was heard within `radius_m` of it at or after `since_ms`.
    pub(crate) fn along(
        &self,
        from: Position,
        to: Position,
        except: u32,
        since_ms: i64,
        (radius_m, step_m): (f64, f64),
        class_b: bool,
    ) -> PathCoverage {
        let length_m = from.distance_m(to);
        let steps = (length_m / step_m).ceil().max(1.0) as usize;
        let bearing = from.bearing_deg(to);
        let covered = (0..=steps)
            .map(|i| from.destination(bearing, length_m * i as f64 / steps as f64))
            .filter(|p| {
                !self
                    .others_heard(*p, radius_m, except, since_ms, class_b)
                    .is_empty()
            })
            .count();
        PathCoverage {
            length_m,
            points: steps + 1,
            covered,
        }
    }

    /// Cells known.
    pub(crate) fn len(&self) -> usize {
        self.cells.len()
    }
}

/// How much of a way lies in coverage ([`Coverage::along`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PathCoverage {
    /// The way's length, m.
    pub(crate) length_m: f64,
    /// Points sampled.
    pub(crate) points: usize,
    /// Of which covered.
    pub(crate) covered: usize,
}

impl PathCoverage {
    /// The covered share, 0–1.
    pub(crate) fn share(&self) -> f64 {
        self.covered as f64 / self.points as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_two_latest_distinct_vessels_per_cell() {
        let mut c = Coverage::default();
        let p = Position::new(35.05, 12.05).unwrap();
        c.heard(p, 1, 10, false);
        c.heard(p, 2, 20, false);
        c.heard(p, 1, 30, false);
        c.heard(p, 3, 25, true);
        assert_eq!(c.others_heard(p, 1000.0, 0, 0, false), vec![1, 3]);
        assert_eq!(c.others_heard(p, 1000.0, 1, 0, false), vec![3]);
        assert_eq!(c.others_heard(p, 1000.0, 0, 26, false), vec![1]);
        // Where only Class A is heard, a Class B vessel may not be.
        assert_eq!(c.others_heard(p, 1000.0, 0, 0, true), vec![3]);
        assert!(c.others_heard(p, 1000.0, 3, 0, true).is_empty());
        assert!(
            c.others_heard(Position::new(36.0, 12.0).unwrap(), 30_000.0, 0, 0, false)
                .is_empty()
        );
    }
}
