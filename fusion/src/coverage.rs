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
//! Memory is bounded: cells nobody has been heard in for [`Coverage::prune`]'s horizon are
//! dropped, and receivers beyond [`MAX_RECEIVERS`] share one slot.

use crate::Position;
use crate::hash::FastMap;

const CELL_DEG: f64 = 0.1;
/// Receivers told apart; more share the last slot (named [`MORE_RECEIVERS`]).
pub(crate) const MAX_RECEIVERS: usize = 4096;
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
    /// Position reports heard here (saturating).
    #[serde(default)]
    reports: u32,
    /// Vessels that came into this cell (or were first heard in it), of any class and of
    /// Class B; halved with `lost` as they grow.
    #[serde(default)]
    visits: [u16; 2],
    /// Of which went silent here (no report for [`LOST_AFTER_MS`]): the edge of the
    /// receivers' reach is where vessels are lost.
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
    /// Position reports it has given (saturating).
    pub(crate) reports: u64,
}

/// A vessel silent this long after its last report here was lost here, ms (longer than
/// any reporting interval: Class A and B report at least every 3 minutes).
pub(crate) const LOST_AFTER_MS: i64 = 10 * 60_000;

/// Count `n` in `c[i]` and the class B slot when `class_b`, halving the pair `(c, o)` as it
/// nears the counters' limit (older traffic weighs less).
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
    /// Of which went silent there (the vessel judged left out).
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
}

fn key(p: Position) -> (i32, i32) {
    (
        (p.lon / CELL_DEG).floor() as i32,
        (p.lat / CELL_DEG).floor() as i32,
    )
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
    /// Along a way, a point in a cell where receivers lose vessels (at least this many, and
    /// this share of those that came in) is not covered; `None`: not asked.
    pub(crate) edge: Option<(u16, f64)>,
    /// Where the judged vessel's own silence was counted as a loss, to leave it out.
    pub(crate) own_lost_at: Option<Position>,
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
        for id in ids.into_iter().filter(|&id| id != 0) {
            keep(&mut h.stations, id, time_ms);
        }
        h.reports = h.reports.saturating_add(1);
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

    /// A vessel of `class` last heard at `p` has been silent for [`LOST_AFTER_MS`].
    pub(crate) fn lost(&mut self, p: Position, class: Class) {
        let h = self.cells.entry(key(p)).or_default();
        count(&mut h.lost, &mut h.visits, class != Class::A);
    }

    /// How the cell of `p` loses vessels of `class` (Class A: any vessel; Class B and SARTs:
    /// Class B), leaving out the judged vessel's own loss when `own_lost` counted it there.
    pub(crate) fn losses(&self, p: Position, class: Class, own_lost: bool) -> Losses {
        let i = usize::from(class != Class::A);
        let h = self.cells.get(&key(p)).copied().unwrap_or_default();
        Losses {
            visits: h.visits[i].saturating_sub(u16::from(own_lost)),
            lost: h.lost[i].saturating_sub(u16::from(own_lost)),
        }
    }

    /// The receiver named `name` (index + 1), heard at `time_ms`.
    fn receiver(&mut self, name: &str, time_ms: i64) -> u16 {
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
        r.reports = r.reports.saturating_add(1);
        i as u16 + 1
    }

    fn push(&mut self, name: &str) {
        self.index.insert(name.into(), self.receivers.len() as u16);
        self.receivers.push(Receiver {
            name: name.into(),
            last_ms: i64::MIN,
            reports: 0,
        });
    }

    /// A receiver by its id (index + 1).
    pub(crate) fn receiver_named(&self, id: u16) -> Option<&Receiver> {
        self.receivers.get((id as usize).checked_sub(1)?)
    }

    /// The names of receivers, for reasons: `"lampedusa, kelibia"`.
    pub(crate) fn names(&self, ids: &[u16]) -> String {
        let mut names: Vec<&str> = ids
            .iter()
            .filter_map(|&id| self.receiver_named(id).map(|r| &*r.name))
            .collect();
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            "no known receiver".into()
        } else {
            names.join(", ")
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
                let alive: Vec<u16> = (h.stations.iter())
                    .filter(|(id, _)| {
                        self.receiver_named(*id)
                            .is_some_and(|r| r.last_ms >= ask.alive_since_ms)
                    })
                    .map(|(id, _)| *id)
                    .collect();
                // Cells learnt before receivers were told apart count as heard by any.
                if alive.is_empty() && h.stations[0].0 != 0 {
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
                    for id in alive {
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
            let own = ask.own_lost_at.is_some_and(|q| key(q) == key(p));
            if ask
                .edge
                .is_some_and(|(n, share)| self.losses(p, ask.class, own).is_edge(n, share))
            {
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
            own_lost_at: None,
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
        assert_eq!(c.names(&c.near(p, 1000.0, a).receivers), "lampedusa");
        // Lampedusa has heard nothing since 110; kelibia is up but does not reach here.
        a.alive_since_ms = 200;
        assert!(c.near(p, 1000.0, a).vessels.is_empty());
        // Lampedusa hears again (anywhere): its cells count again.
        c.heard(far, 4, 600, Class::A, &["lampedusa".into()]);
        assert_eq!(c.near(p, 1000.0, a).vessels, vec![1, 2]);
        let way = c.along(p, far, (15_000.0, 7_500.0), a);
        assert!(way.covered > 2 && way.covered < way.points / 2, "{way:?}");
        assert_eq!(c.names(&way.receivers), "kelibia, lampedusa");
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
        assert!(!c.losses(inner, Class::A, false).is_edge(n, share));
        assert!(c.losses(edge, Class::A, false).is_edge(n, share));
        assert!(c.losses(edge, Class::B, false).is_edge(n, share));
        // Class B losses count for Class B; a Class A vessel is judged on any.
        c.lost(inner, Class::A);
        assert!(
            !c.losses(inner, Class::A, false).is_edge(n, share),
            "2 of 20"
        );
        assert!(!c.losses(inner, Class::B, false).is_edge(n, share));
        // The judged vessel's own loss is left out.
        c.lost(Position::new(36.05, 12.05).unwrap(), Class::A);
        c.lost(Position::new(36.05, 12.05).unwrap(), Class::A);
        assert!(
            c.losses(Position::new(36.05, 12.05).unwrap(), Class::A, false)
                .is_edge(n, share)
        );
        assert!(
            !c.losses(Position::new(36.05, 12.05).unwrap(), Class::A, true)
                .is_edge(n, share)
        );
        // A way through the edge cell is not covered there.
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
