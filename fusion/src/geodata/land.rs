//! Is a position on land? A grid over land polygons answers in constant time away from
//! the coast and with a handful of edge tests near it.
//!
//! Cells are [`LandMask::CELL_DEG`] degrees square. A cell no coastline edge touches is
//! all land or all sea (its centre decided once, by a sweep along its row). A cell some
//! edge touches keeps those edges and whether its centre is on land; a position in it
//! is on land when the segment from the centre to it crosses the coast an even number of
//! times and the centre is on land, or an odd number and it is not.

use super::{Feature, GeodataError, Geometry, features};
use crate::Position;
use std::collections::HashMap;

const SEA: u8 = 0;
const LAND: u8 = 1;
const COAST: u8 = 2;

/// A cell the coastline passes through.
struct CoastCell {
    centre_on_land: bool,
    /// Edges touching the cell: `[lon1, lat1, lon2, lat2]`.
    edges: Vec<[f32; 4]>,
}

/// Land polygons indexed for point queries.
pub struct LandMask {
    cols: usize,
    rows: usize,
    status: Vec<u8>,
    coast: HashMap<u32, CoastCell>,
}

impl std::fmt::Debug for LandMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LandMask")
            .field("coast_cells", &self.coast.len())
            .finish()
    }
}

/// Natural Earth 1:10m land, coordinates rounded to 5 decimals, gzipped.
const DEFAULT_LAND: &[u8] = include_bytes!("../../data/land-10m-r5.geojson.gz");

impl LandMask {
    /// Cell size, degrees.
    pub const CELL_DEG: f64 = 0.125;

    /// The land shipped with Tidewatch (Natural Earth 1:10m).
    pub fn natural_earth() -> LandMask {
        let bytes = super::gunzip(DEFAULT_LAND).expect("the shipped land file is valid gzip");
        LandMask::from_geojson("built-in land", &bytes).expect("the shipped land file is valid")
    }

    /// Land from GeoJSON Polygon/MultiPolygon features (holes are water).
    pub fn from_geojson(what: &str, bytes: &[u8]) -> Result<LandMask, GeodataError> {
        let mut edges: Vec<[f64; 4]> = Vec::new();
        for Feature { geometry, .. } in features(what, bytes)? {
            let Geometry::Polygons(polys) = geometry else {
                return Err(GeodataError::invalid(
                    what,
                    "land must be polygons, found a point",
                ));
            };
            for ring in polys.iter().flatten() {
                for w in ring.windows(2) {
                    edges.push([w[0][0], w[0][1], w[1][0], w[1][1]]);
                }
                let (first, last) = (ring[0], ring[ring.len() - 1]);
                if first != last {
                    edges.push([last[0], last[1], first[0], first[1]]);
                }
            }
        }
        Ok(LandMask::from_edges(&edges))
    }

    fn from_edges(edges: &[[f64; 4]]) -> LandMask {
        let cols = (360.0 / Self::CELL_DEG).round() as usize;
        let rows = (180.0 / Self::CELL_DEG).round() as usize;
        let mut mask = LandMask {
            cols,
            rows,
            status: vec![SEA; cols * rows],
            coast: HashMap::new(),
        };
        // Which cells each edge touches (its bounding box of cells: conservative).
        let mut cell_edges: HashMap<u32, Vec<[f32; 4]>> = HashMap::new();
        // Where each row's centre line crosses the coast.
        let mut crossings: Vec<Vec<f64>> = vec![Vec::new(); rows];
        for &[x1, y1, x2, y2] in edges {
            let (c1, r1) = mask.cell_of(x1.min(x2), y1.min(y2));
            let (c2, r2) = mask.cell_of(x1.max(x2), y1.max(y2));
            for (r, row) in crossings.iter_mut().enumerate().take(r2 + 1).skip(r1) {
                for c in c1..=c2 {
                    cell_edges
                        .entry((r * cols + c) as u32)
                        .or_default()
                        .push([x1 as f32, y1 as f32, x2 as f32, y2 as f32]);
                }
                let yc = Self::row_centre(r);
                // Half-open rule: a vertex on the line counts for one of its edges only.
                if (y1 <= yc) != (y2 <= yc) {
                    row.push(x1 + (yc - y1) / (y2 - y1) * (x2 - x1));
                }
            }
        }
        for (r, xs) in crossings.iter_mut().enumerate() {
            xs.sort_by(f64::total_cmp);
            let mut k = 0;
            for c in 0..cols {
                let xc = Self::col_centre(c);
                while k < xs.len() && xs[k] < xc {
                    k += 1;
                }
                if k % 2 == 1 {
                    mask.status[r * cols + c] = LAND;
                }
            }
        }
        for (cell, edges) in cell_edges {
            let centre_on_land = mask.status[cell as usize] == LAND;
            mask.status[cell as usize] = COAST;
            mask.coast.insert(
                cell,
                CoastCell {
                    centre_on_land,
                    edges,
                },
            );
        }
        mask
    }

    fn cell_of(&self, lon: f64, lat: f64) -> (usize, usize) {
        let c = ((lon + 180.0) / Self::CELL_DEG).floor() as isize;
        let r = ((lat + 90.0) / Self::CELL_DEG).floor() as isize;
        (
            c.clamp(0, self.cols as isize - 1) as usize,
            r.clamp(0, self.rows as isize - 1) as usize,
        )
    }

    fn col_centre(c: usize) -> f64 {
        -180.0 + (c as f64 + 0.5) * Self::CELL_DEG
    }

    fn row_centre(r: usize) -> f64 {
        -90.0 + (r as f64 + 0.5) * Self::CELL_DEG
    }

