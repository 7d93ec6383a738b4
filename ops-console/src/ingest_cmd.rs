//! `tidewatch ingest`: the ingest service alone, against an external broker.

use anyhow::{Context, Result, bail};
use ingest::service::{self, ServiceConfig, ServiceHandle};

use crate::cli::IngestArgs;

/// `tidewatch ingest`.
pub fn run(args: &IngestArgs) -> Result<()> {
    let (host, port) = args
        .broker
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u16>().ok()?)))
        .with_context(|| format!("--broker {:?}: expected HOST:PORT", args.broker))?;
    if host.is_empty() {
        bail!("--broker {:?}: the host is empty", args.broker);
    }
    let mut cfg = ServiceConfig::new(&host, port, args.data.join("raw"));
    cfg.client_id = args.client_id.clone();
    if let (Some(user), Some(file)) = (&args.user, &args.password_file) {
        let password = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the password file {}", file.display()))?;
        cfg.credentials = Some((
            user.clone(),
            password.trim_end_matches(['\r', '\n']).to_owned(),
        ));
    }
    eprintln!(
        "tidewatch ingest: broker {host}:{port} as {:?}, raw archive {}",
        cfg.client_id,
        cfg.archive_dir.display()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let handle = ServiceHandle::new();
    runtime.block_on(async {
        service::run(cfg, handle.clone(), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    })?;
    let s = handle.stats();
    eprintln!(
        "tidewatch ingest: stopped after {} messages, {} observations, {} updates, {} connections; rejected by reason: {:?}",
        s.messages, s.observations, s.updates, s.connects, s.rejected
    );
    Ok(())
}
