//! Receiver coverage learned from traffic: where each receiver hears vessels, of which
//! class, and lately.
//!
//! A grid of 0.1° cells keeps, per class of transmitter (Class A, Class B, AIS-SART), the two
//! most recent distinct MMSIs heard in it, and the three receivers (the feed, or the tag
//! block's `s:` station within it) that heard it most recently; each receiver's latest
//! report is kept too. A silent vessel is suspicious only where others are still heard
//! (`ais_gap`), all along the way its course would have taken it ([`Coverage::along`]), by
//! receivers that are still hearing anything at all: a gap in a coverage hole, on a way that
//! leaves the receivers' reach, or under a receiver that has gone quiet itself, is not.
//!
//! Fusion takes an observation when it is first delivered, so a cell learns the receiver
//! that delivered each report first (a later update naming more receivers is not taken).
//!
//! Memory is bounded: cells nobody has been heard in for [`Coverage::prune`]'s horizon are
//! dropped, and receivers beyond [`MAX_RECEIVERS`] − 1 share one slot.

use crate::Position;
use crate::geodata::floor_i32;
use crate::hash::FastMap;

const CELL_DEG: f64 = 0.1;
/// Receivers told apart, the last slot shared by any beyond (named [`MORE_RECEIVERS`]).
pub(crate) const MAX_RECEIVERS: usize = 4096;
/// A point this close to a receiver's learnt reach is within it, degrees of latitude (1 km).
const REACH_MARGIN_DEG: f64 = 0.009;
/// How often the receivers' reach is learnt anew, ms of data time.
const REACH_EVERY_MS: i64 = 10 * 60_000;
/// The name of the slot receivers beyond [`MAX_RECEIVERS`] share.
const MORE_RECEIVERS: &str = "(other receivers)";

/// What kind of transmitter was heard: their reach differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Class A (12.5 W, high antennas): heard farthest.
    A,
    /// Class B (2–5 W): heard over a shorter range.
    B,
    /// AIS-SART, man-overboard device, EPIRB-AIS (1 W, antenna near the water).
    Sart,
}

impl Class {
    /// How its coverage is described in reasons.
    pub(crate) fn heard_text(self) -> &'static str {
        match self {
            Class::A => "vessels",
            Class::B => "Class B or SART transmitters",
            Class::Sart => "SART or Class B transmitters",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
struct Heard {
    /// The two most recent distinct MMSIs of any class and when, ms; newest first.
    recent: [(u32, i64); 2],
    /// The same, of Class B transmitters only (shorter range: where they are heard, a
    /// Class B vessel would be).
    #[serde(default)]
    recent_b: [(u32, i64); 2],
    /// The same, of SARTs and other AIS beacons.
    #[serde(default)]
    recent_sart: [(u32, i64); 2],
    /// The three receivers that heard a vessel here most recently (index + 1 into
    /// [`Coverage::receivers`]; 0 none) and when, ms; newest first.
    #[serde(default)]
    stations: [(u16, i64); 3],
    /// The same, for Class B transmitters and SARTs (heard over a shorter range).
    #[serde(default)]
    stations_b: [(u16, i64); 3],
    /// The box of the positions heard here, `[min lon, min lat, max lon, max lat]`, of any
    /// class and of Class B and SARTs: a receiver's reach is drawn through them.
    #[serde(default)]
    bounds: [Option<[f32; 4]>; 2],
    /// Vessels that came into this cell (or were first heard in it), of any class and of
    /// Class B; halved with `lost` as they grow.
    #[serde(default)]
    visits: [u16; 2],
    /// Of which were lost here (silent for [`LOST_AFTER_MS`], shorter than a gap): the edge
    /// of the receivers' reach is where vessels are lost.
    #[serde(default)]
    lost: [u16; 2],
}

impl Heard {
    fn latest_ms(&self) -> i64 {
        self.recent[0].1
    }
}

/// Keep `id` heard at `time_ms` among the most recent distinct ones of `r`, newest first
/// (an empty slot holds the default id).
fn keep<T: Copy + PartialEq + Default, const N: usize>(r: &mut [(T, i64); N], id: T, time_ms: i64) {
    let at = match r.iter().position(|e| e.0 == id) {
        Some(at) if r[at].1 >= time_ms => return,
        Some(at) => at,
        None if r[N - 1].0 == T::default() || r[N - 1].1 <= time_ms => N - 1,
        None => return,
    };
    r[at] = (id, time_ms);
    let mut i = at;
    while i > 0 && (r[i].1 > r[i - 1].1 || r[i - 1].0 == T::default()) {
        r.swap(i, i - 1);
        i -= 1;
    }
}

/// A receiver, as coverage knows it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Receiver {
    /// The feed (MQTT source, file, TCP/UDP input), or `feed/station` for a tag block's `s:`.
    pub(crate) name: Box<str>,
    /// Its latest report of a vessel's position, ms.
    pub(crate) last_ms: i64,
}

/// A vessel silent this long after its last report here, and heard again before its silence
/// became a gap, was lost here, ms (longer than any reporting interval: Class A and B report
/// at least every 3 minutes).
pub(crate) const LOST_AFTER_MS: i64 = 10 * 60_000;

/// Count one in `c`: its any-class slot, and its Class B slot when `class_b`; a slot near the
/// counters' limit is halved together with the same slot of `o` (older traffic weighs less).
fn count(c: &mut [u16; 2], o: &mut [u16; 2], class_b: bool) {
    for i in [0, 1].into_iter().filter(|&i| i == 0 || class_b) {
        if c[i] >= u16::MAX - 1 {
            c[i] /= 2;
            o[i] /= 2;
        }
        c[i] += 1;
    }
}

/// How a cell loses vessels ([`Coverage::losses`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Losses {
    /// Vessels that came into the cell.
    pub(crate) visits: u16,
    /// Of which were lost there.
    pub(crate) lost: u16,
}

