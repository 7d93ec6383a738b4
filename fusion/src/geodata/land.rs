//! Is a position on land? A grid over land polygons answers in constant time away from
//! the coast and with a handful of edge tests near it.
//!
//! Cells are [`LandMask::CELL_DEG`] degrees square. A cell no coastline edge touches is
//! all land or all sea (its centre decided once, by a sweep along its row). A cell some
//! edge touches keeps those edges and whether its centre is on land; a position in it
//! is on land when the segment from the centre to it crosses the coast an even number of
//! times and the centre is on land, or an odd number and it is not.

use super::{Feature, GeodataError, Geometry, features, floor_i32};
use crate::Position;
use crate::hash::FastMap;

const SEA: u8 = 0;
const LAND: u8 = 1;
const COAST: u8 = 2;

/// A cell the coastline passes through.
#[derive(Clone)]
struct CoastCell {
    centre_on_land: bool,
    /// Where the edges touching the cell start in [`LandMask::edges`], and how many.
    start: u32,
    len: u32,
}

/// Land polygons indexed for point queries.
#[derive(Clone)]
pub struct LandMask {
    cols: usize,
    rows: usize,
    status: Vec<u8>,
    coast: FastMap<u32, CoastCell>,
    /// Edges `[lon1, lat1, lon2, lat2]`, grouped by the coast cell they touch.
    edges: Vec<[f32; 4]>,
}

impl std::fmt::Debug for LandMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LandMask")
            .field("coast_cells", &self.coast.len())
            .finish()
    }
}

/// Natural Earth 1:10m land, coordinates rounded to 5 decimals, packed (see
/// [`LandMask::pack_rings`]) and gzipped: 20× faster to load than the GeoJSON.
const DEFAULT_LAND: &[u8] = include_bytes!("../../data/land-10m.rings.gz");

/// Magic of the packed ring format.
const PACKED_MAGIC: &[u8] = b"TWLAND1\n";

impl LandMask {
    /// Cell size, degrees.
    pub const CELL_DEG: f64 = 0.125;

    /// The land shipped with Tidewatch (Natural Earth 1:10m).
    pub fn natural_earth() -> LandMask {
        let bytes = super::gunzip(DEFAULT_LAND).expect("the shipped land file is valid gzip");
        let rings = Self::unpack_rings(&bytes).expect("the shipped land file is valid");
        LandMask::from_rings(&rings)
    }

    /// The rings (outer rings and holes alike) of GeoJSON Polygon/MultiPolygon features.
    pub fn geojson_rings(what: &str, bytes: &[u8]) -> Result<Vec<Vec<[f64; 2]>>, GeodataError> {
        let mut rings = Vec::new();
        for Feature { geometry, .. } in features(what, bytes)? {
            let Geometry::Polygons(polys) = geometry else {
                return Err(GeodataError::invalid(
                    what,
                    "land must be polygons, found a point",
                ));
            };
            rings.extend(polys.into_iter().flatten());
        }
        Ok(rings)
    }

    /// Pack rings: `TWLAND1\n`, then LEB128 varints: the ring count, and per ring its point
    /// count and each point as zigzag deltas of longitude and latitude in 10⁻⁵ degrees.
    pub fn pack_rings(rings: &[Vec<[f64; 2]>]) -> Vec<u8> {
        fn varint(out: &mut Vec<u8>, mut v: u64) {
            while v >= 0x80 {
                out.push((v as u8) | 0x80);
                v >>= 7;
            }
            out.push(v as u8);
        }
        let zigzag = |d: i64| ((d << 1) ^ (d >> 63)) as u64;
        let mut out = PACKED_MAGIC.to_vec();
        varint(&mut out, rings.len() as u64);
        for ring in rings {
            varint(&mut out, ring.len() as u64);
            let (mut x0, mut y0) = (0i64, 0i64);
            for &[lon, lat] in ring {
                let (x, y) = ((lon * 1e5).round() as i64, (lat * 1e5).round() as i64);
                varint(&mut out, zigzag(x - x0));
                varint(&mut out, zigzag(y - y0));
                (x0, y0) = (x, y);
            }
        }
        out
    }

