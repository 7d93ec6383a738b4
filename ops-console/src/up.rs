//! `tidewatch up`: everything in one process. Today it runs a simulated scenario
//! (`--demo`) through the real decoder and shows the live picture in the terminal; the
//! embedded broker, fusion and the web console are added by their issues.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ingest::ais::json::write_ours;
use ingest::ais::{Body, Decoded, Decoder};
use ingest::archive::{Archive, Record, Verdict};
use jiff::{SignedDuration, Timestamp};
use simulators::scenario;

use crate::cli::UpArgs;

/// What the picture knows about one vessel.
#[derive(Debug, Clone, Default)]
struct Contact {
    name: String,
    position: Option<(f64, f64)>,
    speed_kn: Option<f64>,
    course_deg: Option<f64>,
    status: &'static str,
    last_heard: Option<Timestamp>,
    messages: u64,
}

/// How fast scenario time runs.
enum Speed {
    /// Scenario seconds per wall-clock second.
    Times(f64),
    /// As fast as the machine goes.
    Max,
}

fn parse_speed(s: &str) -> Result<Speed> {
    if s == "max" {
        return Ok(Speed::Max);
    }
    let x: f64 = s
        .parse()
        .ok()
        .filter(|x: &f64| x.is_finite() && *x > 0.0)
        .with_context(|| format!("--speed {s:?}: a positive number or `max`"))?;
    Ok(Speed::Times(x))
}

fn parse_duration(s: &str) -> Result<SignedDuration> {
    let d: jiff::Span = s
        .parse()
        .with_context(|| format!("--duration {s:?}: use a span like 30m, 2h or 90s"))?;
    let d = SignedDuration::try_from(d).context("--duration: calendar units are not allowed")?;
    if !d.is_positive() {
        bail!("--duration must be positive");
    }
    Ok(d)
}

/// `tidewatch up`.
pub fn run(args: &UpArgs) -> Result<()> {
    let Some(name) = &args.demo else {
        bail!(
            "`tidewatch up` without --demo needs live ingest over MQTT, which this build does not have yet; run `tidewatch up --demo`"
        );
    };
    let speed = parse_speed(&args.speed)?;
    let duration = args.duration.as_deref().map(parse_duration).transpose()?;
    if matches!(speed, Speed::Max) && duration.is_none() {
        bail!("--speed max needs --duration (otherwise it never ends)");
    }
    let start = Timestamp::now();
    let mut sc = scenario::by_name(name, start).with_context(|| {
        format!(
            "no scenario {name:?}; scenarios: {}",
            scenario::NAMES.join(", ")
        )
    })?;
    fs::create_dir_all(&args.data)
        .with_context(|| format!("cannot create data directory {}", args.data.display()))?;
    let open = |file: &str| -> Result<BufWriter<File>> {
        let p = args.data.join(file);
        Ok(BufWriter::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&p)
                .with_context(|| format!("cannot open {}", p.display()))?,
        ))
    };
    let raw_dir = args.data.join("raw");
    let mut raw = Archive::open(&raw_dir)
        .with_context(|| format!("cannot open the raw archive in {}", raw_dir.display()))?;
    let mut decoded_out = open("decoded.jsonl")?;
    eprintln!(
        "tidewatch up --demo {}: {}\n  raw archive -> {raw} (check it: tidewatch verify {raw})\n  decoded     -> {}",
        sc.name,
        sc.description,
        args.data.join("decoded.jsonl").display(),
        raw = raw_dir.display(),
    );
    let tty = std::io::stdout().is_terminal();
    let mut decoder = Decoder::new();
    let mut picture: BTreeMap<u32, Contact> = BTreeMap::new();
    let mut rejected = 0u64;
    let wall_start = Instant::now();
    let tick = Duration::from_secs(1);
    let end = duration.map(|d| start + d);
    let mut buf = String::new();
    loop {
        let target = match speed {
            Speed::Max => end.unwrap_or(start),
            Speed::Times(x) => {
                std::thread::sleep(tick);
                let elapsed = wall_start.elapsed().as_secs_f64() * x;
                let t = start + SignedDuration::from_secs_f64(elapsed);
                end.map_or(t, |e| t.min(e))
            }
        };
        // Lines are received when the simulated receiver hears them: scenario time.
        for (received_at, line) in sc.advance(target) {
            let verdict = match decoder.decode_line(line.as_bytes(), 0) {
                Ok(Some(d)) => {
                    buf.clear();
                    write_ours(&d, &mut buf);
                    decoded_out.write_all(buf.as_bytes())?;
                    update(&mut picture, &d);
                    Verdict::Accepted
                }
                Ok(None) => Verdict::Accepted,
                Err(e) => {
                    rejected += 1;
                    Verdict::Rejected(e.reason())
                }
            };
            raw.append(&Record {
                received_at,
                source: sc.name,
                verdict,
                line: line.as_bytes(),
            })?;
        }
        raw.sync()?;
        decoded_out.flush()?;
        let done = end.is_some_and(|e| sc.now >= e);
        if tty || done {
            show(&picture, sc.now, rejected, tty);
        }
        if done {
            return Ok(());
        }
    }
}

