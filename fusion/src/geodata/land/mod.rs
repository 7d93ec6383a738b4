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
//! Every test is exact, on whole units of 2⁻²² degree ([`filing::fixed`]), and a point on
//! the coast (a centre on an edge, a vertex on a path) is taken as moved a hair, the same
//! hair in every test (see `crosses`): the answers are those of even-odd ray casting over
//! the coast in units, however the coast runs through the grid.
//!
//! The coast comes filed by blocks of cells ([`filing`]: the shipped land when Tidewatch
//! is built); a block's cells are worked out the first time a query falls in it. Traffic
//! touches a few hundred of the 16 200 blocks.

pub(crate) mod filing;

use super::{Feature, GeodataError, Geometry, features};
use crate::Position;
use filing::{
    BLOCK, BLOCKS, ENTRY_BYTES, HEADER_BYTES, MAGIC, ROWS, SOUTH_UNITS, UNITS_PER_DEG, WEST_UNITS,
    cell_of, col_centre_units, fixed, row_centre_units,
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
    /// In units (see [`filing::fixed`]).
    edges: Vec<[i32; 4]>,
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
    /// Units in a sub-cell's side, as a shift (2¹⁶: a cell's [`SUB`]th).
    const SHIFT: u32 = filing::CELL_SHIFT - SUB.trailing_zeros();

    /// The centre of sub-cell `j` of cell (`c`, `r`), `[lon, lat]` in units.
    fn centre(c: usize, r: usize, j: usize) -> [i64; 2] {
        let (sx, sy) = ((c * SUB + j % SUB) as i64, (r * SUB + j / SUB) as i64);
        [
            WEST_UNITS + ((2 * sx + 1) << (Self::SHIFT - 1)),
            SOUTH_UNITS + ((2 * sy + 1) << (Self::SHIFT - 1)),
        ]
    }

    /// Cell (`c`, `r`)'s sub-cells and the edges touching each.
    fn of(c: usize, r: usize, cell_edges: impl Iterator<Item = [i32; 4]> + Clone) -> SubGrid {
        // The sub-cells an edge's bounding box overlaps (exactly: a position's sub-cell is
        // found from its units as exactly).
        let (west, south) = (
            WEST_UNITS + ((c as i64) << filing::CELL_SHIFT),
            SOUTH_UNITS + ((r as i64) << filing::CELL_SHIFT),
        );
        let span = |a: i32, b: i32, origin: i64| {
            let at = |v: i32| ((i64::from(v) - origin) >> Self::SHIFT).clamp(0, SUB as i64 - 1);
            at(a.min(b)) as usize..=at(a.max(b)) as usize
        };
        let touched = |e: &[i32; 4]| {
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
        let mut edges = vec![[0i32; 4]; at[SUB_CELLS] as usize];
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
        cell_edges: impl Iterator<Item = [i32; 4]>,
    ) -> u8 {
        let known = self.status[j].load(Ordering::Relaxed);
        if known != UNKNOWN {
            return known;
        }
        let centre = [col_centre_units(c), row_centre_units(r)];
        let crossings = cell_edges
            .filter(|e| crosses(Self::centre(c, r, j), centre, e))
            .count();
        let status = status_of(
            self.at[j + 1] > self.at[j],
            centre_on_land ^ (crossings % 2 == 1),
        );
        self.status[j].store(status, Ordering::Relaxed);
        status
    }

    fn edges_of(&self, j: usize) -> &[[i32; 4]] {
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
        let edge_at = crossings + 2 * n;
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
    /// number of its row's crossings west of it or on it: [`filing::west_of`]).
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
            // Each crossing is the first column whose centre it is west of (or on).
            let mut xs = bytes[self.crossings + 2 * from..self.crossings + 2 * to]
                .chunks_exact(2)
                .map(|x| usize::from(u16::from_le_bytes([x[0], x[1]])))
                .peekable();
            // Centres east along the row: the crossings west of each only grow.
            let mut west = 0usize;
            for c in 0..BLOCK {
                let column = bc * BLOCK + c;
                while xs.next_if(|&x| x <= column).is_some() {
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
    ) -> impl Iterator<Item = [i32; 4]> + Clone + 'a {
        let bytes = self.bytes();
        block.edges[block.at[i] as usize..block.at[i + 1] as usize]
            .iter()
            .map(move |&k| {
                let at = self.entries + ENTRY_BYTES * k as usize;
                let f = |n: usize| {
                    i32::from_le_bytes(bytes[at + 4 * n..at + 4 * n + 4].try_into().unwrap())
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

    /// True when `p` is inside a land polygon (to the unit of 2⁻²² degree, about 3 cm; no
    /// tolerance for the coastline's own accuracy: see [`LandMask::inland`]).
    pub fn contains(&self, p: Position) -> bool {
        self.contains_remembering(p, &mut None)
    }

    /// [`LandMask::contains`], answered from `cell` when `p` is in the cell it names, all
    /// land or all sea, as a previous call found it; else found, and `cell` set when the
    /// cell is all one or the other. A vessel crosses a cell in an hour or so: its reports
    /// meanwhile need not reach into the grid.
    pub(crate) fn contains_remembering(&self, p: Position, cell: &mut Option<UniformCell>) -> bool {
        // In units, and the sub-cell (a cell's 1/SUB) holding p, and so its cell.
        let at = [i64::from(fixed(p.lon)), i64::from(fixed(p.lat))];
        let fine = |v: i64, origin: i64, cells: usize| {
            ((v - origin) >> SubGrid::SHIFT).clamp(0, (cells * SUB) as i64 - 1) as usize
        };
        let (fx, fy) = (
            fine(at[0], WEST_UNITS, filing::COLS),
            fine(at[1], SOUTH_UNITS, ROWS),
        );
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
                let crossings = edges.iter().filter(|e| crosses(at, centre, e)).count();
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
                    let e = e.map(|v| f64::from(v) / UNITS_PER_DEG);
                    // Local flat projection around p: meters east and north.
                    let ax = (e[0] - p.lon) * m_per_deg_lon;
                    let ay = (e[1] - p.lat) * m_per_deg_lat;
                    let bx = (e[2] - p.lon) * m_per_deg_lon;
                    let by = (e[3] - p.lat) * m_per_deg_lat;
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

/// Does the segment p–q cross edge e? All in units, exactly, with p and q (positions,
/// centres) taken as moved a hair east and a hair's square north, so that no three points
/// are ever in line: a point on the coast, or a coast vertex on the segment, falls on one
/// side the same way for every edge, and for a row's crossings ([`filing::west_of`]).
fn crosses(p: [i64; 2], q: [i64; 2], e: &[i32; 4]) -> bool {
    let (a, b) = (
        [i64::from(e[0]), i64::from(e[1])],
        [i64::from(e[2]), i64::from(e[3])],
    );
    // Twice the signed area of o, u, v (positive when v is left of o→u). Coordinates are
    // within ±255° (`fixed`): differences below 2³¹ units, the sum of two products within
    // an i64.
    let area = |o: [i64; 2], u: [i64; 2], v: [i64; 2]| {
        (u[0] - o[0]) * (v[1] - o[1]) - (u[1] - o[1]) * (v[0] - o[0])
    };
    // Is x, moved by (ε, ε²), left of a→b? When on the line, the terms in ε then ε² decide:
    // −(b_y − a_y)·ε + (b_x − a_x)·ε².
    let left_of_edge = |x: [i64; 2]| match area(a, b, x) {
        0 if b[1] != a[1] => b[1] < a[1],
        0 => b[0] > a[0],
        s => s > 0,
    };
    // Is v left of p→q, both moved by (ε, ε²)? On the line: (q_y − p_y)·ε − (q_x − p_x)·ε².
    let left_of_path = |v: [i64; 2]| match area(p, q, v) {
        0 if q[1] != p[1] => q[1] > p[1],
        0 => q[0] < p[0],
        s => s > 0,
    };
    left_of_edge(p) != left_of_edge(q) && left_of_path(a) != left_of_path(b)
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
        let edge_at = HEADER_BYTES + 4 * (ROWS + 1) + 2 * u32_at(&whole, 8) as usize;
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

    /// Islands whose coast runs through cells' centres and sub-cells' centres (edges along
    /// a centre's row or column, vertices on centres, diagonals through them), drawn both
    /// ways round: a centre on the coast is on one side of every edge alike, so the cell
    /// around it answers as ray casting does.
    #[test]
    fn a_coast_through_a_centre_leaves_its_cell_right() {
        // Centres of cells (x.0625 + k/8) and of sub-cells (x.0078125 + k/64).
        let (cell, sub) = (LandMask::CELL_DEG, LandMask::CELL_DEG / 8.0);
        let shapes: Vec<Vec<[f64; 2]>> = vec![
            // South and west sides on a cell centre's row and column.
            vec![
                [14.0625, 36.0625],
                [14.3, 36.0625],
                [14.3, 36.5],
                [14.0625, 36.5],
            ],
            // A side along a row of centres, its corners off them.
            vec![[13.9, 36.0625], [14.3, 36.0625], [14.3, 36.5], [13.9, 36.5]],
            // A diagonal through centres, corners on centres.
            vec![
                [14.0625, 36.0625],
                [14.0625 + 3.0 * cell, 36.0625 + 3.0 * cell],
                [14.0625, 36.0625 + 5.0 * cell],
            ],
            // Sides along sub-cells' centres.
            vec![
                [14.0 + sub / 2.0, 36.0 + sub / 2.0],
                [14.0 + 5.5 * sub, 36.0 + sub / 2.0],
                [14.0 + 5.5 * sub, 36.0 + 9.5 * sub],
            ],
        ];
        for shape in shapes {
            for ring in [shape.clone(), shape.iter().rev().copied().collect()] {
                let rings = [ring];
                let mask = LandMask::from_rings(&rings);
                for i in 0..120 {
                    for j in 0..120 {
                        let p = [13.95 + f64::from(i) * 0.0031, 35.95 + f64::from(j) * 0.0057];
                        let (inside, far) = ray_cast(&rings, p, 1e-4);
                        if far {
                            let pos = Position::new(p[1], p[0]).unwrap();
                            assert_eq!(mask.contains(pos), inside, "at {p:?} in {:?}", rings[0]);
                        }
                    }
                }
            }
        }
    }

    /// The case a CI run found: a long edge passing within an f32's rounding of a cell's
    /// centre, which the row's crossings (from the edge in f64) put on one side and the
    /// cell's test (from the edge in f32) on the other.
    #[test]
    fn a_centre_within_rounding_of_an_edge_is_on_one_side_of_it() {
        let ring = star(
            [163.13357670682814, 66.24002585472867],
            &[0.9636224816139712, 0.2818675082998397, 0.2].map(|r| r * 3.837059280886676),
        );
        let rings = [ring];
        let mask = LandMask::from_rings(&rings);
        for p in [
            [165.99167672801832, 66.44089575662066],
            [165.95, 66.45],
            [165.99, 66.41],
        ] {
            let (inside, far) = ray_cast(&rings, p, 1e-4);
            assert!(far);
            assert_eq!(
                mask.contains(Position::new(p[1], p[0]).unwrap()),
                inside,
                "at {p:?}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Rings drawn on the lattice of cells' and sub-cells' centres (every 1/128°),
        /// crossing themselves, doubling back, along rows and columns of centres, through
        /// centres: every point away from the coast is on land exactly when ray casting
        /// over all the edges says so.
        #[test]
        fn rings_through_the_grids_centres_agree_with_ray_casting(
            rings in proptest::collection::vec(
                proptest::collection::vec((0u32..200, 0u32..200), 3..14),
                1..4,
            ),
            points in proptest::collection::vec((0.0f64..1.6, 0.0f64..1.6), 1..400),
        ) {
            let (west, south, step) = (14.0, 36.0, 1.0 / 128.0);
            let rings: Vec<Vec<[f64; 2]>> = rings
                .iter()
                .map(|ring| {
                    ring.iter()
                        .map(|&(i, j)| [west + f64::from(i) * step, south + f64::from(j) * step])
                        .collect()
                })
                .collect();
            let mask = LandMask::from_rings(&rings);
            for (dx, dy) in points {
                let p = [west + dx, south + dy];
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
