//! Is a position on land? A grid over land polygons answers in constant time away from
//! the coast and with a handful of edge tests near it.
//!
//! Cells are [`LandMask::CELL_DEG`] degrees square. A cell no coastline edge touches is
//! all land or all sea: land when an odd number of the places where its row's centre line
//! crosses the coast lie west of its centre. A cell some edge touches keeps those edges
//! and whether its centre is on land; a position in it is on land when the segment from
//! the centre to it crosses the coast an even number of times and the centre is on land,
//! or an odd number and it is not.
//!
//! The coast comes filed by blocks of cells ([`filing`]: the shipped land when Tidewatch
//! is built); a block's cells are worked out the first time a query falls in it. Traffic
//! touches a few hundred of the 16 200 blocks.

pub(crate) mod filing;

use super::{Feature, GeodataError, Geometry, features, floor_i32};
use crate::Position;
use filing::{
    BLOCK, BLOCKS, ENTRY_BYTES, HEADER_BYTES, MAGIC, ROWS, cell_of, col_centre, row_centre,
};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

const SEA: u8 = 0;
const LAND: u8 = 1;
/// A cell the coastline passes through, its centre at sea.
const COAST_SEA: u8 = 2;
/// A cell the coastline passes through, its centre on land.
const COAST_LAND: u8 = 3;

/// Cells in a block.
const BLOCK_CELLS: usize = BLOCK * BLOCK;

/// The status of a cell or sub-cell: whether edges touch it, and whether its centre is on
/// land.
fn status_of(edges: bool, centre_on_land: bool) -> u8 {
    match (edges, centre_on_land) {
        (false, false) => SEA,
        (false, true) => LAND,
        (true, false) => COAST_SEA,
        (true, true) => COAST_LAND,
    }
}

/// A block's cells, worked out.
#[derive(Clone)]
struct Block {
    /// [`SEA`], [`LAND`], [`COAST_SEA`] or [`COAST_LAND`], row by row.
    status: [u8; BLOCK_CELLS],
    /// Cell `i`'s edges are `edges[at[i]..at[i + 1]]`, in the order the rings give them:
    /// their places in the filed form (4 bytes each, where a copy took 16; a position's test
    /// reads its sub-cell's copies).
    at: [u32; BLOCK_CELLS + 1],
    edges: Vec<u32>,
    /// A coast cell's sub-cells, once a query has needed them.
    subs: Box<[OnceLock<Box<SubGrid>>]>,
}

/// A cell of the grid, or a sub-cell of a cell the coast passes through, all land or all
/// sea, as [`LandMask::contains_remembering`] found it: its index (a cell's, or a
/// sub-cell's in the grid of sub-cells), then a bit for a sub-cell, then one for land.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UniformCell(u32);

impl UniformCell {
    fn whole(c: usize, r: usize) -> UniformCell {
        UniformCell(((r * filing::COLS + c) as u32) << 2)
    }

    fn part(fx: usize, fy: usize) -> UniformCell {
        UniformCell(((fy * filing::COLS * SUB + fx) as u32) << 2 | 2)
    }

    fn with(self, land: bool) -> UniformCell {
        UniformCell(self.0 | u32::from(land))
    }

    fn place(self) -> UniformCell {
        UniformCell(self.0 & !1)
    }

    fn land(self) -> bool {
        self.0 & 1 == 1
    }
}

/// Sub-cells along a coast cell's side.
const SUB: usize = 8;
/// Sub-cells in a coast cell.
const SUB_CELLS: usize = SUB * SUB;
// Sub-cells are numbered in 30 bits (two left for the flags of `UniformCell`).
const _: () = assert!(filing::COLS * SUB * ROWS * SUB < 1 << 30);

