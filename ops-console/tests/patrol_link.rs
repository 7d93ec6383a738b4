//! The patrol link drops for ten minutes and comes back: every line the ship's
//! instruments gave `tidewatch patrol` reaches the shore, in order, once.
//!
//! ```text
//!  test NMEA server ──TCP──▶ tidewatch patrol (real binary) ──TLS──▶ radio link (a relay the test cuts) ──▶ embedded broker's remote listener ──▶ ingest ──▶ raw archive
//! ```
//!
//! The cut is a silent one, as when a vessel goes out of range: the relay stops passing
//! bytes but keeps the connections open, so the client only finds out by its keep-alive,
//! and reconnects reach nothing. Midway through the outage the patrol program is killed
//! with SIGKILL and started again, so the backlog must come from its queue on disk. A
//! report typed by the crew and a tasking sent from shore during the outage arrive too.
//!
//! The outage lasts `TIDEWATCH_LINK_DOWN_SECS` seconds (default 600, as CI runs it).
//!
//! Everyone logs in as themselves, as with `tidewatch up`: ingest and the shore's fusion with
//! their passwords on the loopback listener (the broker's anonymous clients may publish raw AIS
//! only), the unit as it does at sea: MQTT over TLS to the remote listener, with the credentials
//! file the centre issued (`tidewatch unit add`: its identity in the store the broker follows,
//! its password, the radio link's address and the fingerprint of the certificate to pin).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ingest::service::{self, ServiceConfig, ServiceHandle};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use tidewatch_broker::identities::{CredentialsFile, Follower, Kind, Store};
use tidewatch_broker::{Broker, BrokerConfig, Credentials, ListenerTls, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

mod support;

use support::relay;

const UNIT: &str = "cp-291";
const LINES_PER_SEC: u64 = 20;

/// The ship's NMEA multiplexer: serves lines to whoever is connected, one at a time;
/// a line waits while nobody is. Counts the connections it accepted.
async fn nmea_server(
    listener: TcpListener,
    mut lines: mpsc::UnboundedReceiver<String>,
    accepted: watch::Sender<usize>,
) {
    let mut conn: Option<TcpStream> = None;
    let mut pending: Option<String> = None;
    let mut scratch = [0u8; 256];
    loop {
        let Some(c) = conn.as_mut() else {
            conn = listener.accept().await.ok().map(|(c, _)| c);
            if conn.is_some() {
                accepted.send_modify(|n| *n += 1);
            }
            continue;
        };
        if let Some(l) = pending.take() {
            if c.write_all(l.as_bytes()).await.is_err() {
                pending = Some(l);
                conn = None;
            }
            continue;
        }
        tokio::select! {
            l = lines.recv() => match l {
                Some(l) => pending = Some(l),
                None => return,
            },
            r = c.read(&mut scratch) => if matches!(r, Ok(0) | Err(_)) { conn = None },
        }
    }
}

fn checksum(body: &str) -> String {
    format!("{:02X}", body.bytes().fold(0u8, |a, b| a ^ b))
}

/// The i-th line of the ship's instruments: heading, and every fifth a GNSS fix.
fn instrument_line(i: u64) -> String {
    let body = if i.is_multiple_of(5) {
        let secs = i / LINES_PER_SEC;
        format!(
            "GPRMC,{:02}{:02}{:02}.{:02},A,3530.{:04},N,01230.{:04},E,12.5,270.0,221126,,,A",
            secs / 3600 % 24,
            secs / 60 % 60,
            secs % 60,
            i % LINES_PER_SEC,
            i % 10_000,
            (i * 7) % 10_000,
        )
    } else {
        format!("HEHDT,{}.{},T", (i / 10) % 360, i % 10)
    };
    format!("${body}*{}\r\n", checksum(&body))
}

/// The patrol's console output, kept for the failure message.
fn log(data: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data.with_extension("log"))
        .unwrap()
}

struct Patrol {
    child: Child,
}

impl Patrol {
    fn start(nmea: u16, data: &Path, credentials: &Path) -> Patrol {
        let child = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
            .args([
                "patrol",
                "--nmea",
                &format!("tcp://127.0.0.1:{nmea}"),
                "--keep-alive-secs",
                "5",
                "--credentials",
            ])
            .arg(credentials)
            .arg("--data")
            .arg(data)
            .stdin(Stdio::piped())
            .stdout(log(data))
            .stderr(log(data))
            .spawn()
            .expect("tidewatch patrol starts");
        Patrol { child }
    }

