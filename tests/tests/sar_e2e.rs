//! End to end over MQTT, every component real and in one process: the embedded broker,
//! ingest, fusion and the console. A patrol unit reports its position by NMEA; an AIS-SART
//! activation published by a receiver becomes a critical alert with a search plan in the
//! console, seen by a logged-in SAR mission coordinator, and a tasking reaches the unit's
//! topic, within 2 s. A SART TEST never alarms. The coordinator escalates the alert: the
//! SAR case is kept, and its phases are the coordinator's.
//!
//! Everyone logs in as themselves, as in `tidewatch up`: the services, the units, and the
//! test's watchers in the console's role; only the receiver's AIS comes anonymously.

use std::time::{Duration, Instant};

use fusion::{FusionConfig, FusionEngine, Geodata};
use ingest::ais::nmea_checksum;
use ingest::service::{self as ingest_service, ServiceConfig, ServiceHandle};
use jiff::Timestamp;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use simulators::ais_encode::{EncodeOptions, TagBlockOptions, encode};
use tidewatch_broker::{Broker, BrokerConfig, Credentials, Role};
use tokio::sync::{mpsc, oneshot};

/// An NMEA sentence with its checksum.
fn nmea(body: &str) -> String {
    format!("${body}*{:02X}", nmea_checksum(body.as_bytes()))
}

/// A SART position report: type 1, MMSI 970…, status 14 (active) or 15 (test).
fn sart_line(mmsi: u32, status: u8, lat: f64, lon: f64, time: Timestamp) -> String {
    let mut m = ingest::ais::AisMessage::empty(1);
    m.mmsi = mmsi;
    if let ingest::ais::Body::Position(p) = &mut m.body {
        p.status = status;
        p.lat = (lat * 600_000.0).round() as i32;
        p.lon = (lon * 600_000.0).round() as i32;
        p.speed = 5;
        p.course = 1800;
        p.heading = 511;
        p.second = 10;
    }
    let opts = EncodeOptions {
        tag: Some(TagBlockOptions {
            source: Some("lampedusa".into()),
            time: Some(time),
            group_id: 0,
        }),
        ..EncodeOptions::default()
    };
    encode(&m, &opts).unwrap().join("\n")
}

/// A client logged in as `login`, its event loop running.
fn connect(port: u16, id: &str, login: Option<&Credentials>) -> (AsyncClient, rumqttc::EventLoop) {
    let mut opts = MqttOptions::new(id, "127.0.0.1", port);
    if let Some(l) = login {
        opts.set_credentials(&l.username, &l.password);
    }
    AsyncClient::new(opts, 100)
}

