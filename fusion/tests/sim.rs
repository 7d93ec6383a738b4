//! A small scripted sea for fusion scenario tests: vessels report on a timeline, the
//! engine ticks every minute, and the test reads the alerts as a watch officer would
//! (the latest revision of each).

use fusion::{Alert, AlertKind, FusionConfig, FusionEngine, FusionEvent, Geodata, Position};
use ingest::model::{AisObservation, Observation, ObservationData, TimeSource};
use ingest::wire::{PatrolReport, UnitId};
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeMap;

/// Open sea south of Sicily, more than 90 km from any port.
pub(crate) const OPEN_SEA: (f64, f64) = (35.0, 13.5);

/// One scheduled observation.
enum Input {
    Ais(AisObservation),
    /// An AIS message heard by the named receiver.
    AisBy(String, AisObservation),
    /// A late (or future-stamped) AIS message heard by the named receiver.
    LateAisBy(String, f64, AisObservation),
    /// An AIS message made at the given minute and delivered at the timeline's.
    LateAis(f64, AisObservation),
    Obs(ObservationData),
}

/// A scenario: a timeline of observations replayed through one engine.
pub(crate) struct Sim {
    engine: FusionEngine,
    start: Timestamp,
    timeline: Vec<(i64, u64, Input)>,
    seq: u64,
    /// Every alert revision issued, in order.
    pub(crate) revisions: Vec<Alert>,
    /// Every tasking issued, in order.
    pub(crate) taskings: Vec<ingest::wire::Tasking>,
    /// The receiver that hears the AIS messages scheduled from now on (none: not told).
    receiver: Option<String>,
}

impl Sim {
    /// A scenario with the default rules and no land data (fast), starting at
    /// 2026-11-22T00:00Z.
    pub(crate) fn new() -> Sim {
        let mut cfg = FusionConfig::default();
        cfg.position_jump.land = false;
        Sim::with(cfg, None)
    }

    /// A scenario with these rules and zones (GeoJSON text).
    pub(crate) fn with(cfg: FusionConfig, zones: Option<&str>) -> Sim {
        let zones_file = zones.map(|z| {
            let f = tempfile::NamedTempFile::new().expect("temp file");
            std::fs::write(f.path(), z).expect("write zones");
            f
        });
        let geo = Geodata::load(&cfg, zones_file.as_ref().map(|f| f.path())).expect("geodata");
        Sim {
            engine: FusionEngine::new(cfg, geo),
            start: "2026-11-22T00:00:00Z".parse().expect("time"),
            timeline: Vec::new(),
            seq: 0,
            revisions: Vec::new(),
            taskings: Vec::new(),
            receiver: None,
        }
    }

    /// The time `min` minutes into the scenario.
    pub(crate) fn at(&self, min: f64) -> Timestamp {
        self.start + SignedDuration::from_secs_f64(min * 60.0)
    }

    /// The AIS messages scheduled from now on are heard by `receiver`.
    pub(crate) fn heard_by(&mut self, receiver: &str) -> &mut Sim {
        self.receiver = Some(receiver.to_owned());
        self
    }

    fn push(&mut self, min: f64, input: Input) {
        let input = match (input, &self.receiver) {
            (Input::Ais(a), Some(r)) => Input::AisBy(r.clone(), a),
            (Input::LateAis(made, a), Some(r)) => Input::LateAisBy(r.clone(), made, a),
            (input, _) => input,
        };
        self.seq += 1;
        self.timeline
            .push(((min * 60_000.0).round() as i64, self.seq, input));
    }