impl Losses {
    /// True when the cell is where the receivers' reach ends: at least `min_lost` vessels
    /// and `max_share` of those that came in went silent there.
    pub(crate) fn is_edge(&self, min_lost: u16, max_share: f64) -> bool {
        self.lost >= min_lost && self.lost as f64 >= max_share * self.visits.max(1) as f64
    }
}

/// The coverage grid.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Coverage {
    cells: FastMap<(i32, i32), Heard>,
    /// Every receiver heard, in order of first report.
    #[serde(default)]
    receivers: Vec<Receiver>,
    /// Name → index into `receivers` (rebuilt after a restore).
    #[serde(skip)]
    index: FastMap<Box<str>, u16>,
    /// The receiver found last (index into `receivers`): reports come from one receiver in
    /// runs, so its name is compared before it is looked up.
    #[serde(skip)]
    last: usize,
    /// Each receiver's reach, any class and Class B, by index ([`Coverage::learn_reach`]).
    #[serde(default)]
    reach: Vec<[Reach; 2]>,
    /// When the reach was last learnt and the grid last pruned, ms of data time (kept in a
    /// snapshot: a restart learns and prunes when the uninterrupted run would).
    #[serde(default)]
    ticked_ms: [i64; 2],
}

/// Where a receiver hears vessels: the convex hull of the positions heard in the cells it
/// heard vessels in lately (each cell's box of positions). A shore station's reach is a disc
/// cut by the coast, so the hull follows its edge; a way that leaves the hull leaves the
/// reach.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Reach {
    /// Hull vertices, `(lon, lat)`, counter-clockwise; fewer than three: the points heard.
    hull: Vec<(f64, f64)>,
    /// When the receiver's site is configured: the site and the distance within which nine
    /// in ten of the cells it heard lie (the middle of each cell's positions), m: its range,
    /// whatever the direction, a little short of the farthest it hears.
    #[serde(default)]
    disc: Option<(Position, f64)>,
    /// The hull's box, `[min lon, min lat, max lon, max lat]`.
    #[serde(default)]
    bbox: [f64; 4],
}

impl Reach {
    /// How far inside the receiver's range `p` lies, m (negative: outside); `None` when its
    /// site is not known. (The hull says where traffic was heard, not where the reach ends:
    /// a vessel at the edge of the traffic heard may be well inside the reach.)
    fn margin_m(&self, p: Position) -> Option<f64> {
        self.disc
            .map(|(site, range_m)| range_m - site.distance_m(p))
    }

