//! Fusion's clock: how the engine's time moves with the data (pure rules, no clock read
//! here). The service, the console's picture, `tidewatch analyze`, the drills and the tests
//! all move the engine's time by these rules, so they see the same alerts.

use ingest::model::Observation;
use jiff::{SignedDuration, Timestamp};

use crate::{FusionEngine, FusionEvent};

/// The default tick of the data's time (the service's `data_tick`).
pub const DATA_TICK: SignedDuration = SignedDuration::from_secs(60);

/// The service's clock on the data alone (as with `carry_clock` off): the clock an
/// observation is taken at, and a tick every `every` of the data's time. What the service
/// does between observations; tools and tests that drive an engine directly use it to get
/// the service's alerts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataClock {
    /// The clock.
    pub clock: Option<Timestamp>,
    /// The clock at the latest tick.
    pub last_tick: Option<Timestamp>,
}

impl DataClock {
    /// Is a tick due at `now`, the last one at `last_tick`?
    pub fn tick_due(last_tick: Option<Timestamp>, now: Timestamp, every: SignedDuration) -> bool {
        last_tick.is_none_or(|t| now - every >= t)
    }

    /// Let `engine` take `obs` at the clock it moves to (`obs.received_at` standing for the
    /// wall clock), then tick if one is due (every minute of data time, as the service).
    pub fn take(
        &mut self,
        engine: &mut FusionEngine,
        obs: &Observation,
        out: &mut Vec<FusionEvent>,
    ) {
        let (now, _) = advance_clock(self.clock, obs.time, obs.received_at);
        self.clock = Some(now);
        engine.observe(obs, now, out);
        if Self::tick_due(self.last_tick, now, DATA_TICK) {
            out.extend(engine.tick(now));
            self.last_tick = Some(now);
        }
    }
}

/// How far ahead of the wall clock an observation may move the clock: more is a broken
/// clock, not news.
const MAX_AHEAD: SignedDuration = SignedDuration::from_hours(1);

/// The data clock after an observation made at `obs_time`: it moves forward to it
/// (returning true), unless that is more than [`MAX_AHEAD`] past the wall clock, in which
/// case the observation is taken at the current clock. Measured from the wall clock alone:
/// measured from the clock too, a feed stepping its times an hour ahead at a time would
/// carry the clock off without bound (an accelerated demo replays the past and reaches the
/// present, never beyond).
pub fn advance_clock(
    clock: Option<Timestamp>,
    obs_time: Timestamp,
    wall: Timestamp,
) -> (Timestamp, bool) {
    match clock {
        Some(c) if obs_time <= c => (c, false),
        _ if obs_time > wall + MAX_AHEAD => (clock.unwrap_or(wall), false),
        _ => (obs_time, true),
    }
}

/// Ticks at every whole `every` after a start: what a replay does between observations, so
/// that silences are noticed when nothing else arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticks {
    next: Timestamp,
    every: SignedDuration,
}

impl Ticks {
    /// Ticks every `every`, the first at `start + every`.
    pub fn new(start: Timestamp, every: SignedDuration) -> Ticks {
        Ticks {
            next: start + every,
            every,
        }
    }

    /// Let `engine` tick at every tick up to `t` (inclusive).
    pub fn until(&mut self, t: Timestamp, engine: &mut FusionEngine, out: &mut Vec<FusionEvent>) {
        while self.next <= t {
            out.extend(engine.tick(self.next));
            self.next += self.every;
        }
    }
}

/// A tick at the first observation of each new minute of the data's time, taken at that
/// observation's time: how `tidewatch analyze` replays a log (its output a function of the
/// log alone, line for line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MinuteTicks {
    next_ms: Option<i64>,
}

impl MinuteTicks {
    /// The clock is at `now`: let `engine` tick if a new minute began since the last tick
    /// (the first call only sets the minute).
    pub fn at(&mut self, now: Timestamp, engine: &mut FusionEngine, out: &mut Vec<FusionEvent>) {
        const MINUTE_MS: i64 = 60_000;
        let ms = now.as_millisecond();
        let next_minute = ms - ms.rem_euclid(MINUTE_MS) + MINUTE_MS;
        match self.next_ms {
            Some(next) if ms < next => {}
            Some(_) => {
                out.extend(engine.tick(now));
                self.next_ms = Some(next_minute);
            }
            None => self.next_ms = Some(next_minute),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_follows_the_data_but_not_a_broken_senders_clock() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let wall = t("2026-11-22T02:00:00Z");
        // First observation: the clock takes its time.
        assert_eq!(
            advance_clock(None, t("2026-11-22T01:59:00Z"), wall),
            (t("2026-11-22T01:59:00Z"), true)
        );
        // Older data does not move it back.
        let c = Some(t("2026-11-22T02:00:00Z"));
        assert_eq!(
            advance_clock(c, t("2026-11-22T01:00:00Z"), wall),
            (t("2026-11-22T02:00:00Z"), false)
        );
        // Up to an hour ahead of the wall clock, not beyond.
        assert_eq!(
            advance_clock(c, t("2026-11-22T02:50:00Z"), wall),
            (t("2026-11-22T02:50:00Z"), true)
        );
        let c = Some(t("2026-11-22T02:50:00Z"));
        assert_eq!(
            advance_clock(c, t("2026-11-22T03:10:00Z"), wall),
            (t("2026-11-22T02:50:00Z"), false)
        );
        // Review 23: a feed stepping 59 minutes ahead each time does not ratchet it off.
        let mut clock = Some(wall);
        for _ in 0..10 {
            let next = clock.unwrap() + SignedDuration::from_mins(59);
            clock = Some(advance_clock(clock, next, wall).0);
        }
        assert!(clock.unwrap() <= wall + MAX_AHEAD, "{clock:?}");
        // A year 2100 tag block does not.
        assert_eq!(
            advance_clock(c, t("2100-01-01T00:00:00Z"), wall),
            (t("2026-11-22T02:50:00Z"), false)
        );
        assert_eq!(
            advance_clock(None, t("2100-01-01T00:00:00Z"), wall),
            (wall, false)
        );
    }
}
