//! `/metrics` in the Prometheus text format.
//!
//! The services keep their own counters (plain snapshots, cheap on the hot path and
//! readable by tests and the status page), and each stats type says which metrics it is
//! ([`ingest::stats::Report`], next to its fields); a scrape copies them into a Prometheus
//! recorder and renders it. So `/metrics` and every other view read the same numbers.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `tidewatch_ingest_lines_total` | `source`, `verdict` | lines and reports archived, by source (`ais:<receiver>`, `patrol:<unit>`); `rate()` gives per-source rates |
//! | `tidewatch_ingest_rejected_total` | `reason` | lines and reports rejected (decode failures and bad reports), by reason |
//! | `tidewatch_ingest_mqtt_messages_total` | | MQTT messages and feed lines handed to ingest |
//! | `tidewatch_ingest_observations_total` | `kind` | observations published: `new`, or `update` (heard by more receivers) |
//! | `tidewatch_ingest_connects_total` | | connections to the broker (first and reconnects) |
//! | `tidewatch_ingest_connection_errors_total` | | connections lost or refused |
//! | `tidewatch_ingest_unit_lines_missing_total`, `tidewatch_ingest_unit_out_of_order_total` | | patrol units' numbered lines (`n:`) that never came, or came late |
//! | `tidewatch_ingest_queue_depth` | `queue` | `broker` (received, not yet processed), `feeds` (TCP/UDP lines), `unacked` (archived, not yet fsync'd and acknowledged), `unconfirmed` (observations not yet confirmed by the broker) |
//! | `tidewatch_ingest_disk_full` | | 1 while the raw archive's disk is full: nothing is acknowledged (critical); `tidewatch_ingest_disk_full_episodes_total` counts the episodes, `tidewatch_ingest_archive_pending_bytes` what waits in memory |
//! | `tidewatch_fusion_restore_seconds`, `tidewatch_fusion_restored_from_snapshot`, `tidewatch_fusion_replayed_entries`, `tidewatch_fusion_journal_unreadable_lines` | | the start: time to restore the engine's state, whether a snapshot was found, journal entries replayed, lines torn by a crash |
//! | `tidewatch_fusion_snapshots_total`, `tidewatch_fusion_snapshot_bytes` | | snapshots of the engine's state written, the latest one's size |
//! | `tidewatch_fusion_store_failing` | | 1 while fusion cannot write its journal or alert store (a full disk): it acknowledges nothing until it can (critical on the status page); `tidewatch_fusion_store_failures_total` counts the episodes |
//! | `tidewatch_store_bytes` | `store` | disk space each store takes: `raw` (the archive), `observations`, `console` (database, evidence), `fusion` |
//! | `tidewatch_disk_free_bytes` | | free space on the data directory's file system |
//! | `tidewatch_feed_lines_total`, `tidewatch_feed_truncated_total`, `tidewatch_feed_udp_dropped_total`, `tidewatch_feed_connections_total`, `tidewatch_feed_connections_refused_total`, `tidewatch_feed_idle_closed_total` | | TCP and UDP feeds |
//! | `tidewatch_tsdb_points_total` | `outcome` | time-series points: `offered`, `written`, `dropped_queue_full`, `dropped_closed`, `failed` |
//! | `tidewatch_tsdb_queue_depth` | | points queued or in flight |
//! | `tidewatch_broker_connections_total` | `listener` | embedded broker connections accepted: `loopback`, `auth` (the remote TLS listener of `--mqtt-remote`) |
//! | `tidewatch_broker_tls_handshakes_total` | | TLS handshakes completed on the remote listener |
//! | `tidewatch_broker_open_connections` | | open now |
//! | `tidewatch_broker_held_total`, `tidewatch_broker_held`, `tidewatch_broker_held_oldest_seconds` | | publishes whose PUBACK waited (waits now; the oldest's age) for the consumers that must have them: ingest (the line is archived), fusion, the console |
//! | `tidewatch_broker_held_waiting` | `consumer` | publishes waiting now, by the consumer session they wait for (the console's status names a consumer that keeps publishers waiting) |
//! | `tidewatch_broker_lost_total` | `consumer`, `filter` | messages the broker's engine skipped for a consumer that was waited for, or for a patrol unit (followed, never waited for) (never expected; a keeper's publishers are cut off to send theirs again: `tidewatch_broker_resend_closes_total`) |
//! | `tidewatch_broker_unconfirmed_total` | `consumer` | messages published while a must-see consumer was released, on topics it reads: the broker no longer vouches that they reach it (the engine's log may still hold them when it comes back, or may have wrapped past them) |
//! | `tidewatch_broker_released_total` | | times a must-see consumer (fusion, the console) was no longer waited for: away, or connected and acknowledging nothing, for 60 s (it is waited for again once it acknowledges) |
//! | `tidewatch_broker_waited_for_services_total` | | publishes held at the front until the services that read them subscribed (at start) |
//! | `tidewatch_broker_refusals_total` | `reason` | connections closed by the broker's fronts: `bad_credentials`, `revoked` (a revoked identity's password, or its open connection cut), `tls_handshake` (plain MQTT to the TLS port, a client that refused the certificate, no handshake in time), ACL and shape refusals, ... |

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use ingest::stats::{Report, Shared};
use metrics::{Unit, counter, describe_counter, describe_gauge, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

type Collect = Box<dyn Fn() + Send + Sync>;

/// The registry behind `/metrics`: sources of counters, read at each scrape.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    collectors: Mutex<Vec<Collect>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// An empty registry (its own recorder: nothing global, so several can coexist).
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        Metrics {
            recorder,
            handle,
            collectors: Mutex::new(Vec::new()),
        }
    }

    /// The Prometheus text of every source, as of now.
    pub fn render(&self) -> String {
        metrics::with_local_recorder(&self.recorder, || {
            if let Ok(c) = self.collectors.lock() {
                c.iter().for_each(|f| f());
            }
        });
        self.handle.render()
    }

    /// Report a component's counters, read by `read` at each scrape.
    pub fn add<S: Report + 'static>(&self, read: impl Fn() -> S + Send + Sync + 'static) {
        metrics::with_local_recorder(&self.recorder, S::describe);
        if let Ok(mut c) = self.collectors.lock() {
            c.push(Box::new(move || read().record()));
        }
    }

    /// Report a running service's counters.
    pub fn add_service<S: Report + Clone + Default + Send + 'static>(&self, handle: Shared<S>) {
        self.add(move || handle.stats());
    }

    /// Report disk use: the space each store (name, directory) takes, and the free space on
    /// the file system of `data`. The stores are walked at most every 10 s (ten years of
    /// hourly archive files, about 90 000, take some 130 ms), so their sizes may be that
    /// old; the free space is read at each scrape.
    pub fn add_stores(&self, data: PathBuf, stores: Vec<(&'static str, PathBuf)>) {
        const WALK_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
        let walked: Mutex<Option<(std::time::Instant, Vec<u64>)>> = Mutex::new(None);
        self.add(move || {
            let mut w = walked.lock().unwrap_or_else(|e| e.into_inner());
            if w.as_ref().is_none_or(|(at, _)| at.elapsed() >= WALK_EVERY) {
                let sizes = stores
                    .iter()
                    .map(|(_, dir)| ingest::hourly::disk_use_bytes(dir))
                    .collect();
                *w = Some((std::time::Instant::now(), sizes));
            }
            DiskUse {
                stores: stores
                    .iter()
                    .zip(w.as_ref().map(|(_, s)| s.as_slice()).unwrap_or_default())
                    .map(|((store, _), bytes)| (*store, *bytes))
                    .collect(),
                free_bytes: ingest::hourly::free_bytes(&data).ok(),
            }
        });
    }
}