    fn contains(&self, p: Position) -> bool {
        if self
            .disc
            .is_some_and(|(site, range_m)| site.distance_m(p) <= range_m)
        {
            return true;
        }
        let (x, y) = (p.lon, p.lat);
        match self.hull.len() {
            0 => false,
            // Too few positions to draw a reach: within a kilometre of those heard.
            1 | 2 => self.hull.iter().any(|&(lon, lat)| {
                (lon - x).abs() * y.to_radians().cos() <= REACH_MARGIN_DEG
                    && (lat - y).abs() <= REACH_MARGIN_DEG
            }),
            // Inside, or within a kilometre of an edge (positions are that good; distances in
            // degrees of latitude).
            n => {
                // Cheap refusal first: outside the hull's box (with the margin).
                let [x1, y1, x2, y2] = self.bbox;
                let mx = REACH_MARGIN_DEG / y.to_radians().cos().max(0.01);
                if x < x1 - mx
                    || x > x2 + mx
                    || y < y1 - REACH_MARGIN_DEG
                    || y > y2 + REACH_MARGIN_DEG
                {
                    return false;
                }
                let k = y.to_radians().cos();
                (0..n).all(|i| {
                    let (ax, ay) = self.hull[i];
                    let (bx, by) = self.hull[(i + 1) % n];
                    let (ex, ey) = ((bx - ax) * k, by - ay);
                    let cross = ex * (y - ay) - ey * (x - ax) * k;
                    cross >= -REACH_MARGIN_DEG * ex.hypot(ey)
                })
            }
        }
    }
}

impl Reach {
    fn new(points: Vec<(f64, f64)>, disc: Option<(Position, f64)>) -> Reach {
        let hull = hull(points);
        let bbox = hull.iter().fold(
            [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
            |[x1, y1, x2, y2], &(x, y)| [x1.min(x), y1.min(y), x2.max(x), y2.max(y)],
        );
        Reach { hull, disc, bbox }
    }
}

/// The convex hull of `points` (Andrew's monotone chain), counter-clockwise.
fn hull(mut points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    points.dedup();
    if points.len() < 3 {
        return points;
    }
    let cross = |o: (f64, f64), a: (f64, f64), b: (f64, f64)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut h: Vec<(f64, f64)> = Vec::with_capacity(points.len() + 1);
    for pass in 0..2 {
        let start = h.len();
        let it: Box<dyn Iterator<Item = &(f64, f64)>> = if pass == 0 {
            Box::new(points.iter())
        } else {
            Box::new(points.iter().rev())
        };
        for &p in it {
            while h.len() >= start + 2 && cross(h[h.len() - 2], h[h.len() - 1], p) <= 0.0 {
                h.pop();
            }
            h.push(p);
        }
        h.pop();
    }
    h
}

fn key(p: Position) -> (i32, i32) {
    (floor_i32(p.lon / CELL_DEG), floor_i32(p.lat / CELL_DEG))
}

/// What was heard near a place ([`Coverage::near`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Near {
    /// Distinct vessels other than the one asked about (at most two per cell).
    pub(crate) vessels: Vec<u32>,
    /// Receivers that heard there and are still hearing (index + 1), at most three a cell.
    pub(crate) receivers: Vec<u16>,
}

/// What a question about coverage asks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask {
    /// The vessel whose silence is judged (not counted as heard).
    pub(crate) except: u32,
    /// Other vessels count when heard at or after this, ms.
    pub(crate) since_ms: i64,
    /// A cell counts only when one of the receivers that hear it has heard anything at or
    /// after this, ms: a receiver that has gone quiet itself says nothing of a silence.
    pub(crate) alive_since_ms: i64,
    /// Of which class the vessels heard must be to count.
    pub(crate) class: Class,
    /// Along a way, a point outside the learnt reach of every live receiver, or in a cell
    /// where receivers lose vessels (at least this many, and this share of those that came
    /// in), is not covered; `None`: not asked.
    pub(crate) edge: Option<(u16, f64)>,
}

