//! `tidewatch console`: the operations console alone, against an external broker.

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::cli::ConsoleArgs;
use crate::console::{self, ConsoleConfig, feed::FeedConfig};
use crate::metrics::Metrics;
use ingest::link::{client::Endpoint, parse_brokers, read_secret};

/// `tidewatch console`.
pub fn run(args: &ConsoleArgs) -> Result<()> {
    let nodes = parse_brokers(&args.broker)?;
    let credentials = match (&args.user, &args.password_file) {
        (Some(u), Some(f)) => Some((u.clone(), read_secret(f, "password")?)),
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let web = console::WebSecurity::for_address(
        &args.http,
        args.tls.files(),
        Some(&args.data),
        args.secure_cookies,
    )
    .context("--http: HTTPS")?;
    runtime.block_on(async {
        let metrics = Arc::new(Metrics::new());
        let running = console::start(
            config(args)?,
            FeedConfig {
                credentials,
                ..Endpoint::cluster(&nodes, &args.client_id).context("--broker: no node")?
            },
            args.http,
            metrics,
            web,
        )
        .await?;
        announce(&running);
        tokio::signal::ctrl_c().await.ok();
        running.shutdown().await;
        Ok(())
    })
}

/// What the console runs on: its directory, the case reference data, and the same fusion
/// configuration and geography as `tidewatch fusion` is given (`--config`, `--zones`,
/// `--ports`), so that the picture's risk and identity history agree with the alerts.
pub fn config(args: &ConsoleArgs) -> Result<ConsoleConfig> {
    Ok(ConsoleConfig {
        dir: Some(console::console_dir(&args.data)),
        picture: Default::default(),
        fusion: args.fusion.setup()?,
        reference: console::load_reference(args.reference.as_deref())?,
        database: match &args.database {
            None => None,
            Some(url) => Some(console::Database {
                url: url.clone(),
                password: match &args.database_password_file {
                    Some(f) => Some(read_secret(f, "database password")?),
                    None => None,
                },
            }),
        },
    })
}

/// Tell the operator where the console is and, on first start, the admin's password.
pub fn announce(running: &console::Running) {
    let at = ingest::link::tls::reachable(&running.http);
    match &running.tls_fingerprint {
        None => eprintln!("  console      -> http://{at}/"),
        Some(f) => eprintln!(
            "  console      -> https://{at}/\n  certificate  -> SHA-256 {f}\n               (check it in the browser; patrol units pin it: --pin {f})"
        ),
    }
    if let Some((name, password)) = &running.first_admin {
        eprintln!(
            "  first start: administrator {name:?} created; one-time password: {password}\n               (log in and change it; then create accounts: tidewatch user add NAME --role ROLE)"
        );
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use crate::cli::{Cli, Command};

    /// The regression of the console whose picture always ran fusion's default configuration:
    /// `tidewatch console --config --zones --ports` gives its engine what `tidewatch fusion`
    /// is given, and so does `tidewatch up`.
    #[test]
    fn the_console_and_up_run_the_fusion_configuration_they_are_given() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("fusion.toml");
        std::fs::write(&config, "[risk]\nwatchlist = [247123456]\n").unwrap();
        let zones = dir.path().join("zones.geojson");
        std::fs::write(
            &zones,
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"closure"},"geometry":{"type":"Polygon","coordinates":[[[12,35],[13,35],[13,36],[12,35]]]}}]}"#,
        )
        .unwrap();
        let files = [
            "--config",
            config.to_str().unwrap(),
            "--zones",
            zones.to_str().unwrap(),
        ];
        let data = dir.path().join("data");
        let console = Cli::try_parse_from(
            ["tidewatch", "console", "--data", data.to_str().unwrap()]
                .into_iter()
                .chain(files),
        )
        .unwrap();
        let Command::Console(args) = console.command else {
            panic!("not the console")
        };
        let setup = super::config(&args).unwrap().fusion;
        assert_eq!(setup.config.risk.watchlist, vec![247123456]);
        assert_eq!(setup.geodata.zones.zones.len(), 1);
        let up = Cli::try_parse_from(["tidewatch", "up"].into_iter().chain(files)).unwrap();
        let Command::Up(args) = up.command else {
            panic!("not up")
        };
        let setup = crate::cmd::up::fusion_setup(&args, None).unwrap();
        assert_eq!(setup.config.risk.watchlist, vec![247123456]);
        assert_eq!(setup.geodata.zones.zones.len(), 1);
    }
}
