//! Time series: points written through `InfluxSink` (influxdb2, InfluxDB v2 write API)
//! land in a real VictoriaMetrics exactly, read back from `/api/v1/export`
//!.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ingest::model::{AisObservation, Observation, ObservationData, TimeSource};
use ingest::service::ServiceStats;
use ingest::tsdb::{
    InfluxConfig, InfluxSink, TsdbWriter, WriterConfig, points_from_observation,
    points_from_service_stats,
};
use jiff::Timestamp;
use tidewatch_tests::{free_port, require_program};

/// A VictoriaMetrics on 127.0.0.1 with its data in a fresh directory; killed and
/// removed when dropped.
struct Victoria {
    port: u16,
    child: Child,
    dir: PathBuf,
}

impl Victoria {
    fn start() -> Victoria {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("tw-vm-{}-{port}", std::process::id()));
        Victoria::start_at(port, dir)
    }

    /// Start on `port` with its data in `dir` (kept from a previous run, if any).
    fn start_at(port: u16, dir: PathBuf) -> Victoria {
        let exe = require_program("victoria-metrics", "victoria-metrics");
        std::fs::create_dir_all(&dir).expect("victoria-metrics dir");
        let child = Command::new(exe)
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg(format!("-storageDataPath={}", dir.display()))
            .arg("-retentionPeriod=100y")
            .arg("-search.latencyOffset=0s")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("victoria-metrics starts");
        let vm = Victoria { port, child, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok((200, body)) = vm.get("/health")
                && body.trim() == "OK"
            {
                return vm;
            }
            assert!(
                Instant::now() < deadline,
                "victoria-metrics did not become healthy on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A plain HTTP/1.0 GET: (status, body).
    fn get(&self, path_and_query: &str) -> std::io::Result<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            s,
            "GET {path_and_query} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
        )?;
        let mut raw = String::new();
        s.read_to_string(&mut raw)?;
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        Ok((status, body.to_owned()))
    }

    /// Every raw sample of the series whose name matches `re`, after a force flush:
    /// series name and labels → (ms timestamp, value) pairs.
    fn export(&self, re: &str) -> BTreeMap<String, Vec<(i64, f64)>> {
        let (status, _) = self.get("/internal/force_flush").expect("force_flush");
        assert_eq!(status, 200, "force_flush");
        // match[]={__name__=~"<re>"}, percent-encoded.
        let q = format!("%7B__name__%3D~%22{re}%22%7D");
        let (status, body) = self
            .get(&format!("/api/v1/export?match%5B%5D={q}"))
            .expect("export");
        assert_eq!(status, 200, "export: {body}");
        let mut out = BTreeMap::new();
        for line in body.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).expect("export line is JSON");
            let labels: Vec<String> = v["metric"]
                .as_object()
                .expect("metric")
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().expect("label value")))
                .collect();
            let ts = v["timestamps"].as_array().expect("timestamps");
            let vals = v["values"].as_array().expect("values");
            let mut samples: Vec<(i64, f64)> = ts
                .iter()
                .zip(vals)
                .map(|(t, x)| (t.as_i64().expect("ms"), x.as_f64().expect("value")))
                .collect();
            samples.sort_by_key(|s| s.0);
            out.insert(labels.join(","), samples);
        }
        out
    }
}

impl Victoria {
    /// SIGKILL it, keeping its data; start it again on the same port and data.
    fn kill_and_restart_later(self) -> (u16, PathBuf) {
        let mut me = std::mem::ManuallyDrop::new(self);
        let _ = me.child.kill();
        let _ = me.child.wait();
        (me.port, std::mem::take(&mut me.dir))
    }
}