/// A subscriber to `filter`, forwarding (topic, payload, when received).
async fn watch(
    port: u16,
    id: &str,
    login: &Credentials,
    filter: &str,
) -> mpsc::UnboundedReceiver<(String, serde_json::Value, Instant)> {
    let (client, mut el) = connect(port, id, Some(login));
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = oneshot::channel();
    let mut ready = Some(ready_tx);
    let filter = filter.to_owned();
    tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    client.try_subscribe(&filter, QoS::AtLeastOnce).unwrap()
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(t) = ready.take() {
                        let _ = t.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let v = serde_json::from_slice(&p.payload).unwrap_or(serde_json::Value::Null);
                    if tx.send((p.topic.clone(), v, Instant::now())).is_err() {
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
async fn a_sart_activation_over_mqtt_is_a_critical_alert_with_a_plan_and_tasks_the_nearest_patrol_within_2_s()
 {
    let mut broker_cfg = BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..BrokerConfig::default()
    };
    let mut login = |name: &str, role| broker_cfg.add_generated_user(name, role).unwrap();
    let ingest_login = login("ingest", Role::Ingest);
    let fusion_login = login("fusion", Role::Fusion);
    let console_login = login("console", Role::Console);
    let watcher_login = login("watcher", Role::Console);
    let units = [
        ("cp-301", login("cp-301", Role::Unit)),
        ("cp-302", login("cp-302", Role::Unit)),
    ];
    let broker = Broker::start(broker_cfg).await.unwrap();
    let port = broker.addr().port();
    let dir = std::env::temp_dir().join(format!("tw-sar-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let ingest = ServiceHandle::new();
    let (stop_ingest, ingest_stopped) = oneshot::channel::<()>();
    let mut ingest_cfg = ServiceConfig::new("127.0.0.1", port, dir.join("raw"));
    ingest_cfg.broker.credentials = Some(ingest_login.pair());
    let ingest_task = tokio::spawn(ingest_service::run(
        ingest_cfg,
        ingest.clone(),
        async move {
            let _ = ingest_stopped.await;
        },
    ));
    let mut cfg = FusionConfig::default();
    cfg.position_jump.land = false;
    let geo = Geodata::load(&cfg, None).unwrap();
    let fusion = fusion::service::ServiceHandle::new();
    let (stop_fusion, fusion_stopped) = oneshot::channel::<()>();
    let mut fusion_cfg = fusion::service::ServiceConfig::new("127.0.0.1", port, dir.join("fusion"));
    fusion_cfg.broker.credentials = Some(fusion_login.pair());
    let fusion_task = tokio::spawn(fusion::service::run(
        fusion_cfg,
        FusionEngine::new(cfg, geo),
        fusion.clone(),
        async move {
            let _ = fusion_stopped.await;
        },
    ));
    let console = ops_console::console::start(
        ops_console::console::ConsoleConfig {
            dir: Some(dir.join("console")),
            picture: Default::default(),
            fusion: Default::default(),
            reference: None,
            database: None,
        },
        ops_console::console::feed::FeedConfig {
            credentials: Some(console_login.pair()),
            ..ops_console::console::feed::FeedConfig::new("127.0.0.1", port, "test-console")
        },
        "127.0.0.1:0".parse().unwrap(),
        std::sync::Arc::new(ops_console::metrics::Metrics::new()),
        false,
    )
    .await
    .unwrap();
    console
        .console
        .store()
        .add_user(&ops_console::console::store::UserRecord {
            name: "smc".into(),
            role: ops_console::console::auth::Role::SarCoordinator,
            password: ops_console::console::auth::hash_password("rescue-first-2026").unwrap(),
            must_change: false,
            created_at: Timestamp::now(),
        })
        .unwrap();
    let mut smc = tidewatch_tests::http::Client::new(console.http);
    smc.login("smc", "rescue-first-2026").await;
    // Every service receives what is published once the broker confirmed its subscriptions.
    tokio::time::timeout(Duration::from_secs(30), async {
        while !ingest.stats().subscribed
            || fusion.stats().connects < 2
            || !fusion.stats().subscribed
            || !console.console.feed_is_subscribed()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the condition within 30 s");
    let mut alerts = watch(port, "test-alerts", &watcher_login, "tidewatch/v1/alerts/#").await;
    let mut taskings = watch(
        port,
        "test-taskings",
        &watcher_login,
        "tidewatch/v1/patrol/+/tasking",
    )
    .await;

    // The receiver, anonymous on loopback.
    let (client, mut el) = connect(port, "test-sources", None);
    tokio::spawn(async move { while el.poll().await.is_ok() {} });
    // Two patrol units report their GNSS position: cp-301 12 NM north, cp-302 30 NM north.
    let now = Timestamp::now();
    let hhmmss = now.strftime("%H%M%S.00").to_string();
    let ddmmyy = now.strftime("%d%m%y").to_string();
    let mut unit_clients = Vec::new();
    for ((unit, unit_login), lat) in units.iter().zip(["3512.000", "3530.000"]) {
        let rmc = nmea(&format!(
            "GPRMC,{hhmmss},A,{lat},N,01300.000,E,0.0,0.0,{ddmmyy},,,A"
        ));
        let (unit_client, mut el) = connect(port, unit, Some(unit_login));
        tokio::spawn(async move { while el.poll().await.is_ok() {} });
        unit_client
            .publish(
                format!("tidewatch/v1/patrol/{unit}/nmea"),
                QoS::AtLeastOnce,
                false,
                rmc,
            )
            .await
            .unwrap();
        unit_clients.push(unit_client);
    }
    // Fusion knows where both units are before the beacon.
    tokio::time::timeout(Duration::from_secs(30), async {
        while fusion.stats().observations < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the condition within 30 s");
    // A SART in TEST mode: shown, never an alarm.
    client
        .publish(
            "tidewatch/v1/raw/ais/lampedusa",
            QoS::AtLeastOnce,
            false,
            sart_line(970_111_222, 15, 35.0, 13.0, now),
        )
        .await
        .unwrap();
    let (topic, test_alert, _) = tokio::time::timeout(Duration::from_secs(5), alerts.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(topic, "tidewatch/v1/alerts/sar_beacon");
    assert_eq!(test_alert["severity"], "info", "{test_alert}");
    // The activation.
    let sent = Instant::now();
    client
        .publish(
            "tidewatch/v1/raw/ais/lampedusa",
            QoS::AtLeastOnce,
            false,
            sart_line(970_123_456, 14, 35.0, 13.0, now),
        )
        .await
        .unwrap();
    let (_, first, at) = tokio::time::timeout(Duration::from_secs(2), alerts.recv())
        .await
        .expect("an alert within 2 s")
        .unwrap();
    assert_eq!(first["severity"], "critical", "{first}");
    assert_eq!(first["mmsi"], serde_json::json!([970_123_456]));
    let alarm = at - sent;
    let mut with_plan = None;
    while with_plan.is_none() {
        let (_, a, at) = tokio::time::timeout(Duration::from_secs(2), alerts.recv())
            .await
            .expect("the plan")
            .unwrap();
        if a.get("search_plan").is_some() {
            with_plan = Some((a, at));
        }
    }
    let (planned, _) = with_plan.unwrap();
    // The coordinator, logged in to the console, sees it: critical, with the plan.
    let on_console = loop {
        let list = smc.get("/api/alerts?kind=sar_beacon").await.json();
        if let Some(a) = list.as_array().unwrap().iter().find(|a| {
            a["mmsi"] == serde_json::json!([970_123_456]) && a.get("search_plan").is_some()
        }) {
            break a.clone();
        }
        assert!(
            sent.elapsed() < Duration::from_secs(2),
            "on the console within 2 s: {list}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let seen = sent.elapsed();
    assert_eq!(on_console["severity"], "critical");
    assert_eq!(on_console["triage"]["status"], "new");
    assert!(
        on_console["search_plan"]["datum"]["radius_nm"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(
        planned["search_plan"]["datum"]["radius_nm"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let (topic, tasking, tasked_at) = tokio::time::timeout(Duration::from_secs(2), taskings.recv())
        .await
        .expect("a tasking")
        .unwrap();
    let tasked = tasked_at - sent;
    assert_eq!(
        topic, "tidewatch/v1/patrol/cp-301/tasking",
        "the nearest unit"
    );
    assert_eq!(tasking["kind"], "sar");
    assert!(
        (tasking["distance_nm"].as_f64().unwrap() - 12.0).abs() < 0.1,
        "{tasking}"
    );
    assert!(tasked < Duration::from_secs(2), "tasked after {tasked:?}");
    eprintln!(
        "SART published → critical alert {alarm:?}, → on the console with its plan {seen:?}, → tasking on cp-301's topic {tasked:?}"
    );
    // The TEST beacon is on the console as information, never an alarm.
    let all = smc.get("/api/alerts?kind=sar_beacon").await.json();
    let test = all
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["mmsi"] == serde_json::json!([970_111_222]))
        .expect("the TEST beacon is shown");
    assert_eq!(test["severity"], "info");
    // The unit's tasking is on the picture.
    let c = console.console.clone();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !c
        .picture()
        .snapshot(None)
        .tracks
        .iter()
        .any(|t| t.id == "unit:cp-301" && !t.taskings.is_empty())
    {
        assert!(Instant::now() < deadline, "the tasking on cp-301's track");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The coordinator escalates it: a SAR case opened in distress, kept, theirs to change.
    let id = on_console["id"].as_str().unwrap();
    let r = smc
        .post(&format!("/api/alerts/{id}/escalate"), serde_json::json!({}))
        .await;
    assert_eq!(r.status, 200);
    let inc = r.json()["triage"]["incident"].as_str().unwrap().to_owned();
    let case = smc.get(&format!("/api/sar/{inc}")).await.json();
    assert_eq!(case["case"]["phase"], "distress");
    assert_eq!(case["incident"]["kind"], "sar");
    let stored = console
        .console
        .store()
        .sar_case(&inc)
        .unwrap()
        .expect("the case is stored");
    assert!(stored.contains("\"phase\":\"distress\""), "{stored}");
    console.shutdown().await;
    // Stored too.
    let stored = std::fs::read_to_string(dir.join("fusion/taskings.jsonl")).unwrap();
    assert!(stored.contains("\"unit\":\"cp-301\""), "{stored}");

    let _ = stop_fusion.send(());
    fusion_task.await.unwrap().unwrap();
    let _ = stop_ingest.send(());
    ingest_task.await.unwrap().unwrap();
    broker.shutdown().await;
}
