//! `tidewatch simulate`: run a scenario (built in, or a TOML file) to a file, to a
//! broker, or straight into fusion; or make load.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jiff::{SignedDuration, Timestamp};
use simulators::scenario::{self, Scenario};

use crate::cmd::up::{Publisher, Speed, accelerated_start, parse_duration, parse_speed};
use ingest::link::parse_broker;

/// Arguments of `simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// List the built-in scenarios with what each shows.
    #[arg(long, conflicts_with_all = ["scenario", "out", "broker", "load"])]
    pub list: bool,
    /// A built-in scenario's name, or a scenario file (`.toml`).
    #[arg(required_unless_present_any = ["list", "load"])]
    pub scenario: Option<String>,
    /// Load mode: this many AIS sentences per second of scenario time, background traffic
    /// of the central Mediterranean (with `--out`; `--speed max` writes as fast as it can).
    #[arg(long, value_name = "N", conflicts_with_all = ["scenario", "broker", "fusion"])]
    pub load: Option<u32>,
    /// Scenario time to run (e.g. `30m`, `2h`); default: the scenario's own.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// When the scenario starts (RFC 3339, UTC); default: now.
    #[arg(long, value_name = "TIME")]
    pub start: Option<Timestamp>,
    /// Seed for noise and background traffic; default: the scenario's.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Write the lines to this file (`-` for stdout), as fast as they are made: NMEA with
    /// tag blocks naming the receiver or unit, patrol reports as `{"unit":…,"report":…}`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["broker", "fusion"])]
    pub out: Option<PathBuf>,
    /// Publish to this broker, `HOST:PORT`, on the receivers' and units' topics; the units
    /// answer taskings received on `tidewatch/v1/patrol/+/tasking`.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "fusion")]
    pub broker: Option<String>,
    /// With `--broker`: the units' broker passwords, one file per unit, `DIR/{unit}.password`
    /// (as `tidewatch up --unit` writes them in `DATA/units/`); each unit then logs in as
    /// itself on a connection of its own (a broker holds a unit to its own topics), and the
    /// receivers' AIS goes on an anonymous one. Without it everything goes on one anonymous
    /// connection.
    #[arg(long, value_name = "DIR", requires = "broker")]
    pub unit_passwords: Option<PathBuf>,
    /// Run straight through ingest and fusion here and print the alerts (latest revision
    /// of each) as JSON lines; the units answer fusion's taskings. Exits 1 when the
    /// scenario's expectations are not met.
    #[arg(long)]
    pub fusion: bool,
    /// Scenario time per wall-clock second (`60` = an hour a minute), or `max`. With
    /// `--out` and `--load` the default is `max`. To a broker without `--start`, a run
    /// faster than real time starts in the past so that it reaches the present as it ends
    /// (a live system refuses reports from the future).
    #[arg(long)]
    pub speed: Option<String>,
}

fn load_scenario(args: &SimulateArgs, name: &str, start: Timestamp) -> Result<Scenario> {
    if name.ends_with(".toml") {
        let text = std::fs::read_to_string(name).with_context(|| format!("cannot read {name}"))?;
        Ok(Scenario::from_toml(&text, start, args.seed).with_context(|| name.to_owned())?)
    } else {
        let text = scenario::built_in(name).with_context(|| {
            format!(
                "no scenario {name:?}; scenarios: {} (tidewatch simulate --list), or a .toml file",
                scenario::NAMES.join(", ")
            )
        })?;
        Ok(Scenario::from_toml(text, start, args.seed)?)
    }
}

