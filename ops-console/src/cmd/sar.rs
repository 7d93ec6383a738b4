//! `tidewatch sar plan` and `tidewatch sar objects`: search planning by hand.

use anyhow::{Context, Result, bail};
use fusion::Position;
use fusion::sar::{OBJECTS, SearchInputs, object, plan};
use jiff::Timestamp;

/// Arguments of `sar`.
#[derive(Debug, clap::Args)]
pub struct SarArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SarCommand,
}

/// `sar` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SarCommand {
    /// A first-order search plan (IAMSAR vol. II): datum, errors, radius, area and the
    /// expanding-square, sector and parallel-sweep patterns, as JSON (or GeoJSON).
    Plan(PlanArgs),
    /// The drift object classes and their leeway coefficients.
    Objects,
}

/// Arguments of `sar plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Last known position, `LAT,LON` in degrees (south and west negative).
    #[arg(long, value_name = "LAT,LON", allow_hyphen_values = true)]
    pub lkp: String,
    /// When the object was at the LKP (RFC 3339, UTC).
    #[arg(long, value_name = "TIME")]
    pub time: Timestamp,
    /// Drift object class (`tidewatch sar objects` lists them).
    #[arg(long, value_name = "CLASS")]
    pub object: String,
    /// Wind: direction it blows FROM (degrees true) / speed (knots), e.g. `270/15`.
    #[arg(long, value_name = "FROM_DEG/KN")]
    pub wind: String,
    /// Total water current: direction it sets TOWARD (degrees true) / rate (knots), e.g. `090/1`.
    #[arg(long, value_name = "TO_DEG/KN")]
    pub current: String,
    /// When the search starts (default: now).
    #[arg(long, value_name = "TIME")]
    pub at: Option<Timestamp>,
    /// Initial position error X, NM (GPS 0.1, radar 1, visual fix 1, celestial 2).
    #[arg(long, default_value_t = 0.1)]
    pub x_nm: f64,
    /// Search unit navigational error Y, NM.
    #[arg(long, default_value_t = 0.1)]
    pub y_nm: f64,
    /// Drift error De, NM (default 0.3 × the drift distance).
    #[arg(long)]
    pub de_nm: Option<f64>,
    /// Safety factor fs (1.1 for a first search).
    #[arg(long, default_value_t = 1.1)]
    pub fs: f64,
    /// Track spacing S, NM.
    #[arg(long, default_value_t = 1.0)]
    pub spacing_nm: f64,
    /// Print GeoJSON (LKP, datums, area, pattern tracks) instead of the plan's JSON.
    #[arg(long)]
    pub geojson: bool,
}

fn pair(s: &str, flag: &str, what: &str) -> Result<(f64, f64)> {
    let (a, b) = s
        .split_once('/')
        .with_context(|| format!("{flag} {s:?}: expected {what}"))?;
    let a: f64 = a
        .trim()
        .parse()
        .with_context(|| format!("{flag} {s:?}: expected {what}"))?;
    let b: f64 = b
        .trim()
        .parse()
        .with_context(|| format!("{flag} {s:?}: expected {what}"))?;
    if !((0.0..=360.0).contains(&a) && b.is_finite() && b >= 0.0) {
        bail!("{flag} {s:?}: direction 0–360 degrees, speed 0 or more knots");
    }
    Ok((a, b))
}

/// `tidewatch sar`.
pub fn run(args: &SarArgs) -> Result<()> {
    match &args.command {
        SarCommand::Objects => {
            for o in OBJECTS {
                println!("{}", serde_json::to_string(&o)?);
            }
            Ok(())
        }
        SarCommand::Plan(a) => {
            let (lat, lon) = a
                .lkp
                .split_once(',')
                .and_then(|(la, lo)| {
                    Some((
                        la.trim().parse::<f64>().ok()?,
                        lo.trim().parse::<f64>().ok()?,
                    ))
                })
                .with_context(|| format!("--lkp {:?}: expected LAT,LON in degrees", a.lkp))?;
            let lkp = Position::new(lat, lon).with_context(|| {
                format!("--lkp {:?}: latitude −90..90, longitude −180..180", a.lkp)
            })?;
            let obj = object(&a.object).with_context(|| {
                format!(
                    "--object {:?}: not a drift object class; classes: {}",
                    a.object,
                    OBJECTS.iter().map(|o| o.id).collect::<Vec<_>>().join(", ")
                )
            })?;
            let (wind_from_deg, wind_kn) = pair(&a.wind, "--wind", "FROM_DEG/KN, e.g. 270/15")?;
            let (current_to_deg, current_kn) =
                pair(&a.current, "--current", "TO_DEG/KN, e.g. 090/1")?;
            let inputs = SearchInputs {
                lkp,
                lkp_time: a.time,
                at: a.at.unwrap_or_else(Timestamp::now),
                object: obj.id.to_string(),
                wind_from_deg,
                wind_kn,
                current_to_deg,
                current_kn,
                x_nm: a.x_nm,
                y_nm: a.y_nm,
                de_nm: a.de_nm,
                fs: a.fs,
                spacing_nm: a.spacing_nm,
            };
            let p = plan(&inputs, obj).context("cannot plan")?;
            let out = if a.geojson {
                p.to_geojson()
            } else {
                serde_json::to_value(&p)?
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
    }
}
