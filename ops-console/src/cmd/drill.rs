//! A drill: a scenario run straight through ingest and fusion in one thread, on the
//! scenario's clock, with the patrol units answering the taskings fusion issues.
//!
//! The same code paths as the live system (ingest's [`Pipeline`], fusion's
//! [`FusionEngine`] with its clock rule), without a broker: what `tidewatch simulate
//! --fusion` prints and what the scenario tests assert.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use fusion::{Alert, AlertKind, AlertState, FusionConfig, FusionEngine, FusionEvent, Geodata};
use ingest::pipeline::{Event, Pipeline};
use ingest::wire::Tasking;
use jiff::{SignedDuration, Timestamp};
use simulators::geodesy::Position;
use simulators::scenario::{Emission, Scenario};
use simulators::spec::ExpectSpec;

/// The engine ticks this often, in scenario time (as `tidewatch analyze`).
const TICK: SignedDuration = SignedDuration::from_mins(1);
/// Where every vessel truly was, kept this often.
const TRUTH_EVERY: SignedDuration = SignedDuration::from_mins(1);

/// A scenario wired to ingest and fusion.
pub struct Drill {
    /// The scenario.
    pub scenario: Scenario,
    engine: FusionEngine,
    pipeline: Pipeline,
    clock: Option<Timestamp>,
    ticks: fusion::clock::Ticks,
    next_truth: Timestamp,
    /// Every alert revision, in order.
    pub revisions: Vec<Alert>,
    /// Every tasking issued, in order, and whether the unit took it.
    pub taskings: Vec<(Tasking, bool)>,
    /// Lines and reports ingest refused, by reason (a scenario should have none).
    pub rejected: BTreeMap<String, u64>,
    /// Emissions sent.
    pub emissions: u64,
    /// Where each vessel was, every minute: time → (vessel id → position).
    pub truth: BTreeMap<Timestamp, Vec<(String, Position)>>,
}

impl Drill {
    /// A drill of `scenario` with fusion configured by `cfg`, the scenario's zones and, unless
    /// `cfg` names them, its receivers' sites.
    pub fn new(scenario: Scenario, mut cfg: FusionConfig) -> Result<Drill> {
        // The centre knows where its receivers stand.
        if cfg.ais_gap.receivers.is_empty() {
            cfg.ais_gap.receivers = receiver_sites(&scenario);
        }
        let mut geo = Geodata::load(&cfg, None).context("fusion reference data")?;
        if let Some(z) = scenario.zones_geojson() {
            geo.zones = fusion::geodata::Zones::from_geojson(&scenario.name, z.as_bytes())
                .context("the scenario's zones")?;
        }
        let start = scenario.now;
        Ok(Drill {
            engine: FusionEngine::new(cfg, geo),
            pipeline: Pipeline::new(),
            clock: None,
            ticks: fusion::clock::Ticks::new(start, TICK),
            next_truth: start,
            scenario,
            revisions: Vec::new(),
            taskings: Vec::new(),
            rejected: BTreeMap::new(),
            emissions: 0,
            truth: BTreeMap::new(),
        })
    }

    /// The fusion engine (vessels, risk).
    pub fn engine(&self) -> &FusionEngine {
        &self.engine
    }

