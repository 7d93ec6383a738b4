//! `tidewatch-patrol`: the patrol client alone, for the vessel's computer.

use std::process::ExitCode;

use clap::Parser;

/// Tidewatch on a patrol vessel: forwards the ship's NMEA (GNSS, compass, radar) with
/// store-and-forward on disk, sends the crew's reports typed on stdin and shows the taskings
/// the centre sends.
#[derive(Debug, Parser)]
#[command(name = "tidewatch-patrol", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    args: tidewatch_patrol::PatrolArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match tidewatch_patrol::run(&cli.args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tidewatch-patrol: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