fn update(picture: &mut BTreeMap<u32, Contact>, d: &Decoded) {
    let m = &d.message;
    let c = picture.entry(m.mmsi).or_default();
    c.messages += 1;
    c.last_heard = d.heard.time();
    if let Some(p) = m.position() {
        c.position = Some(p);
    }
    match &m.body {
        Body::Position(p) => {
            c.speed_kn = p.speed_kn();
            c.course_deg = p.course_deg();
            c.status = match p.status {
                14 => "AIS-SART ACTIVE",
                1 => "at anchor",
                5 => "moored",
                7 => "fishing",
                _ => "under way",
            };
        }
        Body::ClassB(p) => {
            c.speed_kn = p.speed_kn();
            c.course_deg = p.course_deg();
            c.status = "class B";
        }
        Body::StaticVoyage(s) => c.name = s.shipname.clone(),
        Body::StaticData(ingest::ais::message::StaticData::A { shipname, .. }) => {
            c.name = shipname.clone();
        }
        _ => {}
    }
}

fn show(picture: &BTreeMap<u32, Contact>, now: Timestamp, rejected: u64, tty: bool) {
    let mut out = String::new();
    if tty {
        out.push_str("\x1b[H\x1b[2J");
    }
    out.push_str(&format!(
        "Tidewatch demo - scenario time {} UTC - {} vessels heard, {} lines rejected\n\n",
        now.strftime("%Y-%m-%d %H:%M:%S"),
        picture.len(),
        rejected
    ));
    out.push_str(&format!(
        "{:<10} {:<20} {:>9} {:>10} {:>7} {:>8} {:<16} {:>10} {:>5}\n",
        "MMSI", "NAME", "LAT deg", "LON deg", "SOG kn", "COG degT", "STATUS", "HEARD UTC", "MSGS"
    ));
    for (mmsi, c) in picture {
        let (lat, lon) = c
            .position
            .map(|(lon, lat)| (format!("{lat:.4}"), format!("{lon:.4}")))
            .unwrap_or_else(|| ("-".into(), "-".into()));
        let opt = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
        let heard = c
            .last_heard
            .map_or("-".to_owned(), |t| t.strftime("%H:%M:%S").to_string());
        out.push_str(&format!(
            "{:<10} {:<20} {:>9} {:>10} {:>7} {:>8} {:<16} {:>10} {:>5}\n",
            mmsi,
            c.name,
            lat,
            lon,
            opt(c.speed_kn),
            opt(c.course_deg),
            c.status,
            heard,
            c.messages
        ));
    }
    print!("{out}");
    let _ = std::io::stdout().flush();
}