    /// Run to `until`, ten seconds at a time (a tasking reaches its unit within ten
    /// seconds of scenario time); `each` sees every emission.
    pub fn run(&mut self, until: Timestamp, mut each: impl FnMut(&Emission)) {
        while self.scenario.now < until {
            let step = (self.scenario.now + SignedDuration::from_secs(10)).min(until);
            self.keep_truth(step);
            let emissions = self.scenario.advance(step);
            let mut events = Vec::new();
            for e in &emissions {
                each(e);
                self.emissions += 1;
                self.ticks.until(e.at, &mut self.engine, &mut events);
                for ev in self.pipeline.on_input(e.input(), e.at) {
                    match ev {
                        Event::Publish {
                            observation,
                            update: false,
                            ..
                        } => {
                            let (now, _) =
                                fusion::clock::advance_clock(self.clock, observation.time, e.at);
                            self.clock = Some(now);
                            self.engine.observe(&observation, now, &mut events);
                        }
                        Event::Archive {
                            rejected: Some(reason),
                            ..
                        } => *self.rejected.entry(reason.to_owned()).or_default() += 1,
                        _ => {}
                    }
                }
            }
            self.ticks.until(step, &mut self.engine, &mut events);
            for ev in events {
                match ev {
                    FusionEvent::Alert(a) => self.revisions.push(a),
                    FusionEvent::Tasking(t) => {
                        let took = self.scenario.tasking(&t);
                        self.taskings.push((t, took));
                    }
                    _ => {}
                }
            }
        }
    }

    fn keep_truth(&mut self, until: Timestamp) {
        while self.next_truth <= until {
            let at = self.scenario.now;
            let v = self
                .scenario
                .positions()
                .map(|(id, p)| (id.to_owned(), p))
                .collect();
            self.truth.insert(at, v);
            self.next_truth += TRUTH_EVERY;
        }
    }

    /// The latest revision of every alert, by id.
    pub fn alerts(&self) -> Vec<&Alert> {
        let mut latest: BTreeMap<&str, &Alert> = BTreeMap::new();
        for a in &self.revisions {
            latest.insert(&a.id, a);
        }
        latest.into_values().collect()
    }

    /// The alerts (latest revisions, not retracted) an expectation matches: of its kind,
    /// and about its vessel: the vessel's MMSI (any it transmitted) among the alert's,
    /// or, for an alert about no MMSI, the vessel within 2 NM of the alert's position
    /// when it started.
    pub fn matching(&self, e: &ExpectSpec) -> Vec<&Alert> {
        self.alerts()
            .into_iter()
            .filter(|a| a.kind.as_str() == e.kind && a.state != AlertState::Retracted)
            .filter(|a| match &e.vessel {
                None => true,
                Some(v) => self.about(a, v),
            })
            .collect()
    }

    fn about(&self, a: &Alert, vessel: &str) -> bool {
        let mmsis = [self.scenario.first_mmsi(vessel), self.scenario.mmsi(vessel)];
        if mmsis.iter().flatten().any(|m| a.mmsi.contains(m)) {
            return true;
        }
        if !a.mmsi.is_empty() {
            return false;
        }
        let at = Position {
            lat: a.position.lat,
            lon: a.position.lon,
        };
        // The truth kept nearest the alert's start.
        let before = self.truth.range(..=a.start).next_back();
        let after = self.truth.range(a.start..).next();
        [before, after].into_iter().flatten().any(|(_, vs)| {
            vs.iter()
                .any(|(id, p)| id == vessel && p.distance_nm(at) <= 2.0)
        })
    }

    /// Per alert kind: what the scenario expects and what was raised. An alert (latest
    /// revision, not retracted) is true when one of the scenario's `[[expect]]` of its kind
    /// matches it, false otherwise (forbidden or not): precision is strict.
    pub fn score(&self) -> BTreeMap<AlertKind, Score> {
        let mut score: BTreeMap<AlertKind, Score> = BTreeMap::new();
        for e in &self.scenario.expect {
            let Some(kind) = AlertKind::ALL.iter().find(|k| k.as_str() == e.kind) else {
                continue;
            };
            let s = score.entry(*kind).or_default();
            s.expected += 1;
            s.found += u32::from(!self.matching(e).is_empty());
        }
        for a in self.alerts() {
            if a.state == AlertState::Retracted {
                continue;
            }
            let s = score.entry(a.kind).or_default();
            s.raised += 1;
            s.true_alerts += u32::from(self.is_expected(a));
        }
        score
    }

    /// The alerts raised (not retracted) that no `[[expect]]` names: the false ones.
    pub fn unexpected(&self) -> Vec<&Alert> {
        (self.alerts().into_iter())
            .filter(|a| a.state != AlertState::Retracted && !self.is_expected(a))
            .collect()
    }

