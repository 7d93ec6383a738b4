//! The raw archive's disk fills while `tidewatch ingest` runs: ingest stops acknowledging
//! (and so the embedded broker does: the publisher keeps what was not archived), raises `tidewatch_ingest_disk_full` and logs it once, and
//! when space returns it goes on by itself; every line the broker took from the publisher
//! ends up in the archive, and the chain verifies.
//!
//! For real, on a 2 MiB tmpfs mounted by the test (it needs root; it fails rather than
//! skip), with the embedded broker in this process and ingest the real binary.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use support::Tmpfs;
use tidewatch_broker::{Broker, BrokerConfig, Role};

mod support;

/// Killed when dropped (before the tmpfs under it is unmounted).
struct Ingest(Child);

impl Drop for Ingest {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every line in the archive.
fn archived_lines(raw: &Path) -> BTreeSet<Vec<u8>> {
    let Ok(files) = ingest::archive::files(raw) else {
        return BTreeSet::new();
    };
    files
        .iter()
        .flat_map(|f| ingest::archive::read_file(f).unwrap_or_default())
        .map(|r| r.line)
        .collect()
}

/// `/metrics`, as text.
async fn metrics(port: u16) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return String::new();
    };
    let _ = s
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await;
    let mut out = String::new();
    let _ = s.read_to_string(&mut out).await;
    out
}

/// Publishes lines in order, and waits for the broker's acknowledgements.
struct Publisher {
    client: AsyncClient,
    acked: tokio::sync::watch::Receiver<usize>,
    lines: Vec<String>,
    sent: usize,
}

impl Publisher {
    /// Publish the next `n` lines; how many were sent in all, once the broker has
    /// acknowledged them.
    async fn publish(&mut self, n: usize) -> usize {
        let sent = self.send(n).await;
        assert!(
            self.acked_within(sent, Duration::from_secs(30)).await,
            "the broker acknowledges what was published"
        );
        sent
    }

    /// Publish the next `n` lines without waiting; how many were sent in all.
    async fn send(&mut self, n: usize) -> usize {
        for l in &self.lines[self.sent..self.sent + n] {
            self.client
                .publish(
                    "tidewatch/v1/raw/ais/disk-test",
                    QoS::AtLeastOnce,
                    false,
                    l.clone(),
                )
                .await
                .unwrap();
        }
        self.sent += n;
        self.sent
    }

    /// Are the first `n` lines acknowledged within `within`?
    async fn acked_within(&mut self, n: usize, within: Duration) -> bool {
        tokio::time::timeout(within, self.acked.wait_for(|k| *k >= n))
            .await
            .is_ok()
    }

    /// Lines acknowledged so far.
    fn acked(&self) -> usize {
        *self.acked.borrow()
    }
}