/// `tidewatch simulate`.
pub fn run(args: &SimulateArgs) -> Result<()> {
    if args.list {
        for name in scenario::NAMES {
            let sc = scenario::by_name(name, Timestamp::now())?;
            println!("{name:<16} {} ({})", sc.description, sc.duration);
        }
        return Ok(());
    }
    let start = args.start.unwrap_or_else(Timestamp::now);
    if let Some(rate) = args.load {
        return load(args, rate, start);
    }
    let name = args.scenario.as_deref().unwrap_or_default();
    let mut sc = load_scenario(args, name, start)?;
    let span = match &args.duration {
        Some(d) => parse_duration(d)?,
        None => sc.duration,
    };
    // To a broker without --start, an accelerated run replays the time before now and
    // ends at the present: a live system refuses reports from the future.
    if args.broker.is_some() && args.start.is_none() {
        let speed = parse_speed(args.speed.as_deref().unwrap_or("1"))?;
        let start = accelerated_start(Timestamp::now(), span, &speed);
        sc = load_scenario(args, name, start)?;
    }
    let start = sc.start;
    let end = start + span;
    if args.fusion {
        return through_fusion(sc, end);
    }
    match (&args.out, &args.broker) {
        (Some(path), None) => {
            let emissions = sc.advance(end);
            let mut out = open_out(path)?;
            for e in &emissions {
                writeln!(out, "{}", e.file_line())?;
            }
            out.flush()?;
            eprintln!(
                "simulate: {} lines of scenario {} from {start} to {end}",
                emissions.len(),
                sc.name
            );
            Ok(())
        }
        (None, Some(broker)) => {
            let (host, port) = parse_broker(broker)?;
            let speed = parse_speed(args.speed.as_deref().unwrap_or("1"))?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            let mut logins = std::collections::BTreeMap::new();
            if let Some(dir) = &args.unit_passwords {
                for (unit, _) in sc.unit_positions() {
                    let file = dir.join(format!("{unit}.password"));
                    let password =
                        ingest::link::read_secret(&file, &format!("unit {unit}'s password"))?;
                    logins.insert(unit.to_owned(), (unit.to_owned(), password));
                }
            }
            runtime.block_on(async {
                let mut p = Publisher::connect(&host, port, "tidewatch-simulate", &logins).await?;
                let wall = tokio::time::Instant::now();
                let mut sent = 0usize;
                let mut tick = tokio::time::interval(Duration::from_millis(200));
                loop {
                    tick.tick().await;
                    for t in p.taskings() {
                        sc.tasking(&t);
                    }
                    let target = match speed {
                        Speed::Max => end,
                        Speed::Times(x) => (start
                            + SignedDuration::from_secs_f64(wall.elapsed().as_secs_f64() * x))
                        .min(end),
                    };
                    let lines = sc.advance(target);
                    sent += lines.len();
                    p.send(lines).await?;
                    if target >= end {
                        break;
                    }
                }
                let (published, acknowledged) = p.flushed().await;
                if acknowledged < published {
                    bail!(
                        "the broker {broker} acknowledged {acknowledged} of {published} messages in 30 s"
                    );
                }
                eprintln!(
                    "simulate: {sent} messages of scenario {} published to {broker}",
                    sc.name
                );
                Ok(())
            })
        }
        _ => bail!("give --out FILE (or -), --broker HOST:PORT or --fusion"),
    }
}

fn open_out(path: &PathBuf) -> Result<Box<dyn Write>> {
    Ok(if path.as_os_str() == "-" {
        Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout().lock()))
    } else {
        Box::new(BufWriter::with_capacity(
            1 << 16,
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        ))
    })
}

/// The scenario through ingest and fusion, alerts to stdout.
fn through_fusion(sc: Scenario, end: Timestamp) -> Result<()> {
    let name = sc.name.clone();
    let mut drill = crate::cmd::drill::Drill::new(sc, fusion::FusionConfig::default())?;
    drill.run(end, |_| {});
    let mut out = std::io::stdout().lock();
    for a in drill.alerts() {
        writeln!(out, "{}", serde_json::to_string(a)?)?;
    }
    for (t, took) in &drill.taskings {
        writeln!(
            out,
            "{}",
            serde_json::json!({"tasking": t, "accepted": took})
        )?;
    }
    out.flush()?;
    let problems = drill.check();
    eprintln!(
        "simulate: scenario {name}: {} emissions, {} alerts, {} taskings",
        drill.emissions,
        drill.alerts().len(),
        drill.taskings.len()
    );
    eprintln!("{}", crate::cmd::drill::score_table(&drill.score()));
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("simulate: {p}");
        }
        bail!("scenario {name} did not raise what it is built to raise");
    }
    Ok(())
}

/// Load mode.
fn load(args: &SimulateArgs, rate: u32, start: Timestamp) -> Result<()> {
    let Some(path) = &args.out else {
        bail!("--load writes to a file: give --out FILE (or -)");
    };
    if rate == 0 {
        bail!("--load must be at least 1 sentence per second");
    }
    let duration = parse_duration(args.duration.as_deref().unwrap_or("10s"))?;
    let speed = parse_speed(args.speed.as_deref().unwrap_or("max"))?;
    let area = simulators::area::area("central-med").context("the central-med area")?;
    let mut load = simulators::load::Load::new(&area, rate, start, args.seed.unwrap_or(1));
    let mut out = open_out(path)?;
    let seconds = duration.as_secs();
    let wall = Instant::now();
    let mut written = 0u64;
    for k in 0..seconds {
        if let Speed::Times(x) = speed {
            let due = Duration::from_secs_f64(k as f64 / x);
            if let Some(wait) = due.checked_sub(wall.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        written += load.second(&mut out)?;
    }
    out.flush()?;
    let secs = wall.elapsed().as_secs_f64();
    eprintln!(
        "simulate: load: {written} sentences ({rate}/s for {seconds} s of scenario time) in {secs:.2} s: {:.0} sentences/s",
        written as f64 / secs.max(1e-9)
    );
    Ok(())
}
