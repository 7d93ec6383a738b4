//! `tidewatch console`: the operations console alone, against an external broker.

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::cli::{ConsoleArgs, parse_broker, read_secret};
use crate::console::{self, ConsoleConfig, feed::FeedConfig};
use crate::metrics::Metrics;

/// `tidewatch console`.
pub fn run(args: &ConsoleArgs) -> Result<()> {
    let (host, port) = parse_broker(&args.broker)?;
    let credentials = match (&args.user, &args.password_file) {
        (Some(u), Some(f)) => Some((u.clone(), read_secret(f, "password")?)),
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let metrics = Arc::new(Metrics::new());
        let running = console::start(
            ConsoleConfig {
                dir: Some(console::console_dir(&args.data)),
                picture: Default::default(),
                fusion: Default::default(),
                reference: console::load_reference(args.reference.as_deref())?,
            },
            FeedConfig {
                host,
                port,
                client_id: args.client_id.clone(),
                credentials,
            },
            args.http,
            metrics,
            args.secure_cookies,
        )
        .await?;
        announce(&running);
        tokio::signal::ctrl_c().await.ok();
        running.shutdown().await;
        Ok(())
    })
}

/// Tell the operator where the console is and, on first start, the admin's password.
pub fn announce(running: &console::Running) {
    eprintln!("  console      -> http://{}/", running.http);
    if let Some((name, password)) = &running.first_admin {
        eprintln!(
            "  first start: administrator {name:?} created; one-time password: {password}\n               (log in and change it; then create accounts: tidewatch user add NAME --role ROLE)"
        );
    }
}