impl Drop for Victoria {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ais(mmsi: u32, time: &str, lat: f64, lon: f64, sog_kn: Option<f64>) -> Observation {
    let time: Timestamp = time.parse().expect("time");
    Observation {
        id: format!("ais-{mmsi}-{time}"),
        time,
        time_source: TimeSource::TagBlock,
        received_at: time,
        receivers: vec!["lampedusa".into()],
        data: ObservationData::Ais(AisObservation {
            mmsi,
            msg_type: 1,
            lat: Some(lat),
            lon: Some(lon),
            sog_kn,
            cog_deg: Some(271.3),
            name: Some("NEVER A FIELD".into()),
            ..AisObservation::default()
        }),
    }
}

#[tokio::test]
async fn positions_and_counters_land_in_victoria_metrics_exactly() {
    let vm = Victoria::start();
    let cfg =
        InfluxConfig::new(&vm.url(), "tidewatch", "tracks", "dummy-token").expect("valid URL");
    let sink = Arc::new(InfluxSink::new(&cfg).expect("sink"));
    let writer = TsdbWriter::spawn(
        sink,
        WriterConfig {
            batch: 2,
            flush_every: Duration::from_millis(20),
            ..WriterConfig::default()
        },
    );

    // Sub-millisecond parts: VictoriaMetrics keeps milliseconds.
    let observations = [
        ais(
            244_123_456,
            "2026-11-22T02:10:07.123456789Z",
            35.512345,
            12.612345,
            Some(13.5),
        ),
        ais(
            244_123_456,
            "2026-11-22T02:10:17.5Z",
            35.513,
            12.611,
            Some(13.4),
        ),
        ais(
            247_000_001,
            "2026-11-22T02:10:09Z",
            -0.000001,
            179.999999,
            None,
        ),
    ];
    let mut points = Vec::new();
    for o in &observations {
        points.extend(points_from_observation(o));
    }
    assert_eq!(points.len(), 3);
    let stats = ServiceStats {
        messages: 1234,
        observations: 1200,
        rejected: [("checksum".to_owned(), 34)].into(),
        ..ServiceStats::default()
    };
    let counters_at: Timestamp = "2026-11-22T02:11:00Z".parse().expect("time");
    points.extend(points_from_service_stats(&stats, counters_at));
    assert_eq!(writer.try_write(points), 5);
    let st = writer.shutdown().await;
    assert_eq!(
        (
            st.written,
            st.dropped_queue_full,
            st.failed_after_retries,
            st.pending()
        ),
        (5, 0, 0, 0),
        "{st:?}"
    );

    let got = vm.export("ais_position_.*");
    let s = |v: &[(i64, f64)]| v.to_vec();
    let expected: BTreeMap<String, Vec<(i64, f64)>> = [
        (
            "__name__=ais_position_cog_deg,mmsi=244123456",
            s(&[(1_795_313_407_123, 271.3), (1_795_313_417_500, 271.3)]),
        ),
        (
            "__name__=ais_position_lat,mmsi=244123456",
            s(&[(1_795_313_407_123, 35.512345), (1_795_313_417_500, 35.513)]),
        ),
        (
            "__name__=ais_position_lon,mmsi=244123456",
            s(&[(1_795_313_407_123, 12.612345), (1_795_313_417_500, 12.611)]),
        ),
        (
            "__name__=ais_position_sog_kn,mmsi=244123456",
            s(&[(1_795_313_407_123, 13.5), (1_795_313_417_500, 13.4)]),
        ),
        (
            "__name__=ais_position_cog_deg,mmsi=247000001",
            s(&[(1_795_313_409_000, 271.3)]),
        ),
        (
            "__name__=ais_position_lat,mmsi=247000001",
            s(&[(1_795_313_409_000, -0.000001)]),
        ),
        (
            "__name__=ais_position_lon,mmsi=247000001",
            s(&[(1_795_313_409_000, 179.999999)]),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(got, expected);

    let got = vm.export("ingest.*");
    let at = 1_795_313_460_000;
    assert_eq!(got["__name__=ingest_messages"], [(at, 1234.0)]);
    assert_eq!(got["__name__=ingest_observations"], [(at, 1200.0)]);
    assert_eq!(got["__name__=ingest_rejected"], [(at, 34.0)]);
    assert_eq!(
        got["__name__=ingest_rejected_count,reason=checksum"],
        [(at, 34.0)]
    );
    assert_eq!(got.len(), 8, "{:?}", got.keys().collect::<Vec<_>>());
}

#[tokio::test]
async fn unreachable_database_is_counted_never_blocks() {
    // Nothing listens on this port: every attempt fails fast and is retried, then counted.
    let cfg = InfluxConfig::new(&format!("http://127.0.0.1:{}", free_port()), "o", "b", "")
        .expect("valid URL");
    let writer = TsdbWriter::spawn(
        Arc::new(InfluxSink::new(&cfg).expect("sink")),
        WriterConfig {
            queue: 3,
            attempts: 2,
            backoff: Duration::from_millis(10),
            ..WriterConfig::default()
        },
    );
    let obs = ais(244_123_456, "2026-11-22T02:10:07Z", 35.5, 12.6, Some(1.0));
    let t0 = Instant::now();
    let queued = writer.try_write((0..5).flat_map(|_| points_from_observation(&obs)));
    assert!(
        t0.elapsed() < Duration::from_millis(100),
        "try_write must not wait"
    );
    assert_eq!(queued, 3);
    let st = writer.shutdown().await;
    assert_eq!(
        (
            st.offered,
            st.written,
            st.dropped_queue_full,
            st.failed_after_retries,
            st.retries
        ),
        (5, 0, 2, 3, 1),
        "{st:?}"
    );
}

/// `vmagent` in front of two VictoriaMetrics: what ingest writes (the InfluxDB v2 write API,
/// unchanged) is replicated to both; one is SIGKILLed, writes go on to the other, and when
/// it is back vmagent delivers what it missed from its on-disk queue. (What the killed one
/// had taken in its last second may be gone from it: its replica holds it.)
#[tokio::test]
async fn vmagent_replicates_to_two_victoria_metrics_and_refills_one_that_was_down() {
    let exe = require_program("vmagent", "victoria-metrics");
    let (vm1, vm2) = (Victoria::start(), Victoria::start());
    let port = free_port();
    let queue = tempfile::tempdir().unwrap();
    let mut agent = Command::new(exe)
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .arg(format!("-remoteWrite.url={}/api/v1/write", vm1.url()))
        .arg(format!("-remoteWrite.url={}/api/v1/write", vm2.url()))
        .arg(format!(
            "-remoteWrite.tmpDataPath={}",
            queue.path().display()
        ))
        .arg("-remoteWrite.flushInterval=100ms")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("vmagent starts");
    let agent_url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "vmagent did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let write = |obs: Vec<Observation>| {
        let agent_url = agent_url.clone();
        async move {
            let cfg = InfluxConfig::new(&agent_url, "tidewatch", "tracks", "dummy-token")
                .expect("valid URL");
            let writer = TsdbWriter::spawn(
                Arc::new(InfluxSink::new(&cfg).expect("sink")),
                WriterConfig::default(),
            );
            let points: Vec<_> = obs.iter().flat_map(points_from_observation).collect();
            let n = points.len() as u64;
            writer.try_write(points);
            let st = writer.shutdown().await;
            assert_eq!((st.written, st.pending()), (n, 0), "{st:?}");
        }
    };
    let lats = |vm: &Victoria| -> Vec<(i64, f64)> {
        vm.export("ais_position_lat")
            .remove("__name__=ais_position_lat,mmsi=244123456")
            .unwrap_or_default()
    };
    let until = |what: &str, ok: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ok() {
            assert!(Instant::now() < deadline, "{what}: not within 60 s");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let fix = |i: u32| {
        ais(
            244_123_456,
            &format!("2026-11-22T02:{:02}:00Z", 10 + i),
            35.5 + f64::from(i) / 1000.0,
            12.6,
            Some(10.0),
        )
    };
    write((0..3).map(fix).collect()).await;
    until("the first fixes in both", &|| {
        lats(&vm1).len() == 3 && lats(&vm2).len() == 3
    });
    // The second database dies; ingest writes on, unaware.
    let (port2, dir2) = vm2.kill_and_restart_later();
    write((3..6).map(fix).collect()).await;
    until("every fix in the first", &|| lats(&vm1).len() == 6);
    let vm2 = Victoria::start_at(port2, dir2);
    // What it missed while down comes from vmagent's queue once it is back.
    let missed: Vec<(i64, f64)> = lats(&vm1)[3..].to_vec();
    let t0 = Instant::now();
    until("the second refilled from vmagent's queue", &|| {
        let has = lats(&vm2);
        missed.iter().all(|p| has.contains(p))
    });
    // The first database holds every point; the second may have lost the points it took
    // in its last moments before SIGKILL (VictoriaMetrics keeps them in memory for a
    // second or so before they reach its disk): the replica is what keeps them.
    let all = lats(&vm1);
    assert_eq!(all.len(), 6);
    let lost_by_the_killed: Vec<_> = all.iter().filter(|p| !lats(&vm2).contains(p)).collect();
    eprintln!(
        "vmagent refilled the restarted database in {:.1} s; it had lost {} of the {} points it took just before SIGKILL, which its replica holds",
        t0.elapsed().as_secs_f64(),
        lost_by_the_killed.len(),
        3
    );
    let _ = agent.kill();
    let _ = agent.wait();
}
