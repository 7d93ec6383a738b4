//! Helpers of the benchmarks that run the real `tidewatch` binary and read its `/metrics`.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// The `tidewatch` binary of the same profile as this benchmark (`target/release/`), which
/// `cargo build --release -p ops-console` makes.
pub fn tidewatch_exe() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the benchmark's path");
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/PROFILE/deps");
    let bin = profile.join("tidewatch");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release -p ops-console` first",
        bin.display()
    );
    bin
}

/// Starts `tidewatch` with `args`, its output discarded.
pub fn tidewatch(args: &[&str]) -> Child {
    Command::new(tidewatch_exe())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tidewatch starts")
}

/// The sum of a metric's samples (all labels) in Prometheus text.
pub fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// `GET /metrics` at `addr` (empty when nothing answers).
pub fn scrape(addr: SocketAddr) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// Peak resident memory of a process, in MiB.
pub fn peak_rss_mib(pid: u32) -> f64 {
    status_mib(pid, "VmHWM:")
}

/// Resident memory of a process now, in MiB.
pub fn rss_mib(pid: u32) -> f64 {
    status_mib(pid, "VmRSS:")
}

fn status_mib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))?
                .split_whitespace()
                .nth(1)?
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// `tidewatch up` on free loopback ports with a fresh data directory, killed when dropped.
pub struct Up {
    /// The process.
    pub child: Child,
    /// Its MQTT listener.
    pub mqtt: SocketAddr,
    /// Its console and `/metrics`.
    pub http: SocketAddr,
    data: tempfile::TempDir,
}

impl Up {
    /// Starts it (it takes a few seconds to listen: clients retry).
    pub fn start() -> Up {
        let data = tempfile::tempdir().expect("a data directory");
        let mqtt: SocketAddr = ([127, 0, 0, 1], crate::free_port()).into();
        let http: SocketAddr = ([127, 0, 0, 1], crate::free_port()).into();
        let child = Up::spawn(mqtt, http, data.path());
        Up {
            child,
            mqtt,
            http,
            data,
        }
    }

    /// SIGKILL it and start it again on the same ports and data directory.
    pub fn kill_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Up::spawn(self.mqtt, self.http, self.data.path());
    }

    fn spawn(mqtt: SocketAddr, http: SocketAddr, data: &std::path::Path) -> Child {
        tidewatch(&[
            "up",
            "--mqtt",
            &mqtt.to_string(),
            "--http",
            &http.to_string(),
            "--data",
            data.to_str().expect("a UTF-8 path"),
        ])
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
