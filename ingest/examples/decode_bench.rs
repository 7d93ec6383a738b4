//! Streaming decode of an NMEA file, decode only (no output), for the benchmark in
//! `tests/bench/decode.py`: `decode_bench ours|ais FILE` (`-` for stdin). Prints what it decoded to stderr.
//!
//! `pipeline` runs ingest's pipeline on each line (decode, duplicates dropped, observation
//! made), `pipeline-json` also writes each observation as JSON as ingest publishes it,
//! `pipeline-serde` writes it through serde's derive instead (what it cost before).
//!
//! `writers` reads the whole input into memory, makes every observation through the
//! pipeline once, then times, in turns on the same core, decoding every line (`ours`) and
//! writing every observation (`Observation::write_json`, what ingest publishes and logs),
//! `--rounds` times (default 15): their ratio a round, adjacent in time, is what the hour's
//! speed cancels out of (two whole runs' difference swings with it by more than it measures).
//! Both are timed 64 lines or observations at a time, twice over: copied just before (in
//! cache, as ingest has the line it was just sent and the observation it just made) and as
//! they lie in memory (made long before). Prints the rounds' ratios and their medians to
//! stdout.
//!
//! `formats` decodes the lines 64 at a time, untimed, and times writing each chunk in gpsd's
//! JSON and in ours, in turns (which goes first alternates): our JSON's writing against
//! gpsd's, without the decoding both share, the messages in cache as `tidewatch decode` has
//! them. Prints each round's ratio and their median.
//!
//! `ours` is `ingest::ais::Decoder`; `ais` is the `ais` crate (0.12), the fastest Rust
//! peer, run the same way on the same lines. A line the `ais` crate panics on (it does on
//! some ship types) is caught and counted, so the run completes.

use std::fs::File;
use std::hint::black_box;
use std::io::{BufRead, BufReader};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(which), Some(path)) = (args.next(), args.next()) else {
        eprintln!(
            "usage: decode_bench ours|ais|pipeline|pipeline-json|pipeline-serde FILE\n       decode_bench writers|formats FILE [--rounds N]"
        );
        std::process::exit(2);
    };
    let reader: Box<dyn std::io::Read> = if path == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(&path).unwrap_or_else(|e| {
            eprintln!("{path}: {e}");
            std::process::exit(1)
        }))
    };
    let mut input = BufReader::with_capacity(1 << 16, reader);
    let mut line = Vec::with_capacity(256);
    let (mut lines, mut messages, mut errors, mut panics) = (0u64, 0u64, 0u64, 0u64);
    match which.as_str() {
        "writers" | "formats" => {
            let rounds = match (args.next().as_deref(), args.next()) {
                (Some("--rounds"), Some(n)) => n.parse().expect("--rounds N"),
                _ => 15usize,
            };
            return if which == "writers" {
                writers(&mut input, rounds)
            } else {
                formats(&mut input, rounds)
            };
        }
        "ours" => {
            let mut d = ingest::ais::Decoder::new();
            while input.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                lines += 1;
                match d.decode_line(&line, 0) {
                    Ok(Some(m)) => {
                        black_box(&m);
                        messages += 1;
                    }
                    Ok(None) => {}
                    Err(_) => errors += 1,
                }
                line.clear();
            }
        }
        "ais" => {
            std::panic::set_hook(Box::new(|_| {}));
            let mut p = ais::AisParser::new();
            while input.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                lines += 1;
                let trimmed = line.trim_ascii_end();
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    p.parse(trimmed, true)
                        .map(|f| black_box(f).is_complete_message())
                })) {
                    Ok(Ok(true)) => messages += 1,
                    Ok(Ok(false)) => {}
                    Ok(Err(_)) => errors += 1,
                    Err(_) => {
                        panics += 1;
                        p = ais::AisParser::new();
                    }
                }
                line.clear();
            }
        }
        "pipeline" | "pipeline-json" | "pipeline-serde" => {
            // What ingest does with each line before publishing it: decode, drop what was
            // heard twice, make the observation; and then write it as JSON, by
            // `Observation::write_json` or by serde's derive.
            use ingest::pipeline::{Event, Input, Pipeline};
            let mut p = Pipeline::new();
            let start = jiff::Timestamp::from_second(1_795_305_600).expect("a time");
            let mut json = Vec::with_capacity(1024);
            while input.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                lines += 1;
                let at = start + jiff::SignedDuration::from_millis(lines as i64);
                let payload = Input::Ais {
                    source: "bench",
                    payload: &line,
                };
                for e in p.on_input(payload, at) {
                    match e {
                        Event::Publish { observation, .. } => {
                            messages += 1;
                            json.clear();
                            match which.as_str() {
                                "pipeline-json" => observation.write_json(&mut json),
                                "pipeline-serde" => serde_json::to_writer(&mut json, &*observation),
                                _ => Ok(()),
                            }
                            .expect("an observation is written");
                            black_box((&observation, &json));
                        }
                        Event::Archive {
                            rejected: Some(_), ..
                        } => errors += 1,
                        _ => {}
                    }
                }
                line.clear();
            }
        }
        other => {
            eprintln!(
                "unknown decoder {other:?}: use ours, ais, pipeline, pipeline-json, pipeline-serde or writers"
            );
            std::process::exit(2);
        }
    }
    eprintln!("{which}: {lines} lines, {messages} messages, {errors} errors, {panics} panics");
}