    /// The rings of [`LandMask::pack_rings`]' format.
    pub fn unpack_rings(bytes: &[u8]) -> Result<Vec<Vec<[f64; 2]>>, GeodataError> {
        let bad = |p: &str| GeodataError::invalid("packed land", p);
        let mut rest = bytes
            .strip_prefix(PACKED_MAGIC)
            .ok_or_else(|| bad("bad magic"))?;
        let mut varint = || -> Result<u64, GeodataError> {
            let mut v = 0u64;
            for shift in (0..64).step_by(7) {
                let (&b, tail) = rest.split_first().ok_or_else(|| bad("truncated"))?;
                rest = tail;
                v |= u64::from(b & 0x7f) << shift;
                if b < 0x80 {
                    return Ok(v);
                }
            }
            Err(bad("varint too long"))
        };
        let unzig = |v: u64| ((v >> 1) as i64) ^ -((v & 1) as i64);
        let n = varint()? as usize;
        let mut rings = Vec::with_capacity(n.min(1 << 20));
        for _ in 0..n {
            let m = varint()? as usize;
            let mut ring = Vec::with_capacity(m.min(1 << 24));
            let (mut x, mut y) = (0i64, 0i64);
            for _ in 0..m {
                x += unzig(varint()?);
                y += unzig(varint()?);
                ring.push([x as f64 / 1e5, y as f64 / 1e5]);
            }
            rings.push(ring);
        }
        Ok(rings)
    }

    /// Land from GeoJSON Polygon/MultiPolygon features (holes are water).
    pub fn from_geojson(what: &str, bytes: &[u8]) -> Result<LandMask, GeodataError> {
        Ok(LandMask::from_rings(&Self::geojson_rings(what, bytes)?))
    }

    fn from_rings(rings: &[Vec<[f64; 2]>]) -> LandMask {
        let cols = (360.0 / Self::CELL_DEG).round() as usize;
        let rows = (180.0 / Self::CELL_DEG).round() as usize;
        let mut mask = LandMask {
            cols,
            rows,
            status: vec![SEA; cols * rows],
            coast: FastMap::default(),
            edges: Vec::new(),
        };
        // Which cells each edge touches (its bounding box of cells: conservative).
        let mut cell_edges: Vec<(u32, [f32; 4])> = Vec::new();
        // Where each row's centre line crosses the coast.
        let mut crossings: Vec<Vec<f64>> = vec![Vec::new(); rows];
        let closing = |ring: &Vec<[f64; 2]>| {
            let (first, last) = (ring[0], ring[ring.len() - 1]);
            (first != last).then_some([last[0], last[1], first[0], first[1]])
        };
        let edges = rings.iter().flat_map(|ring| {
            ring.windows(2)
                .map(|w| [w[0][0], w[0][1], w[1][0], w[1][1]])
                .chain(closing(ring))
        });
        for [x1, y1, x2, y2] in edges {
            let (c1, r1) = mask.cell_of(x1.min(x2), y1.min(y2));
            let (c2, r2) = mask.cell_of(x1.max(x2), y1.max(y2));
            for (r, row) in crossings.iter_mut().enumerate().take(r2 + 1).skip(r1) {
                for c in c1..=c2 {
                    cell_edges.push((
                        (r * cols + c) as u32,
                        [x1 as f32, y1 as f32, x2 as f32, y2 as f32],
                    ));
                }
                let yc = Self::row_centre(r);
                // Half-open rule: a vertex on the line counts for one of its edges only.
                if (y1 <= yc) != (y2 <= yc) {
                    row.push(x1 + (yc - y1) / (y2 - y1) * (x2 - x1));
                }
            }
        }
        for (r, xs) in crossings.iter_mut().enumerate() {
            xs.sort_unstable_by(f64::total_cmp);
            let row = &mut mask.status[r * cols..(r + 1) * cols];
            for (from, to) in Self::land_runs(xs, cols) {
                row[from..to].fill(LAND);
            }
        }
        // Group the edges by cell: order (cell, index) keys by cell, and take the edges in
        // that order (within a cell, in the order the rings give them).
        let order = by_cell(
            cell_edges
                .iter()
                .enumerate()
                .map(|(i, (cell, _))| u64::from(*cell) << 32 | i as u64)
                .collect(),
            cols * rows,
        );
        mask.edges.reserve_exact(cell_edges.len());
        let mut i = 0;
        while i < order.len() {
            let cell = (order[i] >> 32) as u32;
            let start = mask.edges.len() as u32;
            while i < order.len() && (order[i] >> 32) as u32 == cell {
                mask.edges.push(cell_edges[order[i] as u32 as usize].1);
                i += 1;
            }
            let centre_on_land = mask.status[cell as usize] == LAND;
            mask.status[cell as usize] = COAST;
            mask.coast.insert(
                cell,
                CoastCell {
                    centre_on_land,
                    start,
                    len: mask.edges.len() as u32 - start,
                },
            );
        }
        mask
    }

    /// The columns of a row that are land, as runs `from..to`, given where the row's centre
    /// line crosses the coast (sorted): a cell is land when an odd number of crossings lie
    /// west of its centre, so each pair of crossings encloses one run.
    fn land_runs(xs: &[f64], cols: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        xs.chunks(2).map(move |pair| {
            let from = Self::first_col_after(pair[0], cols);
            // An odd crossing left over: land to the end of the row.
            let to = pair
                .get(1)
                .map_or(cols, |&x| Self::first_col_after(x, cols));
            (from, to.max(from))
        })
    }

