//! Tracks: the reports of one MMSI, split where no single vessel could have made them.
//!
//! A report continues the live segment of its MMSI that it fits best: the one it is
//! closest to among those it could be reached from at no more than
//! [`TrackConfig::max_speed_kn`](crate::config::TrackConfig) (or the vessel's own reported
//! speed, for fast craft) within [`TrackConfig::max_gap_h`](crate::config::TrackConfig).
//! A report that fits none starts a new segment, so two ships sharing an MMSI become two
//! tracks.

mod vessel;

pub(crate) use vessel::Loiter;
pub use vessel::{StaticChange, StaticInfo, Vessel};

use crate::Position;
use crate::geodesy::speed_kn;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One track: an MMSI and the number of its segment, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TrackId {
    /// The MMSI.
    pub mmsi: u32,
    /// Which segment of it, from 1.
    pub segment: u16,
}

impl std::fmt::Display for TrackId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.mmsi, self.segment)
    }
}

/// One position report, as a track keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// When, ms since the Unix epoch (UTC).
    pub time_ms: i64,
    /// Where.
    pub position: Position,
    /// Speed over ground, knots (NaN when not available).
    pub sog_kn: f32,
    /// Course over ground, degrees true (NaN when not available).
    pub cog_deg: f32,
    /// AIS navigational status (15 when not given).
    pub nav_status: u8,
}

impl Fix {
    /// The report's time.
    pub fn time(&self) -> Timestamp {
        Timestamp::from_millisecond(self.time_ms).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// Reported speed, if any.
    pub fn sog(&self) -> Option<f64> {
        (!self.sog_kn.is_nan()).then_some(self.sog_kn as f64)
    }

    /// Reported course, if any.
    pub fn cog(&self) -> Option<f64> {
        (!self.cog_deg.is_nan()).then_some(self.cog_deg as f64)
    }

    /// Where the vessel would be at `time_ms` keeping its reported course and speed
    /// (where it was, when it reported neither or the time is before the fix).
    pub fn dead_reckon(&self, time_ms: i64) -> Position {
        match (self.sog(), self.cog()) {
            (Some(sog), Some(cog)) if time_ms > self.time_ms && sog > 0.0 => {
                let hours = (time_ms - self.time_ms) as f64 / 3_600_000.0;
                self.position
                    .destination(cog, sog * hours * crate::geodesy::METERS_PER_NM)
            }
            _ => self.position,
        }
    }
}

/// A stretch of reports one vessel could have made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Its number within the MMSI, from 1.
    pub number: u16,
    /// Time of its first report, ms.
    pub first_ms: i64,
    /// Its latest report.
    pub last: Fix,
    /// Reports it holds.
    pub reports: u32,
}

/// Where a new report went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Placement {
    /// It continued segment `index`, whose previous report was `prev`.
    Continued { index: usize, prev: Fix },
    /// It fitted no live segment and started segment `index`. `from` is the MMSI's
    /// latest report before it, with the distance (m) and implied speed (kn) to it.
    Started {
        index: usize,
        from: Option<(Fix, f64, f64)>,
    },
}

/// Most live segments kept per MMSI; beyond, the one silent longest is dropped.
pub(crate) const MAX_SEGMENTS: usize = 4;

/// The live segments of one MMSI. Nearly every vessel has one, kept inline in its
/// [`Vessel`](vessel::Vessel): reading its latest report is then no second load from
/// elsewhere in memory after the vessel's own (what fusion waits on most). Saved as a
/// sequence, like a `Vec`.
pub type Segments = smallvec::SmallVec<[Segment; 1]>;

