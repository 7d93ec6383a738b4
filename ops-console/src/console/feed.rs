//! The console's feed from the broker: observations, fusion's alerts and the taskings
//! sent to units, into the picture; changes out to the browsers (SSE).
//!
//! A persistent session with QoS 1 and manual acks: an alert is acknowledged to the broker
//! only once it is in the console's store, so one published while the console was down or
//! as it crashed is delivered again (repeats are recognised by id and revision).
//!
//! The broker lets only ingest publish observations and only fusion alerts and taskings, but
//! it cannot read them: what the content must agree with is checked here, and a message that
//! does not is refused (counted by reason, logged, kept in `console-rejects.jsonl`):
//! `topic_mismatch` (an observation, alert or tasking about another vessel, unit or kind than
//! its topic names), `alert_revision_backwards` (a revision older than the newest held of that
//! alert, and not one held already: fusion's revisions only go forward, a repeat is a
//! redelivery), `alert_kind_changed` (an alert id held with another kind).

use ingest::link::client::{self, Failover};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ingest::model::{Observation, ObservationData};
use ingest::wire::topics::{ALERTS_FILTER, OBS_FILTER, SEA_CASE_FILTER, TASKING_FILTER, Topic};
use ingest::wire::{PatrolReport, Tasking};
use jiff::SignedDuration;
use rumqttc::{Event, Packet, Publish, QoS};
use tokio::sync::mpsc;

use super::Console;
use super::live::LiveEvent;

/// Where the console's feed connects, and as whom.
pub type FeedConfig = client::Endpoint;

/// Run the feed until the console is dropped or `shutdown` completes.
pub async fn run(
    cfg: FeedConfig,
    console: Arc<Console>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut nodes = Failover::new(cfg.node_options("", true, 1 << 20));
    let (client, mut el) = nodes.connect(1024);
    let (tx, mut rx) = mpsc::channel::<Publish>(4096);
    let sub = client.clone();
    let health = console.clone();
    const FILTERS: [&str; 4] = [OBS_FILTER, ALERTS_FILTER, TASKING_FILTER, SEA_CASE_FILTER];
    let mut to_units = console
        .take_to_units()
        .expect("one feed per console takes what goes to the units");
    let poller = tokio::spawn(async move {
        let mut awaiting = FILTERS.len();
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    nodes.connected();
                    health.feed_connected(true);
                    health.feed_subscribed(false);
                    awaiting = FILTERS.len();
                    for f in FILTERS {
                        let _ = sub.subscribe(f, QoS::AtLeastOnce).await;
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    awaiting = awaiting.saturating_sub(1);
                    if awaiting == 0 {
                        health.feed_subscribed(true);
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
                    health.feed_subscribed(false);
                    tracing::warn!(error = %e, "console: MQTT connection lost; reconnecting");
                    nodes.lost(&mut el).await;
                }
            }
        }
    });
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let mut last = Instant::now();
    let mut ticks = 0u64;
    let mut batch: Vec<Publish> = Vec::with_capacity(512);
    let mut storing: Option<tokio::task::JoinHandle<Result<(), super::store::StoreError>>> = None;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = ticker.tick() => {
                let now = Instant::now();
                let elapsed = SignedDuration::try_from(now - last).unwrap_or_default();
                last = now;
                // History to disk off the async threads, one write at a time, never waited
                // for here: the feed goes on taking (and acknowledging) observations, which
                // the broker holds its publishers for. What a write still running leaves
                // waits in the picture for the next tick. Pruned once a minute.
                if let Some(h) = storing.take_if(|h| h.is_finished())
                    && let Ok(Err(e)) = h.await
                {
                    tracing::error!(error = %e, "console: cannot store the picture's history");
                }
                let (changed, clock, points, keep_s) = {
                    let mut p = console.picture_mut();
                    p.tick(elapsed);
                    let points = if storing.is_none() { p.take_pending() } else { Vec::new() };
                    (p.take_changed(), p.clock(), points, p.history().as_secs())
                };
                ticks += 1;
                if storing.is_none() {
                    let c = console.clone();
                    let prune = ticks.is_multiple_of(60).then(|| clock.as_second() - keep_s);
                    storing = Some(tokio::task::spawn_blocking(move || {
                        c.store().add_positions(&points)?;
                        if let Some(before) = prune {
                            c.store().prune_positions(before)?;
                        }
                        Ok::<_, super::store::StoreError>(())
                    }));
                }
                if !changed.is_empty() {
                    console.publish(LiveEvent::Tracks(changed));
                }
                console.publish(LiveEvent::Clock(clock));
            }
            Some((topic, payload)) = to_units.recv() => {
                let _ = client.publish(topic, QoS::AtLeastOnce, false, payload).await;
            }
            n = rx.recv_many(&mut batch, 512) => {
                if n == 0 {
                    break;
                }
                // Acknowledged in order once the batch is taken, the refused ones once
                // made durable together (one fsync a batch, not one a message).
                let mut taken = Vec::with_capacity(batch.len());
                for p in batch.drain(..) {
                    let refused_before = console.refused_total();
                    // A case action from sea is answered before it is acknowledged, and
                    // acknowledged only once taken: while the store fails it is tried again
                    // (for half a minute; then left unacknowledged, so the broker delivers it
                    // again).
                    let mut tries = 0;
                    let out = loop {
                        match take(&console, &p) {
                            Ok(out) => break Some(out),
                            Err(e) if tries < STORE_TRIES => {
                                tries += 1;
                                tracing::error!(error = %e, topic = %p.topic, "console: cannot take a message; trying again");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                            Err(e) => {
                                tracing::error!(error = %e, topic = %p.topic, "console: cannot take a message; left unacknowledged for the broker to deliver again");
                                break None;
                            }
                        }
                    };
                    let Some(out) = out else { continue };
                    for (topic, payload) in out {
                        let _ = client.publish(topic, QoS::AtLeastOnce, false, payload).await;
                    }
                    taken.push((console.refused_total() > refused_before, p));
                }
                for p in to_acknowledge(taken, || console.sync_rejects()) {
                    let _ = client.ack(&p).await;
                }
            }
        }
    }
    // What the last second added to the history, before going.
    if let Some(h) = storing.take()
        && let Ok(Err(e)) = h.await
    {
        tracing::error!(error = %e, "console: cannot store the picture's history");
    }
    let points = console.picture_mut().take_pending();
    if let Err(e) = console.store().add_positions(&points) {
        tracing::error!(error = %e, "console: cannot store the picture's history");
    }
    let _ = client.disconnect().await;
    poller.abort();
}

