//! The land grid's filed form, which [`super::LandMask`] answers from: where each row of
//! cells' centre line crosses the coast, and the coastline's edges sorted into blocks of
//! [`BLOCK`]² cells.
//!
//! Shared, by `#[path]`, with fusion's build script, which files the shipped land when
//! Tidewatch is built: a start files nothing and reads only the blocks its queries need,
//! where filing the world's coast at every start took 60 MB and a fifth of a
//! `tidewatch analyze` of a million sentences. A land file named in the configuration is
//! filed by the same code at start. Standard library only.
//!
//! Coordinates are whole [`UNITS_PER_DEG`]ths of a degree ([`fixed`]), so that every
//! answer comes from exact integer tests, with a single rule for a point on the coast
//! (see [`west_of`] and the land module's `crosses`): the centre of a cell is on the same
//! side of an edge for the row's crossings as for the cell's own test, however near the
//! edge it lies. Floats rounded apart once put a cell's centre on land for one and at sea
//! for the other, and the whole cell answered wrong.
//!
//! Layout, little-endian: [`MAGIC`]; the number of crossings `n` and of filed edges `m`
//! (`u32` each); `crossing_at`, `ROWS + 1` × `u32` (row `r`'s crossings are
//! `crossing_at[r]..crossing_at[r + 1]`); the crossings, `n` × `u16`, each the first column
//! whose centre the crossing is west of or on (see [`west_of`]), sorted within each row;
//! `edge_at`, `BLOCKS + 1` × `u32`; the edges, `m` × ([`ENTRY_BYTES`]: `lon1, lat1, lon2,
//! lat2` as `i32` units, then a `u16` of the first and last column and row of the block's
//! cells the edge's bounding box covers, 4 bits each), each block's in the order of the
//! rings.

/// Cell size, degrees.
pub(crate) const CELL_DEG: f64 = 0.125;
/// Columns of cells around the world.
pub(crate) const COLS: usize = 2880;
/// Rows of cells from pole to pole.
pub(crate) const ROWS: usize = 1440;
/// Cells along a block's side.
pub(crate) const BLOCK: usize = 16;
/// Blocks around the world.
pub(crate) const BLOCK_COLS: usize = COLS / BLOCK;
/// Blocks in the world.
pub(crate) const BLOCKS: usize = BLOCK_COLS * (ROWS / BLOCK);
/// First bytes of the filed form.
pub(crate) const MAGIC: &[u8; 8] = b"TWBLOCK2";
/// Bytes of a filed edge.
pub(crate) const ENTRY_BYTES: usize = 18;
/// Where the header ends.
pub(crate) const HEADER_BYTES: usize = MAGIC.len() + 8;
/// Magic of the packed ring format.
pub(crate) const PACKED_MAGIC: &[u8] = b"TWLAND1\n";

/// Units of a coordinate in a degree (2²², a unit about 2.7 cm): a cell's side is 2¹⁹
/// units, a sub-cell's (an eighth) 2¹⁶, and every cell's and sub-cell's centre is a whole
/// number of units.
pub(crate) const UNITS_PER_DEG: f64 = (1u32 << 22) as f64;
/// Units in a cell's side, as a shift (2¹⁹).
pub(crate) const CELL_SHIFT: u32 = 19;
/// Where the grid starts, units: 180° west, 90° south.
pub(crate) const WEST_UNITS: i64 = -180 << 22;
/// See [`WEST_UNITS`].
pub(crate) const SOUTH_UNITS: i64 = -90 << 22;
// A cell's side in units, as CELL_DEG says.
const _: () = assert!((1u32 << CELL_SHIFT) as f64 == CELL_DEG * UNITS_PER_DEG);

/// Degrees in units, rounded down, and held within ±255° (`NaN` at 0): coordinates of a
/// land file reach no further, so that differences between them stay below 2³¹ units and
/// the products of two within an `i64`.
#[inline]
pub(crate) fn fixed(deg: f64) -> i32 {
    floor_i32(deg.clamp(-255.0, 255.0) * UNITS_PER_DEG)
}

/// The cell (column, row) holding the point (`x`, `y`) in units; beyond the grid, the
/// nearest.
#[inline]
pub(crate) fn cell_of_units(x: i64, y: i64) -> (usize, usize) {
    (
        ((x - WEST_UNITS) >> CELL_SHIFT).clamp(0, COLS as i64 - 1) as usize,
        ((y - SOUTH_UNITS) >> CELL_SHIFT).clamp(0, ROWS as i64 - 1) as usize,
    )
}