/// Place `fix` among `segments` (live segments of one MMSI). `next_number` numbers a new
/// segment. Returns where it went; the segment is updated.
pub(crate) fn place(
    segments: &mut Segments,
    next_number: &mut u16,
    fix: Fix,
    max_speed_kn: f64,
    max_gap_ms: i64,
    noise_m: f64,
) -> Placement {
    let mut best: Option<(usize, f64)> = None;
    let mut latest: Option<(usize, i64)> = None;
    for (i, s) in segments.iter().enumerate() {
        if latest.is_none_or(|(_, t)| s.last.time_ms > t) {
            latest = Some((i, s.last.time_ms));
        }
        let dt_ms = (fix.time_ms - s.last.time_ms).abs();
        if dt_ms > max_gap_ms {
            continue;
        }
        // Fast craft: allow what they themselves report, with a margin.
        let reported = s.last.sog().unwrap_or(0.0).max(fix.sog().unwrap_or(0.0));
        let limit = max_speed_kn.max(reported * 1.25);
        // Reports a few seconds apart carry timing noise: judge over 10 s at least.
        let seconds = (dt_ms.max(10_000)) as f64 / 1000.0;
        let fits = |d: f64| d <= noise_m || speed_kn(d, seconds) <= limit;
        // One segment (most vessels): whether it fits is all there is to know, and a bound
        // on the distance that fits says so without the distance's cosine (both tests
        // only grow with the distance).
        if segments.len() == 1
            && s.last
                .position
                .fast_distance_bound_m(fix.position)
                .is_some_and(fits)
        {
            best = Some((i, 0.0));
            continue;
        }
        let d = s.last.position.fast_distance_m(fix.position);
        if fits(d) && best.is_none_or(|(_, bd)| d < bd) {
            best = Some((i, d));
        }
    }
    if let Some((index, _)) = best {
        let s = &mut segments[index];
        let prev = s.last;
        if fix.time_ms >= s.last.time_ms {
            s.last = fix;
        }
        s.reports += 1;
        return Placement::Continued { index, prev };
    }
    let from = latest.map(|(i, _)| {
        let prev = segments[i].last;
        let d = prev.position.distance_m(fix.position);
        let v = speed_kn(d, ((fix.time_ms - prev.time_ms).abs()) as f64 / 1000.0);
        (prev, d, v)
    });
    if segments.len() >= MAX_SEGMENTS {
        let oldest = segments
            .iter()
            .enumerate()
            .min_by_key(|(_, s)| s.last.time_ms)
            .map(|(i, _)| i)
            .unwrap_or(0);
        segments.remove(oldest);
    }
    *next_number = next_number.saturating_add(1);
    segments.push(Segment {
        number: *next_number,
        first_ms: fix.time_ms,
        last: fix,
        reports: 1,
    });
    Placement::Started {
        index: segments.len() - 1,
        from,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A vessel's one segment is continued exactly when the distance from its last
        /// report is within the noise or covered at no more than the speed allowed, at any
        /// distance, time apart and speed reported (the test the cosine-free bound must
        /// never answer differently).
        #[test]
        fn one_segment_is_continued_exactly_when_the_step_fits(
            lat in -80.0f64..80.0, lon in -179.0f64..179.0,
            dlat in -0.05f64..0.05, dlon in -0.05f64..0.05,
            dt_s in 0i64..3_600, sog_kn in proptest::prop_oneof![0.0f32..60.0, proptest::strategy::Just(f32::NAN)],
            noise_m in proptest::prop_oneof![proptest::strategy::Just(500.0f64), 0.0f64..3_000.0],
        ) {
            let at = |t_ms: i64, lat: f64, lon: f64| Fix {
                time_ms: t_ms,
                position: Position::new(lat, lon).unwrap(),
                sog_kn,
                cog_deg: 0.0,
                nav_status: 0,
            };
            let (first, second) = (at(0, lat, lon), at(dt_s * 1000, lat + dlat, lon + dlon));
            let (mut segs, mut n) = (Segments::new(), 0);
            place(&mut segs, &mut n, first, 30.0, 24 * 3_600_000, noise_m);
            let d = first.position.fast_distance_m(second.position);
            let limit = 30.0f64.max(second.sog().unwrap_or(0.0) * 1.25);
            let fits = d <= noise_m || speed_kn(d, (dt_s * 1000).max(10_000) as f64 / 1000.0) <= limit;
            let continued = matches!(
                place(&mut segs, &mut n, second, 30.0, 24 * 3_600_000, noise_m),
                Placement::Continued { .. }
            );
            proptest::prop_assert_eq!(continued, fits, "{} m in {} s", d, dt_s);
        }
    }

    fn fix(t_min: i64, lat: f64, lon: f64) -> Fix {
        Fix {
            time_ms: t_min * 60_000,
            position: Position::new(lat, lon).unwrap(),
            sog_kn: 10.0,
            cog_deg: 0.0,
            nav_status: 0,
        }
    }

    /// Snapshots saved when the segments were a `Vec` load as they are: the same bytes.
    #[test]
    fn segments_are_saved_as_a_vec_was() {
        for n in [0, 1, 3] {
            let v: Vec<Segment> = (0..n)
                .map(|i| Segment {
                    number: i as u16 + 1,
                    first_ms: i,
                    last: fix(i, 35.0, 12.0),
                    reports: 7,
                })
                .collect();
            let s: Segments = v.iter().cloned().collect();
            let bytes = postcard::to_stdvec(&v).unwrap();
            assert_eq!(postcard::to_stdvec(&s).unwrap(), bytes, "{n} segments");
            let back = postcard::from_bytes::<Segments>(&bytes).unwrap();
            assert_eq!(back, s);
            assert_eq!(back.spilled(), n > 1, "{n} segments");
        }
    }

    #[test]
    fn two_ships_sharing_an_mmsi_become_two_segments() {
        let mut segs = Segments::new();
        let mut n = 0;
        let place =
            |segs: &mut Segments, n: &mut u16, f| place(segs, n, f, 30.0, 24 * 3_600_000, 500.0);
        assert!(matches!(
            place(&mut segs, &mut n, fix(0, 35.0, 12.0)),
            Placement::Started {
                index: 0,
                from: None
            }
        ));
        // 100 km away one minute later: a second ship.
        let p = place(&mut segs, &mut n, fix(1, 35.9, 12.0));
        let Placement::Started {
            index: 1,
            from: Some((_, d, v)),
        } = p
        else {
            panic!("{p:?}")
        };
        assert!(d > 99_000.0 && v > 3000.0);
        // Each continues its own.
        assert!(matches!(
            place(&mut segs, &mut n, fix(2, 35.002, 12.0)),
            Placement::Continued { index: 0, .. }
        ));
        assert!(matches!(
            place(&mut segs, &mut n, fix(3, 35.902, 12.0)),
            Placement::Continued { index: 1, .. }
        ));
        assert_eq!(segs[0].reports, 2);
        assert_eq!(segs[1].number, 2);
        // A day and more later nothing continues.
        assert!(matches!(
            place(&mut segs, &mut n, fix(60 * 25, 35.002, 12.0)),
            Placement::Started { index: 2, .. }
        ));
    }

    #[test]
    fn dead_reckoning_follows_course_and_speed() {
        let f = fix(0, 35.0, 12.0);
        let p = f.dead_reckon(60 * 60_000);
        assert!((f.position.distance_m(p) - 18_520.0).abs() < 1.0);
        assert!(p.lat > 35.0);
    }
}