/// Of a batch's messages taken (each with whether it was refused), those to acknowledge, in
/// order: all of them once `sync` made the refused ones durable (one `fsync` for the batch;
/// not called when none was refused); if it fails, all but the refused ones, which the broker
/// delivers again. An acknowledgement is a promise that a power cut does not break.
fn to_acknowledge<P>(
    taken: Vec<(bool, P)>,
    sync: impl FnOnce() -> Result<(), super::store::StoreError>,
) -> Vec<P> {
    let durable = !taken.iter().any(|(refused, _)| *refused)
        || sync()
            .map_err(|e| {
                tracing::error!(error = %e, "console: cannot make refused messages durable; left unacknowledged for the broker to deliver again");
            })
            .is_ok();
    taken
        .into_iter()
        .filter(|(refused, _)| durable || !refused)
        .map(|(_, p)| p)
        .collect()
}

/// How many times a message is tried while the store fails (once a second).
const STORE_TRIES: u32 = 30;

fn take(console: &Console, p: &Publish) -> Result<super::sea::Outgoing, super::store::StoreError> {
    let mut out = Vec::new();
    if let Topic::PatrolCase(unit) = Topic::parse(&p.topic).unwrap_or(Topic::Alert(String::new())) {
        super::sea::take(console, &unit, &p.payload, &mut out)?;
        return Ok(out);
    }
    take_into(console, p)?;
    Ok(out)
}

