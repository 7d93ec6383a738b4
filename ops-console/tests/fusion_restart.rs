//! A restart remembers (issue 18 §3): fusion stopped at any moment — SIGKILL included —
//! and started again issues exactly the alerts (ids, revisions, content) of a run that
//! was never stopped: open gaps, loitering clocks, meetings in progress, identity
//! histories and SAR responses come back from the snapshot and the journal.
//!
//! Two tests: the engine's saved state, loaded into a fresh engine at many points of
//! several scenarios, goes on exactly as the original; and `tidewatch fusion` (the real
//! binary, against the embedded broker in this process) killed with SIGKILL at random
//! moments during a stream gives the uninterrupted run's alert store.
//! `TIDEWATCH_FUSION_KILL_ROUNDS` (default 6) sets the kills, `TIDEWATCH_KILL_SEED` the
//! moments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fusion::{FusionConfig, FusionEngine, FusionEvent, Geodata};
use ingest::model::Observation;
use jiff::{SignedDuration, Timestamp};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use simulators::scenario::Scenario;
use tidewatch_broker::{Broker, BrokerConfig, Role};

mod support;

/// A scenario's observations, as ingest publishes them (updates included: same id), in
/// order, with its zones.
struct Stream {
    observations: Vec<(String, Vec<u8>, Observation)>,
    zones: Option<String>,
}

fn stream(name: &str, minutes: i64) -> Stream {
    let start: Timestamp = "2026-11-22T02:00:00Z".parse().unwrap();
    let mut sc =
        Scenario::from_toml(simulators::scenario::built_in(name).unwrap(), start, None).unwrap();
    let zones = sc.zones_geojson();
    let mut pipeline = ingest::pipeline::Pipeline::new();
    let mut observations = Vec::new();
    for e in sc.advance(start + SignedDuration::from_mins(minutes)) {
        for ev in pipeline.on_input(e.input(), e.at) {
            if let ingest::pipeline::Event::Publish {
                topic, observation, ..
            } = ev
            {
                let json = serde_json::to_vec(&observation).unwrap();
                observations.push((
                    topic.to_string(),
                    json,
                    std::sync::Arc::unwrap_or_clone(observation),
                ));
            }
        }
    }
    Stream {
        observations,
        zones,
    }
}

fn engine(zones: Option<&str>) -> FusionEngine {
    let cfg = FusionConfig::default();
    let mut geo = Geodata::load(&cfg, None).unwrap();
    if let Some(z) = zones {
        geo.zones = fusion::geodata::Zones::from_geojson("scenario", z.as_bytes()).unwrap();
    }
    FusionEngine::new(cfg, geo)
}

/// The service's rule for the clock and ticks on the data alone, and its dropping of
/// observations delivered again (same id).
#[derive(Default, Clone)]
struct Clock {
    data: fusion::clock::DataClock,
    seen: BTreeSet<String>,
}

impl Clock {
    fn take(&mut self, e: &mut FusionEngine, o: &Observation, out: &mut Vec<FusionEvent>) {
        if self.seen.insert(o.id.clone()) {
            self.data.take(e, o, out);
        }
    }
}

fn kinds(events: &[FusionEvent]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for e in events {
        if let FusionEvent::Alert(a) = e {
            *m.entry(a.kind.as_str().to_string()).or_default() += 1;
        }
    }
    m
}