    fn crew(&mut self, command: &str) {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for Patrol {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Accepted lines and reports of the unit, in archive order, and how many duplicates.
fn unit_records(raw: &Path) -> (Vec<Vec<u8>>, usize) {
    let mut ok = Vec::new();
    let mut dups = 0;
    for f in ingest::archive::files(raw).unwrap_or_default() {
        for r in ingest::archive::read_file(&f).unwrap_or_default() {
            if r.source != format!("patrol:{UNIT}") {
                continue;
            }
            match r.verdict.as_str() {
                "ok" => ok.push(r.line),
                "rej:duplicate" => dups += 1,
                other => panic!(
                    "unexpected verdict {other} for {:?}",
                    String::from_utf8_lossy(&r.line)
                ),
            }
        }
    }
    (ok, dups)
}

fn split_tag(line: &[u8]) -> (ingest::ais::TagBlock, Vec<u8>) {
    let (tag, sentence) = ingest::ais::split_tag_block(line).unwrap();
    (
        ingest::ais::TagBlock::parse(tag.expect("a tag block")).unwrap(),
        sentence.to_vec(),
    )
}

#[tokio::test]
async fn a_ten_minute_link_drop_loses_nothing_and_keeps_the_order() {
    let down_secs: u64 = std::env::var("TIDEWATCH_LINK_DOWN_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data: PathBuf = dir.join("patrol");
    let raw = dir.join("raw");
    // The centre: its certificate, and the remote listener serving it (TLS even on loopback).
    let centre = dir.join("centre");
    let identity =
        ingest::link::tls::Identity::self_signed_in(&ingest::link::tls::default_dir(&centre), &[])
            .unwrap();
    let mut broker_cfg = BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        auth_listen: Some("127.0.0.1:0".parse().unwrap()),
        auth_tls: Some(ListenerTls::from_identity(&identity).unwrap()),
        ..BrokerConfig::default()
    };
    let ingest_login = broker_cfg
        .add_generated_user("ingest", Role::Ingest)
        .unwrap();
    let fusion_login = broker_cfg
        .add_generated_user("fusion", Role::Fusion)
        .unwrap();
    let broker = Broker::start(broker_cfg).await.unwrap();
    let radio = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let radio_port = radio.local_addr().unwrap().port();
    // The unit's identity, issued as `tidewatch unit add` issues it, and followed by the broker
    // as `up` follows it; its credentials file names the radio link as the centre's address.
    let store = Store::new(&centre);
    let (unit_identity, unit_login) = store.add(Kind::Unit, UNIT).unwrap();
    let credentials = dir.join(format!("{UNIT}.toml"));
    CredentialsFile {
        kind: Kind::Unit,
        id: UNIT.into(),
        username: unit_login.username.clone(),
        password: unit_login.password.clone(),
        brokers: vec![format!("127.0.0.1:{radio_port}")],
        fingerprint: identity.fingerprint(),
        issued: unit_identity.created,
        certificate: None,
    }
    .write(&credentials)
    .unwrap();
    let mut follower = Follower::new(store, broker.accounts());
    assert_eq!(follower.poll().unwrap().unwrap().active, 1);
    let ingest = ServiceHandle::new();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut ingest_cfg = ServiceConfig::new("127.0.0.1", broker.addr().port(), &raw);
    ingest_cfg.broker.credentials = Some(ingest_login.pair());
    let ingest_task = tokio::spawn(service::run(ingest_cfg, ingest.clone(), async move {
        let _ = stopped.await;
    }));
    let (link, link_rx) = watch::channel(true);
    tokio::spawn(relay(radio, broker.auth_addr().unwrap(), link_rx));
    let mux = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mux_port = mux.local_addr().unwrap().port();
    let (nmea, nmea_rx) = mpsc::unbounded_channel();
    let (accepted, mut connections) = watch::channel(0usize);
    tokio::spawn(nmea_server(mux, nmea_rx, accepted));
    let mut patrol = Patrol::start(mux_port, &data, &credentials);

    let mut written = Vec::new();
    let mut i = 0u64;
    let write_for = |secs: u64, written: &mut Vec<String>, i: &mut u64| {
        let n = secs * LINES_PER_SEC;
        let (nmea, batch): (_, Vec<String>) = (
            nmea.clone(),
            (0..n).map(|k| instrument_line(*i + k)).collect(),
        );
        *i += n;
        written.extend(batch.iter().cloned());
        async move {
            let mut tick = tokio::time::interval(Duration::from_millis(1000 / LINES_PER_SEC));
            for l in batch {
                tick.tick().await;
                nmea.send(l).unwrap();
            }
        }
    };

    // In range: lines flow live.
    write_for(15, &mut written, &mut i).await;
    wait_for(&raw, written.len(), Duration::from_secs(30)).await;

    // Out of range. The crew reports a sighting, shore sends a tasking, and halfway
    // through the program is killed and started again.
    link.send_replace(false);
    let outage = Instant::now();
    let lost_at = jiff::Timestamp::now();
    patrol.crew("sighting 35.31 12.41 rubber_boat 60 overcrowded seen by radar, no AIS");
    let half = down_secs / 2;
    write_for(half, &mut written, &mut i).await;
    tokio::time::sleep(Duration::from_secs(2)).await; // the last lines reach the queue
    drop(patrol);
    let patrol = Patrol::start(mux_port, &data, &credentials);
    // Lines resume once the new program is reading: a line written to the dead
    // connection would be lost before the patrol ever saw it (TCP, not the queue).
    tokio::time::timeout(Duration::from_secs(30), connections.wait_for(|&n| n >= 2))
        .await
        .expect("the restarted patrol reads the multiplexer")
        .unwrap();
    let shore = tasking_client(broker.addr().port(), &fusion_login).await;
    shore
        .publish(
            format!("tidewatch/v1/patrol/{UNIT}/tasking"),
            QoS::AtLeastOnce,
            false,
            r#"{"tasking":"intercept","target":"dark-0042"}"#,
        )
        .await
        .unwrap();
    write_for(down_secs - half, &mut written, &mut i).await;
    assert!(outage.elapsed() >= Duration::from_secs(down_secs));
    {
        // Nothing crossed while the link was down.
        let (ok, _) = unit_records(&raw);
        assert_eq!(ok.len(), 15 * LINES_PER_SEC as usize);
    }

    // Back in range: the backlog, then live lines again.
    link.send_replace(true);
    write_for(10, &mut written, &mut i).await;
    let (ok, dups) = wait_for(&raw, written.len() + 1, Duration::from_secs(120)).await;

    // Every line, in order, once; the report among them.
    let mut lines = Vec::new();
    let mut reports = Vec::new();
    for rec in &ok {
        if rec.starts_with(b"{") {
            reports.push(String::from_utf8(rec.clone()).unwrap());
        } else {
            lines.push(split_tag(rec));
        }
    }
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].contains(r#""persons_estimate":60"#),
        "{}",
        reports[0]
    );
    assert_eq!(lines.len(), written.len());
    for (k, ((tag, sentence), want)) in lines.iter().zip(&written).enumerate() {
        assert_eq!(tag.line_count, Some(k as u32 + 1), "line {k}");
        assert_eq!(sentence.as_slice(), want.trim_end().as_bytes(), "line {k}");
    }
    // A line read during the outage keeps the time it was read on board.
    let first_queued = &lines[15 * LINES_PER_SEC as usize].0;
    let read_at = first_queued.time.expect("c: on every line");
    assert!(
        (read_at - lost_at).abs().get_seconds() < 5,
        "{read_at} vs {lost_at}"
    );
    let s = ingest.stats();
    assert_eq!((s.unit_sequence_gaps, s.unit_out_of_order), (0, 0), "{s:?}");
    eprintln!(
        "{} lines and 1 report delivered in order after a {down_secs} s outage; {dups} retransmissions dropped as duplicates",
        lines.len()
    );

    // The tasking sent during the outage reached the crew, and was kept.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let kept = std::fs::read_to_string(data.join("taskings.jsonl")).unwrap_or_default();
        if kept.contains("dark-0042") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the tasking never reached the unit"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And the queue is empty: everything was acknowledged (the mark is synced within 200 ms).
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(patrol);
    let acked: u64 = std::fs::read_to_string(data.join("outbox/acked"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(acked, written.len() as u64 + 1);
    // All of it over TLS, on the remote listener: the first program's session, and the
    // restarted program's once the link was back.
    let s = broker.stats();
    assert!(s.tls_handshakes >= 2 && s.auth_sessions >= 2, "{s:?}");
    assert_eq!(s.refused.total(), 0, "{s:?}");
    let _ = stop.send(());
    ingest_task.await.unwrap().unwrap();
    broker.shutdown().await;
}

/// Fusion's place on shore: it sends taskings.
async fn tasking_client(port: u16, login: &Credentials) -> AsyncClient {
    let mut opts = MqttOptions::new("shore-fusion", "127.0.0.1", port);
    opts.set_credentials(&login.username, &login.password);
    let (client, mut eventloop) = AsyncClient::new(opts, 16);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    client
}

/// Wait until the archive holds `n` accepted records of the unit.
async fn wait_for(raw: &Path, n: usize, within: Duration) -> (Vec<Vec<u8>>, usize) {
    let deadline = Instant::now() + within;
    loop {
        let (ok, dups) = unit_records(raw);
        if ok.len() >= n {
            return (ok, dups);
        }
        if Instant::now() >= deadline {
            // Which numbered lines are missing, to tell a source loss from a queue loss.
            let seen: std::collections::BTreeSet<u32> = ok
                .iter()
                .filter(|r| !r.starts_with(b"{"))
                .filter_map(|r| split_tag(r).0.line_count)
                .collect();
            let last = seen.iter().max().copied().unwrap_or(0);
            let missing: Vec<u32> = (1..=last).filter(|k| !seen.contains(k)).take(10).collect();
            panic!(
                "{} of {n} records arrived; line counts missing below {last}: {missing:?}; the patrol said:\n{}",
                ok.len(),
                std::fs::read_to_string(raw.with_file_name("patrol.log")).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
