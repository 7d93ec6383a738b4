//! The `tidewatch` command.

use std::process::ExitCode;

use clap::Parser;
use ops_console::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => ops_console::decode::run(&args),
        Command::Up(args) => ops_console::up::run(&args),
        Command::Verify(args) => ops_console::verify::run(&args),
        Command::Ingest(args) => ops_console::ingest_cmd::run(&args),
        Command::Patrol(args) => ops_console::patrol::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`tidewatch decode ... | head`) is not an error.
            if e.chain()
                .filter_map(|c| c.downcast_ref::<std::io::Error>())
                .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("tidewatch: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