#[test]
fn the_saved_state_goes_on_exactly_as_the_engine_it_was_saved_from() {
    let mut total_kinds = BTreeMap::new();
    for (name, minutes) in [
        ("central-med", 240),
        ("rendezvous", 180),
        ("going-dark", 240),
        ("mmsi-clone", 120),
        ("identity-swap", 180),
        ("loitering", 240),
        ("zone-entry", 120),
        ("dark-dinghy", 120),
        ("engine-failure", 180),
        ("capsize", 120),
    ] {
        let s = stream(name, minutes);
        // One pass, saving the state at six points spread over the stream (the very end
        // too); then from each saved state, the rest.
        let n = s.observations.len();
        let cuts: Vec<usize> = (1..=5).map(|i| n * i / 6).chain([n - 1]).collect();
        let mut whole = engine(s.zones.as_deref());
        let mut clock = Clock::default();
        let mut expected = Vec::new();
        let mut saved = Vec::new();
        for (i, (_, _, o)) in s.observations.iter().enumerate() {
            if cuts.contains(&i) {
                saved.push((i, whole.save_state(), clock.clone(), expected.len()));
            }
            clock.take(&mut whole, o, &mut expected);
        }
        assert!(!expected.is_empty(), "{name}: no alerts at all");
        for (k, n) in kinds(&expected) {
            *total_kinds.entry(k).or_insert(0) += n;
        }
        for (cut, state, mut clock, before) in saved {
            let mut second = engine(s.zones.as_deref());
            second.load_state(&state).unwrap();
            assert_eq!(
                second.save_state().len(),
                state.len(),
                "{name} at {cut}: the state read back is not the state saved"
            );
            let mut got = expected[..before].to_vec();
            for (_, _, o) in &s.observations[cut..] {
                clock.take(&mut second, o, &mut got);
            }
            assert_eq!(
                got.len(),
                expected.len(),
                "{name} stopped at observation {cut} of {n}: {:?} revisions, uninterrupted {:?}",
                kinds(&got),
                kinds(&expected)
            );
            for (i, (a, b)) in got.iter().zip(&expected).enumerate().skip(before) {
                assert_eq!(
                    a, b,
                    "{name} stopped at observation {cut} of {n}: event {i} differs"
                );
            }
        }
    }
    // The scenarios exercise the detectors whose state a restart must keep.
    for kind in [
        "ais_gap",
        "rendezvous",
        "loitering",
        "identity_conflict",
        "dark_target",
        "zone_entry",
        "distress",
    ] {
        assert!(
            total_kinds.contains_key(kind),
            "no {kind} alert in the scenarios: {total_kinds:?}"
        );
    }
}

/// The embedded broker with accounts for fusion and for a publisher in ingest's place;
/// the fusion password in a file.
/// The embedded broker, with accounts for fusion (its password in a file), ingest and the
/// console.
async fn broker(dir: &Path) -> (Broker, PathBuf, (String, String), (String, String)) {
    let mut cfg = BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..BrokerConfig::default()
    };
    let fusion = cfg.add_generated_user("fusion", Role::Fusion).unwrap();
    let ingest = cfg.add_generated_user("ingest", Role::Ingest).unwrap();
    let console = cfg.add_generated_user("console", Role::Console).unwrap();
    let password_file = dir.join("fusion.password");
    std::fs::write(&password_file, &fusion.password).unwrap();
    (
        Broker::start(cfg).await.unwrap(),
        password_file,
        (ingest.username, ingest.password),
        (console.username, console.password),
    )
}

struct Fusion {
    port: u16,
    data: PathBuf,
    password_file: PathBuf,
    zones: Option<PathBuf>,
    metrics: u16,
    /// Its standard error, every run appended.
    log: PathBuf,
    /// Its client id (a replica's own; the default's otherwise).
    client_id: Option<String>,
}

impl Fusion {
    /// The end of its log, for a failure's message.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    fn start(&self) -> Child {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tidewatch"));
        c.args(["fusion", "--broker", &format!("127.0.0.1:{}", self.port)])
            .args(["--user", "fusion", "--password-file"])
            .arg(&self.password_file)
            .arg("--data")
            .arg(&self.data)
            .args(["--data-clock", "--snapshot-every", "1"])
            .args(["--metrics", &format!("127.0.0.1:{}", self.metrics)])
            .args(
                self.client_id
                    .iter()
                    .flat_map(|id| ["--client-id", id.as_str()]),
            )
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.log)
                    .unwrap(),
            );
        if let Some(z) = &self.zones {
            c.arg("--zones").arg(z);
        }
        c.spawn().expect("tidewatch fusion starts")
    }

    /// `tidewatch_fusion_observations_total{kind="new"}`, if fusion answers.
    async fn taken(&self) -> Option<u64> {
        self.metric("tidewatch_fusion_observations_total{kind=\"new\"}")
            .await
    }

    /// A metric's value, if fusion answers.
    async fn metric(&self, name: &str) -> Option<u64> {
        let url = format!("http://127.0.0.1:{}/metrics", self.metrics);
        let text = http_get(&url).await?;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
    }
}