/// Column `c`'s centres' longitude, units.
pub(crate) fn col_centre_units(c: usize) -> i64 {
    WEST_UNITS + ((2 * c as i64 + 1) << (CELL_SHIFT - 1))
}

/// Row `r`'s centres' latitude, units.
pub(crate) fn row_centre_units(r: usize) -> i64 {
    SOUTH_UNITS + ((2 * r as i64 + 1) << (CELL_SHIFT - 1))
}

/// Does edge `e` (in units) cross the line of row centres at latitude `y` west of the point
/// (`x`, `y`), or on it? Exact. An edge crosses the line when one end is at or south of it
/// and the other north (the row sweep's half-open rule: a vertex on the line counts for one
/// of its edges only). This is where the segment tests of the land module put a point on
/// the coast (a hair east, and a hair's square north: see its `crosses`), so a centre's
/// crossings to the west and its segments to other points agree.
pub(crate) fn west_of(e: [i32; 4], x: i64, y: i64) -> bool {
    let [x1, y1, x2, y2] = e.map(i64::from);
    if (y1 <= y) == (y2 <= y) {
        return false;
    }
    // The crossing, x1 + (y - y1)·(x2 - x1)/(y2 - y1), at or west of x; multiplied out
    // by y2 - y1 (its sign flips the comparison). Differences below 2³¹: see `fixed`.
    let (run, rise) = ((y - y1) * (x2 - x1), (x - x1) * (y2 - y1));
    if y2 > y1 { run <= rise } else { run >= rise }
}

/// `x.floor() as i32`, exactly (NaN 0, beyond the range saturated), without the call to
/// `floor` that the baseline x86-64 target makes for it (no rounding instruction before
/// SSE4.1): grid cells are found several times for every position report.
#[inline]
pub(crate) fn floor_i32(x: f64) -> i32 {
    let t = x as i32;
    if f64::from(t) > x {
        t.saturating_sub(1)
    } else {
        t
    }
}

/// The cell (column, row) holding `lon`, `lat`; beyond the grid, the nearest.
#[inline]
pub(crate) fn cell_of(lon: f64, lat: f64) -> (usize, usize) {
    // × 8 is ÷ CELL_DEG exactly (a power of two), without the division.
    const PER_DEG: f64 = 1.0 / CELL_DEG;
    let c = floor_i32((lon + 180.0) * PER_DEG) as isize;
    let r = floor_i32((lat + 90.0) * PER_DEG) as isize;
    (
        c.clamp(0, COLS as isize - 1) as usize,
        r.clamp(0, ROWS as isize - 1) as usize,
    )
}

/// The rings of the packed ring format: [`PACKED_MAGIC`], then LEB128 varints: the ring
/// count, and per ring its point count and each point as zigzag deltas of longitude and
/// latitude in 10⁻⁵ degrees.
pub(crate) fn unpack_rings(bytes: &[u8]) -> Result<Vec<Vec<[f64; 2]>>, &'static str> {
    let mut rest = bytes.strip_prefix(PACKED_MAGIC).ok_or("bad magic")?;
    let mut varint = || -> Result<u64, &'static str> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, tail) = rest.split_first().ok_or("truncated")?;
            rest = tail;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err("varint too long")
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

/// The edges `[lon1, lat1, lon2, lat2]` of `rings`, in units ([`fixed`]); a ring not
/// closed is closed by an edge from its last point to its first.
fn edges(rings: &[Vec<[f64; 2]>]) -> impl Iterator<Item = [i32; 4]> + '_ {
    rings.iter().flat_map(|ring| {
        let closing = match (ring.first(), ring.last()) {
            (Some(&first), Some(&last)) if first != last => {
                Some([last[0], last[1], first[0], first[1]])
            }
            _ => None,
        };
        ring.windows(2)
            .map(|w| [w[0][0], w[0][1], w[1][0], w[1][1]])
            .chain(closing)
            .map(|e| e.map(fixed))
    })
}

/// The first and last column and row of the cells edge `e`'s bounding box covers.
fn cells_touched(e: [i32; 4]) -> (usize, usize, usize, usize) {
    let [x1, y1, x2, y2] = e.map(i64::from);
    let (c1, r1) = cell_of_units(x1.min(x2), y1.min(y2));
    let (c2, r2) = cell_of_units(x1.max(x2), y1.max(y2));
    (c1, r1, c2, r2)
}