    /// The first column whose centre lies east of `x` (`cols` if none): estimated, then
    /// settled by comparing centres as the cell test does.
    fn first_col_after(x: f64, cols: usize) -> usize {
        let v = (x + 180.0) / Self::CELL_DEG - 0.5;
        let mut c = if v.is_nan() {
            0
        } else {
            (i64::from(floor_i32(v)) + 1).clamp(0, cols as i64) as usize
        };
        while c > 0 && Self::col_centre(c - 1) > x {
            c -= 1;
        }
        while c < cols && Self::col_centre(c) <= x {
            c += 1;
        }
        c
    }

    fn edges_of(&self, c: &CoastCell) -> &[[f32; 4]] {
        &self.edges[c.start as usize..(c.start + c.len) as usize]
    }

    fn cell_of(&self, lon: f64, lat: f64) -> (usize, usize) {
        let c = floor_i32((lon + 180.0) / Self::CELL_DEG) as isize;
        let r = floor_i32((lat + 90.0) / Self::CELL_DEG) as isize;
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
                let crossings = self
                    .edges_of(coast)
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
                for e in self.edges_of(coast) {
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

/// `keys` (`cell << 32 | index`, in order of index) in order of cell, the same order as
/// sorting them: a stable radix sort on the cell's bits (11 a pass; the cells of the land
/// grid, `< cells`, take two), linear where a comparison sort was a fifth of the load.
fn by_cell(mut keys: Vec<u64>, cells: usize) -> Vec<u64> {
    const DIGIT_BITS: u32 = 11;
    const DIGITS: usize = 1 << DIGIT_BITS;
    let cell_bits = usize::BITS - cells.saturating_sub(1).leading_zeros();
    let mut out = vec![0u64; keys.len()];
    let mut shift = 32;
    while shift < 32 + cell_bits {
        let digit = |k: u64| ((k >> shift) as usize) & (DIGITS - 1);
        let mut at = [0usize; DIGITS];
        for &k in &keys {
            at[digit(k)] += 1;
        }
        let mut sum = 0;
        for a in at.iter_mut() {
            (*a, sum) = (sum, sum + *a);
        }
        for &k in &keys {
            let d = digit(k);
            out[at[d]] = k;
            at[d] += 1;
        }
        std::mem::swap(&mut keys, &mut out);
        shift += DIGIT_BITS;
    }
    keys
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

    proptest::proptest! {
        /// Edges grouped by cell come in the order sorting `cell << 32 | index` gives,
        /// for any number of cells (one radix pass, two as the land grid, three).
        #[test]
        fn edges_by_cell_are_in_sorted_order(
            cells in proptest::prop_oneof![1usize..3000, 3_000_000usize..5_000_000, proptest::strategy::Just(1usize << 30)],
            picks in proptest::collection::vec(0.0f64..1.0, 0..3000),
        ) {
            let keys: Vec<u64> = picks
                .iter()
                .enumerate()
                .map(|(i, p)| ((p * cells as f64) as u64).min(cells as u64 - 1) << 32 | i as u64)
                .collect();
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            proptest::prop_assert_eq!(by_cell(keys, cells), sorted);
        }

        /// The runs of land in a row are the cells with an odd number of crossings west of
        /// their centre, wherever the crossings fall (on a centre, between, off the row).
        #[test]
        fn land_runs_are_the_cells_with_odd_crossings_west(
            mut xs in proptest::collection::vec(
                proptest::prop_oneof![
                    -200.0f64..200.0,
                    proptest::strategy::Strategy::prop_map(0usize..2880, LandMask::col_centre),
                ],
                0..12,
            )
        ) {
            let cols = 2880;
            xs.sort_unstable_by(f64::total_cmp);
            let mut runs = vec![false; cols];
            for (from, to) in LandMask::land_runs(&xs, cols) {
                runs[from..to].fill(true);
            }
            for (c, land) in runs.iter().enumerate() {
                let west = xs.iter().filter(|&&x| x < LandMask::col_centre(c)).count();
                proptest::prop_assert_eq!(*land, west % 2 == 1, "column {}", c);
            }
        }
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
    fn packing_keeps_every_vertex() {
        let rings = vec![vec![
            [10.03, 40.03],
            [11.03, 40.03],
            [-179.99999, -89.5],
            [10.03, 40.03],
        ]];
        let packed = LandMask::pack_rings(&rings);
        assert_eq!(LandMask::unpack_rings(&packed).unwrap(), rings);
        assert!(LandMask::unpack_rings(&packed[..packed.len() - 1]).is_err());
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