/// A coast cell cut in [`SUB`]² sub-cells, each with the edges touching it and whether its
/// centre is on land (found from the cell's centre, as any position in the cell is, the
/// first time a position falls in it): a position is then tested against its sub-cell's
/// edges (a handful, often none) instead of the cell's. The crossings on the way from the
/// cell's centre to a position are those on the way to the sub-cell's centre and on from
/// there (the coast crosses the triangle the three points make an even number of times),
/// and every edge that can cross the second leg, which stays in the sub-cell, touches it.
struct SubGrid {
    /// [`SEA`] or [`LAND`] for a sub-cell no edge touches, [`COAST_SEA`] or
    /// [`COAST_LAND`] for one with edges, by where its centre is; [`UNKNOWN`] until a
    /// position falls in it (any thread finding it finds the same).
    status: [AtomicU8; SUB_CELLS],
    /// Sub-cell `j`'s edges are `edges[at[j]..at[j + 1]]`.
    at: [u32; SUB_CELLS + 1],
    edges: Vec<[f32; 4]>,
}

/// A sub-cell's status not yet found.
const UNKNOWN: u8 = u8::MAX;

impl Clone for SubGrid {
    fn clone(&self) -> SubGrid {
        SubGrid {
            status: std::array::from_fn(|j| AtomicU8::new(self.status[j].load(Ordering::Relaxed))),
            at: self.at,
            edges: self.edges.clone(),
        }
    }
}

impl SubGrid {
    /// Sub-cell side, degrees.
    const DEG: f64 = filing::CELL_DEG / SUB as f64;

    /// The centre of sub-cell `j` of cell (`c`, `r`), `[lon, lat]`.
    fn centre(c: usize, r: usize, j: usize) -> [f64; 2] {
        let (sx, sy) = (j % SUB, j / SUB);
        [
            -180.0 + (c * SUB + sx) as f64 * Self::DEG + Self::DEG / 2.0,
            -90.0 + (r * SUB + sy) as f64 * Self::DEG + Self::DEG / 2.0,
        ]
    }

    /// Cell (`c`, `r`)'s sub-cells and the edges touching each.
    fn of(c: usize, r: usize, cell_edges: impl Iterator<Item = [f32; 4]> + Clone) -> SubGrid {
        // The sub-cells an edge's bounding box overlaps, with a margin far above rounding
        // (a position's sub-cell is found from its coordinates, off by an ulp at most).
        const MARGIN_DEG: f64 = 1e-9;
        let (west, south) = (
            -180.0 + c as f64 * filing::CELL_DEG,
            -90.0 + r as f64 * filing::CELL_DEG,
        );
        let span = |a: f32, b: f32, origin: f64| {
            let (lo, hi) = (
                f64::from(a.min(b)) - MARGIN_DEG,
                f64::from(a.max(b)) + MARGIN_DEG,
            );
            let first = floor_i32((lo - origin) / Self::DEG).clamp(0, SUB as i32 - 1) as usize;
            let last = floor_i32((hi - origin) / Self::DEG).clamp(0, SUB as i32 - 1) as usize;
            first..=last
        };
        let touched = |e: &[f32; 4]| {
            let xs = span(e[0], e[2], west);
            span(e[1], e[3], south).flat_map(move |y| xs.clone().map(move |x| y * SUB + x))
        };
        let mut at = [0u32; SUB_CELLS + 1];
        for e in cell_edges.clone() {
            for j in touched(&e) {
                at[j + 1] += 1;
            }
        }
        for j in 0..SUB_CELLS {
            at[j + 1] += at[j];
        }
        let mut edges = vec![[0f32; 4]; at[SUB_CELLS] as usize];
        let mut next = at;
        for e in cell_edges {
            for j in touched(&e) {
                edges[next[j] as usize] = e;
                next[j] += 1;
            }
        }
        SubGrid {
            status: std::array::from_fn(|_| AtomicU8::new(UNKNOWN)),
            at,
            edges,
        }
    }