    fn is_expected(&self, a: &Alert) -> bool {
        self.scenario.expect.iter().any(|e| {
            e.kind == a.kind.as_str() && e.vessel.as_deref().is_none_or(|v| self.about(a, v))
        })
    }

    /// Every broken expectation of the scenario, in words; empty when it did what it is
    /// built to do.
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for e in &self.scenario.expect {
            if !known_kind(&e.kind) {
                problems.push(format!("expect: {:?} is no alert kind", e.kind));
            } else if self.matching(e).is_empty() {
                problems.push(format!(
                    "expected {} about {}: none raised",
                    e.kind,
                    e.vessel.as_deref().unwrap_or("anything")
                ));
            }
        }
        for f in &self.scenario.forbid {
            if !known_kind(&f.kind) {
                problems.push(format!("forbid: {:?} is no alert kind", f.kind));
                continue;
            }
            for a in self.matching(f) {
                problems.push(format!(
                    "must not raise {} about {}: {} {:?}",
                    f.kind,
                    f.vessel.as_deref().unwrap_or("anything"),
                    a.id,
                    a.reasons
                ));
            }
        }
        for (reason, n) in &self.rejected {
            problems.push(format!(
                "ingest refused {n} of the scenario's lines: {reason}"
            ));
        }
        problems
    }

    /// Every alert's latest revision, a line each, for failure messages.
    pub fn dump(&self) -> String {
        self.alerts()
            .iter()
            .map(|a| {
                format!(
                    "{} {:?} {:?} {}",
                    a.id,
                    a.state,
                    a.mmsi,
                    a.reasons.first().map_or("", String::as_str)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Where a scenario's shore receivers stand, as fusion is told (`[[ais_gap.receivers]]`).
pub fn receiver_sites(scenario: &Scenario) -> Vec<fusion::config::ReceiverSite> {
    (scenario.receiver_sites())
        .map(|(name, at)| fusion::config::ReceiverSite {
            name: name.to_owned(),
            lat: at.lat,
            lon: at.lon,
        })
        .collect()
}

/// How a drill did on one alert kind ([`Drill::score`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Score {
    /// Alerts the scenario expects (`[[expect]]`).
    pub expected: u32,
    /// Of which raised.
    pub found: u32,
    /// Alerts raised and not retracted.
    pub raised: u32,
    /// Of which expected.
    pub true_alerts: u32,
}

impl Score {
    /// Add another drill's.
    pub fn add(&mut self, o: Score) {
        self.expected += o.expected;
        self.found += o.found;
        self.raised += o.raised;
        self.true_alerts += o.true_alerts;
    }

    /// True alerts among those raised (1 when none was raised).
    pub fn precision(&self) -> f64 {
        if self.raised == 0 {
            1.0
        } else {
            self.true_alerts as f64 / self.raised as f64
        }
    }

    /// Expected alerts raised (1 when none was expected).
    pub fn recall(&self) -> f64 {
        if self.expected == 0 {
            1.0
        } else {
            self.found as f64 / self.expected as f64
        }
    }
}

/// A table of scores per kind, as `tidewatch simulate --fusion` prints it.
pub fn score_table(scores: &BTreeMap<AlertKind, Score>) -> String {
    let mut t = format!(
        "{:<18} {:>8} {:>6} {:>7} {:>5} {:>9} {:>7}",
        "kind", "expected", "found", "raised", "true", "precision", "recall"
    );
    for (kind, s) in scores {
        t.push_str(&format!(
            "\n{:<18} {:>8} {:>6} {:>7} {:>5} {:>9.2} {:>7.2}",
            kind.as_str(),
            s.expected,
            s.found,
            s.raised,
            s.true_alerts,
            s.precision(),
            s.recall()
        ));
    }
    t
}

fn known_kind(kind: &str) -> bool {
    AlertKind::ALL.iter().any(|k| k.as_str() == kind)
}
