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
            web,
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
    let at = crate::tls::reachable(&running.http);
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
