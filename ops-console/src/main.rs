//! The `tidewatch` command.

use std::process::ExitCode;

use clap::Parser;
use ops_console::cli::{Cli, Command};

/// mimalloc, not glibc's allocator: under `up`'s load (ingest allocating and freeing per line
/// at 100 000 lines a second) glibc's heap fragmented and ingest's CPU per line grew by a
/// third within seconds (`_int_malloc` searching its bins), which at the edge of two cores
/// became a queue that never drained.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ops_console::small_pages();
    let cli = Cli::parse();
    // Warnings and refusals to stderr; `RUST_LOG` overrides (e.g. `RUST_LOG=debug`). The
    // broker engine's own logs are off by default: its shutdown chatter is not news, and
    // what matters about connections is logged by our fronts.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rumqttd=off")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        Command::Decode(args) => ops_console::cmd::decode::run(&args),
        Command::Analyze(args) => ops_console::cmd::analyze::run(&args),
        Command::Up(args) => ops_console::cmd::up::run(&args),
        Command::Verify(args) => ops_console::cmd::verify::run(&args),
        Command::Ingest(args) => ops_console::cmd::ingest::run(&args),
        Command::Fusion(args) => ops_console::cmd::fusion::run(&args),
        Command::Sar(args) => ops_console::cmd::sar::run(&args),
        Command::Patrol(args) => tidewatch_patrol::run(&args),
        Command::Console(args) => ops_console::cmd::console::run(&args),
        Command::User(args) => ops_console::cmd::user::run(&args),
        Command::Unit(args) => {
            ops_console::cmd::identity::run(tidewatch_broker::identities::Kind::Unit, &args)
        }
        Command::Receiver(args) => {
            ops_console::cmd::identity::run(tidewatch_broker::identities::Kind::Receiver, &args)
        }
        Command::Broker(args) => ops_console::cmd::identity::run_broker(&args),
        Command::Simulate(args) => ops_console::cmd::simulate::run(&args),
        Command::Deploy(args) => ops_console::cmd::deploy::run(&args),
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