/// Disk use, as of a scrape.
#[derive(Debug, Clone, Default)]
pub struct DiskUse {
    /// Bytes each store takes (allocated blocks), by name.
    pub stores: Vec<(&'static str, u64)>,
    /// Free space on the data directory's file system (`None` if it cannot be read).
    pub free_bytes: Option<u64>,
}

impl Report for DiskUse {
    fn describe() {
        describe_gauge!(
            "tidewatch_store_bytes",
            Unit::Bytes,
            "Disk space each store takes (allocated blocks)"
        );
        describe_gauge!(
            "tidewatch_disk_free_bytes",
            Unit::Bytes,
            "Free space on the data directory's file system"
        );
    }

    fn record(&self) {
        for (store, bytes) in &self.stores {
            gauge!("tidewatch_store_bytes", "store" => *store).set(*bytes as f64);
        }
        if let Some(free) = self.free_bytes {
            gauge!("tidewatch_disk_free_bytes").set(free as f64);
        }
    }
}

/// The console's own figures, read at each scrape.
#[derive(Debug, Clone, Default)]
pub struct ConsoleFigures {
    /// Tracks the picture holds.
    pub tracks: u64,
    /// Alert revisions stored.
    pub alerts: u64,
    /// Browsers on the live stream.
    pub live_clients: u64,
    /// Sessions in memory.
    pub sessions: u64,
    /// The feed is connected to the broker.
    pub feed_connected: bool,
    /// Messages from the broker refused, by reason.
    pub refused: Vec<(&'static str, u64)>,
}

impl Report for ConsoleFigures {
    fn describe() {
        describe_gauge!(
            "tidewatch_console_tracks",
            "tracks on the console's picture"
        );
        describe_counter!(
            "tidewatch_console_alert_revisions_total",
            "alert revisions the console stored"
        );
        describe_gauge!(
            "tidewatch_console_live_clients",
            "browser tabs on the live stream"
        );
        describe_gauge!("tidewatch_console_sessions", "console sessions in memory");
        describe_gauge!(
            "tidewatch_console_feed_connected",
            "1 when the console's feed is connected to the broker"
        );
        describe_counter!(
            "tidewatch_console_refused_total",
            "broker messages the console refused, by reason"
        );
    }