    /// Sub-cell `j`'s status (see [`SubGrid::status`]), found from the centre of its cell
    /// (`c`, `r`), whose edges are `cell_edges` and centre on land or not.
    fn status(
        &self,
        j: usize,
        c: usize,
        r: usize,
        centre_on_land: bool,
        cell_edges: impl Iterator<Item = [f32; 4]>,
    ) -> u8 {
        let known = self.status[j].load(Ordering::Relaxed);
        if known != UNKNOWN {
            return known;
        }
        let crossings = cell_edges
            .filter(|e| crosses(Self::centre(c, r, j), [col_centre(c), row_centre(r)], e))
            .count();
        let status = status_of(
            self.at[j + 1] > self.at[j],
            centre_on_land ^ (crossings % 2 == 1),
        );
        self.status[j].store(status, Ordering::Relaxed);
        status
    }

    fn edges_of(&self, j: usize) -> &[[f32; 4]] {
        &self.edges[self.at[j] as usize..self.at[j + 1] as usize]
    }
}

/// The filed form: built in, or filed at start from a land file.
#[derive(Clone)]
enum Filed {
    Shipped(&'static [u8]),
    Loaded(Arc<[u8]>),
}

impl Filed {
    fn bytes(&self) -> &[u8] {
        match self {
            Filed::Shipped(b) => b,
            Filed::Loaded(b) => b,
        }
    }
}

/// Land polygons indexed for point queries.
#[derive(Clone)]
pub struct LandMask {
    filed: Filed,
    /// Where the filed form's sections start: the rows' crossings and where each row's
    /// start, the blocks' edges and where each block's start.
    crossings: usize,
    crossing_at: usize,
    entries: usize,
    edge_at: usize,
    /// Each block, once a query has needed it.
    blocks: Vec<OnceLock<Box<Block>>>,
}

impl std::fmt::Debug for LandMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LandMask")
            .field("bytes", &self.bytes().len())
            .field(
                "blocks_worked_out",
                &self.blocks.iter().filter(|b| b.get().is_some()).count(),
            )
            .finish()
    }
}

/// Natural Earth 1:10m land, coordinates rounded to 5 decimals, filed by fusion's build
/// script from `data/land-10m.rings.gz` (packed: see [`LandMask::pack_rings`]).
static SHIPPED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/land-10m.blocks"));

impl LandMask {
    /// Cell size, degrees.
    pub const CELL_DEG: f64 = filing::CELL_DEG;

    /// The land shipped with Tidewatch (Natural Earth 1:10m).
    pub fn natural_earth() -> LandMask {
        LandMask::from_filed(Filed::Shipped(SHIPPED))
            .expect("the shipped land is filed by the build")
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
        let mut out = filing::PACKED_MAGIC.to_vec();
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
        filing::unpack_rings(bytes).map_err(|p| GeodataError::invalid("packed land", p))
    }

    /// Land from GeoJSON Polygon/MultiPolygon features (holes are water).
    pub fn from_geojson(what: &str, bytes: &[u8]) -> Result<LandMask, GeodataError> {
        Ok(LandMask::from_rings(&Self::geojson_rings(what, bytes)?))
    }

    fn from_rings(rings: &[Vec<[f64; 2]>]) -> LandMask {
        LandMask::from_filed(Filed::Loaded(filing::file(rings).into()))
            .expect("filing makes the filed form")
    }

