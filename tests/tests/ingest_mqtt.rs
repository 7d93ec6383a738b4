//! Ingest over MQTT against a real Mosquitto: NMEA published by a plain MQTT client
//! comes out as observations, every line is in the raw archive, and a broker restart
//! mid-stream loses no QoS 1 message.

use std::collections::BTreeSet;
use std::time::Duration;

use ingest::model::{Observation, ObservationData};
use ingest::service::{self, ServiceConfig, ServiceHandle};
use ingest::wire::Topic;
use ingest::wire::topics::OBS_FILTER;
use jiff::{SignedDuration, Timestamp};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tidewatch_tests::Mosquitto;
use tokio::sync::{mpsc, oneshot};

/// Lines of the simulated scenario: real encoder output with tag blocks.
fn scenario_lines(minutes: i64) -> Vec<String> {
    let start: Timestamp = "2026-11-22T02:00:00Z".parse().unwrap();
    simulators::scenario::receiver_lines(
        "central-med",
        "lampedusa",
        start,
        SignedDuration::from_mins(minutes),
    )
    .expect("the demo scenario")
}

/// Messages the lines decode to (what ingest must publish).
fn expected_messages(lines: &[String]) -> usize {
    let mut d = ingest::ais::Decoder::new();
    lines
        .iter()
        .filter(|l| matches!(d.decode_line(l.as_bytes(), 0), Ok(Some(_))))
        .count()
}

/// What an observation says (its time and data), without its id and reception.
fn content(o: &Observation) -> String {
    format!("{} {}", o.time, serde_json::to_string(&o.data).unwrap())
}