    fn record(&self) {
        let f = self;
        gauge!("tidewatch_console_tracks").set(f.tracks as f64);
        counter!("tidewatch_console_alert_revisions_total").absolute(f.alerts);
        gauge!("tidewatch_console_live_clients").set(f.live_clients as f64);
        gauge!("tidewatch_console_sessions").set(f.sessions as f64);
        gauge!("tidewatch_console_feed_connected").set(ingest::stats::flag(f.feed_connected));
        for (reason, n) in &f.refused {
            counter!("tidewatch_console_refused_total", "reason" => *reason).absolute(*n);
        }
    }
}

/// The `/metrics` route.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let m = metrics.clone();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    m.render(),
                )
                    .into_response()
            }
        }),
    )
}

/// Serve `router` on `addr` in the background; fails at once if the address is taken.
pub async fn serve(addr: SocketAddr, router: Router) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for HTTP on {addr}"))?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    Ok(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_reports_ingest_counters_with_labels() {
        let m = Metrics::new();
        m.add_service(ingest::service::ServiceHandle::new());
        let feeds = Arc::new(ingest::inputs::InputStats::default());
        feeds.lines.store(7, std::sync::atomic::Ordering::Relaxed);
        m.add(move || feeds.clone());
        m.add_service(fusion::service::ServiceHandle::new());
        let text = m.render();
        assert!(
            text.contains("tidewatch_fusion_observations_total{kind=\"new\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE tidewatch_ingest_mqtt_messages_total counter"),
            "{text}"
        );
        assert!(text.contains("tidewatch_feed_lines_total 7"), "{text}");
        assert!(
            text.contains("tidewatch_ingest_queue_depth{queue=\"broker\"} 0"),
            "{text}"
        );
        assert!(text.contains("tidewatch_ingest_disk_full 0"), "{text}");
    }

    /// An ingest instance that gave a slot up (another instance joined, or took it over)
    /// reads 0 for it: the gauge kept its last 1, and every instance looked to hold every
    /// slot it ever held (the deploy test waited in vain for the slots to be shared).
    #[test]
    fn a_slot_given_up_reads_0_not_its_last_1() {
        let m = Metrics::new();
        let slots: std::collections::BTreeSet<String> = ["north", "rest"].map(String::from).into();
        let stats = Arc::new(Mutex::new(ingest::instances::InstanceStats {
            slots: slots.clone(),
            holds: slots,
            ..Default::default()
        }));
        let read = stats.clone();
        m.add(move || read.lock().unwrap().clone());
        let held = |text: &str, slot: &str| {
            let line = format!("tidewatch_ingest_slot_held{{slot=\"{slot}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(&line))
                .map(|v| v.to_owned())
        };
        let text = m.render();
        assert_eq!(held(&text, "north").as_deref(), Some("1"), "{text}");
        stats.lock().unwrap().holds.remove("north");
        let text = m.render();
        assert_eq!(held(&text, "north").as_deref(), Some("0"), "{text}");
        assert_eq!(held(&text, "rest").as_deref(), Some("1"), "{text}");
    }

    #[test]
    fn render_reports_each_stores_disk_use_and_the_free_space() {
        let data = tempfile::tempdir().unwrap();
        let raw = data.path().join("raw");
        std::fs::create_dir(&raw).unwrap();
        std::fs::write(raw.join("raw-20261122T14.nmea"), vec![b'x'; 100_000]).unwrap();
        let m = Metrics::new();
        m.add_stores(
            data.path().to_owned(),
            vec![
                ("raw", raw),
                ("observations", data.path().join("observations")),
            ],
        );
        let text = m.render();
        let value = |prefix: &str| -> f64 {
            text.lines()
                .find_map(|l| l.strip_prefix(prefix)?.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
        };
        // Allocated blocks: at least the bytes written (plus the directory's own).
        assert!(
            value("tidewatch_store_bytes{store=\"raw\"}") >= 100_000.0,
            "{text}"
        );
        assert_eq!(value("tidewatch_store_bytes{store=\"observations\"}"), 0.0);
        assert!(value("tidewatch_disk_free_bytes") > 0.0, "{text}");
        assert!(
            text.contains("# TYPE tidewatch_store_bytes gauge"),
            "{text}"
        );
    }
}