impl Coverage {
    /// `mmsi`, a transmitter of `class`, was heard at `p` at `time_ms` by `receivers`.
    pub(crate) fn heard(
        &mut self,
        p: Position,
        mmsi: u32,
        time_ms: i64,
        class: Class,
        receivers: &[String],
    ) -> u16 {
        if mmsi == 0 {
            // 0 marks an empty slot: not a transmitter to count.
            return 0;
        }
        let mut first = 0;
        let mut ids = [0u16; 3];
        for (i, r) in receivers.iter().take(3).enumerate() {
            ids[i] = self.receiver(r, time_ms);
            if i == 0 {
                first = ids[0];
            }
        }
        let h = self.cells.entry(key(p)).or_default();
        keep(&mut h.recent, mmsi, time_ms);
        match class {
            Class::A => {}
            Class::B => keep(&mut h.recent_b, mmsi, time_ms),
            Class::Sart => keep(&mut h.recent_sart, mmsi, time_ms),
        }
        let (x, y) = (p.lon as f32, p.lat as f32);
        for i in [0, 1].into_iter().filter(|&i| i == 0 || class != Class::A) {
            let b = h.bounds[i].get_or_insert([x, y, x, y]);
            *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
        for id in ids.into_iter().filter(|&id| id != 0) {
            keep(&mut h.stations, id, time_ms);
            if class != Class::A {
                keep(&mut h.stations_b, id, time_ms);
            }
        }
        first
    }

    /// True when `a` and `b` lie in the same cell.
    pub(crate) fn same_cell(a: Position, b: Position) -> bool {
        key(a) == key(b)
    }

    /// A vessel of `class` came into the cell of `p` (or was first heard there).
    pub(crate) fn visit(&mut self, p: Position, class: Class) {
        let h = self.cells.entry(key(p)).or_default();
        count(&mut h.visits, &mut h.lost, class != Class::A);
    }

    /// A vessel of `class` last heard at `p` was silent for more than [`LOST_AFTER_MS`] and
    /// less than a gap before it was heard again.
    pub(crate) fn lost(&mut self, p: Position, class: Class) {
        let h = self.cells.entry(key(p)).or_default();
        count(&mut h.lost, &mut h.visits, class != Class::A);
    }

    /// How the cell of `p` loses vessels of `class` (Class A: Class A vessels only, as
    /// Class B sets are lost nearer the receivers; Class B and SARTs: Class B).
    pub(crate) fn losses(&self, p: Position, class: Class) -> Losses {
        let h = self.cells.get(&key(p)).copied().unwrap_or_default();
        match class {
            Class::A => Losses {
                visits: h.visits[0].saturating_sub(h.visits[1]),
                lost: h.lost[0].saturating_sub(h.lost[1]),
            },
            Class::B | Class::Sart => Losses {
                visits: h.visits[1],
                lost: h.lost[1],
            },
        }
    }

    /// The receiver named `name` (index + 1), heard at `time_ms`.
    fn receiver(&mut self, name: &str, time_ms: i64) -> u16 {
        // Receivers are only ever added, so an index once found stays that receiver's.
        if let Some(r) = self.receivers.get_mut(self.last)
            && *r.name == *name
        {
            r.last_ms = r.last_ms.max(time_ms);
            return self.last as u16 + 1;
        }
        if self.index.len() != self.receivers.len() {
            self.index = (self.receivers.iter().enumerate())
                .map(|(i, r)| (r.name.clone(), i as u16))
                .collect();
        }
        let i = match self.index.get(name) {
            Some(&i) => i as usize,
            None if self.receivers.len() < MAX_RECEIVERS - 1 => {
                self.push(name);
                self.receivers.len() - 1
            }
            None => match self.index.get(MORE_RECEIVERS) {
                Some(&i) => i as usize,
                None => {
                    self.push(MORE_RECEIVERS);
                    self.receivers.len() - 1
                }
            },
        };
        let r = &mut self.receivers[i];
        r.last_ms = r.last_ms.max(time_ms);
        self.last = i;
        i as u16 + 1
    }

    fn push(&mut self, name: &str) {
        self.index.insert(name.into(), self.receivers.len() as u16);
        self.receivers.push(Receiver {
            name: name.into(),
            last_ms: i64::MIN,
        });
    }

    /// A receiver by its id (index + 1).
    pub(crate) fn receiver_named(&self, id: u16) -> Option<&Receiver> {
        self.receivers.get((id as usize).checked_sub(1)?)
    }

    /// The receivers, for reasons: `" by kelibia, lampedusa"`, or nothing when none is known.
    pub(crate) fn by(&self, ids: &[u16]) -> String {
        let mut names: Vec<&str> = ids
            .iter()
            .filter_map(|&id| self.receiver_named(id).map(|r| &*r.name))
            .collect();
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            String::new()
        } else {
            format!(" by {}", names.join(", "))
        }
    }

    /// Every receiver known.
    pub(crate) fn receivers(&self) -> &[Receiver] {
        &self.receivers
    }

