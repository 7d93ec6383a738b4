//! `tidewatch ingest`: the ingest service alone, against an external broker, with
//! optional TCP and UDP feeds.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use ingest::inputs::{self, FeedFormat, InputStats};
use ingest::instances::{self, InstanceConfig, InstanceHandle, Slot};
use ingest::service::{self, ServiceConfig, ServiceHandle};
use ingest::tsdb::{InfluxConfig, InfluxSink, TsdbWriter, WriterConfig};
use ingest::wire::topics::UnitId;

use crate::cli::{IngestArgs, InputFormat};
use crate::metrics::{self, Metrics};
use ingest::link::{client::Endpoint, parse_brokers, read_secret};

/// `NAME=ADDR` of a feed.
fn feed(spec: &str, flag: &str) -> Result<(String, SocketAddr)> {
    let (name, addr) = spec
        .split_once('=')
        .with_context(|| format!("{flag} {spec:?}: expected NAME=ADDR"))?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b'/') {
        bail!("{flag} {spec:?}: NAME must be printable, without spaces or '/'");
    }
    let addr: SocketAddr = addr
        .parse()
        .with_context(|| format!("{flag} {spec:?}: ADDR must be IP:PORT"))?;
    Ok((name.to_owned(), addr))
}

/// `tidewatch ingest`.
pub fn run(args: &IngestArgs) -> Result<()> {
    let nodes = parse_brokers(&args.broker)?;
    let mut cfg = ServiceConfig::new(&nodes[0].0, nodes[0].1, args.data.join("raw"));
    cfg.broker = Endpoint::cluster(&nodes, &args.client_id).context("--broker: no node")?;
    cfg.retain_raw_days = Some(args.retain_raw);
    if let (Some(user), Some(file)) = (&args.user, &args.password_file) {
        cfg.broker.credentials = Some((user.clone(), read_secret(file, "password")?));
    }
    let listen: Vec<_> = args
        .tcp_listen
        .iter()
        .map(|s| feed(s, "--tcp-listen"))
        .collect::<Result<_>>()?;
    let connect: Vec<_> = args
        .tcp_connect
        .iter()
        .map(|s| feed(s, "--tcp-connect"))
        .collect::<Result<_>>()?;
    let udp: Vec<_> = args
        .udp
        .iter()
        .map(|s| feed(s, "--udp"))
        .collect::<Result<_>>()?;
    // The URL is checked before anything starts (the client library panics on a bad one).
    let influx = match &args.influx_url {
        Some(url) => {
            let token = match &args.influx_token_file {
                Some(f) => read_secret(f, "token")?,
                None => String::new(),
            };
            Some(
                InfluxConfig::new(url, &args.influx_org, &args.influx_bucket, token)
                    .with_context(|| format!("--influx-url {url:?}"))?,
            )
        }
        None => None,
    };
    let (listen_n, connect_n, udp_n) = (listen.len(), connect.len(), udp.len());
    let instance = match &args.instance {
        Some(name) => {
            let slots: Vec<Slot> = args
                .slot
                .iter()
                .map(|s| Slot::parse(s).map_err(|e| anyhow::anyhow!("--slot: {e}")))
                .collect::<Result<_>>()?;
            Some(InstanceConfig {
                name: UnitId::new(name).map_err(|e| anyhow::anyhow!("--instance: {e}"))?,
                slots: instances::plan(&slots).map_err(|e| anyhow::anyhow!("--slot: {e}"))?,
                heartbeat: std::time::Duration::from_millis(args.heartbeat_ms),
            })
        }
        None => None,
    };
    let ih = InstanceHandle::new();
    let format = match args.input_format {
        InputFormat::Nmea => FeedFormat::Nmea,
        InputFormat::AisCatcherJson => FeedFormat::AisCatcherJson,
    };
    eprintln!(
        "tidewatch ingest: broker {} as {:?}, raw archive {} (closed hours compressed, kept {} days)",
        args.broker,
        cfg.broker.client_id,
        cfg.archive_dir.display(),
        args.retain_raw
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let handle = ServiceHandle::new();
    let tsdb_stats = runtime.block_on(async {
        let writer = match &influx {
            Some(c) => {
                let sink = InfluxSink::new(c).map_err(|e| anyhow::anyhow!("{e}"))?;
                eprintln!(
                    "  time series -> {}",
                    args.influx_url.as_deref().unwrap_or_default()
                );
                Some(TsdbWriter::spawn(Arc::new(sink), WriterConfig::default()))
            }
            None => None,
        };
        cfg.tsdb = writer.as_ref().map(TsdbWriter::handle);
        let (tx, rx) = tokio::sync::mpsc::channel(4096);
        let stats = Arc::new(InputStats::default());
        if let Some(addr) = args.metrics {
            let m = Metrics::new();
            if instance.is_some() {
                let (a, b) = (ih.clone(), ih.clone());
                m.add(move || a.stats());
                m.add(move || b.instance());
            } else {
                m.add_service(handle.clone());
            }
            let feeds = stats.clone();
            m.add(move || feeds.clone());
            m.add_stores(args.data.clone(), vec![("raw", args.data.join("raw"))]);
            if let Some(t) = cfg.tsdb.clone() {
                m.add(move || t.stats());
            }
            let bound = metrics::serve(addr, metrics::router(Arc::new(m)))
                .await
                .context("--metrics")?;
            eprintln!("  metrics -> http://{bound}/metrics");
        }
        for (name, addr) in listen {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("--tcp-listen {name}={addr}: cannot listen"))?;
            eprintln!("  TCP feed {name}: listening on {addr}");
            tokio::spawn(inputs::tcp_server(
                l,
                name,
                format,
                tx.clone(),
                stats.clone(),
            ));
        }
        for (name, addr) in connect {
            eprintln!("  TCP feed {name}: reading from {addr}");
            tokio::spawn(inputs::tcp_client(
                addr,
                name,
                format,
                tx.clone(),
                stats.clone(),
            ));
        }
        for (name, addr) in udp {
            let s = tokio::net::UdpSocket::bind(addr)
                .await
                .with_context(|| format!("--udp {name}={addr}: cannot bind"))?;
            eprintln!("  UDP feed {name}: on {addr}");
            tokio::spawn(inputs::udp(s, name, format, tx.clone(), stats.clone()));
        }
        let has_feeds = !(listen_n == 0 && connect_n == 0 && udp_n == 0);
        drop(tx);
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        match &instance {
            Some(inst) => {
                eprintln!(
                    "  instance {} of slots {}",
                    inst.name,
                    inst.slots
                        .iter()
                        .map(|s| format!("{}={}", s.name, s.subscriptions.join(",")))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                instances::run(cfg, inst.clone(), ih.clone(), has_feeds.then_some(rx), stop)
                    .await
                    .context("ingest stopped")?;
            }
            None => service::run_with_inputs(cfg, handle.clone(), rx, stop)
                .await
                .context("ingest stopped")?,
        }
        Ok::<_, anyhow::Error>(match writer {
            Some(w) => Some(w.shutdown().await),
            None => None,
        })
    })?;
    if let Some(t) = tsdb_stats {
        eprintln!("tidewatch ingest: time series {t:?}");
    }
    let s = if instance.is_some() {
        ih.stats()
    } else {
        handle.stats()
    };
    eprintln!(
        "tidewatch ingest: stopped after {} messages, {} observations, {} updates, {} connections; rejected by reason: {:?}",
        s.messages, s.observations, s.updates, s.connects, s.rejected
    );
    Ok(())
}
