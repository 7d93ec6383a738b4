//! Shared helpers for Tidewatch's integration tests.

pub mod ais_arbitrary;
pub mod bench;
pub mod cluster;
pub mod conformance;
pub mod http;

use std::io::Read;
use std::path::PathBuf;

/// The shared test data directory (`../shared` beside the repository, or
/// `$TIDEWATCH_SHARED`). Panics with a clear message when it is missing: tests that
/// need it must fail loudly, never skip.
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("TIDEWATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    assert!(
        dir.join("testdata").is_dir(),
        "shared test data not found at {} (set TIDEWATCH_SHARED)",
        dir.display()
    );
    dir
}

/// A file under `shared/testdata/ais/`, gunzipped when its name ends in `.gz`.
pub fn ais_testdata(rel: &str) -> Vec<u8> {
    let path = shared_dir().join("testdata/ais").join(rel);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if rel.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        out
    } else {
        raw
    }
}

/// Find a program on `PATH`, or panic telling how `.ci/run` installs it.
pub fn require_program(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/sbin".into(), "/sbin".into()]);
    for dir in dirs {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "`{name}` is not installed: this test needs it (apt-get install -y --no-install-recommends {package}; tests/install-deps.sh does it)"
    );
}

pub use tidewatch_broker::testkit::free_port;

/// A real Mosquitto broker on 127.0.0.1, stopped when dropped.
pub struct Mosquitto {
    /// Its port.
    pub port: u16,
    child: std::process::Child,
    dir: PathBuf,
}

impl Mosquitto {
    /// Start Mosquitto (Debian `mosquitto`) on a free port: anonymous loopback clients,
    /// persistence in a fresh directory (so QoS 1 sessions survive a restart), and no
    /// queue limit (Mosquitto's default of 1000 drops messages).
    /// `user root`: started as root, Mosquitto otherwise drops to user `mosquitto` and
    /// cannot write its persistence file in our directory (ignored when not root).
    pub fn start() -> Mosquitto {
        Self::start_with(true)
    }

    /// Like [`start`](Self::start), with or without persistence (without: like the
    /// embedded broker, which keeps sessions in memory only; for benchmarks).
    pub fn start_with(persistence: bool) -> Mosquitto {
        Self::start_queue(persistence, 0)
    }

    /// Like [`start_with`](Self::start_with), with Mosquitto's `max_queued_messages` (its
    /// default is 1000; 0 is no limit).
    pub fn start_queue(persistence: bool, max_queued: u32) -> Mosquitto {
        let dir = std::env::temp_dir().join(format!(
            "tw-mosquitto-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("mosquitto dir");
        Self::start_in(dir, free_port(), persistence, max_queued)
    }

    fn start_in(dir: PathBuf, port: u16, persistence: bool, max_queued: u32) -> Mosquitto {
        let exe = require_program("mosquitto", "mosquitto");
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nuser root\nallow_anonymous true\npersistence {persistence}\npersistence_location {}/\nautosave_interval 1\nmax_queued_messages {max_queued}\nmax_inflight_messages 1000\nset_tcp_nodelay true\n",
                dir.display()
            ),
        )
        .expect("mosquitto config");
        let child = std::process::Command::new(exe)
            .arg("-c")
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mosquitto starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "mosquitto did not listen on {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Mosquitto { port, child, dir }
    }

    /// Stop it (SIGTERM, so it saves its persistent sessions) and start it again on the
    /// same port with the same state.
    pub fn restart(mut self) -> Mosquitto {
        let (dir, port) = (self.dir.clone(), self.port);
        self.stop();
        Self::start_in(dir, port, true, 0)
    }

    fn stop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Its persistence file is scratch: a suite run leaves no broker state behind.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `n` distinct single-sentence position reports (type 1) of `vessels` vessels (MMSIs from
/// 247 000 000), round-robin: distinct payloads, so no two are merged as one transmission
/// heard twice. For benchmarks.
pub fn position_reports(n: usize, vessels: usize) -> Vec<String> {
    use ingest::ais::AisMessage;
    use ingest::ais::message::{Body, PositionReport};
    use simulators::ais_encode::{EncodeOptions, encode};
    let vessels = vessels.max(1);
    (0..n)
        .map(|i| {
            let msg = AisMessage {
                msg_type: 1,
                repeat: 0,
                mmsi: 247_000_000 + (i % vessels) as u32,
                body: Body::Position(PositionReport {
                    status: 0,
                    speed: (i % 200) as u16,
                    accuracy: true,
                    lon: 7_200_000 + (i as i32 % 600_000),
                    lat: 21_000_000 + (i as i32 / 7 % 600_000),
                    course: (i % 3600) as u16,
                    heading: (i % 360) as u16,
                    second: (i % 60) as u8,
                    ..Default::default()
                }),
            };
            encode(&msg, &EncodeOptions::default())
                .expect("a position report encodes")
                .remove(0)
        })
        .collect()
}