    /// What was heard within `radius_m` of `p` ([`Ask`] says what counts).
    pub(crate) fn near(&self, p: Position, radius_m: f64, ask: Ask) -> Near {
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
        let mut found = Near::default();
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
                // Cells heard only by receivers that have gone quiet say nothing now.
                let stations = match ask.class {
                    Class::A => &h.stations,
                    Class::B | Class::Sart => &h.stations_b,
                };
                let alive: Vec<(u16, i64)> = (stations.iter())
                    .filter(|(id, _)| {
                        self.receiver_named(*id)
                            .is_some_and(|r| r.last_ms >= ask.alive_since_ms)
                    })
                    .copied()
                    .collect();
                // Cells heard without receivers named count as heard by any.
                if alive.is_empty() && stations[0].0 != 0 {
                    continue;
                }
                let mut any = false;
                let classes: &[&[(u32, i64); 2]] = match ask.class {
                    Class::A => &[&h.recent],
                    Class::B | Class::Sart => &[&h.recent_b, &h.recent_sart],
                };
                for (mmsi, t) in classes.iter().flat_map(|r| r.iter()) {
                    if *mmsi != ask.except && *mmsi != 0 && *t >= ask.since_ms {
                        any = true;
                        if !found.vessels.contains(mmsi) {
                            found.vessels.push(*mmsi);
                        }
                    }
                }
                if any {
                    // Named: the live receivers that heard this class here since.
                    for (id, _) in alive.into_iter().filter(|(_, t)| *t >= ask.since_ms) {
                        if !found.receivers.contains(&id) {
                            found.receivers.push(id);
                        }
                    }
                }
            }
        }
        found.vessels.sort_unstable();
        found.receivers.sort_unstable();
        found
    }

    /// How much of the way from `from` to `to` lies where receivers hear vessels: the way
    /// sampled every `step_m` (ends included), a point counting as covered when another
    /// vessel was heard within `radius_m` of it as `ask` says.
    pub(crate) fn along(
        &self,
        from: Position,
        to: Position,
        (radius_m, step_m): (f64, f64),
        ask: Ask,
    ) -> PathCoverage {
        let length_m = from.distance_m(to);
        let steps = (length_m / step_m).ceil().max(1.0) as usize;
        let bearing = from.bearing_deg(to);
        let mut receivers = Vec::new();
        let mut covered = 0;
        for i in 0..=steps {
            let p = from.destination(bearing, length_m * i as f64 / steps as f64);
            if ask.edge.is_some_and(|(n, share)| {
                self.losses(p, ask.class).is_edge(n, share)
                    || !self.within_reach(p, ask.alive_since_ms, ask.class)
            }) {
                continue;
            }
            let near = self.near(p, radius_m, ask);
            if !near.vessels.is_empty() {
                covered += 1;
                for id in near.receivers {
                    if !receivers.contains(&id) {
                        receivers.push(id);
                    }
                }
            }
        }
        PathCoverage {
            length_m,
            points: steps + 1,
            covered,
            receivers,
        }
    }

    /// Let data time pass to `now_ms`: every [`REACH_EVERY_MS`] learn the receivers' reach
    /// from the cells heard in the last `memory_ms`; every hour forget the cells not heard
    /// in the last `horizon_ms`.
    pub(crate) fn on_tick(
        &mut self,
        now_ms: i64,
        (memory_ms, horizon_ms): (i64, i64),
        sites: &[crate::config::ReceiverSite],
    ) {
        if now_ms - self.ticked_ms[1] >= 3_600_000 {
            self.ticked_ms[1] = now_ms;
            self.prune(now_ms - horizon_ms);
        }
        if now_ms - self.ticked_ms[0] >= REACH_EVERY_MS {
            self.ticked_ms[0] = now_ms;
            self.learn_reach(now_ms - memory_ms, sites);
        }
    }

    /// Learn each receiver's reach (any class, and Class B) from the cells it heard vessels
    /// in at or after `since_ms`, and, when `sites` names it, the range around its site.
    pub(crate) fn learn_reach(&mut self, since_ms: i64, sites: &[crate::config::ReceiverSite]) {
        let mut points: Vec<[Vec<(f64, f64)>; 2]> = vec![Default::default(); self.receivers.len()];
        // The middle of each cell's box, for the range (corners reach beyond what was heard).
        let mut middles: Vec<[Vec<Position>; 2]> = vec![Default::default(); self.receivers.len()];
        for h in self.cells.values() {
            for (class, stations) in [&h.stations, &h.stations_b].into_iter().enumerate() {
                let Some([x1, y1, x2, y2]) = h.bounds[class] else {
                    continue;
                };
                let corners = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)];
                for &(id, t) in stations {
                    if id != 0
                        && t >= since_ms
                        && let Some(p) = points.get_mut(id as usize - 1)
                    {
                        p[class].extend(corners.iter().map(|&(x, y)| (x as f64, y as f64)));
                        middles[id as usize - 1][class].push(Position {
                            lat: (y1 as f64 + y2 as f64) / 2.0,
                            lon: (x1 as f64 + x2 as f64) / 2.0,
                        });
                    }
                }
            }
        }
        let discs: Vec<[Option<(Position, f64)>; 2]> = (0..points.len())
            .map(|i| {
                let site = sites
                    .iter()
                    .find(|s| self.receivers.get(i).is_some_and(|r| *r.name == *s.name))
                    .and_then(|s| Position::new(s.lat, s.lon));
                let disc = |class: usize| {
                    let site = site?;
                    let mut d: Vec<f64> = (middles[i][class].iter())
                        .map(|&p| site.distance_m(p))
                        .collect();
                    d.sort_by(f64::total_cmp);
                    // Nine in ten: the ⌈0.9 n⌉-th smallest.
                    let range_m = *d.get((d.len() * 9).div_ceil(10).checked_sub(1)?)?;
                    Some((site, range_m))
                };
                [disc(0), disc(1)]
            })
            .collect();
        self.reach = (points.into_iter().zip(discs))
            .map(|([a, b], [da, db])| [Reach::new(a, da), Reach::new(b, db)])
            .collect();
    }

    /// True when `p` lies within the learnt reach of a receiver that has heard anything at
    /// or after `alive_since_ms`, for `class`; true as well when no receiver is known (the
    /// observations named none: the reach cannot be learnt).
    pub(crate) fn within_reach(&self, p: Position, alive_since_ms: i64, class: Class) -> bool {
        if self.reach.is_empty() {
            return true;
        }
        let i = usize::from(class != Class::A);
        (self.reach.iter().zip(&self.receivers))
            .any(|(r, rx)| rx.last_ms >= alive_since_ms && r[i].contains(p))
    }

    /// How far inside the learnt range of a live receiver whose site is known `p` lies, for
    /// `class`, m (the most of any receiver; negative: outside every one); infinite when no
    /// site is known.
    pub(crate) fn reach_margin_m(&self, p: Position, alive_since_ms: i64, class: Class) -> f64 {
        let i = usize::from(class != Class::A);
        let mut best: Option<f64> = None;
        for (r, _) in
            (self.reach.iter().zip(&self.receivers)).filter(|(_, rx)| rx.last_ms >= alive_since_ms)
        {
            let m = match r[i].margin_m(p) {
                Some(m) => m,
                // Within the reach of a receiver whose site is not known: how far inside
                // cannot be told, and no edge is known there.
                None if r[i].contains(p) => f64::INFINITY,
                None => continue,
            };
            best = Some(best.map_or(m, |b: f64| b.max(m)));
        }
        best.unwrap_or(f64::INFINITY)
    }

    /// Forget cells where nothing was heard after `before_ms` (their receivers' reach is
    /// no longer known): the grid stays as large as the area heard lately.
    pub(crate) fn prune(&mut self, before_ms: i64) {
        self.cells.retain(|_, h| h.latest_ms() >= before_ms);
    }

    /// Cells known.
    pub(crate) fn len(&self) -> usize {
        self.cells.len()
    }

    /// Bytes held, roughly.
    pub(crate) fn bytes(&self) -> usize {
        self.cells.capacity() * (std::mem::size_of::<((i32, i32), Heard)>() + 1)
            + self.receivers.capacity() * std::mem::size_of::<Receiver>()
            + self
                .receivers
                .iter()
                .map(|r| 2 * r.name.len())
                .sum::<usize>()
    }
}