/// The first column whose centre edge `e`, crossing row `r`'s line of centres, crosses at
/// or west of ([`west_of`]); [`COLS`] when east of all.
fn first_column_east(e: [i32; 4], r: usize) -> u16 {
    let y = row_centre_units(r);
    let [x1, y1, x2, y2] = e.map(f64::from);
    // Near it in floats, then exactly: at most a column away.
    let x = x1 + (y as f64 - y1) / (y2 - y1) * (x2 - x1);
    let near = ((x - col_centre_units(0) as f64) / (1u32 << CELL_SHIFT) as f64).ceil();
    let mut c = near.clamp(0.0, COLS as f64) as usize;
    let west = |c: usize| west_of(e, col_centre_units(c), y);
    while c > 0 && west(c - 1) {
        c -= 1;
    }
    while c < COLS && !west(c) {
        c += 1;
    }
    c as u16
}

/// The blocks (column, row) holding the cells `c1..=c2` × `r1..=r2`.
fn blocks_touched(
    (c1, r1, c2, r2): (usize, usize, usize, usize),
) -> impl Iterator<Item = (usize, usize)> {
    (r1 / BLOCK..=r2 / BLOCK).flat_map(move |br| (c1 / BLOCK..=c2 / BLOCK).map(move |bc| (bc, br)))
}

/// `rings` (outer rings and holes alike: even-odd) in the filed form.
pub(crate) fn file(rings: &[Vec<[f64; 2]>]) -> Vec<u8> {
    // Count each block's edges, and find where each row's centre line crosses the coast.
    let mut edge_at = vec![0u32; BLOCKS + 1];
    let mut crossings: Vec<Vec<u16>> = vec![Vec::new(); ROWS];
    for e in edges(rings) {
        let touched = cells_touched(e);
        for (bc, br) in blocks_touched(touched) {
            edge_at[br * BLOCK_COLS + bc + 1] += 1;
        }
        let (_, r1, _, r2) = touched;
        for (r, row) in crossings.iter_mut().enumerate().take(r2 + 1).skip(r1) {
            let y = row_centre_units(r);
            // Half-open rule: a vertex on the line counts for one of its edges only.
            if (e[1] as i64 <= y) != (e[3] as i64 <= y) {
                row.push(first_column_east(e, r));
            }
        }
    }
    for b in 0..BLOCKS {
        edge_at[b + 1] += edge_at[b];
    }
    let n: usize = crossings.iter().map(Vec::len).sum();
    let m = edge_at[BLOCKS] as usize;
    let mut out = Vec::with_capacity(
        HEADER_BYTES + 4 * (ROWS + 1) + 2 * n + 4 * (BLOCKS + 1) + ENTRY_BYTES * m,
    );
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.extend_from_slice(&(m as u32).to_le_bytes());
    let mut at = 0u32;
    out.extend_from_slice(&at.to_le_bytes());
    for xs in &mut crossings {
        at += xs.len() as u32;
        out.extend_from_slice(&at.to_le_bytes());
        xs.sort_unstable();
    }
    for x in crossings.iter().flatten() {
        out.extend_from_slice(&x.to_le_bytes());
    }
    for at in &edge_at {
        out.extend_from_slice(&at.to_le_bytes());
    }
    // File the edges, each block's in the order of the rings.
    let entries = out.len();
    out.resize(entries + ENTRY_BYTES * m, 0);
    let mut next = edge_at;
    for e in edges(rings) {
        let touched = cells_touched(e);
        let (c1, r1, c2, r2) = touched;
        for (bc, br) in blocks_touched(touched) {
            let within =
                |v: usize, first: usize| (v.clamp(first, first + BLOCK - 1) - first) as u16;
            let (x0, y0) = (bc * BLOCK, br * BLOCK);
            let cells =
                within(c1, x0) << 12 | within(c2, x0) << 8 | within(r1, y0) << 4 | within(r2, y0);
            let b = br * BLOCK_COLS + bc;
            let at = entries + ENTRY_BYTES * next[b] as usize;
            next[b] += 1;
            let entry = &mut out[at..at + ENTRY_BYTES];
            for (k, v) in e.iter().enumerate() {
                entry[4 * k..4 * k + 4].copy_from_slice(&v.to_le_bytes());
            }
            entry[16..18].copy_from_slice(&cells.to_le_bytes());
        }
    }
    out
}