/// Take one message; an error (the store or the rejects file could not be written) leaves
/// it unacknowledged.
fn take_into(console: &Console, p: &Publish) -> Result<(), super::store::StoreError> {
    let topic = p.topic.as_str();
    let refuse = |reason: &'static str, why: &str| console.refuse(reason, topic, why, &p.payload);
    match Topic::parse(topic) {
        Some(t @ (Topic::ObsAis(_) | Topic::ObsPatrol(_) | Topic::ObsRadar(_))) => {
            match serde_json::from_slice::<Observation>(&p.payload) {
                Ok(o) => {
                    let belongs = Topic::of_observation(&o);
                    if belongs != t {
                        let why = format!("an observation that belongs on {belongs}");
                        return refuse("topic_mismatch", &why);
                    }
                    console.picture_mut().observe(&o);
                    // A unit's answer to its tasking, as the picture took it, is kept.
                    if let ObservationData::Report {
                        report: PatrolReport::TaskingAck { tasking, .. },
                        ..
                    } = &o.data
                    {
                        let answer = console
                            .picture()
                            .tasking_status(tasking)
                            .filter(|(s, _)| *s != "sent")
                            .map(|(s, r)| (s.to_owned(), r.map(str::to_owned)));
                        // Shown at once, and kept for a restart before it is acknowledged
                        // (a NUL, which PostgreSQL refuses, replaced: a unit's text must not
                        // poison the feed).
                        if let Some((status, reason)) = answer {
                            let reason = reason.map(|r| r.replace('\0', "\u{fffd}"));
                            console.store().set_tasking_status(
                                tasking,
                                &status,
                                reason.as_deref(),
                            )?;
                        }
                    }
                    Ok(())
                }
                Err(e) => refuse("bad_observation", &e.to_string()),
            }
        }
        Some(Topic::Alert(kind)) => match serde_json::from_slice::<fusion::Alert>(&p.payload) {
            Ok(a) => {
                if let Err((reason, why)) = check_alert(console, &kind, &a) {
                    return refuse(reason, &why);
                }
                // Acknowledged only once stored: an error leaves it for the broker.
                console.take_alert(a, &p.payload)
            }
            Err(e) => refuse("bad_alert", &e.to_string()),
        },
        Some(Topic::PatrolTasking(unit)) => match serde_json::from_slice::<Tasking>(&p.payload) {
            Ok(t) if t.unit != unit.as_str() => {
                let why = format!("a tasking for {} on {unit}'s topic", t.unit);
                refuse("topic_mismatch", &why)
            }
            Ok(t) => {
                // Kept before it is shown, so a restart still shows who is tasked.
                console
                    .store()
                    .add_tasking(&t.id, &String::from_utf8_lossy(&p.payload))?;
                let (unit, alert) = (t.unit.clone(), t.alert.clone());
                console.picture_mut().tasking(t);
                console.tasked(&unit, &alert);
                Ok(())
            }
            Err(e) => refuse("bad_tasking", &e.to_string()),
        },
        _ => refuse("unknown_topic", "not a topic the console reads"),
    }
}