/// The observations a local pipeline makes of the lines, by content.
fn expected_contents(lines: &[String]) -> Vec<String> {
    let mut p = ingest::pipeline::Pipeline::new();
    let now = Timestamp::now();
    let mut v: Vec<String> = lines
        .iter()
        .flat_map(|l| {
            p.on_input(
                ingest::pipeline::Input::Ais {
                    source: "lampedusa",
                    payload: l.as_bytes(),
                },
                now,
            )
        })
        .filter_map(|e| match e {
            ingest::pipeline::Event::Publish {
                observation,
                update: false,
                ..
            } => Some(content(&observation)),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

/// A client subscribed to every observation (persistent session, subscription renewed
/// on every connection), sending them to a channel.
async fn observer(port: u16) -> mpsc::UnboundedReceiver<Observation> {
    observer_as(port, None).await
}

/// [`observer`], logged in as `login` (the embedded broker lets anonymous clients read nothing).
async fn observer_as(
    port: u16,
    login: Option<&tidewatch_broker::Credentials>,
) -> mpsc::UnboundedReceiver<Observation> {
    let mut opts = MqttOptions::new("test-observer", "127.0.0.1", port);
    opts.set_max_packet_size(1 << 20, 1 << 20);
    opts.set_clean_session(false);
    if let Some(l) = login {
        opts.set_credentials(&l.username, &l.password);
    }
    let (client, mut el) = AsyncClient::new(opts, 100);
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = oneshot::channel();
    let mut ready_tx = Some(ready_tx);
    tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    client.try_subscribe(OBS_FILTER, QoS::AtLeastOnce).unwrap();
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(t) = ready_tx.take() {
                        let _ = t.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    assert!(Topic::parse(&p.topic).is_some(), "{}", p.topic);
                    let o: Observation =
                        serde_json::from_slice(&p.payload).expect("observation JSON");
                    if tx.send(o).is_err() {
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

/// A plain publisher; returns once every publish is acknowledged (QoS 1).
async fn publish_all(port: u16, topic: &str, lines: &[String]) {
    let (client, mut el) =
        AsyncClient::new(MqttOptions::new("test-publisher", "127.0.0.1", port), 1024);
    let n = lines.len();
    let payloads: Vec<String> = lines.to_vec();
    let topic = topic.to_owned();
    let sender = tokio::spawn(async move {
        for l in payloads {
            client
                .publish(&topic, QoS::AtLeastOnce, false, l)
                .await
                .unwrap();
        }
        client
    });
    let mut acked = 0;
    while acked < n {
        match tokio::time::timeout(Duration::from_secs(10), el.poll()).await {
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
            Ok(Ok(_)) => {}
            other => panic!("publisher: {other:?} after {acked}/{n} acks"),
        }
    }
    let _ = sender.await;
}

/// A fence: a line no test publishes otherwise, from a receiver of its own (`fence`),
/// published after everything else; the observations received before its own arrived are
/// returned. Ingest takes the broker's messages in order and publishes in order, so once
/// the fence's observation is here, nothing published before it is still on its way.
async fn fence(port: u16, rx: &mut mpsc::UnboundedReceiver<Observation>) -> Vec<Observation> {
    let line = scenario_lines(30)
        .into_iter()
        .rev()
        .find(|l| l.contains(",1,1,"))
        .expect("a single-sentence line");
    publish_all(port, "tidewatch/v1/raw/ais/fence", &[line]).await;
    let mut before = Vec::new();
    loop {
        for o in wait_for(rx, 1).await {
            // The fence's feed, whatever station its tag block names.
            if o.receivers
                .iter()
                .any(|r| r.split('/').next() == Some("fence"))
            {
                return before;
            }
            before.push(o);
        }
    }
}

/// Wait for `n` PUBACKs on `el` (each within 10 s).
async fn pubacks(el: &mut rumqttc::EventLoop, n: usize) {
    let mut acks = 0;
    while acks < n {
        if let Event::Incoming(Packet::PubAck(_)) =
            tokio::time::timeout(Duration::from_secs(10), el.poll())
                .await
                .unwrap()
                .unwrap()
        {
            acks += 1;
        }
    }
}

async fn wait_for(rx: &mut mpsc::UnboundedReceiver<Observation>, n: usize) -> Vec<Observation> {
    let mut got = Vec::new();
    while got.len() < n {
        match tokio::time::timeout(Duration::from_secs(15), rx.recv()).await {
            Ok(Some(o)) => got.push(o),
            _ => panic!("only {} of {n} observations arrived", got.len()),
        }
    }
    got
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tw-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Ingest running against the broker on `port`, connected and subscribed; stop it with
/// [`Running::stop`].
struct Running {
    handle: ServiceHandle,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), service::ServiceError>>,
}

impl Running {
    /// Start ingest with `cfg` (and network lines from `local`, if any) and wait until it
    /// has connected to the broker.
    async fn start(
        cfg: ServiceConfig,
        local: Option<mpsc::Receiver<ingest::inputs::LocalLine>>,
    ) -> Running {
        let handle = ServiceHandle::new();
        let (stop, stopped) = oneshot::channel::<()>();
        let local = local.unwrap_or_else(|| mpsc::channel(1).1);
        let task = tokio::spawn(service::run_with_inputs(
            cfg,
            handle.clone(),
            local,
            async move {
                let _ = stopped.await;
            },
        ));
        // Ingest receives what is published once the broker confirmed its subscriptions.
        tokio::time::timeout(Duration::from_secs(30), async {
            while !handle.stats().subscribed {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the condition within 30 s");
        Running { handle, stop, task }
    }

    /// Stop ingest and check it ended cleanly.
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn nmea_published_by_a_plain_client_comes_out_as_observations_and_is_archived() {
    use ingest::tsdb::{AIS_POSITION, MemorySink, TsdbWriter, WriterConfig};
    let broker = Mosquitto::start();
    let archive = temp_dir("ingest-archive");
    // Positions also go to the time series (in memory here; VictoriaMetrics in tsdb_victoria).
    let sink = std::sync::Arc::new(MemorySink::new(100_000));
    let writer = TsdbWriter::spawn(sink.clone(), WriterConfig::default());
    let mut cfg = ServiceConfig::new("127.0.0.1", broker.port, &archive);
    cfg.tsdb = Some(writer.handle());
    let mut obs = observer(broker.port).await;
    let running = Running::start(cfg, None).await;
    let handle = running.handle.clone();
    let lines = scenario_lines(10);
    let expected = expected_messages(&lines);
    publish_all(broker.port, "tidewatch/v1/raw/ais/lampedusa", &lines).await;
    let got = wait_for(&mut obs, expected).await;
    let mmsis: BTreeSet<u32> = got
        .iter()
        .filter_map(|o| match &o.data {
            ObservationData::Ais(a) => Some(a.mmsi),
            _ => None,
        })
        .collect();
    // Every vessel the lines carry, and nothing else.
    let mut d = ingest::ais::Decoder::new();
    let sent: BTreeSet<u32> = lines
        .iter()
        .filter_map(|l| d.decode_line(l.as_bytes(), 0).ok().flatten())
        .map(|m| m.message.mmsi)
        .collect();
    assert!(sent.len() >= 6, "{sent:?}");
    assert_eq!(mmsis, sent);
    assert!(got.iter().all(|o| o.receivers == ["lampedusa"]));
    running.stop().await;
    // Every line is in the archive, accepted, and the chain verifies.
    let report = ingest::archive::verify(&archive).unwrap();
    assert_eq!(report.first_break, None);
    assert_eq!(report.records as usize, lines.len());
    assert_eq!(handle.stats().observations as usize, expected);
    let with_position = got
        .iter()
        .filter(|o| matches!(&o.data, ObservationData::Ais(a) if a.lat.is_some()))
        .count();
    let tsdb = writer.shutdown().await;
    let positions = sink
        .snapshot()
        .into_iter()
        .filter(|p| p.measurement() == AIS_POSITION)
        .count();
    assert_eq!(positions, with_position, "{tsdb:?}");
}

#[tokio::test]
async fn restarting_the_broker_mid_stream_loses_no_qos1_message() {
    let broker = Mosquitto::start();
    let port = broker.port;
    let archive = temp_dir("ingest-restart");
    let mut obs = observer(port).await;
    let running = Running::start(ServiceConfig::new("127.0.0.1", port, &archive), None).await;
    let handle = running.handle.clone();
    let lines = scenario_lines(20);
    // Split about half way, at a single-sentence line so no message is cut in two.
    let cut = lines[..lines.len() / 2]
        .iter()
        .rposition(|l| l.contains(",1,1,"))
        .unwrap();
    let (first, rest) = lines.split_at(cut);
    publish_all(port, "tidewatch/v1/raw/ais/lampedusa", first).await;
    let mut seen: std::collections::BTreeMap<String, String> = Default::default();
    let mut collect = async |n: usize, seen: &mut std::collections::BTreeMap<String, String>| {
        while seen.len() < n {
            for o in wait_for(&mut obs, 1).await {
                seen.insert(o.id.clone(), content(&o));
            }
        }
    };
    collect(expected_messages(first), &mut seen).await;
    // Restart the broker; publish the rest at once, while ingest is still reconnecting:
    // the broker keeps it for ingest's persistent session.
    let broker = broker.restart();
    publish_all(port, "tidewatch/v1/raw/ais/lampedusa", rest).await;
    // QoS 1 is at least once: after a reconnect the observer may get an observation
    // twice, so observations are told apart by id (as any idempotent consumer does).
    collect(expected_messages(&lines), &mut seen).await;
    // Nothing more comes: no observation lost, none made twice (up to a fence published
    // after everything).
    for o in fence(port, &mut obs).await {
        seen.insert(o.id.clone(), content(&o));
    }
    let mut missing = expected_contents(&lines);
    let mut extra = Vec::new();
    for c in seen.into_values() {
        match missing.iter().position(|m| *m == c) {
            Some(i) => {
                missing.swap_remove(i);
            }
            None => extra.push(c),
        }
    }
    assert!(
        missing.is_empty() && extra.is_empty(),
        "every message once: {} missing, {} extra; first missing {:?}, first extra {:?}",
        missing.len(),
        extra.len(),
        missing.first(),
        extra.first()
    );
    assert!(handle.stats().connects >= 2, "{:?}", handle.stats());
    running.stop().await;
    drop(broker);
    // Every line is in the archive (a line redelivered after the restart may be there
    // twice: the archive records receptions).
    let report = ingest::archive::verify(&archive).unwrap();
    assert_eq!(report.first_break, None);
    assert!(report.records as usize >= lines.len());
}

/// Through the embedded broker: a patrol unit logs in with its password, its radar and
/// its report become observations, and a publish in another unit's name is refused.
#[tokio::test]
async fn a_patrol_unit_reports_through_the_embedded_broker_and_cannot_speak_for_another() {
    use tidewatch_broker::{Broker, BrokerConfig, BrokerUser, PasswordHash, Refusal, Role};
    let mut cfg = BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        auth_listen: Some("127.0.0.1:0".parse().unwrap()),
        users: vec![BrokerUser {
            name: "patrol-7".into(),
            role: Role::Unit,
            password: PasswordHash::with_salt("sea-secret", &[7; 12], 1_000),
        }],
        ..BrokerConfig::default()
    };
    // Ingest and the observer (in the console's place) log in, as in `tidewatch up`.
    let ingest_login = cfg.add_generated_user("ingest", Role::Ingest).unwrap();
    let observer_login = cfg.add_generated_user("observer", Role::Console).unwrap();
    let broker = Broker::start(cfg).await.unwrap();
    let port = broker.addr().port();
    let archive = temp_dir("ingest-embedded");
    let mut obs = observer_as(port, Some(&observer_login)).await;
    let mut ingest_cfg = ServiceConfig::new("127.0.0.1", port, &archive);
    ingest_cfg.broker.credentials = Some(ingest_login.pair());
    let running = Running::start(ingest_cfg, None).await;

    // The unit, on the authenticated listener.
    let auth = broker.auth_addr().unwrap();
    let mut opts = MqttOptions::new("patrol-7", auth.ip().to_string(), auth.port());
    opts.set_credentials("patrol-7", "sea-secret");
    let (unit, mut el) = AsyncClient::new(opts, 16);
    let tll = "$RATLL,07,3542.600,N,01256.400,E,SKIFF,104512.00,T,*7D";
    let report = r#"{"type":"sighting","time":"2026-11-22T02:10:00Z","position":{"lat":35.71,"lon":12.94},"craft":"rubber_boat","persons_estimate":45,"condition":"overcrowded"}"#;
    unit.publish(
        "tidewatch/v1/patrol/patrol-7/nmea",
        QoS::AtLeastOnce,
        false,
        tll,
    )
    .await
    .unwrap();
    unit.publish(
        "tidewatch/v1/patrol/patrol-7/report",
        QoS::AtLeastOnce,
        false,
        report,
    )
    .await
    .unwrap();
    pubacks(&mut el, 2).await;
    let got = wait_for(&mut obs, 2).await;
    assert!(got.iter().any(|o| matches!(&o.data,
        ObservationData::RadarTarget { unit, target: 7, .. } if unit.as_str() == "patrol-7")));
    assert!(got.iter().any(|o| matches!(&o.data,
        ObservationData::Report { unit, .. } if unit.as_str() == "patrol-7")));

    // R20: a tasking declined without its reason is refused (counted by reason, kept);
    // with the reason, it is taken.
    let decline = |reason: &str| {
        format!(
            r#"{{"type":"tasking_ack","time":"2026-11-22T02:12:00Z","tasking":"T-7","accepted":false{reason}}}"#
        )
    };
    for r in ["", r#","reason":"engine failure, returning to port""#] {
        unit.publish(
            "tidewatch/v1/patrol/patrol-7/report",
            QoS::AtLeastOnce,
            false,
            decline(r),
        )
        .await
        .unwrap();
    }
    // Both are acknowledged: the refused one is kept (archived as refused), not lost.
    pubacks(&mut el, 2).await;
    let got = wait_for(&mut obs, 1).await;
    assert!(
        matches!(&got[0].data, ObservationData::Report { report: ingest::wire::PatrolReport::TaskingAck { reason: Some(r), .. }, .. } if r.starts_with("engine failure")),
        "{got:?}"
    );
    // Ingest takes a unit's messages in order: the first was refused before the second.
    assert_eq!(
        running.handle.stats().rejected.get("report_field"),
        Some(&1),
        "{:?}",
        running.handle.stats()
    );

    // Speaking for patrol-8: the connection is closed, nothing reaches ingest.
    unit.publish(
        "tidewatch/v1/patrol/patrol-8/nmea",
        QoS::AtLeastOnce,
        false,
        tll,
    )
    .await
    .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if el.poll().await.is_err() {
                return;
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the broker closes a unit that speaks for another"
    );
    assert_eq!(broker.stats().refused.get(Refusal::PublishDenied), 1);
    let before = fence(port, &mut obs).await;
    assert!(
        before.is_empty(),
        "nothing from the forged publish: {before:?}"
    );
    running.stop().await;
    broker.shutdown().await;
}

/// Hostile feeds (garbage, truncated sentences, a 1 MB line, invalid UTF-8, a flood)
/// never stop ingest: good lines after them still become observations, and every bad
/// line is counted by reason and archived with its reason.
#[tokio::test]
async fn hostile_feeds_are_counted_archived_and_do_not_stop_ingest() {
    let broker = Mosquitto::start();
    let archive = temp_dir("ingest-hostile");
    let mut obs = observer(broker.port).await;
    let running =
        Running::start(ServiceConfig::new("127.0.0.1", broker.port, &archive), None).await;
    let handle = running.handle.clone();
    let good = "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A".to_owned();
    let mut hostile: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.1".to_vec(),
        b"!AIVDM,1,1,,A,15RTgt0PAso;90TK".to_vec(),
        b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4B".to_vec(),
        vec![b'!'; 1 << 20],
        vec![0xff, 0xfe, b'!', b'A', 0x80, 0x81],
        {
            let body = "AIVDM,2,2,7,B,PFRC88888888880,2";
            let sum = ingest::ais::nmea_checksum(body.as_bytes());
            format!("!{body}*{sum:02X}").into_bytes()
        },
    ];
    // A flood of near-valid sentences with bad checksums.
    hostile.extend((0..5_000).map(|i| format!("!AIVDM,1,1,,A,{i:0>28},0*00").into_bytes()));
    let mut sent: Vec<Vec<u8>> = hostile.clone();
    sent.push(good.clone().into_bytes());
    let mut opts = MqttOptions::new("hostile", "127.0.0.1", broker.port);
    opts.set_max_packet_size(2 << 20, 2 << 20);
    let (client, mut el) = AsyncClient::new(opts, 8192);
    let n = sent.len();
    let payloads = sent.clone();
    tokio::spawn(async move {
        for p in payloads {
            client
                .publish("tidewatch/v1/raw/ais/hostile", QoS::AtLeastOnce, false, p)
                .await
                .unwrap();
        }
    });
    let mut acked = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while acked < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {acked} of {n} publishes acknowledged"
        );
        match tokio::time::timeout(Duration::from_secs(20), el.poll()).await {
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
            Ok(Ok(_)) => {}
            other => panic!("publisher: {other:?} after {acked}/{n} acks"),
        }
    }
    // The good line, sent last, still comes out.
    let got = wait_for(&mut obs, 1).await;
    assert!(matches!(&got[0].data, ObservationData::Ais(a) if a.mmsi == 371_798_000));
    running.stop().await;
    let stats = handle.stats();
    assert_eq!(stats.messages as usize, n, "{stats:?}");
    assert_eq!(stats.rejected["checksum"], 5_001, "{stats:?}");
    assert_eq!(stats.rejected["no_checksum"], 1, "{stats:?}");
    assert_eq!(stats.rejected["line_too_long"], 1, "{stats:?}");
    assert_eq!(stats.rejected["orphan_fragment"], 1, "{stats:?}");
    assert_eq!(stats.rejected["not_nmea"], 2, "{stats:?}");
    assert_eq!(
        stats.rejected.values().sum::<u64>() as usize,
        hostile.len(),
        "{stats:?}"
    );
    // Every hostile line is in the archive, byte for byte, with its reason.
    let mut rejected_lines = BTreeSet::new();
    for f in ingest::archive::files(&archive).unwrap() {
        for r in ingest::archive::read_file(&f).unwrap() {
            if r.verdict.starts_with("rej:") {
                rejected_lines.insert(r.line);
            }
        }
    }
    for h in &hostile {
        assert!(
            rejected_lines.contains(h),
            "not archived: {:?}",
            String::from_utf8_lossy(&h[..h.len().min(40)])
        );
    }
    assert_eq!(ingest::archive::verify(&archive).unwrap().first_break, None);
}

/// Review (issue 24 session): a receiver names itself in its topic, and ingest made that
/// name the archive's source name; a name the archive refuses (over 200 characters) ended
/// ingest's worker at the first line, and with it all intake. Any name now becomes a name
/// the archive takes (the same one every time, two long names staying two), and the lines
/// are observed and archived like any other.
#[tokio::test]
async fn review_a_receiver_named_beyond_the_archive_s_limit_does_not_stop_ingest() {
    let broker = Mosquitto::start();
    let archive = temp_dir("ingest-long-source");
    let mut obs = observer(broker.port).await;
    let running =
        Running::start(ServiceConfig::new("127.0.0.1", broker.port, &archive), None).await;
    let lines = tidewatch_tests::position_reports(4, 4);
    let long_a = format!("tidewatch/v1/raw/ais/{}", "a".repeat(300));
    let long_b = format!("tidewatch/v1/raw/ais/{}b", "a".repeat(300));
    let strange = "tidewatch/v1/raw/ais/été fêté";
    for (topic, line) in [
        (long_a.as_str(), &lines[0]),
        (long_b.as_str(), &lines[1]),
        (strange, &lines[2]),
        ("tidewatch/v1/raw/ais/linosa", &lines[3]),
    ] {
        publish_all(broker.port, topic, std::slice::from_ref(line)).await;
    }
    let got = wait_for(&mut obs, 4).await;
    assert_eq!(got.len(), 4);
    running.stop().await;
    let mut sources = BTreeSet::new();
    for f in ingest::archive::files(&archive).unwrap() {
        for r in ingest::archive::read_file(&f).unwrap() {
            assert_eq!(r.verdict, "ok", "{r:?}");
            assert!(r.source.len() <= 200, "{}", r.source);
            sources.insert(r.source);
        }
    }
    assert_eq!(sources.len(), 4, "{sources:?}");
    assert!(sources.contains("ais:linosa"), "{sources:?}");
    assert_eq!(ingest::archive::verify(&archive).unwrap().first_break, None);
}

/// The ingest service on Mosquitto with a `--tcp-listen` feed `shore-tcp`, and an observer.
struct TcpFeed {
    _broker: Mosquitto,
    archive: std::path::PathBuf,
    stats: std::sync::Arc<ingest::inputs::InputStats>,
    feed_addr: std::net::SocketAddr,
    obs: mpsc::UnboundedReceiver<Observation>,
    running: Running,
}

impl TcpFeed {
    async fn start(name: &str) -> TcpFeed {
        use ingest::inputs::{self, FeedFormat, InputStats};
        let broker = Mosquitto::start();
        let archive = temp_dir(name);
        let (tx, rx) = mpsc::channel(1024);
        let stats = std::sync::Arc::new(InputStats::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let feed_addr = listener.local_addr().unwrap();
        tokio::spawn(inputs::tcp_server(
            listener,
            "shore-tcp".into(),
            FeedFormat::Nmea,
            tx,
            stats.clone(),
        ));
        let obs = observer(broker.port).await;
        let running = Running::start(
            ServiceConfig::new("127.0.0.1", broker.port, &archive),
            Some(rx),
        )
        .await;
        TcpFeed {
            _broker: broker,
            archive,
            stats,
            feed_addr,
            obs,
            running,
        }
    }
}

/// A receiver streaming NMEA over TCP (as AIS receivers and AIS-catcher do) feeds the
/// same path: observations on MQTT, every line archived under the feed's name, an
/// over-long line cut and rejected without stopping the stream.
#[tokio::test]
async fn a_tcp_feed_goes_the_same_way_as_mqtt() {
    use tokio::io::AsyncWriteExt;
    let TcpFeed {
        _broker,
        archive,
        stats,
        feed_addr,
        mut obs,
        running,
    } = TcpFeed::start("ingest-tcp").await;
    let handle = running.handle.clone();
    let lines = scenario_lines(10);
    let expected = expected_messages(&lines);
    let mut feed = tokio::net::TcpStream::connect(feed_addr).await.unwrap();
    let (first, rest) = lines.split_at(lines.len() / 3);
    feed.write_all((first.join("\n") + "\n").as_bytes())
        .await
        .unwrap();
    feed.write_all(&vec![b'x'; 200_000]).await.unwrap();
    feed.write_all(b"\n").await.unwrap();
    feed.write_all((rest.join("\r\n") + "\r\n").as_bytes())
        .await
        .unwrap();
    let got = wait_for(&mut obs, expected).await;
    // The feed, and the station its tag blocks name (`s:lampedusa`).
    assert!(
        got.iter().all(|o| o.receivers == ["shore-tcp/lampedusa"]),
        "{:?}",
        got[0].receivers
    );
    running.stop().await;
    assert_eq!(
        stats.truncated.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    let records: Vec<_> = ingest::archive::files(&archive)
        .unwrap()
        .iter()
        .flat_map(|f| ingest::archive::read_file(f).unwrap())
        .collect();
    assert!(records.iter().all(|r| r.source == "ais:shore-tcp"));
    assert_eq!(records.len(), lines.len() + 1);
    assert_eq!(
        records
            .iter()
            .filter(|r| r.verdict == "rej:line_too_long")
            .count(),
        1
    );
    assert_eq!(handle.stats().rejected.get("line_too_long"), Some(&1));
}

/// Review (issue 24 session): every connection to a `--tcp-listen` feed was one AIS source
/// to the decoder, so two receivers on one feed sending two-sentence messages with the same
/// sequential id at the same time completed each other's: one ship's first half with
/// another's second, published as a ship that does not exist. Each connection is now a
/// stream of its own, and both messages come out whole.
#[tokio::test]
async fn two_receivers_on_one_tcp_feed_never_complete_each_others_messages() {
    use std::sync::atomic::Ordering;
    use tokio::io::AsyncWriteExt;
    // Two static and voyage reports, each in two sentences, both as sequential id 7 on
    // channel B.
    let sentence = |body: &str| {
        let sum = body.bytes().fold(0u8, |c, b| c ^ b);
        format!("!{body}*{sum:02X}\n")
    };
    let vale = [
        sentence("AIVDM,2,1,7,B,58KvN<42ACikUKW77F1H4hF0<PTp622222222216`0`cF5BF0RT13H0T,0"),
        sentence("AIVDM,2,2,7,B,PFRC88888888880,2"),
    ];
    let iolcos = [
        sentence("AIVDM,2,1,7,B,53fGKb02?l>CTP7;3STTth<u>118T@F222222216HhO;I5:<0K3@D5E3,0"),
        sentence("AIVDM,2,2,7,B,p3CnPC@RDEAH880,2"),
    ];
    let TcpFeed {
        _broker,
        archive: _,
        stats,
        feed_addr,
        mut obs,
        running,
    } = TcpFeed::start("ingest-tcp-streams").await;
    let mut conns = [
        tokio::net::TcpStream::connect(feed_addr).await.unwrap(),
        tokio::net::TcpStream::connect(feed_addr).await.unwrap(),
    ];
    // Interleaved: each sentence read before the next is sent.
    for (n, (conn, line)) in [
        (0, &vale[0]),
        (1, &iolcos[0]),
        (0, &vale[1]),
        (1, &iolcos[1]),
    ]
    .into_iter()
    .enumerate()
    {
        conns[conn].write_all(line.as_bytes()).await.unwrap();
        let start = std::time::Instant::now();
        while stats.lines.load(Ordering::Relaxed) < n as u64 + 1 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "line {n} not read"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let got = wait_for(&mut obs, 2).await;
    let mut ships: Vec<String> = got
        .iter()
        .map(|o| serde_json::to_string(&o.data).unwrap())
        .collect();
    ships.sort();
    assert!(
        ships[0].contains("249945000") && ships[0].contains("IOLCOS PRIDE"),
        "{ships:?}"
    );
    assert!(
        ships[1].contains("566206000") && ships[1].contains("VALE CHINA"),
        "{ships:?}"
    );
    running.stop().await;
}

/// A broker sends a subscriber only so many unacknowledged messages (the embedded broker 100,
/// Mosquitto 20 by default). Ingest acknowledges once it has caught up, not on its fsync
/// timer: with the timer set to a minute, a stream of single-line messages several windows
/// long still comes through at once, every line archived.
#[tokio::test]
async fn ingest_acknowledges_as_it_catches_up_not_on_its_timer() {
    use tidewatch_broker::{Broker, BrokerConfig, Role};
    let mut broker_cfg = BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..BrokerConfig::default()
    };
    // Ingest and the observer log in; the receiver publishes anonymously, as on `tidewatch up`.
    let ingest_login = broker_cfg
        .add_generated_user("ingest", Role::Ingest)
        .unwrap();
    let observer_login = broker_cfg
        .add_generated_user("observer", Role::Console)
        .unwrap();
    let broker = Broker::start(broker_cfg)
        .await
        .expect("the embedded broker starts");
    let port = broker.addr().port();
    let archive = temp_dir("ingest-group-commit");
    let mut cfg = ServiceConfig::new("127.0.0.1", port, &archive);
    cfg.sync_every = Duration::from_secs(60);
    cfg.broker.credentials = Some(ingest_login.pair());
    let mut obs = observer_as(port, Some(&observer_login)).await;
    let running = Running::start(cfg, None).await;
    let lines = scenario_lines(60);
    assert!(
        lines.len() > 500,
        "{} lines: fewer than 5 windows",
        lines.len()
    );
    let expected = expected_messages(&lines);
    // Every publish is acknowledged by the broker, and every observation arrives, long
    // before the timer's first minute is up (wait_for allows 15 s between two).
    publish_all(port, "tidewatch/v1/raw/ais/lampedusa", &lines).await;
    let got = wait_for(&mut obs, expected).await;
    assert_eq!(got.len(), expected);
    let stats = running.handle.stats();
    assert_eq!(stats.messages as usize, lines.len());
    running.stop().await;
    let report = ingest::archive::verify(&archive).unwrap();
    assert_eq!(report.first_break, None);
    assert_eq!(report.records as usize, lines.len());
    broker.shutdown().await;
}