/// How much of a way lies in coverage ([`Coverage::along`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PathCoverage {
    /// The way's length, m.
    pub(crate) length_m: f64,
    /// Points sampled.
    pub(crate) points: usize,
    /// Of which covered.
    pub(crate) covered: usize,
    /// The receivers that hear the covered points (index + 1).
    pub(crate) receivers: Vec<u16>,
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

    fn ask(except: u32, since_ms: i64, class: Class) -> Ask {
        Ask {
            except,
            since_ms,
            alive_since_ms: i64::MIN,
            class,
            edge: None,
        }
    }

    #[test]
    fn keeps_the_two_latest_distinct_vessels_per_cell_by_class() {
        let mut c = Coverage::default();
        let p = Position::new(35.05, 12.05).unwrap();
        let rx = ["lampedusa".to_string()];
        c.heard(p, 1, 10, Class::A, &rx);
        c.heard(p, 2, 20, Class::A, &rx);
        c.heard(p, 1, 30, Class::A, &rx);
        c.heard(p, 3, 25, Class::B, &rx);
        let v = |c: &Coverage, a: Ask| c.near(p, 1000.0, a).vessels;
        assert_eq!(v(&c, ask(0, 0, Class::A)), vec![1, 3]);
        assert_eq!(v(&c, ask(1, 0, Class::A)), vec![3]);
        assert_eq!(v(&c, ask(0, 26, Class::A)), vec![1]);
        // Where only Class A is heard, a Class B vessel may not be.
        assert_eq!(v(&c, ask(0, 0, Class::B)), vec![3]);
        assert!(v(&c, ask(3, 0, Class::B)).is_empty());
        // A SART is judged where Class B or SARTs are heard; a SART heard counts for both.
        assert_eq!(v(&c, ask(0, 0, Class::Sart)), vec![3]);
        c.heard(p, 970_000_001, 40, Class::Sart, &rx);
        assert_eq!(v(&c, ask(3, 0, Class::B)), vec![970_000_001]);
        assert!(
            c.near(
                Position::new(36.0, 12.0).unwrap(),
                30_000.0,
                ask(0, 0, Class::A)
            )
            .vessels
            .is_empty()
        );
    }

    #[test]
    fn keep_orders_newest_first_and_ignores_older_news() {
        let mut r = [(0u32, 0i64); 3];
        keep(&mut r, 1, 10);
        keep(&mut r, 2, 20);
        keep(&mut r, 3, 30);
        assert_eq!(r, [(3, 30), (2, 20), (1, 10)]);
        keep(&mut r, 1, 40);
        assert_eq!(r, [(1, 40), (3, 30), (2, 20)]);
        // Older than all three kept: nothing changes.
        keep(&mut r, 4, 5);
        assert_eq!(r, [(1, 40), (3, 30), (2, 20)]);
        // An older report of one kept does not age it.
        keep(&mut r, 3, 1);
        assert_eq!(r, [(1, 40), (3, 30), (2, 20)]);
        keep(&mut r, 4, 25);
        assert_eq!(r, [(1, 40), (3, 30), (4, 25)]);
    }

    #[test]
    fn a_cell_whose_receivers_went_quiet_says_nothing() {
        let mut c = Coverage::default();
        let p = Position::new(35.05, 12.05).unwrap();
        let far = Position::new(37.0, 11.0).unwrap();
        c.heard(p, 1, 100, Class::A, &["lampedusa".into()]);
        c.heard(p, 2, 110, Class::A, &["lampedusa".into()]);
        c.heard(far, 3, 500, Class::A, &["kelibia".into()]);
        let mut a = ask(9, 0, Class::A);
        assert_eq!(c.near(p, 1000.0, a).vessels, vec![1, 2]);
        assert_eq!(c.by(&c.near(p, 1000.0, a).receivers), " by lampedusa");
        // Lampedusa has heard nothing since 110; kelibia is up but does not reach here.
        a.alive_since_ms = 200;
        assert!(c.near(p, 1000.0, a).vessels.is_empty());
        // Lampedusa hears again (anywhere): its cells count again.
        c.heard(far, 4, 600, Class::A, &["lampedusa".into()]);
        assert_eq!(c.near(p, 1000.0, a).vessels, vec![1, 2]);
        let way = c.along(p, far, (15_000.0, 7_500.0), a);
        assert!(way.covered > 2 && way.covered < way.points / 2, "{way:?}");
        assert_eq!(c.by(&way.receivers), " by kelibia, lampedusa");
    }

    #[test]
    fn the_edge_of_reach_is_where_vessels_are_lost() {
        let mut c = Coverage::default();
        let inner = Position::new(35.05, 12.05).unwrap();
        let edge = Position::new(35.25, 12.05).unwrap();
        for _ in 0..20 {
            c.visit(inner, Class::A);
            c.visit(edge, Class::B);
        }
        for _ in 0..6 {
            c.lost(edge, Class::B);
        }
        c.lost(inner, Class::A);
        let (n, share) = (2, 0.2);
        assert!(!c.losses(inner, Class::A).is_edge(n, share));
        assert!(c.losses(edge, Class::B).is_edge(n, share));
        // Class B sets are lost nearer the receivers: their losses say nothing of Class A.
        assert!(!c.losses(edge, Class::A).is_edge(n, share));
        c.lost(inner, Class::A);
        assert!(!c.losses(inner, Class::A).is_edge(n, share), "2 of 20");
        assert!(!c.losses(inner, Class::B).is_edge(n, share));
        // A way through a cell that loses Class A vessels is not covered there.
        for _ in 0..20 {
            c.visit(edge, Class::A);
        }
        for _ in 0..6 {
            c.lost(edge, Class::A);
        }
        assert!(c.losses(edge, Class::A).is_edge(n, share));
        let heard = |c: &mut Coverage, p| c.heard(p, 7, 100, Class::A, &[]);
        heard(&mut c, inner);
        heard(&mut c, edge);
        let mut a = ask(9, 0, Class::A);
        let plain = c.along(inner, edge, (15_000.0, 7_500.0), a);
        a.edge = Some((n, share));
        let judged = c.along(inner, edge, (15_000.0, 7_500.0), a);
        assert!(judged.covered < plain.covered, "{plain:?} {judged:?}");
    }

    #[test]
    fn a_receivers_reach_is_learnt_from_where_it_hears_and_its_site() {
        let mut c = Coverage::default();
        let rx = ["shore".to_string()];
        // Vessels heard on a ring of 30 km around the site, Class B only within 10 km.
        let site = Position::new(35.5, 12.6).unwrap();
        for i in 0..36 {
            let bearing = i as f64 * 10.0;
            c.heard(
                site.destination(bearing, 30_000.0),
                1 + i,
                1_000,
                Class::A,
                &rx,
            );
            c.heard(
                site.destination(bearing, 10_000.0),
                100 + i,
                1_000,
                Class::B,
                &rx,
            );
        }
        c.learn_reach(0, &[]);
        let at = |km: f64| site.destination(45.0, km * 1000.0);
        assert!(c.within_reach(at(25.0), 0, Class::A));
        assert!(
            !c.within_reach(at(40.0), 0, Class::A),
            "beyond anything heard"
        );
        assert!(
            !c.within_reach(at(20.0), 0, Class::B),
            "beyond any Class B heard"
        );
        // A receiver that has heard nothing since: its reach says nothing.
        assert!(!c.within_reach(at(25.0), 2_000, Class::A));
        // Without its site, how far inside its range a place lies is not known.
        assert_eq!(c.reach_margin_m(at(10.0), 0, Class::A), f64::INFINITY);
        // Its site known, its range holds in every direction: Class B heard only to the
        // east reaches as far to the west.
        let mut c = Coverage::default();
        for i in 0..10 {
            let p = site.destination(80.0 + i as f64, 12_000.0);
            c.heard(p, 200 + i, 1_000, Class::B, &rx);
        }
        c.learn_reach(0, &[]);
        assert!(!c.within_reach(site.destination(270.0, 8_000.0), 0, Class::B));
        let sites = [crate::config::ReceiverSite {
            name: "shore".into(),
            lat: site.lat,
            lon: site.lon,
        }];
        c.learn_reach(0, &sites);
        assert!(c.within_reach(site.destination(270.0, 8_000.0), 0, Class::B));
        assert!(!c.within_reach(site.destination(270.0, 14_000.0), 0, Class::B));
        // How far inside: the range (nine in ten of the cells heard lie within it, about
        // 12 km) less the distance.
        let m = c.reach_margin_m(site.destination(200.0, 4_000.0), 0, Class::B);
        assert!((7_000.0..=9_000.0).contains(&m), "{m}");
        assert!(c.reach_margin_m(site.destination(200.0, 14_000.0), 0, Class::B) < 0.0);
        // Without any receiver named, the reach cannot be learnt and does not judge.
        let mut c = Coverage::default();
        c.heard(site, 1, 1_000, Class::A, &[]);
        c.learn_reach(0, &[]);
        assert!(c.within_reach(at(400.0), 0, Class::A));
    }

    #[test]
    fn the_hull_is_convex_and_counter_clockwise() {
        let pts = vec![
            (0.0, 0.0),
            (2.0, 0.0),
            (1.0, 1.0),
            (2.0, 2.0),
            (0.0, 2.0),
            (1.0, 0.0),
        ];
        assert_eq!(
            hull(pts),
            vec![(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]
        );
        assert_eq!(hull(vec![(1.0, 1.0), (1.0, 1.0)]), vec![(1.0, 1.0)]);
    }

    #[test]
    fn receivers_are_bounded_and_cells_pruned() {
        let mut c = Coverage::default();
        let p = Position::new(35.05, 12.05).unwrap();
        for i in 0..MAX_RECEIVERS + 50 {
            c.heard(p, 1, i as i64, Class::A, &[format!("rx{i}")]);
        }
        assert_eq!(c.receivers().len(), MAX_RECEIVERS);
        assert_eq!(&*c.receivers()[MAX_RECEIVERS - 1].name, MORE_RECEIVERS);
        c.heard(
            Position::new(36.05, 12.05).unwrap(),
            2,
            10_000,
            Class::A,
            &["rx0".into()],
        );
        assert_eq!(c.len(), 2);
        c.prune(5_000);
        assert_eq!(c.len(), 1);
        // Restored from a snapshot, the index is rebuilt and names keep their slots.
        let bytes = postcard::to_stdvec(&c).unwrap();
        let mut back: Coverage = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.receiver("rx7", 1), 8);
        assert_eq!(back.receivers().len(), MAX_RECEIVERS);
    }
}