/// What an alert revision must agree with: its topic's kind, and the revisions held of it.
fn check_alert(
    console: &Console,
    kind: &str,
    a: &fusion::Alert,
) -> Result<(), (&'static str, String)> {
    if a.kind.as_str() != kind {
        return Err((
            "topic_mismatch",
            format!("a {} alert on the {kind} topic", a.kind.as_str()),
        ));
    }
    let p = console.picture();
    let Some(latest) = p.latest_revision(&a.id) else {
        return Ok(());
    };
    if latest.kind != a.kind {
        return Err((
            "alert_kind_changed",
            format!(
                "alert {} is a {} alert, not {}",
                a.id,
                latest.kind.as_str(),
                a.kind.as_str()
            ),
        ));
    }
    if a.revision < latest.revision && !p.has_revision(&a.id, a.revision) {
        return Err((
            "alert_revision_backwards",
            format!(
                "revision {} of alert {} after revision {}",
                a.revision, a.id, latest.revision
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use serde_json::json;

    fn console() -> Console {
        Console::for_tests(None)
    }

    fn publish(topic: &str, payload: serde_json::Value) -> Publish {
        Publish::new(topic, QoS::AtLeastOnce, payload.to_string())
    }

    fn alert(id: &str, kind: &str, revision: u32, state: &str) -> serde_json::Value {
        let now = Timestamp::now();
        json!({"id": id, "kind": kind, "severity": "high", "state": state,
            "revision": revision, "time": now, "start": now, "mmsi": [247_123_456], "contacts": [],
            "position": {"lat": 35.2, "lon": 12.9}, "score": 0.8,
            "reasons": ["2 vessels within 180 m for 52 min"], "rule": format!("{kind}@1"),
            "params": {}})
    }

    fn refused(c: &Console, reason: &str) -> u64 {
        c.stats()
            .refused
            .lock()
            .unwrap()
            .get(reason)
            .copied()
            .unwrap_or(0)
    }

    /// What the broker cannot judge, the console does: an alert revision older than the one it
    /// holds, an alert, tasking or observation on another subject's topic.
    #[test]
    fn review_17_5_the_console_refuses_what_the_broker_cannot_judge() {
        let c = console();
        let rv = "tidewatch/v1/alerts/rendezvous";
        take(&c, &publish(rv, alert("rv-1", "rendezvous", 2, "open"))).unwrap();
        // Redelivered: the same revision again, not a refusal.
        take(&c, &publish(rv, alert("rv-1", "rendezvous", 2, "open"))).unwrap();
        // Backwards: revision 1 after revision 2.
        take(
            &c,
            &publish(rv, alert("rv-1", "rendezvous", 1, "retracted")),
        )
        .unwrap();
        let (now, revs) = c.picture().alert_with_history("rv-1").unwrap();
        assert_eq!(
            (now.revision, now.state.as_str(), revs.len()),
            (2, "open", 1),
            "the console took a revision going backwards"
        );
        assert_eq!(refused(&c, "alert_revision_backwards"), 1);

        // A rendezvous on the SAR beacons' topic.
        take(
            &c,
            &publish(
                "tidewatch/v1/alerts/sar_beacon",
                alert("rv-2", "rendezvous", 1, "open"),
            ),
        )
        .unwrap();
        assert!(c.picture().alert_with_history("rv-2").is_none());
        assert_eq!(refused(&c, "topic_mismatch"), 1);

        // cp-302's tasking on cp-301's topic.
        let t = json!({"id": "t-1", "time": Timestamp::now(), "unit": "cp-302", "kind": "sar",
            "alert": "rv-1", "instructions": "search", "datum": {"lat": 35.0, "lon": 13.0},
            "distance_nm": 12.0, "eta_min": 40.0});
        take(&c, &publish("tidewatch/v1/patrol/cp-301/tasking", t)).unwrap();
        assert!(!c.picture().has_tasking("t-1"));
        assert_eq!(refused(&c, "topic_mismatch"), 2);

        // One vessel's observation on another's topic.
        let now = Timestamp::now();
        let o = json!({"id": "o-1", "time": now, "time_source": "tag_block", "received_at": now,
            "receivers": ["test"], "data": {"kind": "ais", "mmsi": 247_000_111, "msg_type": 1,
            "lat": 35.1, "lon": 12.8, "sog_kn": 7.5, "cog_deg": 270.0}});
        take(&c, &publish("tidewatch/v1/obs/ais/247000222", o)).unwrap();
        assert!(c.picture().vessel(247_000_111).is_none());
        assert_eq!(refused(&c, "topic_mismatch"), 3);
    }

    /// Review 23: the units' taskings and their answers outlive a console restart (they were
    /// held in memory only: after a restart nobody was shown tasked, and answers were lost).
    #[test]
    fn review_23_taskings_and_the_units_answers_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::testkit::on_postgres().then(crate::testkit::TestDb::new);
        let open = || Console::for_tests_on(Some(dir.path().to_path_buf()), db.as_ref());
        let now = Timestamp::now();
        {
            let c = open();
            for (id, unit) in [("task-A-cp-302", "cp-302"), ("task-A-cp-301", "cp-301")] {
                let t = json!({"id": id, "time": now, "unit": unit, "kind": "sar",
                    "alert": "A", "instructions": "search", "datum": {"lat": 35.5, "lon": 12.5},
                    "distance_nm": 12.0, "eta_min": 40.0});
                take(
                    &c,
                    &publish(&format!("tidewatch/v1/patrol/{unit}/tasking"), t),
                )
                .unwrap();
            }
            let ack: Observation = serde_json::from_value(json!({
                "id": "ack-1", "time": now, "time_source": "sender", "received_at": now,
                "receivers": ["cp-302"],
                "data": {"kind": "report", "unit": "cp-302", "report": {
                    "type": "tasking_ack", "time": now, "tasking": "task-A-cp-302",
                    "accepted": false, "reason": "engine failure"}},
            }))
            .unwrap();
            let topic = Topic::of_observation(&ack).to_string();
            take(&c, &publish(&topic, serde_json::to_value(&ack).unwrap())).unwrap();
            assert_eq!(
                c.picture().tasking_status("task-A-cp-302"),
                Some(("declined", Some("engine failure")))
            );
        }
        let c = open();
        let p = c.picture();
        assert_eq!(
            p.tasking_status("task-A-cp-302"),
            Some(("declined", Some("engine failure")))
        );
        assert_eq!(p.tasking_status("task-A-cp-301"), Some(("sent", None)));
        assert_eq!(p.units_tasked_for(&["A".to_owned()]).len(), 2);
    }

    /// A batch's refused messages are acknowledged only once made durable together: one sync
    /// a batch (none without a refusal); if it fails, they are left for the broker to
    /// deliver again, the others acknowledged. Before, each refusal was acknowledged as soon
    /// as written, with nothing to make it durable: a power cut could lose the last ones.
    #[test]
    fn refused_messages_are_acknowledged_only_once_durable() {
        let calls = std::cell::Cell::new(0);
        let ok = || {
            calls.set(calls.get() + 1);
            Ok(())
        };
        assert_eq!(to_acknowledge(vec![(false, 1), (false, 2)], ok), [1, 2]);
        assert_eq!(calls.get(), 0, "no refusal, no sync");
        assert_eq!(
            to_acknowledge(vec![(false, 1), (true, 2), (true, 3), (false, 4)], ok),
            [1, 2, 3, 4]
        );
        assert_eq!(calls.get(), 1, "one sync for the batch");
        let failing = || {
            Err(super::super::store::StoreError::Io(std::io::Error::other(
                "disk gone",
            )))
        };
        assert_eq!(
            to_acknowledge(vec![(false, 1), (true, 2), (false, 3)], failing),
            [1, 3]
        );
        // And the console's sync reaches the file (written, then synced without error).
        let dir = tempfile::tempdir().unwrap();
        let c = Console::for_tests(Some(dir.path().to_path_buf()));
        c.refuse("bad_observation", "tidewatch/v1/obs/ais/1", "test", b"{")
            .unwrap();
        c.sync_rejects().unwrap();
        assert_eq!(c.refused_total(), 1);
    }

    /// Review 23: an alert the store could not keep is not taken (the feed acknowledges only
    /// what `take` took, so the broker delivers it again), and a refused message is kept whole,
    /// its payload included, before it is counted.
    #[test]
    fn review_23_an_alert_not_stored_is_not_acknowledged_and_a_refusal_keeps_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let c = Console::for_tests(Some(dir.path().to_path_buf()));
        c.store().refuse_inserts_for_tests("alerts", true);
        let rv = "tidewatch/v1/alerts/rendezvous";
        let p = publish(rv, alert("rv-9", "rendezvous", 1, "open"));
        let e = take(&c, &p).unwrap_err();
        assert!(e.to_string().contains("full"), "{e}");
        assert!(c.picture().alert_with_history("rv-9").is_none());
        // Delivered again once the store can write: taken, and kept.
        c.store().refuse_inserts_for_tests("alerts", false);
        take(&c, &p).unwrap();
        assert!(c.picture().alert_with_history("rv-9").is_some());
        assert_eq!(c.store().alerts().unwrap().len(), 1);

        let wrong = alert("rv-10", "rendezvous", 1, "open");
        take(
            &c,
            &publish("tidewatch/v1/alerts/sar_beacon", wrong.clone()),
        )
        .unwrap();
        let kept = std::fs::read_to_string(dir.path().join("console-rejects.jsonl")).unwrap();
        let line: serde_json::Value = serde_json::from_str(kept.lines().last().unwrap()).unwrap();
        assert_eq!(line["reason"], "topic_mismatch");
        let payload: serde_json::Value =
            serde_json::from_str(line["payload"].as_str().unwrap()).unwrap();
        assert_eq!(payload, wrong);
        assert_eq!(refused(&c, "topic_mismatch"), 1);
    }
}