/// The `writers` mode: see the module docs.
fn writers(input: &mut impl BufRead, rounds: usize) {
    use ingest::pipeline::{Event, Input, Pipeline};
    use std::sync::Arc;
    use std::time::Instant;
    let mut lines = Vec::new();
    let mut line = Vec::new();
    while input.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
        lines.push(std::mem::take(&mut line));
    }
    let mut p = Pipeline::new();
    let start = jiff::Timestamp::from_second(1_795_305_600).expect("a time");
    let mut observations = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let at = start + jiff::SignedDuration::from_millis(i as i64);
        let events = p.on_input(
            Input::Ais {
                source: "bench",
                payload: l,
            },
            at,
        );
        for e in events {
            if let Event::Publish { observation, .. } = e {
                observations.push(observation);
            }
        }
    }
    // Timed a chunk at a time, copied just before (`fresh`) or as it lies in memory (the
    // observations are hundreds of megabytes): see the module docs.
    const CHUNK: usize = 64;
    let decode = |fresh: bool| {
        let mut d = ingest::ais::Decoder::new();
        let mut took = 0.0;
        for chunk in lines.chunks(CHUNK) {
            let copied;
            let chunk = if fresh {
                copied = chunk.to_vec();
                &copied[..]
            } else {
                chunk
            };
            let t = Instant::now();
            for l in chunk {
                // By reference, as `ours` does (moving the message into `black_box` would
                // copy it).
                if let Ok(Some(m)) = d.decode_line(l, 0) {
                    black_box(&m);
                }
            }
            took += t.elapsed().as_secs_f64();
        }
        took
    };
    let mut json = Vec::with_capacity(1024);
    let mut write = |fresh: bool| {
        let mut took = 0.0;
        for chunk in observations.chunks(CHUNK) {
            let copied: Vec<_>;
            let chunk = if fresh {
                copied = chunk.iter().map(|o| Arc::new((**o).clone())).collect();
                &copied[..]
            } else {
                chunk
            };
            let t = Instant::now();
            for o in chunk {
                json.clear();
                o.write_json(&mut json).expect("an observation is written");
                black_box(&json);
            }
            took += t.elapsed().as_secs_f64();
        }
        took
    };
    for (fresh, what) in [(true, "just made"), (false, "from memory")] {
        // One of each first: caches, page faults of the buffers.
        decode(fresh);
        write(fresh);
        let mut ratios = Vec::new();
        for _ in 0..rounds {
            let d = decode(fresh);
            let w = write(fresh);
            println!(
                "{what}: decode {:.1} ns a line, write {:.1} ns a line ({} observations): {:.3}",
                d / lines.len() as f64 * 1e9,
                w / lines.len() as f64 * 1e9,
                observations.len(),
                w / d
            );
            ratios.push(w / d);
        }
        let what = format!("{what}: writing the observations / decoding the lines");
        print_median(&what, ratios, lines.len());
    }
}

/// The two JSON formats' writers on the same decoded messages, in turns on the same core:
/// what our JSON costs next to gpsd's, without the decoding both share. The lines are
/// decoded 64 at a time, untimed, and each chunk is then written in both formats, timed
/// (which goes first alternates), so each writer finds its messages as `tidewatch decode`
/// does, just made and in cache.
fn formats(input: &mut impl BufRead, rounds: usize) {
    use ingest::ais::json::{GpsdWriter, OurWriter};
    use std::time::Instant;
    let mut lines = Vec::new();
    let mut line = Vec::new();
    while input.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
        lines.push(std::mem::take(&mut line));
    }
    // As `tidewatch decode` writes: into a buffer handed on every 48 KiB.
    let mut out = Vec::with_capacity(64 * 1024);
    let flush = |out: &mut Vec<u8>| {
        if out.len() > 48 * 1024 {
            black_box(&out[..]);
            out.clear();
        }
    };
    let mut ratios = Vec::new();
    let mut chunk = Vec::with_capacity(64);
    for round in 0..=rounds {
        let mut d = ingest::ais::Decoder::new();
        let (mut gpsd, mut ours) = (GpsdWriter::new(), OurWriter::new());
        let (mut g, mut o, mut messages) = (0.0, 0.0, 0);
        for (i, lines) in lines.chunks(64).enumerate() {
            chunk.clear();
            chunk.extend(
                lines
                    .iter()
                    .filter_map(|l| d.decode_line(l.trim_ascii(), 0).ok().flatten()),
            );
            messages += chunk.len();
            for which in [i % 2, 1 - i % 2] {
                let t = Instant::now();
                if which == 0 {
                    for m in &chunk {
                        gpsd.write(&m.message, &mut out);
                        flush(&mut out);
                    }
                    g += t.elapsed().as_secs_f64();
                } else {
                    for m in &chunk {
                        ours.write(m, &mut out);
                        flush(&mut out);
                    }
                    o += t.elapsed().as_secs_f64();
                }
            }
        }
        // The first round warms the caches.
        if round > 0 {
            let per = |s: f64| s / messages as f64 * 1e9;
            println!(
                "gpsd's JSON {:.1} ns a message, ours {:.1} ns: {:.3}",
                per(g),
                per(o),
                o / g
            );
            ratios.push(o / g);
        }
    }
    print_median("our JSON / gpsd's JSON, writing only", ratios, lines.len());
}

/// The rounds' ratios: their median and range.
fn print_median(what: &str, mut ratios: Vec<f64>, lines: usize) {
    ratios.sort_by(f64::total_cmp);
    println!(
        "{what}: median {:.3} (rounds {:.3}-{:.3}), {lines} lines",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1],
    );
}

/// The `ais` crate's fragments: complete with a message, or not.
trait Complete {
    fn is_complete_message(&self) -> bool;
}

impl Complete for ais::AisFragments {
    fn is_complete_message(&self) -> bool {
        matches!(self, ais::AisFragments::Complete(s) if s.message.is_some())
    }
}
