//! `tidewatch fusion`: the fusion service alone, against an external broker.

use anyhow::{Context, Result};
use fusion::service::{self, ServiceConfig, ServiceHandle};

use crate::cli::FusionArgs;
use ingest::link::{client::Endpoint, parse_brokers, read_secret};

/// `tidewatch fusion`.
pub fn run(args: &FusionArgs) -> Result<()> {
    let nodes = parse_brokers(&args.broker)?;
    let mut cfg = ServiceConfig::new(&nodes[0].0, nodes[0].1, args.data.join("fusion"));
    cfg.broker = Endpoint::cluster(&nodes, &args.client_id).context("--broker: no node")?;
    cfg.snapshot_every = std::time::Duration::from_secs(args.snapshot_every);
    cfg.carry_clock = !args.data_clock;
    cfg.retain_alerts_days = args.fusion_retention.retain_alerts;
    cfg.retain_rejects_days = args.fusion_retention.retain_rejects;
    if let (Some(user), Some(file)) = (&args.user, &args.password_file) {
        cfg.broker.credentials = Some((user.clone(), read_secret(file, "password")?));
    }
    let engine = args.fusion.setup()?.engine();
    eprintln!(
        "tidewatch fusion: broker {} as {:?}, alerts to {}",
        args.broker,
        cfg.broker.client_id,
        cfg.dir.join("alerts.jsonl").display()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let handle = ServiceHandle::new();
    runtime.block_on(async {
        if let Some(addr) = args.metrics {
            let m = crate::metrics::Metrics::new();
            m.add_service(handle.clone());
            let bound = crate::metrics::serve(addr, crate::metrics::router(std::sync::Arc::new(m)))
                .await
                .context("--metrics")?;
            eprintln!("  metrics -> http://{bound}/metrics");
        }
        service::run(cfg, engine, handle.clone(), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("fusion stopped")
    })?;
    let s = handle.stats();
    eprintln!(
        "tidewatch fusion: {} observations ({} redelivered), {} refused, alert revisions {:?}",
        s.observations,
        s.duplicates,
        s.rejected.values().sum::<u64>(),
        s.alert_revisions
    );
    Ok(())
}
