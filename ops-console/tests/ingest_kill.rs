//! SIGKILL of `tidewatch ingest` during a stream, then a restart: no line the broker
//! delivered is missing from the raw archive, and the archive verifies.
//!
//! The broker is the embedded one, in this test's process (so it outlives ingest and
//! keeps ingest's persistent QoS 1 session); ingest is the real binary, killed with
//! SIGKILL (no chance to flush anything). Ingest logs in as itself, as `tidewatch up`'s does:
//! the broker's anonymous clients may publish raw AIS and nothing else.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tidewatch_broker::{Broker, BrokerConfig, Credentials, Role};

/// The embedded broker on a free loopback port, with accounts for ingest (its password in a
/// file of `secrets`, for `--password-file`) and for an observer in the console's role.
async fn broker(secrets: &std::path::Path) -> (Broker, std::path::PathBuf, Credentials) {
    let mut cfg = BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..BrokerConfig::default()
    };
    let ingest = cfg.add_generated_user("ingest", Role::Ingest).unwrap();
    let observer = cfg.add_generated_user("observer", Role::Console).unwrap();
    let password_file = secrets.join("ingest.password");
    std::fs::write(&password_file, &ingest.password).unwrap();
    (Broker::start(cfg).await.unwrap(), password_file, observer)
}

fn start_ingest(port: u16, data: &std::path::Path, password_file: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args(["ingest", "--broker", &format!("127.0.0.1:{port}")])
        .args(["--user", "ingest", "--password-file"])
        .arg(password_file)
        .arg("--data")
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tidewatch ingest starts")
}

/// Every line in the archive, whatever its verdict.
fn archived_lines(data: &std::path::Path) -> BTreeSet<Vec<u8>> {
    let dir = data.join("raw");
    let Ok(files) = ingest::archive::files(&dir) else {
        return BTreeSet::new();
    };
    files
        .iter()
        .flat_map(|f| ingest::archive::read_file(f).unwrap_or_default())
        .map(|r| r.line)
        .collect()
}

#[tokio::test]
async fn sigkill_during_a_stream_loses_no_delivered_line_nor_its_observation() {
    let secrets = tempfile::tempdir().unwrap();
    let (broker, password_file, observer_login) = broker(secrets.path()).await;
    let port = broker.addr().port();
    let data = std::env::temp_dir().join(format!("tw-ingest-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);

    // Scenario lines, each made unique (the archive check compares sets).
    let start: Timestamp = "2026-11-22T02:00:00Z".parse().unwrap();
    let lines = simulators::scenario::receiver_lines(
        "central-med",
        "lampedusa",
        start,
        SignedDuration::from_mins(180),
    )
    .unwrap();
    assert!(lines.len() > 2000, "{}", lines.len());

    // An observer (fusion's place) with a persistent session: every observation of every
    // line must reach it too, whatever ingest was doing when it was killed.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(BTreeSet::<String>::new()));
    let mut opts = MqttOptions::new("kill-test-observer", "127.0.0.1", port);
    opts.set_clean_session(false);
    opts.set_credentials(&observer_login.username, &observer_login.password);
    let (observer, mut obs_el) = AsyncClient::new(opts, 64);
    observer
        .subscribe("tidewatch/v1/obs/ais/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
    let ids = seen.clone();
    let observing = tokio::spawn(async move {
        let mut subscribed_tx = Some(subscribed_tx);
        while let Ok(ev) = obs_el.poll().await {
            match ev {
                Event::Incoming(Packet::SubAck(_)) => {
                    if let Some(tx) = subscribed_tx.take() {
                        let _ = tx.send(());
                    }
                }
                Event::Incoming(Packet::Publish(p)) => {
                    let o: ingest::model::Observation = serde_json::from_slice(&p.payload).unwrap();
                    ids.lock().unwrap().insert(o.id);
                }
                _ => {}
            }
        }
    });
    subscribed.await.unwrap();
    let expected_ids: BTreeSet<String> = {
        let mut p = ingest::pipeline::Pipeline::new();
        lines
            .iter()
            .flat_map(|l| {
                p.on_input(
                    ingest::pipeline::Input::Ais {
                        source: "kill-test",
                        payload: l.as_bytes(),
                    },
                    Timestamp::now(),
                )
            })
            .filter_map(|e| match e {
                ingest::pipeline::Event::Publish {
                    observation,
                    update: false,
                    ..
                } => Some(observation.id.clone()),
                _ => None,
            })
            .collect()
    };
    assert!(expected_ids.len() > 1000, "{}", expected_ids.len());

    let mut ingest = start_ingest(port, &data, &password_file);
    // Let ingest connect and subscribe (its session then exists on the broker).
    let deadline = Instant::now() + Duration::from_secs(10);
    // The observer's connection, then ingest's two.
    while broker.stats().loopback_connections < 3 {
        assert!(Instant::now() < deadline, "ingest did not connect");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (client, mut el) = AsyncClient::new(
        MqttOptions::new("kill-test-publisher", "127.0.0.1", port),
        4096,
    );
    let poller = tokio::spawn(async move {
        let mut acked = 0usize;
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
                Ok(_) => {}
                Err(e) => panic!("publisher lost the broker: {e} after {acked} acks"),
            }
        }
    });
    // Ingest has subscribed (its session holds what comes next) once a probe line it
    // archives comes back as an observation: the first line that makes one on its own,
    // sent until it does.
    let probe = lines
        .iter()
        .find(|l| {
            ingest::pipeline::Pipeline::new()
                .on_input(
                    ingest::pipeline::Input::Ais {
                        source: "kill-test",
                        payload: l.as_bytes(),
                    },
                    Timestamp::now(),
                )
                .iter()
                .any(|e| matches!(e, ingest::pipeline::Event::Publish { .. }))
        })
        .expect("a line that makes an observation on its own")
        .clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.lock().unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "ingest never published the probe"
        );
        client
            .publish(
                "tidewatch/v1/raw/ais/kill-test",
                QoS::AtLeastOnce,
                false,
                probe.clone(),
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let half = lines.len() / 2;
    for (i, l) in lines.iter().enumerate() {
        client
            .publish(
                "tidewatch/v1/raw/ais/kill-test",
                QoS::AtLeastOnce,
                false,
                l.clone(),
            )
            .await
            .unwrap();
        if i == half {
            // Mid-stream, when ingest is busy: SIGKILL, then a fresh process.
            tokio::time::sleep(Duration::from_millis(50)).await;
            ingest.kill().unwrap(); // SIGKILL
            ingest.wait().unwrap();
            ingest = start_ingest(port, &data, &password_file);
        }
    }
    // Every line reaches the archive (some twice: redelivered after the kill).
    let want: BTreeSet<Vec<u8>> = lines.iter().map(|l| l.as_bytes().to_vec()).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let have = archived_lines(&data);
        let missing = want.difference(&have).count();
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} of {} lines never reached the archive",
            want.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And every observation was published (some twice, with the same id).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let missing = expected_ids.difference(&seen.lock().unwrap()).count();
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} of {} observations never published",
            expected_ids.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    observing.abort();
    ingest.kill().unwrap();
    ingest.wait().unwrap();
    poller.abort();
    // SIGKILL again: the torn tail (if any) is cut when the archive is opened, and the
    // chain verifies.
    let a = ingest::archive::Archive::open(data.join("raw")).unwrap();
    drop(a);
    let report = ingest::archive::verify(&data.join("raw")).unwrap();
    assert_eq!(report.first_break, None);
    assert!(report.records as usize >= lines.len());
    broker.shutdown().await;
    let _ = std::fs::remove_dir_all(&data);
}

