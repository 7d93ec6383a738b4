//! Receiver coverage learned from traffic: where vessels are being heard, and lately.
//!
//! A grid of 0.1° cells keeps the two most recent distinct MMSIs heard in each. A silent
//! vessel is suspicious only where others are still heard (`ais_gap`); a gap in a
//! coverage hole is not.

use crate::Position;
use crate::hash::FastMap;

const CELL_DEG: f64 = 0.1;

#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
struct Heard {
    /// The two most recent distinct MMSIs and when, ms; newest first.
    recent: [(u32, i64); 2],
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
    /// `mmsi` was heard at `p` at `time_ms`.
    pub(crate) fn heard(&mut self, p: Position, mmsi: u32, time_ms: i64) {
        let h = self.cells.entry(key(p)).or_default();
        let r = &mut h.recent;
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

    /// Distinct vessels other than `except` heard within `radius_m` of `p` at or after
    /// `since_ms` (counting at most two per cell).
    pub(crate) fn others_heard(
        &self,
        p: Position,
        radius_m: f64,
        except: u32,
        since_ms: i64,
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
                for (mmsi, t) in h.recent {
                    if mmsi != except && mmsi != 0 && t >= since_ms && !found.contains(&mmsi) {
                        found.push(mmsi);
                    }
                }
            }
        }
        found.sort_unstable();
        found
    }

    /// Cells known.
    pub(crate) fn len(&self) -> usize {
        self.cells.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_two_latest_distinct_vessels_per_cell() {
        let mut c = Coverage::default();
        let p = Position::new(35.05, 12.05).unwrap();
        c.heard(p, 1, 10);
        c.heard(p, 2, 20);
        c.heard(p, 1, 30);
        c.heard(p, 3, 25);
        assert_eq!(c.others_heard(p, 1000.0, 0, 0), vec![1, 3]);
        assert_eq!(c.others_heard(p, 1000.0, 1, 0), vec![3]);
        assert_eq!(c.others_heard(p, 1000.0, 0, 26), vec![1]);
        assert!(
            c.others_heard(Position::new(36.0, 12.0).unwrap(), 30_000.0, 0, 0)
                .is_empty()
        );
    }
}
