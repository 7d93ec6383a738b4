//! `tidewatch simulate`: a scenario's AIS lines to a file or to a broker.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jiff::{SignedDuration, Timestamp};
use simulators::scenario;

use crate::cli::parse_broker;
use crate::up::{Publisher, Speed, parse_duration, parse_speed};

/// Arguments of `simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// List the scenarios with what each shows.
    #[arg(long, conflicts_with_all = ["scenario", "out", "broker"])]
    pub list: bool,
    /// The scenario to run.
    #[arg(required_unless_present = "list")]
    pub scenario: Option<String>,
    /// Scenario time to run (e.g. `30m`, `2h`).
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub duration: String,
    /// When the scenario starts (RFC 3339, UTC); default: now.
    #[arg(long, value_name = "TIME")]
    pub start: Option<Timestamp>,
    /// Write the lines to this file (`-` for stdout), as fast as they are made.
    #[arg(long, value_name = "FILE", conflicts_with = "broker")]
    pub out: Option<PathBuf>,
    /// Publish the lines to this broker, `HOST:PORT`, on `tidewatch/v1/raw/ais/{source}`.
    #[arg(long, value_name = "HOST:PORT")]
    pub broker: Option<String>,
    /// With `--broker`: scenario time per wall-clock second (`60` = an hour a minute), or
    /// `max`.
    #[arg(long, default_value = "1")]
    pub speed: String,
    /// With `--broker`: the receiver name in the topic.
    #[arg(long, default_value = "sim-lampedusa")]
    pub source: String,
}

/// `tidewatch simulate`.
pub fn run(args: &SimulateArgs) -> Result<()> {
    if args.list {
        for name in scenario::NAMES {
            if let Some(sc) = scenario::by_name(name, Timestamp::now()) {
                println!("{name:<16} {}", sc.description);
            }
        }
        return Ok(());
    }
    let name = args.scenario.as_deref().unwrap_or_default();
    let start = args.start.unwrap_or_else(Timestamp::now);
    let mut sc = scenario::by_name(name, start).with_context(|| {
        format!(
            "no scenario {name:?}; scenarios: {} (tidewatch simulate --list)",
            scenario::NAMES.join(", ")
        )
    })?;
    let end = start + parse_duration(&args.duration)?;
    match (&args.out, &args.broker) {
        (Some(path), None) => {
            let lines = sc.advance(end);
            let mut out: Box<dyn Write> = if path.as_os_str() == "-" {
                Box::new(std::io::stdout().lock())
            } else {
                Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("cannot create {}", path.display()))?,
                ))
            };
            for (_, l) in &lines {
                writeln!(out, "{l}")?;
            }
            out.flush()?;
            eprintln!(
                "simulate: {} lines of scenario {name} from {start} to {end}",
                lines.len()
            );
            Ok(())
        }
        (None, Some(broker)) => {
            let (host, port) = parse_broker(broker)?;
            let speed = parse_speed(&args.speed)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(async {
                let p = Publisher::connect(&host, port, "tidewatch-simulate", &args.source).await?;
                let wall = tokio::time::Instant::now();
                let mut sent = 0usize;
                let mut tick = tokio::time::interval(Duration::from_millis(200));
                loop {
                    tick.tick().await;
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
                        "the broker {broker} acknowledged {acknowledged} of {published} lines in 30 s"
                    );
                }
                eprintln!("simulate: {sent} lines of scenario {name} published to {broker}");
                Ok(())
            })
        }
        _ => bail!("give --out FILE (or -) or --broker HOST:PORT"),
    }
}