/// `tidewatch ingest --udp NAME=ADDR`: datagrams of NMEA (several lines each, as AIS
/// receivers send them) reach the raw archive under the feed's name.
#[tokio::test]
async fn a_udp_feed_given_on_the_command_line_reaches_the_archive() {
    let secrets = tempfile::tempdir().unwrap();
    let (broker, password_file, _) = broker(secrets.path()).await;
    let data = std::env::temp_dir().join(format!("tw-ingest-udp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let udp_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut ingest = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args([
            "ingest",
            "--broker",
            &format!("127.0.0.1:{}", broker.addr().port()),
            "--udp",
            &format!("shore-udp=127.0.0.1:{udp_port}"),
            "--metrics",
            &format!("127.0.0.1:{metrics_port}"),
            "--user",
            "ingest",
            "--password-file",
        ])
        .arg(&password_file)
        .arg("--data")
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start: Timestamp = "2026-11-22T02:00:00Z".parse().unwrap();
    let lines = simulators::scenario::receiver_lines(
        "central-med",
        "lampedusa",
        start,
        SignedDuration::from_mins(5),
    )
    .unwrap();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let want: BTreeSet<Vec<u8>> = lines.iter().map(|l| l.as_bytes().to_vec()).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    // UDP may be lost before ingest listens: send again until everything is archived.
    loop {
        for chunk in lines.chunks(4) {
            let datagram = chunk.join("\r\n") + "\r\n";
            let _ = sock
                .send_to(datagram.as_bytes(), ("127.0.0.1", udp_port))
                .await;
        }
        let _ = sock
            .send_to(b"!AIVDM,1,1,,A,garbage*00\r\n", ("127.0.0.1", udp_port))
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        if want.difference(&archived_lines(&data)).count() == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "UDP lines never reached the archive"
        );
    }
    // /metrics counts what was archived, by source and verdict, and rejects by reason.
    let text = http_get(metrics_port, "/metrics").await;
    let count = |prefix: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
    };
    assert!(
        count("tidewatch_ingest_lines_total{source=\"ais:shore-udp\",verdict=\"accepted\"}")
            >= lines.len() as u64
    );
    assert!(
        count("tidewatch_ingest_lines_total{source=\"ais:shore-udp\",verdict=\"rejected\"}") >= 1
    );
    assert!(count("tidewatch_ingest_rejected_total{reason=\"checksum\"}") >= 1);
    assert!(count("tidewatch_feed_lines_total") >= lines.len() as u64);
    assert!(
        text.contains("tidewatch_ingest_queue_depth{queue=\"feeds\"}"),
        "{text}"
    );
    ingest.kill().unwrap();
    ingest.wait().unwrap();
    let sources: BTreeSet<String> = ingest::archive::files(&data.join("raw"))
        .unwrap()
        .iter()
        .flat_map(|f| ingest::archive::read_file(f).unwrap())
        .map(|r| r.source)
        .collect();
    assert_eq!(sources, BTreeSet::from(["ais:shore-udp".to_owned()]));
    broker.shutdown().await;
    let _ = std::fs::remove_dir_all(&data);
}

/// A plain HTTP/1.1 GET on loopback: the body.
async fn http_get(port: u16, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("the metrics listener");
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}