    /// True when `p` is inside a land polygon (no tolerance: see [`LandMask::inland`]).
    pub fn contains(&self, p: Position) -> bool {
        let (c, r) = self.cell_of(p.lon, p.lat);
        let cell = r * self.cols + c;
        match self.status[cell] {
            SEA => false,
            LAND => true,
            _ => {
                let coast = &self.coast[&(cell as u32)];
                let centre = [Self::col_centre(c), Self::row_centre(r)];
                let crossings = coast
                    .edges
                    .iter()
                    .filter(|e| crosses([p.lon, p.lat], centre, e))
                    .count();
                coast.centre_on_land ^ (crossings % 2 == 1)
            }
        }
    }

    /// Distance from `p` to the nearest coastline edge, meters, if one is within
    /// `within_m` (at most one cell, about 13 km); `None` when none is that close.
    pub fn coast_distance_m(&self, p: Position, within_m: f64) -> Option<f64> {
        let m_per_deg_lat = 111_195.0;
        let m_per_deg_lon = m_per_deg_lat * p.lat.to_radians().cos().max(1e-6);
        let (dlon, dlat) = (within_m / m_per_deg_lon, within_m / m_per_deg_lat);
        let (c1, r1) = self.cell_of(p.lon - dlon, p.lat - dlat);
        let (c2, r2) = self.cell_of(p.lon + dlon, p.lat + dlat);
        let mut best = f64::INFINITY;
        for r in r1..=r2 {
            for c in c1..=c2 {
                let Some(coast) = self.coast.get(&((r * self.cols + c) as u32)) else {
                    continue;
                };
                for e in &coast.edges {
                    // Local flat projection around p: meters east and north.
                    let ax = (e[0] as f64 - p.lon) * m_per_deg_lon;
                    let ay = (e[1] as f64 - p.lat) * m_per_deg_lat;
                    let bx = (e[2] as f64 - p.lon) * m_per_deg_lon;
                    let by = (e[3] as f64 - p.lat) * m_per_deg_lat;
                    best = best.min(origin_to_segment(ax, ay, bx, by));
                }
            }
        }
        (best <= within_m).then_some(best)
    }

    /// True when `p` is on land and more than `margin_m` from the coastline: the
    /// coastline data is good to a few hundred meters, so positions closer to it are
    /// undecided and count as not on land.
    pub fn inland(&self, p: Position, margin_m: f64) -> bool {
        self.contains(p) && self.coast_distance_m(p, margin_m).is_none()
    }
}

/// Distance from the origin to segment a–b (flat coordinates).
fn origin_to_segment(ax: f64, ay: f64, bx: f64, by: f64) -> f64 {
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
    };
    let (x, y) = (ax + t * dx, ay + t * dy);
    (x * x + y * y).sqrt()
}

/// Does segment p–q cross edge e (proper crossing)?
fn crosses(p: [f64; 2], q: [f64; 2], e: &[f32; 4]) -> bool {
    let a = [e[0] as f64, e[1] as f64];
    let b = [e[2] as f64, e[3] as f64];
    let orient = |o: [f64; 2], u: [f64; 2], v: [f64; 2]| {
        (u[0] - o[0]) * (v[1] - o[1]) - (u[1] - o[1]) * (v[0] - o[0])
    };
    let d1 = orient(a, b, p);
    let d2 = orient(a, b, q);
    let d3 = orient(p, q, a);
    let d4 = orient(p, q, b);
    // Half-open on the edge's end points, like the row sweep, so a path through a
    // shared vertex counts once.
    (d1 > 0.0) != (d2 > 0.0) && (d3 > 0.0) != (d4 > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> LandMask {
        // An island 1° square with a 0.2° lagoon, off the grid lines.
        let json = r#"{"type":"Polygon","coordinates":[
            [[10.03,40.03],[11.03,40.03],[11.03,41.03],[10.03,41.03],[10.03,40.03]],
            [[10.43,40.43],[10.63,40.43],[10.63,40.63],[10.43,40.63],[10.43,40.43]]]}"#;
        LandMask::from_geojson("test", json.as_bytes()).unwrap()
    }

    #[test]
    fn inside_outside_and_lagoon() {
        let m = square();
        let at = |lat, lon| m.contains(Position::new(lat, lon).unwrap());
        assert!(at(40.5, 10.2), "inland");
        assert!(at(40.04, 10.04), "just inside the corner");
        assert!(!at(40.02, 10.5), "just south of the coast");
        assert!(!at(40.5, 10.5), "in the lagoon");
        assert!(!at(39.0, 10.5), "open sea");
        assert!(at(40.9, 11.02), "inside near the east coast");
        assert!(!at(40.9, 11.04), "outside near the east coast");
    }

    #[test]
    fn the_coast_margin_leaves_the_shore_undecided() {
        let m = square();
        let near = Position::new(40.5, 11.025).unwrap(); // ≈ 420 m inside the east coast
        assert!(m.contains(near));
        assert!(!m.inland(near, 1000.0));
        assert!(m.inland(Position::new(40.8, 10.2).unwrap(), 1000.0));
        let d = m.coast_distance_m(near, 5000.0).unwrap();
        assert!((d - 423.0).abs() < 10.0, "{d}");
    }

    #[test]
    fn natural_earth_knows_the_central_mediterranean() {
        let m = LandMask::natural_earth();
        let on = |lat, lon| m.contains(Position::new(lat, lon).unwrap());
        assert!(on(35.8989, 14.5146), "Valletta");
        assert!(on(36.8065, 10.1815), "Tunis");
        assert!(on(35.507, 12.600), "Lampedusa");
        assert!(on(36.785, 11.985), "Pantelleria");
        assert!(on(32.8872, 13.1913), "Tripoli");
        assert!(!on(35.5, 13.0), "Strait of Sicily");
        assert!(!on(35.0, 18.0), "Ionian Sea");
    }
}
