//! `/metrics` in the Prometheus text format.
//!
//! The services keep their own counters (plain snapshots, cheap on the hot path and
//! readable by tests and the status page); a scrape copies them into a Prometheus
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
//! | `tidewatch_feed_lines_total`, `tidewatch_feed_truncated_total`, `tidewatch_feed_udp_dropped_total`, `tidewatch_feed_connections_total` | | TCP and UDP feeds |
//! | `tidewatch_tsdb_points_total` | `outcome` | time-series points: `offered`, `written`, `dropped_queue_full`, `dropped_closed`, `failed` |
//! | `tidewatch_tsdb_queue_depth` | | points queued or in flight |
//! | `tidewatch_broker_connections_total` | `listener` | embedded broker connections accepted: `loopback`, `auth` (the remote TLS listener of `--mqtt-remote`) |
//! | `tidewatch_broker_tls_handshakes_total` | | TLS handshakes completed on the remote listener |
//! | `tidewatch_broker_open_connections` | | open now |
//! | `tidewatch_broker_held_total`, `tidewatch_broker_held`, `tidewatch_broker_held_oldest_seconds` | | publishes whose PUBACK waited (waits now; the oldest's age) for the consumers that must have them: ingest (the line is archived), fusion, the console |
//! | `tidewatch_broker_held_waiting` | `consumer` | publishes waiting now, by the consumer session they wait for (the console's status names a consumer that keeps publishers waiting) |
//! | `tidewatch_broker_lost_total` | `consumer`, `filter` | messages the broker's engine skipped for a consumer that was waited for, or for a patrol unit (followed, never waited for) (never expected; a keeper's publishers are cut off to send theirs again: `tidewatch_broker_resend_closes_total`) |
//! | `tidewatch_broker_released_total` | | times a must-see consumer (fusion, the console) was no longer waited for: away, or connected and acknowledging nothing, for 60 s (it is waited for again once it acknowledges) |
//! | `tidewatch_broker_waited_for_services_total` | | publishes held at the front until the services that read them subscribed (at start) |
//! | `tidewatch_broker_refusals_total` | `reason` | connections closed by the broker's fronts: `bad_credentials`, `revoked` (a revoked identity's password, or its open connection cut), `tls_handshake` (plain MQTT to the TLS port, a client that refused the certificate, no handshake in time), ACL and shape refusals, ... |

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use ingest::inputs::InputStats;
use ingest::service::ServiceHandle;
use ingest::tsdb::TsdbHandle;
use metrics::{Unit, counter, describe_counter, describe_gauge, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use tidewatch_broker::BrokerStats;

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

    fn add(&self, describe: impl Fn(), collect: impl Fn() + Send + Sync + 'static) {
        metrics::with_local_recorder(&self.recorder, describe);
        if let Ok(mut c) = self.collectors.lock() {
            c.push(Box::new(collect));
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

    /// Report an ingest service.
    pub fn add_ingest(&self, handle: ServiceHandle) {
        self.add(
            || {
                describe_counter!(
                    "tidewatch_ingest_lines_total",
                    Unit::Count,
                    "Lines and reports archived, by source and verdict"
                );
                describe_counter!(
                    "tidewatch_ingest_rejected_total",
                    Unit::Count,
                    "Lines and reports rejected, by reason"
                );
                describe_counter!(
                    "tidewatch_ingest_mqtt_messages_total",
                    Unit::Count,
                    "MQTT messages and feed lines handed to ingest"
                );
                describe_counter!(
                    "tidewatch_ingest_observations_total",
                    Unit::Count,
                    "Observations published: new, or update (heard by more receivers)"
                );
                describe_counter!(
                    "tidewatch_ingest_connects_total",
                    Unit::Count,
                    "Connections to the MQTT broker, the first and every reconnect"
                );
                describe_counter!(
                    "tidewatch_ingest_connection_errors_total",
                    Unit::Count,
                    "MQTT connections lost or refused"
                );
                describe_counter!(
                    "tidewatch_ingest_unit_lines_missing_total",
                    Unit::Count,
                    "Lines patrol units numbered that never arrived"
                );
                describe_counter!(
                    "tidewatch_ingest_unit_out_of_order_total",
                    Unit::Count,
                    "Numbered patrol lines that arrived after a later one"
                );
                describe_gauge!(
                    "tidewatch_ingest_queue_depth",
                    Unit::Count,
                    "Items waiting in ingest's queues"
                );
                describe_gauge!(
                    "tidewatch_ingest_disk_full",
                    "1 while the raw archive's disk is full: nothing is acknowledged (critical)"
                );
                describe_counter!(
                    "tidewatch_ingest_disk_full_episodes_total",
                    Unit::Count,
                    "Times the raw archive's disk was found full"
                );
                describe_gauge!(
                    "tidewatch_ingest_archive_pending_bytes",
                    Unit::Bytes,
                    "While the raw archive's disk is full: bytes received and waiting in memory"
                );
            },
            move || {
                let s = handle.stats();
                for (source, n) in &s.accepted_by_source {
                    counter!("tidewatch_ingest_lines_total", "source" => source.clone(), "verdict" => "accepted")
                        .absolute(*n);
                }
                for (source, n) in &s.rejected_by_source {
                    counter!("tidewatch_ingest_lines_total", "source" => source.clone(), "verdict" => "rejected")
                        .absolute(*n);
                }
                for (reason, n) in &s.rejected {
                    counter!("tidewatch_ingest_rejected_total", "reason" => reason.clone())
                        .absolute(*n);
                }
                counter!("tidewatch_ingest_mqtt_messages_total").absolute(s.messages);
                counter!("tidewatch_ingest_observations_total", "kind" => "new")
                    .absolute(s.observations);
                counter!("tidewatch_ingest_observations_total", "kind" => "update")
                    .absolute(s.updates);
                counter!("tidewatch_ingest_connects_total").absolute(s.connects);
                counter!("tidewatch_ingest_connection_errors_total")
                    .absolute(s.connection_errors);
                counter!("tidewatch_ingest_unit_lines_missing_total")
                    .absolute(s.unit_sequence_gaps);
                counter!("tidewatch_ingest_unit_out_of_order_total").absolute(s.unit_out_of_order);
                gauge!("tidewatch_ingest_queue_depth", "queue" => "broker")
                    .set(s.queue_broker as f64);
                gauge!("tidewatch_ingest_queue_depth", "queue" => "feeds").set(s.queue_feeds as f64);
                gauge!("tidewatch_ingest_queue_depth", "queue" => "unacked").set(s.unacked as f64);
                gauge!("tidewatch_ingest_queue_depth", "queue" => "unconfirmed")
                    .set(s.unconfirmed as f64);
                gauge!("tidewatch_ingest_disk_full").set(if s.disk_full { 1.0 } else { 0.0 });
                counter!("tidewatch_ingest_disk_full_episodes_total").absolute(s.disk_full_episodes);
                gauge!("tidewatch_ingest_archive_pending_bytes").set(s.archive_pending_bytes as f64);
            },
        );
    }

    /// Report a fusion service.
    pub fn add_fusion(&self, handle: fusion::service::ServiceHandle) {
        self.add(
            || {
                describe_counter!(
                    "tidewatch_fusion_observations_total",
                    Unit::Count,
                    "Observations taken by fusion: new, or redelivered (dropped by id)"
                );
                describe_counter!(
                    "tidewatch_fusion_rejected_total",
                    Unit::Count,
                    "Messages fusion refused, by reason (kept in rejects.jsonl)"
                );
                describe_counter!(
                    "tidewatch_fusion_alert_revisions_total",
                    Unit::Count,
                    "Alert revisions stored and published, by kind"
                );
                describe_counter!(
                    "tidewatch_fusion_taskings_total",
                    Unit::Count,
                    "Taskings sent to patrol units"
                );
                describe_counter!(
                    "tidewatch_fusion_future_times_total",
                    Unit::Count,
                    "Observations stamped more than an hour ahead, taken at the fusion clock"
                );
                describe_counter!(
                    "tidewatch_fusion_connection_errors_total",
                    Unit::Count,
                    "MQTT connections lost or refused"
                );
                describe_gauge!(
                    "tidewatch_fusion_vessels",
                    Unit::Count,
                    "Vessels tracked now"
                );
                describe_gauge!(
                    "tidewatch_fusion_restore_seconds",
                    Unit::Seconds,
                    "How long the start took to restore the engine's state (snapshot and journal)"
                );
                describe_gauge!(
                    "tidewatch_fusion_restored_from_snapshot",
                    Unit::Count,
                    "1 when the start found a snapshot of the engine's state"
                );
                describe_gauge!(
                    "tidewatch_fusion_replayed_entries",
                    Unit::Count,
                    "Journal entries (observations and ticks) replayed at the start"
                );
                describe_gauge!(
                    "tidewatch_fusion_journal_unreadable_lines",
                    Unit::Count,
                    "Journal lines that could not be read at the start (torn by a crash)"
                );
                describe_gauge!(
                    "tidewatch_fusion_store_failing",
                    Unit::Count,
                    "1 while fusion cannot write its journal or alert store (a full disk): it acknowledges nothing until it can"
                );
                describe_counter!(
                    "tidewatch_fusion_store_failures_total",
                    Unit::Count,
                    "Episodes of tidewatch_fusion_store_failing"
                );
                describe_counter!(
                    "tidewatch_fusion_snapshots_total",
                    Unit::Count,
                    "Snapshots of the engine's state written since the start"
                );
                describe_gauge!(
                    "tidewatch_fusion_snapshot_bytes",
                    Unit::Bytes,
                    "Size of the latest snapshot"
                );
                describe_gauge!(
                    "tidewatch_fusion_lag_seconds",
                    Unit::Seconds,
                    "How far the fusion clock (the data's time) is behind the wall clock"
                );
            },
            move || {
                let s = handle.stats();
                counter!("tidewatch_fusion_observations_total", "kind" => "new")
                    .absolute(s.observations);
                counter!("tidewatch_fusion_observations_total", "kind" => "redelivered")
                    .absolute(s.duplicates);
                for (reason, n) in &s.rejected {
                    counter!("tidewatch_fusion_rejected_total", "reason" => *reason).absolute(*n);
                }
                for (kind, n) in &s.alert_revisions {
                    counter!("tidewatch_fusion_alert_revisions_total", "kind" => kind.clone())
                        .absolute(*n);
                }
                counter!("tidewatch_fusion_taskings_total").absolute(s.taskings);
                counter!("tidewatch_fusion_future_times_total").absolute(s.future_times);
                counter!("tidewatch_fusion_connection_errors_total").absolute(s.connection_errors);
                gauge!("tidewatch_fusion_vessels").set(s.vessels as f64);
                gauge!("tidewatch_fusion_restore_seconds").set(s.restore_seconds);
                gauge!("tidewatch_fusion_restored_from_snapshot")
                    .set(u8::from(s.restored_from_snapshot) as f64);
                gauge!("tidewatch_fusion_replayed_entries").set(s.replayed as f64);
                gauge!("tidewatch_fusion_journal_unreadable_lines")
                    .set(s.journal_unreadable as f64);
                counter!("tidewatch_fusion_snapshots_total").absolute(s.snapshots);
                gauge!("tidewatch_fusion_store_failing").set(u8::from(s.store_failing) as f64);
                counter!("tidewatch_fusion_store_failures_total").absolute(s.store_failures);
                gauge!("tidewatch_fusion_snapshot_bytes").set(s.snapshot_bytes as f64);
                if let Some(c) = s.clock {
                    let lag = jiff::Timestamp::now().duration_since(c).as_secs_f64();
                    gauge!("tidewatch_fusion_lag_seconds").set(lag);
                }
            },
        );
    }

    /// Report disk use: the space each store (name, directory) takes, and the free space on
    /// the file system of `data`. The stores are walked at most every 10 s (ten years of
    /// hourly archive files, about 90 000, take some 130 ms), so their sizes may be that
    /// old; the free space is read at each scrape.
    pub fn add_stores(&self, data: PathBuf, stores: Vec<(&'static str, PathBuf)>) {
        const WALK_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
        let walked: Mutex<Option<(std::time::Instant, Vec<u64>)>> = Mutex::new(None);
        self.add(
            || {
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
            },
            move || {
                let Ok(mut w) = walked.lock() else {
                    return;
                };
                if w.as_ref().is_none_or(|(at, _)| at.elapsed() >= WALK_EVERY) {
                    let sizes = stores
                        .iter()
                        .map(|(_, dir)| ingest::hourly::disk_use_bytes(dir))
                        .collect();
                    *w = Some((std::time::Instant::now(), sizes));
                }
                if let Some((_, sizes)) = w.as_ref() {
                    for ((store, _), bytes) in stores.iter().zip(sizes) {
                        gauge!("tidewatch_store_bytes", "store" => *store).set(*bytes as f64);
                    }
                }
                if let Ok(free) = ingest::hourly::free_bytes(&data) {
                    gauge!("tidewatch_disk_free_bytes").set(free as f64);
                }
            },
        );
    }

    /// Report the TCP and UDP feeds.
    pub fn add_feeds(&self, stats: Arc<InputStats>) {
        self.add(
            || {
                describe_counter!(
                    "tidewatch_feed_lines_total",
                    Unit::Count,
                    "Lines read from TCP and UDP feeds"
                );
                describe_counter!(
                    "tidewatch_feed_truncated_total",
                    Unit::Count,
                    "Feed lines cut at the line limit"
                );
                describe_counter!(
                    "tidewatch_feed_udp_dropped_total",
                    Unit::Count,
                    "UDP datagrams dropped because ingest was behind"
                );
                describe_counter!(
                    "tidewatch_feed_connections_total",
                    Unit::Count,
                    "TCP feed connections accepted or made"
                );
            },
            move || {
                counter!("tidewatch_feed_lines_total").absolute(stats.lines.load(Relaxed));
                counter!("tidewatch_feed_truncated_total").absolute(stats.truncated.load(Relaxed));
                counter!("tidewatch_feed_udp_dropped_total")
                    .absolute(stats.udp_dropped.load(Relaxed));
                counter!("tidewatch_feed_connections_total")
                    .absolute(stats.connections.load(Relaxed));
            },
        );
    }

    /// Report the time-series writer.
    pub fn add_tsdb(&self, handle: TsdbHandle) {
        self.add(
            || {
                describe_counter!(
                    "tidewatch_tsdb_points_total",
                    Unit::Count,
                    "Time-series points by outcome"
                );
                describe_gauge!(
                    "tidewatch_tsdb_queue_depth",
                    Unit::Count,
                    "Time-series points queued or in flight"
                );
            },
            move || {
                let s = handle.stats();
                for (outcome, n) in [
                    ("offered", s.offered),
                    ("written", s.written),
                    ("dropped_queue_full", s.dropped_queue_full),
                    ("dropped_closed", s.dropped_closed),
                    ("failed", s.failed_after_retries),
                ] {
                    counter!("tidewatch_tsdb_points_total", "outcome" => outcome).absolute(n);
                }
                gauge!("tidewatch_tsdb_queue_depth").set(s.pending() as f64);
            },
        );
    }

    /// Report the embedded broker.
    pub fn add_broker(&self, stats: impl Fn() -> BrokerStats + Send + Sync + 'static) {
        let waited_on = Mutex::new(std::collections::BTreeSet::<String>::new());
        self.add(
            || {
                describe_counter!(
                    "tidewatch_broker_connections_total",
                    Unit::Count,
                    "Embedded broker connections accepted, by listener"
                );
                describe_counter!(
                    "tidewatch_broker_tls_handshakes_total",
                    Unit::Count,
                    "TLS handshakes completed on the embedded broker's remote listener"
                );
                describe_gauge!(
                    "tidewatch_broker_open_connections",
                    Unit::Count,
                    "Embedded broker connections open now"
                );
                describe_counter!(
                    "tidewatch_broker_refusals_total",
                    Unit::Count,
                    "Connections closed by the embedded broker, by reason"
                );
                describe_counter!(
                    "tidewatch_broker_held_total",
                    Unit::Count,
                    "Publishes whose PUBACK waited for the consumers that must have them"
                );
                describe_gauge!(
                    "tidewatch_broker_held",
                    Unit::Count,
                    "Publishes whose PUBACK waits now"
                );
                describe_gauge!(
                    "tidewatch_broker_held_oldest_seconds",
                    Unit::Seconds,
                    "Age of the oldest publish whose PUBACK waits"
                );
                describe_gauge!(
                    "tidewatch_broker_held_waiting",
                    Unit::Count,
                    "Publishes waiting now, by the consumer session they wait for"
                );
                describe_counter!(
                    "tidewatch_broker_lost_total",
                    Unit::Count,
                    "Messages the broker never delivered to a consumer that was waited for, by consumer session and subscription"
                );
                describe_counter!(
                    "tidewatch_broker_released_total",
                    Unit::Count,
                    "Times a must-see consumer was no longer waited for: away or hung past its grace"
                );
                describe_counter!(
                    "tidewatch_broker_resend_closes_total",
                    Unit::Count,
                    "Publisher connections closed without a PUBACK because ingest never got the message (the publisher sends it again)"
                );
                describe_counter!(
                    "tidewatch_broker_waited_for_services_total",
                    Unit::Count,
                    "Publishes that waited for the services that read them to subscribe"
                );
            },
            move || {
                let s = stats();
                let h = &s.holds;
                counter!("tidewatch_broker_held_total").absolute(h.held_total);
                gauge!("tidewatch_broker_held").set(h.held_now as f64);
                gauge!("tidewatch_broker_held_oldest_seconds")
                    .set(h.oldest_held_ms as f64 / 1000.0);
                // A consumer no longer waited on reads 0, not its last count.
                let mut waited = waited_on.lock().unwrap_or_else(|e| e.into_inner());
                for c in waited.iter() {
                    if !h.waiting_on.contains_key(c) {
                        gauge!("tidewatch_broker_held_waiting", "consumer" => c.clone()).set(0.0);
                    }
                }
                for (c, n) in &h.waiting_on {
                    gauge!("tidewatch_broker_held_waiting", "consumer" => c.clone()).set(*n as f64);
                    waited.insert(c.clone());
                }
                for ((c, filter), n) in &h.lost {
                    counter!("tidewatch_broker_lost_total", "consumer" => c.clone(), "filter" => filter.clone())
                        .absolute(*n);
                }
                counter!("tidewatch_broker_resend_closes_total").absolute(h.resend_closes);
                counter!("tidewatch_broker_released_total").absolute(h.released_sessions);
                counter!("tidewatch_broker_waited_for_services_total")
                    .absolute(h.waited_for_services);
                counter!("tidewatch_broker_connections_total", "listener" => "loopback")
                    .absolute(s.loopback_connections);
                counter!("tidewatch_broker_connections_total", "listener" => "auth")
                    .absolute(s.auth_connections);
                counter!("tidewatch_broker_tls_handshakes_total").absolute(s.tls_handshakes);
                gauge!("tidewatch_broker_open_connections").set(s.open_connections as f64);
                for (reason, n) in s.refused.iter() {
                    counter!("tidewatch_broker_refusals_total", "reason" => reason.as_str())
                        .absolute(n);
                }
            },
        );
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

impl Metrics {
    /// The console's figures.
    pub fn add_console(&self, read: impl Fn() -> ConsoleFigures + Send + Sync + 'static) {
        self.add(
            || {
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
            },
            move || {
                let f = read();
                gauge!("tidewatch_console_tracks").set(f.tracks as f64);
                counter!("tidewatch_console_alert_revisions_total").absolute(f.alerts);
                gauge!("tidewatch_console_live_clients").set(f.live_clients as f64);
                gauge!("tidewatch_console_sessions").set(f.sessions as f64);
                gauge!("tidewatch_console_feed_connected").set(if f.feed_connected {
                    1.0
                } else {
                    0.0
                });
                for (reason, n) in f.refused {
                    counter!("tidewatch_console_refused_total", "reason" => reason).absolute(n);
                }
            },
        );
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
        let h = ServiceHandle::new();
        m.add_ingest(h.clone());
        let feeds = Arc::new(InputStats::default());
        feeds.lines.store(7, Relaxed);
        m.add_feeds(feeds);
        m.add_fusion(fusion::service::ServiceHandle::new());
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
