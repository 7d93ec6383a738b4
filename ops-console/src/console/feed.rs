//! The console's feed from the broker: observations, fusion's alerts and the taskings
//! sent to units, into the picture; changes out to the browsers (SSE).
//!
//! A persistent session with QoS 1 and manual acks: an alert is acknowledged to the broker
//! only once it is in the console's store, so one published while the console was down or
//! as it crashed is delivered again (repeats are recognised by id and revision).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ingest::model::Observation;
use ingest::wire::Tasking;
use ingest::wire::topics::{ALERTS_FILTER, OBS_FILTER, TASKING_FILTER};
use jiff::SignedDuration;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use tokio::sync::mpsc;

use super::Console;
use super::live::LiveEvent;

/// Where the console's feed connects.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// MQTT client id (its persistent session).
    pub client_id: String,
    /// Username and password, if the broker wants them.
    pub credentials: Option<(String, String)>,
}

/// Run the feed until the console is dropped or `shutdown` completes.
pub async fn run(
    cfg: FeedConfig,
    console: Arc<Console>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut o = MqttOptions::new(cfg.client_id.clone(), cfg.host.clone(), cfg.port);
    o.set_clean_session(false);
    o.set_manual_acks(true);
    o.set_keep_alive(Duration::from_secs(10));
    o.set_max_packet_size(1 << 20, 1 << 20);
    if let Some((u, p)) = &cfg.credentials {
        o.set_credentials(u, p);
    }
    let (client, mut el) = AsyncClient::new(o, 1024);
    let (tx, mut rx) = mpsc::channel::<Publish>(4096);
    let sub = client.clone();
    let health = console.clone();
    let poller = tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    health.feed_connected(true);
                    for f in [OBS_FILTER, ALERTS_FILTER, TASKING_FILTER] {
                        let _ = sub.subscribe(f, QoS::AtLeastOnce).await;
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if tx.send(p).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    health.feed_connected(false);
                    tracing::warn!(error = %e, "console: MQTT connection lost; reconnecting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let mut last = Instant::now();
    let mut ticks = 0u64;
    let mut batch: Vec<Publish> = Vec::with_capacity(512);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = ticker.tick() => {
                let now = Instant::now();
                let elapsed = SignedDuration::try_from(now - last).unwrap_or_default();
                last = now;
                let (changed, clock, points, keep_s) = {
                    let mut p = console.picture_mut();
                    p.tick(elapsed);
                    (p.take_changed(), p.clock(), p.take_pending(), p.history().as_secs())
                };
                // History to disk off the async threads; pruned once a minute.
                ticks += 1;
                let c = console.clone();
                let prune = ticks.is_multiple_of(60).then(|| clock.as_second() - keep_s);
                let stored = tokio::task::spawn_blocking(move || {
                    c.store().add_positions(&points)?;
                    if let Some(before) = prune {
                        c.store().prune_positions(before)?;
                    }
                    Ok::<_, super::store::StoreError>(())
                });
                if let Ok(Err(e)) = stored.await {
                    tracing::error!(error = %e, "console: cannot store the picture's history");
                }
                if !changed.is_empty() {
                    console.publish(LiveEvent::Tracks(changed));
                }
                console.publish(LiveEvent::Clock(clock));
            }
            n = rx.recv_many(&mut batch, 512) => {
                if n == 0 {
                    break;
                }
                for p in batch.drain(..) {
                    take(&console, &p);
                    let _ = client.ack(&p).await;
                }
            }
        }
    }
    // What the last second added to the history, before going.
    let points = console.picture_mut().take_pending();
    if let Err(e) = console.store().add_positions(&points) {
        tracing::error!(error = %e, "console: cannot store the picture's history");
    }
    let _ = client.disconnect().await;
    poller.abort();
}

fn take(console: &Console, p: &Publish) {
    let topic = p.topic.as_str();
    let suffix = topic.strip_prefix("tidewatch/v1/").unwrap_or(topic);
    if suffix.starts_with("obs/") {
        match serde_json::from_slice::<Observation>(&p.payload) {
            Ok(o) => console.picture_mut().observe(&o),
            Err(e) => console.refuse("bad_observation", topic, &e.to_string()),
        }
    } else if suffix.starts_with("alerts/") {
        match serde_json::from_slice::<fusion::Alert>(&p.payload) {
            Ok(a) => {
                if let Err(e) = console.take_alert(a, &p.payload) {
                    tracing::error!(error = %e, "console: cannot store an alert");
                }
            }
            Err(e) => console.refuse("bad_alert", topic, &e.to_string()),
        }
    } else if suffix.ends_with("/tasking") {
        match serde_json::from_slice::<Tasking>(&p.payload) {
            Ok(t) => console.picture_mut().tasking(t),
            Err(e) => console.refuse("bad_tasking", topic, &e.to_string()),
        }
    } else {
        console.refuse("unknown_topic", topic, "not a topic the console reads");
    }
}