fn value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Wait (at most `within`) until `ok` holds, or fail saying `what`.
async fn wait_for(what: &str, within: Duration, mut ok: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_acknowledging_loses_nothing_and_ingest_resumes_by_itself() {
    let disk = Tmpfs::mount("2m");
    let data = disk.path().join("data");
    let raw = data.join("raw");
    let secrets = tempfile::tempdir().unwrap();
    let log_path: PathBuf = secrets.path().join("ingest.log");

    let mut cfg = BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..BrokerConfig::default()
    };
    let login = cfg.add_generated_user("ingest", Role::Ingest).unwrap();
    let password_file = secrets.path().join("ingest.password");
    std::fs::write(&password_file, &login.password).unwrap();
    let broker = Broker::start(cfg).await.unwrap();
    let port = broker.addr().port();
    let metrics_port = support::free_port();
    let _ingest = Ingest(
        Command::new(env!("CARGO_BIN_EXE_tidewatch"))
            .args(["ingest", "--broker", &format!("127.0.0.1:{port}")])
            .args(["--user", "ingest", "--password-file"])
            .arg(&password_file)
            .arg("--data")
            .arg(&data)
            .args(["--metrics", &format!("127.0.0.1:{metrics_port}")])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .expect("tidewatch ingest starts"),
    );
    wait_for("ingest is connected", Duration::from_secs(15), async || {
        value(
            &metrics(metrics_port).await,
            "tidewatch_ingest_connects_total",
        )
        .is_some_and(|n| n >= 1.0)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await; // its subscriptions

    // Scenario lines (unique), published one a message with QoS 1; counted as the broker
    // acknowledges them.
    let lines = simulators::scenario::receiver_lines(
        "central-med",
        "lampedusa",
        "2026-11-22T02:00:00Z".parse::<Timestamp>().unwrap(),
        SignedDuration::from_mins(600),
    )
    .unwrap();
    let (client, mut el) = AsyncClient::new(
        MqttOptions::new("disk-full-publisher", "127.0.0.1", port),
        1024,
    );
    let (acked_tx, acked) = tokio::sync::watch::channel(0usize);
    let poller = tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => acked_tx.send_modify(|n| *n += 1),
                Ok(_) => {}
                Err(e) => panic!("the publisher lost the broker: {e}"),
            }
        }
    });
    let mut publisher = Publisher {
        client,
        acked,
        lines: lines.clone(),
        sent: 0,
    };

    // Some lines while there is room.
    let first = publisher.publish(200).await;
    wait_for(
        "the first lines are archived",
        Duration::from_secs(30),
        async || archived_lines(&raw).len() >= first,
    )
    .await;

    // Fill the disk, leaving a little room, and publish until ingest finds it full.
    let ballast = disk.path().join("ballast");
    {
        use std::io::Write as _;
        let free = ingest::hourly::free_bytes(disk.path()).unwrap();
        let mut f = std::fs::File::create(&ballast).unwrap();
        let _ = f.write_all(&vec![0u8; free.saturating_sub(24 * 1024) as usize]);
        let _ = f.sync_all();
    }
    let mut full_at = None;
    while full_at.is_none() {
        assert!(
            publisher.sent + 100 <= lines.len() / 2,
            "the disk never filled"
        );
        let n = publisher.send(100).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let text = metrics(metrics_port).await;
            if value(&text, "tidewatch_ingest_disk_full") == Some(1.0) {
                full_at = Some(n);
                break;
            }
            if publisher.acked() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // While full: more lines are published, the broker acknowledges none of what ingest
    // could not archive (the publisher keeps it), and the archive holds no torn record.
    let archived_when_full = archived_lines(&raw).len();
    let all = publisher.send(1000).await;
    assert!(
        !publisher.acked_within(all, Duration::from_secs(2)).await,
        "the broker acknowledged lines ingest could not archive"
    );
    assert!(
        publisher.acked() <= archived_when_full,
        "acknowledged beyond the archive"
    );
    let text = metrics(metrics_port).await;
    assert_eq!(
        value(&text, "tidewatch_ingest_disk_full"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "tidewatch_ingest_disk_full_episodes_total"),
        Some(1.0),
        "{text}"
    );
    assert!(
        value(&text, "tidewatch_ingest_queue_depth{queue=\"unacked\"}").unwrap_or(0.0) > 0.0,
        "{text}"
    );
    assert!(
        value(&text, "tidewatch_disk_free_bytes").unwrap_or(f64::MAX) < 64.0 * 1024.0,
        "{text}"
    );
    // Store sizes are measured at most every 10 s.
    wait_for(
        "/metrics gives the raw store's size",
        Duration::from_secs(15),
        async || {
            value(
                &metrics(metrics_port).await,
                "tidewatch_store_bytes{store=\"raw\"}",
            )
            .is_some_and(|b| b > 0.0)
        },
    )
    .await;
    assert!(archived_lines(&raw).len() <= archived_when_full);
    assert_eq!(
        ingest::archive::verify(&raw).unwrap().first_break,
        None,
        "a torn record while the disk is full"
    );

    // Space returns: ingest goes on by itself, and every line the broker took is archived.
    std::fs::remove_file(&ballast).unwrap();
    let want: BTreeSet<Vec<u8>> = lines[..all].iter().map(|l| l.as_bytes().to_vec()).collect();
    wait_for(
        "every line published is in the archive",
        Duration::from_secs(60),
        async || want.is_subset(&archived_lines(&raw)),
    )
    .await;
    assert!(
        publisher.acked_within(all, Duration::from_secs(30)).await,
        "once archived, every line is acknowledged"
    );
    wait_for(
        "the disk-full status clears",
        Duration::from_secs(10),
        async || value(&metrics(metrics_port).await, "tidewatch_ingest_disk_full") == Some(0.0),
    )
    .await;
    let report = ingest::archive::verify(&raw).unwrap();
    assert_eq!(report.first_break, None);
    assert!(report.records as usize >= all);
    // Logged once for the episode, and its end.
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert_eq!(log.matches("disk is full").count(), 1, "{log}");
    assert!(log.contains("writable again"), "{log}");
    eprintln!(
        "disk full after {} lines published ({archived_when_full} archived), {all} published in all, all archived after space returned",
        full_at.unwrap()
    );
    poller.abort();
    drop(_ingest);
    broker.shutdown().await;
}
