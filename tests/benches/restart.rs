//! Restart time of fusion after a day at full rate (issue 18 §3).
//!
//! A restart loads the newest snapshot of the engine's state and replays the journal since
//! (at most one snapshot interval, 30 s by default). The snapshot's size is what a day
//! changes: so this builds the state of `--hours` (24) of the load generator's traffic of
//! 20 000 vessels through ingest's pipeline and the engine with the service's clock rule —
//! at `--rate` (2 000) sentences/s of data time, the same fleet as at 10 000/s, each vessel
//! reporting every 10 s instead of every 2 s — then times what a start does: read the
//! snapshot into a fresh engine, and replay a journal of as many observations as `--journal-s`
//! (30, the snapshot interval) seconds of 10 000 sentences/s bring, the same fleet going on
//! (JSON parsed, observed). `up`'s own restart after SIGKILL is timed at the end of the soak.
//!
//! ```text
//! cargo bench -p tidewatch-tests --bench restart -- [--hours 24] [--rate 2000] [--journal-s 30]
//! ```

use std::time::Instant;

use fusion::clock::DataClock;
use fusion::{FusionConfig, FusionEngine, Geodata};
use ingest::model::Observation;
use ingest::pipeline::{Event, Input, Pipeline};
use jiff::Timestamp;

struct Args {
    hours: u64,
    rate: u32,
    journal_s: u64,
}

fn args() -> Args {
    let mut a = Args {
        hours: 24,
        rate: 2_000,
        journal_s: 30,
    };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let value = argv.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match (argv[i].as_str(), value) {
            ("--hours", Some(v)) => a.hours = v.max(1),
            ("--rate", Some(v)) => a.rate = v.clamp(1, 1_000_000) as u32,
            ("--journal-s", Some(v)) => a.journal_s = v.max(1),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

fn engine() -> FusionEngine {
    let cfg = FusionConfig::default();
    let geo = Geodata::load(&cfg, None).expect("reference data");
    FusionEngine::new(cfg, geo)
}

/// One second of the load generator's traffic, through ingest's pipeline: the new
/// observations.
fn second(
    load: &mut simulators::load::Load,
    pipeline: &mut Pipeline,
    text: &mut Vec<u8>,
) -> Vec<Observation> {
    text.clear();
    let now = load.now;
    load.second(text).expect("the load generator writes");
    let mut out = Vec::new();
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        for ev in pipeline.on_input(
            Input::Ais {
                source: "restart-bench",
                payload: line,
            },
            now,
        ) {
            if let Event::Publish {
                observation,
                update: false,
                ..
            } = ev
            {
                out.push(std::sync::Arc::unwrap_or_clone(observation));
            }
        }
    }
    out
}

fn main() {
    let a = args();
    let area = simulators::area::area("central-med").expect("the area");
    let start: Timestamp = "2026-11-22T00:00:00Z".parse().unwrap();
    let mut load = simulators::load::Load::new(&area, a.rate, start, 1);
    let mut pipeline = Pipeline::new();
    let mut e = engine();
    let mut clock = DataClock::default();
    let mut events = Vec::new();
    let mut text = Vec::new();
    let (mut observations, mut revisions) = (0u64, 0u64);
    let began = Instant::now();
    println!(
        "restart: the state of {} h of {} sentences/s (the load generator's fleet), then a start",
        a.hours, a.rate
    );
    println!(
        "{:>5} {:>12} {:>9} {:>10} {:>12} {:>10}",
        "hour", "observations", "vessels", "revisions", "snapshot MB", "build s"
    );
    for hour in 1..=a.hours {
        for _ in 0..3600 {
            for o in second(&mut load, &mut pipeline, &mut text) {
                clock.take(&mut e, &o, &mut events);
                observations += 1;
            }
            revisions += events.len() as u64;
            events.clear();
        }
        if hour == 1 || hour.is_multiple_of(6) || hour == a.hours {
            println!(
                "{hour:>5} {observations:>12} {:>9} {revisions:>10} {:>12.1} {:>10.0}",
                e.vessels().count(),
                e.save_state().len() as f64 / 1e6,
                began.elapsed().as_secs_f64()
            );
        }
    }
    // What a start does: the snapshot into a fresh engine, then the journal.
    let t = Instant::now();
    let state = e.save_state();
    let save_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut restored = engine();
    restored.load_state(&state).expect("the state reads back");
    let load_s = t.elapsed().as_secs_f64();
    // The journal: as many observations as `journal_s` seconds at 10 000 sentences/s, the
    // same fleet going on after the snapshot, as lines.
    let mut journal: Vec<Vec<u8>> = Vec::new();
    for _ in 0..a.journal_s * 10_000 / u64::from(a.rate) {
        for o in second(&mut load, &mut pipeline, &mut text) {
            journal.push(serde_json::to_vec(&o).unwrap());
        }
    }
    let t = Instant::now();
    let mut replay_clock = clock;
    for line in &journal {
        let o: Observation = serde_json::from_slice(line).expect("journal lines parse");
        replay_clock.take(&mut restored, &o, &mut events);
    }
    let replay_s = t.elapsed().as_secs_f64();
    println!(
        "snapshot {:.1} MB ({} vessels): saved in {:.3} s, read into a fresh engine in {:.3} s; journal of {} s at 10 000/s ({} observations) replayed in {:.2} s; a start after {} h: {:.2} s",
        state.len() as f64 / 1e6,
        restored.vessels().count(),
        save_s,
        load_s,
        a.journal_s,
        journal.len(),
        replay_s,
        a.hours,
        load_s + replay_s
    );
}