    /// A class A position report (type 1).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn report(
        &mut self,
        mmsi: u32,
        min: f64,
        lat: f64,
        lon: f64,
        sog_kn: f64,
        cog_deg: f64,
        nav_status: u8,
    ) {
        self.push(
            min,
            Input::Ais(AisObservation {
                mmsi,
                msg_type: 1,
                lat: Some(lat),
                lon: Some(lon),
                sog_kn: Some(sog_kn),
                cog_deg: Some(cog_deg),
                nav_status: Some(nav_status),
                ..AisObservation::default()
            }),
        );
    }

    /// Any AIS message.
    pub(crate) fn ais(&mut self, min: f64, obs: AisObservation) {
        self.push(min, Input::Ais(obs));
    }

    /// Any AIS message, delivered at `delivered_min` and stamped `made_min` (later than
    /// delivery: a clock gone wrong).
    pub(crate) fn late_ais(&mut self, delivered_min: f64, made_min: f64, obs: AisObservation) {
        self.push(delivered_min, Input::LateAis(made_min, obs));
    }

    /// A position report made at `made_min` that reaches the engine only at
    /// `delivered_min` (a satellite pass, a receiver's backlog).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn late_report(
        &mut self,
        mmsi: u32,
        made_min: f64,
        delivered_min: f64,
        lat: f64,
        lon: f64,
        sog_kn: f64,
    ) {
        self.push(
            delivered_min,
            Input::LateAis(
                made_min,
                AisObservation {
                    mmsi,
                    msg_type: 1,
                    lat: Some(lat),
                    lon: Some(lon),
                    sog_kn: Some(sog_kn),
                    cog_deg: Some(0.0),
                    nav_status: Some(0),
                    ..AisObservation::default()
                },
            ),
        );
    }

    /// Reports every `every_min` from `from_min` to `to_min`, sailing from `(lat, lon)` at
    /// `sog_kn` on `cog_deg`. Returns where it ends.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sail(
        &mut self,
        mmsi: u32,
        from_min: f64,
        to_min: f64,
        every_min: f64,
        (lat, lon): (f64, f64),
        sog_kn: f64,
        cog_deg: f64,
        nav_status: u8,
    ) -> (f64, f64) {
        let origin = Position::new(lat, lon).expect("position");
        let mut t = from_min;
        let mut p = origin;
        while t <= to_min + 1e-9 {
            let d = sog_kn * 1852.0 * (t - from_min) / 60.0;
            p = origin.destination(cog_deg, d);
            self.report(mmsi, t, p.lat, p.lon, sog_kn, cog_deg, nav_status);
            t += every_min;
        }
        (p.lat, p.lon)
    }

    /// Static and voyage data (type 5).
    pub(crate) fn static_data(
        &mut self,
        mmsi: u32,
        min: f64,
        name: &str,
        callsign: &str,
        imo: u32,
        ship_type: u8,
    ) {
        self.push(
            min,
            Input::Ais(AisObservation {
                mmsi,
                msg_type: 5,
                name: Some(name.to_string()),
                callsign: Some(callsign.to_string()),
                imo: Some(imo),
                ship_type: Some(ship_type),
                ..AisObservation::default()
            }),
        );
    }

    /// A radar target at a known position (TLL).
    pub(crate) fn radar(&mut self, unit: &str, target: u8, min: f64, lat: f64, lon: f64) {
        self.push(
            min,
            Input::Obs(ObservationData::RadarTarget {
                unit: UnitId::new(unit).expect("unit"),
                target,
                lat: Some(lat),
                lon: Some(lon),
                range_nm: None,
                bearing_deg: None,
                bearing_true: None,
                speed_kn: None,
                course_deg: None,
                status: None,
            }),
        );
    }

    /// A patrol unit's own position and heading (GNSS and compass).
    pub(crate) fn unit_fix(
        &mut self,
        unit: &str,
        min: f64,
        lat: f64,
        lon: f64,
        heading_deg: Option<f64>,
    ) {
        self.push(
            min,
            Input::Obs(ObservationData::PatrolFix {
                unit: UnitId::new(unit).expect("unit"),
                lat: Some(lat),
                lon: Some(lon),
                sog_kn: Some(0.0),
                cog_deg: None,
                heading_deg,
            }),
        );
    }

    /// A radar target by range (NM) and bearing (TTM), true or relative to the heading.
    pub(crate) fn radar_ttm(
        &mut self,
        unit: &str,
        target: u8,
        min: f64,
        range_nm: f64,
        bearing_deg: f64,
        bearing_true: bool,
    ) {
        self.push(
            min,
            Input::Obs(ObservationData::RadarTarget {
                unit: UnitId::new(unit).expect("unit"),
                target,
                lat: None,
                lon: None,
                range_nm: Some(range_nm),
                bearing_deg: Some(bearing_deg),
                bearing_true: Some(bearing_true),
                speed_kn: None,
                course_deg: None,
                status: None,
            }),
        );
    }

    /// A patrol unit's report.
    pub(crate) fn report_from(&mut self, unit: &str, min: f64, report: PatrolReport) {
        self.push(
            min,
            Input::Obs(ObservationData::Report {
                unit: UnitId::new(unit).expect("unit"),
                report,
            }),
        );
    }

    /// Replay the timeline (in time order, then insertion order), ticking every minute up
    /// to `until_min`.
    pub(crate) fn run(&mut self, until_min: f64) -> &mut Sim {
        let mut timeline = std::mem::take(&mut self.timeline);
        timeline.sort_by_key(|(t, seq, _)| (*t, *seq));
        let mut out = Vec::new();
        let mut ticks = fusion::clock::Ticks::new(self.start, SignedDuration::from_mins(1));
        let end = (until_min * 60_000.0) as i64;
        for (t, seq, input) in timeline {
            let time = self.at(t as f64 / 60_000.0);
            ticks.until(time, &mut self.engine, &mut out);
            match input {
                Input::Ais(a) => self.engine.on_ais(&a, &[], time, time, &mut out),
                Input::AisBy(r, a) => self.engine.on_ais(&a, &[r], time, time, &mut out),
                Input::LateAisBy(r, made, a) => {
                    self.engine.on_ais(&a, &[r], self.at(made), time, &mut out)
                }
                Input::LateAis(made, a) => {
                    self.engine.on_ais(&a, &[], self.at(made), time, &mut out)
                }
                Input::Obs(data) => {
                    let obs = Observation {
                        id: format!("obs-{seq}"),
                        time,
                        time_source: TimeSource::Sender,
                        received_at: time,
                        receivers: vec!["test".into()],
                        data,
                    };
                    self.engine.observe(&obs, time, &mut out);
                }
            }
        }
        ticks.until(self.at(end as f64 / 60_000.0), &mut self.engine, &mut out);
        for e in out {
            match e {
                FusionEvent::Alert(a) => self.revisions.push(a),
                FusionEvent::Tasking(t) => self.taskings.push(t),
                _ => unreachable!("alerts and taskings only"),
            }
        }
        self
    }

    /// The latest revision of every alert of `kind`, by id.
    pub(crate) fn alerts(&self, kind: AlertKind) -> Vec<Alert> {
        let mut latest: BTreeMap<String, Alert> = BTreeMap::new();
        for a in self.revisions.iter().filter(|a| a.kind == kind) {
            latest.insert(a.id.clone(), a.clone());
        }
        latest.into_values().collect()
    }

    /// The engine, for risk scores and vessels.
    pub(crate) fn engine(&self) -> &FusionEngine {
        &self.engine
    }

    /// Every alert's latest revision, one line each, for failure messages.
    pub(crate) fn dump(&self) -> String {
        let mut latest: BTreeMap<String, &Alert> = BTreeMap::new();
        for a in &self.revisions {
            latest.insert(a.id.clone(), a);
        }
        latest
            .values()
            .map(|a| format!("{} {:?} {:?}", a.id, a.state, a.reasons))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Default for Sim {
    fn default() -> Self {
        Sim::new()
    }
}
