//! The fusion service against a real Mosquitto: observations in, alerts out on
//! `tidewatch/v1/alerts/{kind}` and in the store; bad messages refused, counted and kept;
//! a redelivered observation is not taken twice.

use std::time::Duration;

use fusion::service::{self, ServiceConfig, ServiceHandle};
use fusion::{FusionConfig, FusionEngine, Geodata};
use ingest::model::{AisObservation, Observation, ObservationData, TimeSource};
use jiff::{SignedDuration, Timestamp};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tidewatch_tests::Mosquitto;
use tokio::sync::{mpsc, oneshot};

fn obs(id: &str, time: Timestamp, mmsi: u32, lat: f64, lon: f64, sog_kn: f64) -> Observation {
    Observation {
        id: id.to_string(),
        time,
        time_source: TimeSource::TagBlock,
        received_at: time,
        receivers: vec!["lampedusa".into()],
        data: ObservationData::Ais(AisObservation {
            mmsi,
            msg_type: 1,
            lat: Some(lat),
            lon: Some(lon),
            sog_kn: Some(sog_kn),
            cog_deg: Some(90.0),
            nav_status: Some(0),
            ..AisObservation::default()
        }),
    }
}

/// A client subscribed to every alert.
async fn alert_watcher(port: u16) -> mpsc::UnboundedReceiver<(String, serde_json::Value)> {
    let (client, mut el) =
        AsyncClient::new(MqttOptions::new("test-alerts", "127.0.0.1", port), 100);
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = oneshot::channel();
    let mut ready = Some(ready_tx);
    tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    client
                        .try_subscribe("tidewatch/v1/alerts/#", QoS::AtLeastOnce)
                        .unwrap();
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(t) = ready.take() {
                        let _ = t.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let v = serde_json::from_slice(&p.payload).expect("alert JSON");
                    if tx.send((p.topic.clone(), v)).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    ready_rx.await.unwrap();
    rx
}

#[tokio::test]
async fn observations_over_mosquitto_raise_alerts_on_their_topic_and_in_the_store() {
    let broker = Mosquitto::start();
    let dir = std::env::temp_dir().join(format!("tw-fusion-mqtt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cfg = FusionConfig::default();
    cfg.position_jump.land = false;
    let geo = Geodata::load(&cfg, None).unwrap();
    let handle = ServiceHandle::new();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(service::run(
        ServiceConfig::new("127.0.0.1", broker.port, &dir),
        FusionEngine::new(cfg, geo),
        handle.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    // Fusion receives what is published once the broker confirmed its subscription.
    tokio::time::timeout(Duration::from_secs(30), async {
        while handle.stats().connects < 2 || !handle.stats().subscribed {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the condition within 30 s");
    let mut alerts = alert_watcher(broker.port).await;

    let (client, mut el) = AsyncClient::new(
        MqttOptions::new("test-ingest", "127.0.0.1", broker.port),
        100,
    );
    tokio::spawn(async move { while el.poll().await.is_ok() {} });
    let t0: Timestamp = "2026-11-22T02:00:00Z".parse().unwrap();
    // A vessel with an unallocated MID (646): invalid_identity at its first position.
    let o = obs("ais-1", t0, 646_123_456, 35.0, 13.5, 10.0);
    let payload = serde_json::to_vec(&o).unwrap();
    client
        .publish(
            "tidewatch/v1/obs/ais/646123456",
            QoS::AtLeastOnce,
            false,
            payload.clone(),
        )
        .await
        .unwrap();
    // The same observation delivered again (QoS 1 is at least once).
    client
        .publish(
            "tidewatch/v1/obs/ais/646123456",
            QoS::AtLeastOnce,
            false,
            payload,
        )
        .await
        .unwrap();
    // A message that is not an observation.
    client
        .publish(
            "tidewatch/v1/obs/ais/1",
            QoS::AtLeastOnce,
            false,
            "not json",
        )
        .await
        .unwrap();
    // Then the vessel jumps 60 NM in a minute.
    let o2 = obs(
        "ais-2",
        t0 + SignedDuration::from_mins(1),
        646_123_456,
        36.0,
        13.5,
        10.0,
    );
    client
        .publish(
            "tidewatch/v1/obs/ais/646123456",
            QoS::AtLeastOnce,
            false,
            serde_json::to_vec(&o2).unwrap(),
        )
        .await
        .unwrap();

    let (topic, alert) = tokio::time::timeout(Duration::from_secs(10), alerts.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(topic, "tidewatch/v1/alerts/invalid_identity");
    assert_eq!(alert["mmsi"], serde_json::json!([646_123_456]));
    assert!(
        alert["reasons"][0].as_str().unwrap().contains("MID 646"),
        "{alert}"
    );
    // The MMSI is invalid, so where its reports are says nothing: no jump alert.
    assert!(
        tokio::time::timeout(Duration::from_secs(1), alerts.recv())
            .await
            .is_err()
    );
    let s = handle.stats();
    assert_eq!(s.observations, 2, "{s:?}");
    assert_eq!(s.duplicates, 1, "{s:?}");
    assert_eq!(s.rejected.get("bad_observation"), Some(&1), "{s:?}");
    let stored = std::fs::read_to_string(dir.join("alerts.jsonl")).unwrap();
    assert_eq!(stored.lines().count(), 1, "{stored}");
    let rejects = std::fs::read_to_string(dir.join("rejects.jsonl")).unwrap();
    assert!(rejects.contains("not json"), "{rejects}");
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}