    /// A mask over a filed form, its sections checked against each other.
    fn from_filed(filed: Filed) -> Result<LandMask, &'static str> {
        let bytes = filed.bytes();
        if bytes.get(..MAGIC.len()) != Some(&MAGIC[..]) || bytes.len() < HEADER_BYTES {
            return Err("not the filed form");
        }
        let n = u32_at(bytes, MAGIC.len()) as usize;
        let m = u32_at(bytes, MAGIC.len() + 4) as usize;
        let crossing_at = HEADER_BYTES;
        let crossings = crossing_at + 4 * (ROWS + 1);
        let edge_at = crossings + 8 * n;
        let entries = edge_at + 4 * (BLOCKS + 1);
        if bytes.len() != entries + ENTRY_BYTES * m {
            return Err("sections not as long as the header says");
        }
        // Where each row's crossings and each block's edges start: from 0, never back,
        // to the end of their section.
        let rising = |at: usize, count: usize, end: usize| {
            let mut last = 0;
            (0..count).all(|i| {
                let v = u32_at(bytes, at + 4 * i) as usize;
                let ok = v >= last && (i > 0 || v == 0);
                last = v;
                ok
            }) && last == end
        };
        if !rising(crossing_at, ROWS + 1, n) || !rising(edge_at, BLOCKS + 1, m) {
            return Err("sections out of order");
        }
        Ok(LandMask {
            filed,
            crossings,
            crossing_at,
            entries,
            edge_at,
            blocks: (0..BLOCKS).map(|_| OnceLock::new()).collect(),
        })
    }

    fn bytes(&self) -> &[u8] {
        self.filed.bytes()
    }

    /// Block `b`'s cells: which edges touch each, and whether its centre is on land (an odd
    /// number of its row's crossings west of it).
    fn build(&self, b: usize) -> Block {
        let bytes = self.bytes();
        let (bc, br) = (b % filing::BLOCK_COLS, b / filing::BLOCK_COLS);
        let (first, last) = (
            u32_at(bytes, self.edge_at + 4 * b) as usize,
            u32_at(bytes, self.edge_at + 4 * (b + 1)) as usize,
        );
        // The cells of the block each edge touches.
        let filed = bytes[self.entries + ENTRY_BYTES * first..self.entries + ENTRY_BYTES * last]
            .chunks_exact(ENTRY_BYTES)
            .map(|e| {
                let cells = u16::from_le_bytes([e[16], e[17]]);
                let part = move |shift: u16| usize::from((cells >> shift) & 0xf);
                let (c1, c2, r1, r2) = (part(12), part(8), part(4), part(0));
                (r1..=r2).flat_map(move |r| (c1..=c2).map(move |c| r * BLOCK + c))
            });
        let mut at = [0u32; BLOCK_CELLS + 1];
        for cells in filed.clone() {
            for i in cells {
                at[i + 1] += 1;
            }
        }
        for i in 0..BLOCK_CELLS {
            at[i + 1] += at[i];
        }
        let mut edges = vec![0u32; at[BLOCK_CELLS] as usize];
        let mut next = at;
        for (k, cells) in filed.enumerate() {
            for i in cells {
                edges[next[i] as usize] = (first + k) as u32;
                next[i] += 1;
            }
        }
        let mut status = [SEA; BLOCK_CELLS];
        for r in 0..BLOCK {
            let row = br * BLOCK + r;
            let (from, to) = (
                u32_at(bytes, self.crossing_at + 4 * row) as usize,
                u32_at(bytes, self.crossing_at + 4 * (row + 1)) as usize,
            );
            let mut xs = bytes[self.crossings + 8 * from..self.crossings + 8 * to]
                .chunks_exact(8)
                .map(|x| f64::from_le_bytes(x.try_into().unwrap()))
                .peekable();
            // Centres east along the row: the crossings west of each only grow.
            let mut west = 0usize;
            for c in 0..BLOCK {
                let centre = col_centre(bc * BLOCK + c);
                while xs.next_if(|&x| x < centre).is_some() {
                    west += 1;
                }
                let i = r * BLOCK + c;
                status[i] = status_of(at[i + 1] > at[i], west % 2 == 1);
            }
        }
        Block {
            status,
            at,
            edges,
            subs: (0..BLOCK_CELLS).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Cell `i` of `block`'s edges, read from the filed form.
    fn edges_of<'a>(
        &'a self,
        block: &'a Block,
        i: usize,
    ) -> impl Iterator<Item = [f32; 4]> + Clone + 'a {
        let bytes = self.bytes();
        block.edges[block.at[i] as usize..block.at[i + 1] as usize]
            .iter()
            .map(move |&k| {
                let at = self.entries + ENTRY_BYTES * k as usize;
                let f = |n: usize| {
                    f32::from_le_bytes(bytes[at + 4 * n..at + 4 * n + 4].try_into().unwrap())
                };
                [f(0), f(1), f(2), f(3)]
            })
    }

    /// The block holding cell (`c`, `r`), worked out if no query has needed it yet, and
    /// the cell's index in it.
    #[inline]
    fn block_of(&self, c: usize, r: usize) -> (&Block, usize) {
        let b = (r / BLOCK) * filing::BLOCK_COLS + c / BLOCK;
        let block = self.blocks[b].get_or_init(|| Box::new(self.build(b)));
        (block, (r % BLOCK) * BLOCK + c % BLOCK)
    }

    /// True when `p` is inside a land polygon (no tolerance: see [`LandMask::inland`]).
    pub fn contains(&self, p: Position) -> bool {
        self.contains_remembering(p, &mut None)
    }

    /// [`LandMask::contains`], answered from `cell` when `p` is in the cell it names, all
    /// land or all sea, as a previous call found it; else found, and `cell` set when the
    /// cell is all one or the other. A vessel crosses a cell in an hour or so: its reports
    /// meanwhile need not reach into the grid.
    pub(crate) fn contains_remembering(&self, p: Position, cell: &mut Option<UniformCell>) -> bool {
        // The sub-cell (a cell's 1/SUB) holding p, and so its cell.
        let fine = |v: f64, cells: usize| {
            floor_i32(v * (SUB as f64 / filing::CELL_DEG)).clamp(0, (cells * SUB) as i32 - 1)
                as usize
        };
        let (fx, fy) = (fine(p.lon + 180.0, filing::COLS), fine(p.lat + 90.0, ROWS));
        let (c, r) = (fx / SUB, fy / SUB);
        let whole = UniformCell::whole(c, r);
        let part = UniformCell::part(fx, fy);
        if let Some(known) = *cell
            && (known.place() == whole || known.place() == part)
        {
            return known.land();
        }
        let (block, i) = self.block_of(c, r);
        match block.status[i] {
            SEA => {
                *cell = Some(whole.with(false));
                false
            }
            LAND => {
                *cell = Some(whole.with(true));
                true
            }
            status => {
                let cell_edges = self.edges_of(block, i);
                let sub =
                    block.subs[i].get_or_init(|| Box::new(SubGrid::of(c, r, cell_edges.clone())));
                let j = (fy % SUB) * SUB + fx % SUB;
                let sub_status = sub.status(j, c, r, status == COAST_LAND, cell_edges);
                let on_land = sub_status == LAND || sub_status == COAST_LAND;
                let edges = sub.edges_of(j);
                if edges.is_empty() {
                    *cell = Some(part.with(on_land));
                    return on_land;
                }
                let centre = SubGrid::centre(c, r, j);
                let crossings = edges
                    .iter()
                    .filter(|e| crosses([p.lon, p.lat], centre, e))
                    .count();
                on_land ^ (crossings % 2 == 1)
            }
        }
    }

    /// Distance from `p` to the nearest coastline edge, meters, if one is within
    /// `within_m` (at most one cell, about 13 km); `None` when none is that close.
    pub fn coast_distance_m(&self, p: Position, within_m: f64) -> Option<f64> {
        let m_per_deg_lat = 111_195.0;
        let m_per_deg_lon = m_per_deg_lat * p.lat.to_radians().cos().max(1e-6);
        let (dlon, dlat) = (within_m / m_per_deg_lon, within_m / m_per_deg_lat);
        let (c1, r1) = cell_of(p.lon - dlon, p.lat - dlat);
        let (c2, r2) = cell_of(p.lon + dlon, p.lat + dlat);
        let mut best = f64::INFINITY;
        for r in r1..=r2 {
            for c in c1..=c2 {
                let (block, i) = self.block_of(c, r);
                for e in self.edges_of(block, i) {
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

/// The little-endian `u32` at `at`.
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
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

    /// The shipped land's rings, packed.
    const DEFAULT_LAND: &[u8] = include_bytes!("../../../data/land-10m.rings.gz");

    #[test]
    fn the_build_filed_the_shipped_rings() {
        let rings = LandMask::unpack_rings(&crate::geodata::gunzip(DEFAULT_LAND).unwrap()).unwrap();
        assert!(
            SHIPPED == &filing::file(&rings)[..],
            "rebuild: the build script's land is stale"
        );
    }

    #[test]
    fn a_damaged_filed_form_is_refused() {
        let whole = filing::file(&[vec![[10.0, 40.0], [11.0, 40.0], [11.0, 41.0]]]);
        let load = |b: Vec<u8>| LandMask::from_filed(Filed::Loaded(b.into())).map(|_| ());
        assert_eq!(load(whole.clone()), Ok(()));
        assert!(
            load(whole[..whole.len() - 1].to_vec()).is_err(),
            "cut short"
        );
        let mut wrong = whole.clone();
        wrong[0] = b'X';
        assert!(load(wrong).is_err(), "magic");
        // A block's edges said to start past the next one's.
        let edge_at = HEADER_BYTES + 4 * (ROWS + 1) + 8 * u32_at(&whole, 8) as usize;
        let mut wrong = whole.clone();
        let b = (40 + 90) * 8 / BLOCK * filing::BLOCK_COLS + (10 + 180) * 8 / BLOCK;
        wrong[edge_at + 4 * b..edge_at + 4 * b + 4].copy_from_slice(&9u32.to_le_bytes());
        assert!(load(wrong).is_err(), "out of order");
    }

    fn square() -> LandMask {
        // An island 1° square with a 0.2° lagoon, off the grid lines.
        let json = r#"{"type":"Polygon","coordinates":[
            [[10.03,40.03],[11.03,40.03],[11.03,41.03],[10.03,41.03],[10.03,40.03]],
            [[10.43,40.43],[10.63,40.43],[10.63,40.63],[10.43,40.63],[10.43,40.43]]]}"#;
        LandMask::from_geojson("test", json.as_bytes()).unwrap()
    }

    /// Even-odd ray casting over every edge of `rings`, and whether `p` is farther than
    /// `clear` degrees from every edge (nearer, f32 edges and the half-open rules may
    /// rightly answer either way).
    fn ray_cast(rings: &[Vec<[f64; 2]>], p: [f64; 2], clear: f64) -> (bool, bool) {
        let (mut inside, mut far) = (false, true);
        for ring in rings {
            for (i, &a) in ring.iter().enumerate() {
                let b = ring[(i + 1) % ring.len()];
                if (a[1] > p[1]) != (b[1] > p[1])
                    && p[0] < a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0])
                {
                    inside = !inside;
                }
                far &=
                    origin_to_segment(a[0] - p[0], a[1] - p[1], b[0] - p[0], b[1] - p[1]) > clear;
            }
        }
        (inside, far)
    }

    /// A star-shaped ring around `centre` (a simple polygon whatever the radii), closed.
    fn star(centre: [f64; 2], radii_deg: &[f64]) -> Vec<[f64; 2]> {
        let n = radii_deg.len();
        let mut ring: Vec<[f64; 2]> = radii_deg
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                [
                    centre[0] + r * a.cos(),
                    (centre[1] + r * a.sin()).clamp(-89.9, 89.9),
                ]
            })
            .collect();
        ring.push(ring[0]);
        ring
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Whatever the polygons (small islands inside one cell, large ones over many
        /// blocks, long edges, islands in lagoons), every point away from the coast is on
        /// land exactly when a ray cast over all the edges says so, wherever the queries
        /// start the blocks being worked out.
        #[test]
        fn every_point_away_from_the_coast_agrees_with_ray_casting(
            islands in proptest::collection::vec(
                (-170.0f64..170.0, -80.0f64..80.0, 0.01f64..6.0,
                 proptest::collection::vec(0.2f64..1.0, 3..40)),
                1..6,
            ),
            points in proptest::collection::vec((0usize..6, -1.5f64..1.5, -1.5f64..1.5), 1..300),
        ) {
            let rings: Vec<Vec<[f64; 2]>> = islands
                .iter()
                .map(|(lon, lat, size, radii)| {
                    star([*lon, *lat], &radii.iter().map(|r| r * size).collect::<Vec<_>>())
                })
                .collect();
            let mask = LandMask::from_rings(&rings);
            for (k, dx, dy) in points {
                let (lon, lat, size, _) = &islands[k % islands.len()];
                let p = [lon + dx * size, (lat + dy * size).clamp(-89.9, 89.9)];
                let (inside, far) = ray_cast(&rings, p, 1e-4);
                if far {
                    let pos = Position::new(p[1], p[0]).unwrap();
                    proptest::prop_assert_eq!(mask.contains(pos), inside, "at {:?}", p);
                }
            }
        }
    }

    #[test]
    fn loading_works_out_no_block_until_a_query_needs_it() {
        let m = LandMask::natural_earth();
        let built = |m: &LandMask| m.blocks.iter().filter(|b| b.get().is_some()).count();
        assert_eq!(built(&m), 0);
        assert!(
            m.contains(Position::new(35.8989, 14.5146).unwrap()),
            "Valletta"
        );
        assert_eq!(built(&m), 1);
        // The coast's distance looks at the cells around: at a corner of blocks (every
        // second degree), the four blocks there, Valletta's among them.
        let _ = m.coast_distance_m(Position::new(36.0, 14.0).unwrap(), 5_000.0);
        assert_eq!(built(&m), 4);
    }

    #[test]
    fn natural_earth_agrees_with_ray_casting_around_the_central_mediterranean() {
        let bytes = crate::geodata::gunzip(DEFAULT_LAND).unwrap();
        let all = LandMask::unpack_rings(&bytes).unwrap();
        let (west, south, east, north) = (9.0, 30.0, 20.0, 39.0);
        // The rings reaching into the area (others cannot cross a ray from a point in it
        // an odd number of times... unless they surround it: keep those too).
        let rings: Vec<Vec<[f64; 2]>> = all
            .into_iter()
            .filter(|r| {
                r.iter()
                    .any(|p| p[1] >= south - 1.0 && p[1] <= north + 1.0 && p[0] >= west - 30.0)
            })
            .collect();
        let m = LandMask::natural_earth();
        let (mut checked, mut on_land) = (0, 0);
        for i in 0..4000u32 {
            // A fixed scatter (Weyl sequence): the same points every run.
            let (fx, fy) = (
                (f64::from(i) * 0.618_033_988_7).fract(),
                (f64::from(i) * 0.754_877_666_2).fract(),
            );
            let p = [west + fx * (east - west), south + fy * (north - south)];
            let (inside, far) = ray_cast(&rings, p, 1e-4);
            if far {
                checked += 1;
                on_land += usize::from(inside);
                assert_eq!(
                    m.contains(Position::new(p[1], p[0]).unwrap()),
                    inside,
                    "at {p:?}"
                );
            }
        }
        assert!(
            checked > 3900 && on_land > 500,
            "{checked} checked, {on_land} on land"
        );
    }

    proptest::proptest! {
        /// Remembering the last all-land or all-sea cell answers as the grid does, along a
        /// track wandering over an island's coast, its lagoon and the sea around.
        #[test]
        fn remembering_the_cell_answers_as_the_grid_does(
            steps in proptest::collection::vec((-0.2f64..0.2, -0.2f64..0.2), 1..200),
        ) {
            let m = square();
            let (mut lat, mut lon) = (40.5, 10.5);
            let mut cell = None;
            for (dlat, dlon) in steps {
                (lat, lon) = ((lat + dlat).clamp(39.0, 42.0), (lon + dlon).clamp(9.0, 12.0));
                let p = Position::new(lat, lon).unwrap();
                proptest::prop_assert_eq!(m.contains_remembering(p, &mut cell), m.contains(p));
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