/// Every line of fusion's alert store under `data`, oldest first: the closed days (which a
/// run that crosses midnight UTC leaves, compressed or not yet), then the live file.
fn stored_alerts(data: &Path) -> Vec<String> {
    use std::io::Read;
    let dir = data.join("fusion");
    let mut days: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    days.retain(|p| {
        let name = p.file_name().unwrap().to_string_lossy();
        name.starts_with("alerts-") && (name.ends_with(".jsonl") || name.ends_with(".jsonl.gz"))
    });
    days.sort();
    let mut text = String::new();
    for p in days.iter().chain([&dir.join("alerts.jsonl")]) {
        let Ok(bytes) = std::fs::read(p) else {
            continue;
        };
        if p.extension().is_some_and(|e| e == "gz") {
            // A day compressed after its plain file was listed is read once: skip the copy.
            if days.contains(&p.with_extension("")) {
                continue;
            }
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_string(&mut text)
                .unwrap();
        } else {
            text.push_str(&String::from_utf8(bytes).unwrap());
        }
    }
    text.lines().map(str::to_string).collect()
}

/// GET `url` over plain HTTP/1.1 (the metrics endpoint), the body.
async fn http_get(url: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/')?;
    let mut s = tokio::net::TcpStream::connect(host).await.ok()?;
    s.write_all(
        format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    Some(text.split_once("\r\n\r\n")?.1.to_string())
}

/// What happens to fusion while the stream flows.
enum Trouble<'a> {
    /// Nothing.
    None,
    /// SIGKILL this many times, at random moments.
    Kills(usize, &'a mut support::Rng),
    /// Its disk (a tmpfs) fills, stays full a few seconds, then space returns.
    DiskFull,
    /// A second replica runs beside it on the same stream, and the console takes the alerts
    /// of both; this one is SIGKILLed this many times, at random moments.
    Replicas(usize, &'a mut support::Rng),
}

/// What a run left: the alert store of the (first) fusion, line by line; the kills that
/// landed; with replicas, the second replica's alert store and the console's alerts.
struct Run {
    alerts: Vec<String>,
    killed: usize,
    replica: Option<(Vec<String>, Vec<String>)>,
}

/// Run `tidewatch fusion` over `s` through `trouble`; the alert store, line by line, and
/// the kills that landed.
async fn run_fusion(s: &Stream, trouble: Trouble<'_>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let disk = matches!(trouble, Trouble::DiskFull).then(|| support::Tmpfs::mount("32m"));
    let replicas = matches!(trouble, Trouble::Replicas(..));
    let (broker, password_file, (user, password), console_login) = broker(dir.path()).await;
    // With replicas, the console (its own feed, as `tidewatch console` runs it) takes what
    // both publish.
    let console = replicas.then(|| {
        let console = std::sync::Arc::new(
            ops_console::console::Console::open(
                ops_console::console::ConsoleConfig {
                    dir: None,
                    picture: Default::default(),
                    fusion: Default::default(),
                    reference: None,
                    database: None,
                },
                engine(None),
                std::sync::Arc::new(ops_console::metrics::Metrics::new()),
            )
            .unwrap(),
        );
        let feed = ops_console::console::feed::FeedConfig {
            credentials: Some(console_login.clone()),
            ..ops_console::console::feed::FeedConfig::new(
                "127.0.0.1",
                broker.addr().port(),
                "replica-test-console",
            )
        };
        tokio::spawn(ops_console::console::feed::run(
            feed,
            console.clone(),
            std::future::pending(),
        ));
        console
    });
    let zones = s.zones.as_ref().map(|z| {
        let p = dir.path().join("zones.geojson");
        std::fs::write(&p, z).unwrap();
        p
    });
    let f = Fusion {
        port: broker.addr().port(),
        data: disk.as_ref().map_or(dir.path(), |d| d.path()).join("data"),
        password_file,
        zones,
        metrics: support::free_port(),
        log: dir.path().join("fusion.log"),
        client_id: replicas.then(|| "tidewatch-fusion-a".to_owned()),
    };
    let g = replicas.then(|| Fusion {
        port: f.port,
        data: dir.path().join("data-b"),
        password_file: f.password_file.clone(),
        zones: f.zones.clone(),
        metrics: support::free_port(),
        log: dir.path().join("fusion-b.log"),
        client_id: Some("tidewatch-fusion-b".to_owned()),
    });
    let mut child = f.start();
    let mut child_b = g.as_ref().map(Fusion::start);
    // Every session exists before the first observation (it is then kept for it): each
    // fusion's two connections, and the console's.
    let connections = 2 * (1 + usize::from(replicas)) + usize::from(replicas);
    let deadline = Instant::now() + Duration::from_secs(20);
    while f.taken().await.is_none() || broker.stats().loopback_connections < connections as u64 {
        assert!(Instant::now() < deadline, "fusion did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut opts = MqttOptions::new("restart-test-ingest", "127.0.0.1", f.port);
    opts.set_credentials(&user, &password);
    opts.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut el) = AsyncClient::new(opts, 256);
    // The broker acknowledges an observation once fusion has (fusion must see everything):
    // all acknowledged, all journaled and their alerts stored.
    let acked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = acked.clone();
    tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => {
                    count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Ok(_) => {}
                // The broker is gone: the test is over (or the acknowledgements will be short).
                Err(_) => return,
            }
        }
    });
    let distinct: usize = s
        .observations
        .iter()
        .map(|(_, _, o)| o.id.as_str())
        .collect::<BTreeSet<_>>()
        .len();
    let publishing = {
        let client = client.clone();
        let obs: Vec<(String, Vec<u8>)> = s
            .observations
            .iter()
            .map(|(t, j, _)| (t.clone(), j.clone()))
            .collect();
        let chunk = (obs.len() / 200).max(1);
        tokio::spawn(async move {
            for (i, (topic, json)) in obs.into_iter().enumerate() {
                client
                    .publish(topic, QoS::AtLeastOnce, false, json)
                    .await
                    .unwrap();
                if i % chunk == chunk - 1 {
                    // A stream that lasts ten seconds or so, so that kills land in it.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        })
    };
    let mut killed = 0;
    let (kills, mut rng) = match trouble {
        Trouble::Kills(n, rng) | Trouble::Replicas(n, rng) => (n, Some(rng)),
        _ => (0, None),
    };
    if let Some(d) = &disk {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let filler = d.path().join("filler");
        support::fill(&filler);
        let deadline = Instant::now() + Duration::from_secs(30);
        while f.metric("tidewatch_fusion_store_failing").await != Some(1) {
            assert!(
                Instant::now() < deadline,
                "fusion never found its disk full"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Full: fusion acknowledges nothing, so neither does the broker to the publisher.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let held = acked.load(std::sync::atomic::Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let later = acked.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(later, held, "acknowledged while fusion could not store");
        assert!(
            held < s.observations.len(),
            "the stream was over before the disk filled"
        );
        std::fs::remove_file(&filler).unwrap();
    }
    while killed < kills {
        let rng = rng.as_mut().expect("kills come with their moments");
        // A random moment: 0.2 s to 2 s after the (re)start.
        tokio::time::sleep(Duration::from_millis(200 + rng.below(1800))).await;
        let taken = f.taken().await.unwrap_or(0) as usize;
        if taken >= distinct {
            break;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        killed += 1;
        child = f.start();
    }
    publishing.await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.load(std::sync::atomic::Ordering::Relaxed) < s.observations.len() {
        assert!(
            Instant::now() < deadline,
            "{} of {} observations acknowledged",
            acked.load(std::sync::atomic::Ordering::Relaxed),
            s.observations.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut taken = f.taken().await;
    while taken.is_none() {
        assert!(
            Instant::now() < deadline,
            "fusion does not answer on /metrics"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        taken = f.taken().await;
    }
    let taken = taken.unwrap_or_default() as usize;
    assert_eq!(
        taken,
        distinct,
        "after {killed} kills fusion's engine has taken {taken} of {distinct} observations; its log ends:\n{}",
        f.log_tail()
    );
    if disk.is_some() {
        assert_eq!(
            f.metric("tidewatch_fusion_store_failing").await,
            Some(0),
            "fusion still finds its stores unwritable"
        );
        assert_eq!(
            f.metric("tidewatch_fusion_store_failures_total").await,
            Some(1)
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let read = |f: &Fusion| stored_alerts(&f.data);
    let alerts = read(&f);
    let replica = match (g, child_b.as_mut(), console) {
        (Some(g), Some(b), Some(console)) => {
            // The other replica took everything too (it was never stopped).
            while g.taken().await.map(|n| n as usize) != Some(distinct) {
                assert!(
                    Instant::now() < deadline,
                    "replica b has taken {:?} of {distinct} observations",
                    g.taken().await
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            b.kill().unwrap();
            b.wait().unwrap();
            let b_alerts = read(&g);
            // The console has every revision (from one replica or the other) once.
            let mut held = console.store().alerts().unwrap();
            while held.len() < b_alerts.len() {
                assert!(
                    Instant::now() < deadline,
                    "the console holds {} of {} alert revisions",
                    held.len(),
                    b_alerts.len()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
                held = console.store().alerts().unwrap();
            }
            Some((b_alerts, held))
        }
        _ => None,
    };
    drop(broker);
    Run {
        alerts,
        killed,
        replica,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fusion_killed_at_random_moments_issues_the_alerts_of_an_uninterrupted_run() {
    let (rounds, _, mut rng) = support::kills("TIDEWATCH_FUSION_KILL_ROUNDS", 6);
    // The demo (meetings, dark contacts, distress, beacons, zones), and vessels going dark.
    for (name, minutes, kind) in [
        ("central-med", 240, "rendezvous"),
        ("going-dark", 240, "ais_gap"),
    ] {
        let s = stream(name, minutes);
        let whole = run_fusion(&s, Trouble::None).await.alerts;
        assert!(
            whole
                .iter()
                .any(|l| l.contains(&format!("\"kind\":\"{kind}\""))),
            "{name}: no {kind} alert in {} revisions",
            whole.len()
        );
        let Run {
            alerts: killed_run,
            killed: kills,
            ..
        } = run_fusion(&s, Trouble::Kills(rounds, &mut rng)).await;
        assert!(
            kills >= rounds.min(3),
            "{name}: only {kills} kills landed mid-stream"
        );
        let key = |l: &String| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{}#{}", v["id"].as_str().unwrap(), v["revision"])
        };
        let dupes = killed_run.len() - killed_run.iter().map(key).collect::<BTreeSet<_>>().len();
        assert_eq!(
            dupes, 0,
            "{name}: alert revisions stored twice after {kills} kills"
        );
        let want: BTreeSet<&String> = whole.iter().collect();
        let got: BTreeSet<&String> = killed_run.iter().collect();
        let missing: Vec<_> = want.difference(&got).take(3).collect();
        let extra: Vec<_> = got.difference(&want).take(3).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{name} after {kills} kills: {} revisions missing ({missing:?}), {} not in the uninterrupted run ({extra:?})",
            want.difference(&got).count(),
            got.difference(&want).count(),
        );
        assert_eq!(killed_run.len(), whole.len());
        eprintln!(
            "{name}: {kills} kills, {} alert revisions, as uninterrupted",
            whole.len()
        );
    }
}

/// Fusion highly available (DESIGN.md "Beyond one machine"): two replicas of the
/// deterministic engine on the same observation stream, each with its own session, data
/// and snapshots; replica a SIGKILLed at random moments and restarted from its snapshot.
/// Both issue the alerts of a one-process run (same ids, revisions, content), and the
/// console, taking what both publish, holds each revision once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_fusion_replicas_one_killed_issue_the_one_process_alerts_and_the_console_holds_each_once()
 {
    let (rounds, _, mut rng) = support::kills("TIDEWATCH_FUSION_KILL_ROUNDS", 4);
    let s = stream("central-med", 240);
    let whole = run_fusion(&s, Trouble::None).await.alerts;
    assert!(!whole.is_empty());
    let run = run_fusion(&s, Trouble::Replicas(rounds, &mut rng)).await;
    assert!(
        run.killed >= rounds.min(2),
        "only {} kills landed mid-stream",
        run.killed
    );
    let (b, console) = run.replica.expect("a replica run");
    let parse = |v: &[String]| -> BTreeSet<String> {
        v.iter()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l)
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let want = parse(&whole);
    for (who, got) in [
        ("replica a (killed)", &run.alerts),
        ("replica b", &b),
        ("the console", &console),
    ] {
        assert_eq!(
            got.len(),
            whole.len(),
            "{who}: {} revisions, the one-process run {}",
            got.len(),
            whole.len()
        );
        let got = parse(got);
        assert_eq!(
            got.symmetric_difference(&want).count(),
            0,
            "{who} after {} kills differs from the one-process run: {:?}",
            run.killed,
            got.symmetric_difference(&want).take(3).collect::<Vec<_>>()
        );
    }
    eprintln!(
        "replicas: {} kills of replica a, {} alert revisions, the console holds each once",
        run.killed,
        whole.len()
    );
}

/// Fusion's disk fills mid-stream: it acknowledges nothing (so the broker holds the
/// publisher's acknowledgements), says so in `/metrics`, and when space returns goes on by
/// itself; its alert store is then the uninterrupted run's. For real, on a 32 MiB tmpfs
/// (it needs root; it fails rather than skip).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_under_fusion_holds_acknowledgements_and_loses_nothing() {
    let s = stream("central-med", 240);
    let mut whole = engine(s.zones.as_deref());
    let mut clock = Clock::default();
    let mut events = Vec::new();
    for (_, _, o) in &s.observations {
        clock.take(&mut whole, o, &mut events);
    }
    let want: BTreeSet<String> = events
        .iter()
        .filter_map(|e| match e {
            FusionEvent::Alert(a) => Some(serde_json::to_string(a).unwrap()),
            _ => None,
        })
        .collect();
    let got = run_fusion(&s, Trouble::DiskFull).await.alerts;
    assert_eq!(got.len(), want.len(), "alert revisions stored");
    let got: BTreeSet<String> = got.into_iter().collect();
    assert_eq!(got, want);
}

/// Fusion's alerts reach the bus whatever becomes of its publishing connection (a node of
/// a clustered broker dies, a broker restarts without its sessions): that connection alone
/// is cut silently by a relay (observations keep flowing on the other) while fusion stores
/// and hands alerts; (1) the link comes back, and the new session — a clean one, as a
/// publisher's is — must carry them; (2) cut again, fusion is SIGKILLed with alerts stored
/// and never confirmed, then started again. A persistent subscriber, the console's place,
/// gets every alert revision the store holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_in_flight_when_the_publishing_session_is_lost_or_fusion_is_killed_reach_the_bus() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let s = stream("central-med", 240);
    let dir = tempfile::tempdir().unwrap();
    let (broker, password_file, (user, password), console_login) = broker(dir.path()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_port = listener.local_addr().unwrap().port();
    let (link, link_rx) = tokio::sync::watch::channel(true);
    tokio::spawn(support::relay_some(
        listener,
        broker.addr(),
        link_rx,
        |id| id.ends_with("-pub"),
    ));

    // The console's place: a persistent subscriber to the alerts, straight to the broker.
    let seen = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let subscribed = Arc::new(AtomicBool::new(false));
    let mut o = MqttOptions::new("bus-alert-observer", "127.0.0.1", broker.addr().port());
    o.set_credentials(&console_login.0, &console_login.1);
    o.set_clean_session(false);
    o.set_manual_acks(true);
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (observer, mut el) = AsyncClient::new(o, 256);
    {
        let (seen, subscribed) = (seen.clone(), subscribed.clone());
        tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = observer
                            .subscribe(ingest::wire::topics::ALERTS_FILTER, QoS::AtLeastOnce)
                            .await;
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        subscribed.store(true, Ordering::SeqCst)
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let v: serde_json::Value = serde_json::from_slice(&p.payload).unwrap();
                        seen.lock().unwrap().insert(format!(
                            "{}#{}",
                            v["id"].as_str().unwrap(),
                            v["revision"]
                        ));
                        let _ = observer.ack(&p).await;
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
    }

    let zones = s.zones.as_ref().map(|z| {
        let p = dir.path().join("zones.geojson");
        std::fs::write(&p, z).unwrap();
        p
    });
    let f = Fusion {
        port: relay_port,
        data: dir.path().join("data"),
        password_file,
        zones,
        metrics: support::free_port(),
        log: dir.path().join("fusion.log"),
        client_id: None,
    };
    // Killed and reaped however the test ends.
    let mut child = support::Killed(f.start());
    let deadline = Instant::now() + Duration::from_secs(20);
    while f.taken().await.is_none()
        || broker.stats().loopback_connections < 3
        || !subscribed.load(Ordering::SeqCst)
    {
        assert!(Instant::now() < deadline, "fusion did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Ingest's place: observations, each acknowledged once fusion has stored what it made.
    let mut opts = MqttOptions::new("bus-test-ingest", "127.0.0.1", broker.addr().port());
    opts.set_credentials(&user, &password);
    opts.set_max_packet_size(1 << 20, 1 << 20);
    let (ingest, mut el) = AsyncClient::new(opts, 256);
    let acked = Arc::new(AtomicUsize::new(0));
    {
        let acked = acked.clone();
        tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
    }
    let alerts = || -> Vec<String> {
        stored_alerts(&f.data)
            .iter()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                format!("{}#{}", v["id"].as_str().unwrap(), v["revision"])
            })
            .collect()
    };
    let mut next = 0;
    // Publish `n` more observations and wait until fusion has acknowledged them all.
    let feed = |next: &mut usize, n: usize| {
        let end = (*next + n).min(s.observations.len());
        let batch: Vec<(String, Vec<u8>)> = s.observations[*next..end]
            .iter()
            .map(|(t, j, _)| (t.clone(), j.clone()))
            .collect();
        *next = end;
        let (ingest, acked) = (ingest.clone(), acked.clone());
        async move {
            for (topic, json) in batch {
                ingest
                    .publish(topic, QoS::AtLeastOnce, false, json)
                    .await
                    .unwrap();
            }
            let deadline = Instant::now() + Duration::from_secs(60);
            while acked.load(Ordering::SeqCst) < end {
                assert!(
                    Instant::now() < deadline,
                    "{} of {end} observations acknowledged",
                    acked.load(Ordering::SeqCst)
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    // Feed, the link for alerts cut, until fusion has stored alerts it could not send.
    let total = s.observations.len();
    let stored_while_cut = |mut next_at: usize| {
        let before = alerts().len();
        let (link, f) = (&link, &f);
        async move {
            link.send(false).unwrap();
            while alerts().len() == before {
                assert!(
                    next_at < total,
                    "no alert stored while the link was cut ({before} before); fusion's log ends:\n{}",
                    f.log_tail()
                );
                feed(&mut next_at, 50).await;
            }
            // What fusion handed goes into the cut link and is never confirmed. A snapshot
            // (due every second here, taken after a batch) is taken meanwhile, and must not
            // count it as published.
            tokio::time::sleep(Duration::from_millis(1100)).await;
            feed(&mut next_at, 20).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            next_at
        }
    };
    feed(&mut next, total / 5).await;
    let first = alerts().len();
    // (1) The session is lost with alerts in flight; the link comes back.
    next = stored_while_cut(next).await;
    let in_flight = alerts().len() - first;
    link.send(true).unwrap();
    let want: BTreeSet<String> = alerts().into_iter().collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen.lock().unwrap().is_superset(&want) {
        assert!(
            Instant::now() < deadline,
            "(1) {} of the {in_flight} alert revisions stored while the publishing session was lost never reached the bus",
            want.difference(&seen.lock().unwrap()).count()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // (2) Cut again, and fusion killed with alerts stored and unconfirmed.
    let before_kill = alerts().len();
    next = stored_while_cut(next).await;
    let unconfirmed = alerts().len() - before_kill;
    child.0.kill().unwrap(); // SIGKILL
    child.0.wait().unwrap();
    link.send(true).unwrap();
    let _restarted = support::Killed(f.start());
    while next < total {
        feed(&mut next, 200).await;
    }
    let want: BTreeSet<String> = alerts().into_iter().collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !seen.lock().unwrap().is_superset(&want) {
        assert!(
            Instant::now() < deadline,
            "(2) {} of {} alert revisions stored never reached the bus ({unconfirmed} stored and unconfirmed at the kill); fusion's log ends:\n{}",
            want.difference(&seen.lock().unwrap()).count(),
            want.len(),
            f.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "alerts on the bus: {} revisions; {in_flight} in flight at the lost session, {unconfirmed} unconfirmed at the kill",
        want.len()
    );
    drop(broker);
}
