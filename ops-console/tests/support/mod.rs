//! What several of these tests share: a small tmpfs for the full-disk tests.
//!
//! Why these tests are here and not in `tests/` with the others: they run the `tidewatch`
//! binary itself (kill it, restart it, cut its disk, drive it from a browser), and Cargo sets
//! `CARGO_BIN_EXE_tidewatch` only for the integration tests of the package that builds the
//! binary, `ops-console`. Tests of the crates' APIs live in `tests/` (`tidewatch-tests`).

#![allow(dead_code, unused_imports)] // Each test binary uses its own part.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// A small tmpfs, unmounted (lazily) when dropped. Mounting needs root (CAP_SYS_ADMIN): a
/// test that uses it fails rather than skip without it.
pub(crate) struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    /// Mounts one of `size` (as mount(8) takes it: `2m`).
    pub(crate) fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("mount(8) runs");
        assert!(
            out.status.success(),
            "cannot mount a {size} tmpfs for the full-disk test (it needs root; it does not skip): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir)
    }

    /// Where it is mounted.
    pub(crate) fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

/// Write `path` until its file system is full.
pub(crate) fn fill(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
}

pub(crate) use tidewatch_broker::testkit::free_port;

/// A small deterministic generator (xorshift), for kill moments.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// A number below `n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The kill rounds (`var`, else `default`), the seed of the moments
/// (`TIDEWATCH_KILL_SEED`, else from the clock; printed so a failure can be replayed) and
/// their generator.
pub(crate) fn kills(var: &str, default: usize) -> (usize, u64, Rng) {
    let rounds = std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let seed: u64 = std::env::var("TIDEWATCH_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| jiff::Timestamp::now().as_nanosecond() as u64 | 1);
    println!("kill seed {seed} (TIDEWATCH_KILL_SEED replays it), {rounds} rounds ({var})");
    (rounds, seed, Rng(seed))
}

/// A program the test needs, from `PATH`: it fails naming the Debian package when missing
/// (never skips).
pub(crate) fn require(program: &str, package: &str) -> PathBuf {
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if dir.join(program).is_file() {
            return dir.join(program);
        }
    }
    panic!(
        "`{program}` is not installed: this test needs it (apt-get install -y --no-install-recommends {package}; tests/install-deps.sh does it)"
    );
}

/// A child process, killed and reaped when dropped.
pub(crate) struct Killed(pub(crate) Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A radio link that can be cut silently, as when a vessel goes out of range: while `up` is
/// false the bytes go nowhere and nothing is closed; a connection made before a cut ends when
/// the link is back (the client has long given up on it by then).
pub(crate) async fn relay(
    listener: tokio::net::TcpListener,
    target: std::net::SocketAddr,
    up: tokio::sync::watch::Receiver<bool>,
) {
    relay_any(listener, target, up, None).await
}

/// [`relay`] where only the MQTT connections whose client id `cut` names are cut; the
/// others pass whatever `up` says (one connection of a service that has two). Plain MQTT
/// only: it reads the client's CONNECT.
pub(crate) async fn relay_some(
    listener: tokio::net::TcpListener,
    target: std::net::SocketAddr,
    up: tokio::sync::watch::Receiver<bool>,
    cut: fn(&str) -> bool,
) {
    relay_any(listener, target, up, Some(cut)).await
}

/// [`relay`], or [`relay_some`] with `cut`.
async fn relay_any(
    listener: tokio::net::TcpListener,
    target: std::net::SocketAddr,
    up: tokio::sync::watch::Receiver<bool>,
    cut: Option<fn(&str) -> bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut c, _)) = listener.accept().await else {
            continue;
        };
        let up = up.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            // The client speaks first (CONNECT): read enough of it to know who it is. (Not
            // for every connection: a TLS client waits for the server before it says who.)
            let mut first = Vec::new();
            let cuttable = match cut {
                None => true,
                Some(cut) => loop {
                    if let Some(id) = mqtt_client_id(&first) {
                        break cut(&id);
                    }
                    match c.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => first.extend_from_slice(&buf[..n]),
                    }
                    if first.len() > 4096 {
                        break true;
                    }
                },
            };
            // A connection never cut sees a link that never goes down.
            let (_always, always_up) = tokio::sync::watch::channel(true);
            let mut up = if cuttable { up } else { always_up };
            if !*up.borrow_and_update() {
                loop {
                    tokio::select! {
                        r = c.read(&mut buf) => if matches!(r, Ok(0) | Err(_)) { return },
                        _ = up.changed() => return,
                    }
                }
            }
            let Ok(mut s) = tokio::net::TcpStream::connect(target).await else {
                return;
            };
            if s.write_all(&first).await.is_err() {
                return;
            }
            let (mut cr, mut cw) = c.split();
            let (mut sr, mut sw) = s.split();
            let mut sbuf = vec![0u8; 64 * 1024];
            let mut passing = true;
            loop {
                tokio::select! {
                    r = cr.read(&mut buf) => match r {
                        Ok(0) | Err(_) => return,
                        Ok(n) => if passing && sw.write_all(&buf[..n]).await.is_err() { return },
                    },
                    r = sr.read(&mut sbuf) => match r {
                        Ok(0) | Err(_) => return,
                        Ok(n) => if passing && cw.write_all(&sbuf[..n]).await.is_err() { return },
                    },
                    r = up.changed() => {
                        if r.is_err() || *up.borrow() { return }
                        passing = false;
                    }
                }
            }
        });
    }
}

/// The client id of an MQTT 3.1.1 CONNECT packet at the start of `bytes`, once it is all
/// there.
fn mqtt_client_id(bytes: &[u8]) -> Option<String> {
    // Fixed header: type, then the remaining length (1 to 4 bytes).
    let mut at = 1;
    loop {
        let b = *bytes.get(at)?;
        at += 1;
        if b & 0x80 == 0 || at > 4 {
            break;
        }
    }
    // Variable header: protocol name (length-prefixed), level, flags, keep-alive.
    let name_len = u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]) as usize;
    at += 2 + name_len + 1 + 1 + 2;
    let id_len = u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]) as usize;
    at += 2;
    let id = bytes.get(at..at + id_len)?;
    Some(String::from_utf8_lossy(id).into_owned())
}

/// A certificate pin that is surely not `fingerprint` (hex): its first digit changed. (These
/// tests wrote `00` over the first two, which is the pin itself for one certificate in 256:
/// a run made a certificate starting `00`, and "a wrong pin" connected.)
pub(crate) fn another_pin(fingerprint: &str) -> String {
    let first = if fingerprint.starts_with('0') {
        '1'
    } else {
        '0'
    };
    format!("{first}{}", &fingerprint[1..])
}
