//! The same [`BrokerConfig`] as a Mosquitto 2 configuration, for deployments on Debian's
//! `mosquitto` and for the tests that run against it.
//!
//! [`write_config`] writes three files into a directory (it never runs Mosquitto or
//! `mosquitto_passwd`):
//!
//! - `mosquitto.conf`: `per_listener_settings true`; the loopback listener with
//!   `allow_anonymous true`, the password file and the ACL file (anonymous clients get the ACL's
//!   anonymous rules, accounts theirs, as in the embedded broker); the authenticated listener, if
//!   any, with `allow_anonymous false` and the same two files; the size limits (below);
//!   `persistence false` and `log_dest stderr`. With [`write_config_tls`], the authenticated
//!   listener speaks MQTT over TLS only (`certfile`, `keyfile`, copied into the directory as
//!   `cert.pem` and `key.pem`, the key 0600; `tls_version tlsv1.2`, the minimum): the remote
//!   listener of `tidewatch broker mosquitto-config`, with the certificate `tidewatch up`
//!   serves, so a unit pins one fingerprint whichever broker the centre runs.
//! - `passwd`: one `name:$7$…` line per account: the [`PasswordHash`](super::PasswordHash) exactly
//!   as configured, which is the format `mosquitto_passwd` writes.
//! - `acl`: first the anonymous clients' rules (Mosquitto applies the lines before any `user`
//!   line to anonymous clients: `topic write tidewatch/v1/raw/ais/#`, nothing to read), then one
//!   `user` block per account with the `topic write` / `topic read` rules of its role, all taken
//!   from the same rule table as the embedded broker (`acl.rs`): each service reads and writes
//!   its own topics only. (Per-user rules rather than `pattern write tidewatch/v1/patrol/%u/#`: a
//!   Mosquitto pattern applies to every user, so a receiver would get a unit's rights.)
//!
//! Limits: `max_packet_size` = `max_packet_bytes` + 5 (Mosquitto counts the fixed header);
//! `max_connections` per listener; `max_queued_bytes` = `segments × segment_bytes` per client,
//! the embedded log's size, with `max_queued_messages 1000000` so that bytes are the limit; and
//! `max_inflight_messages 1000`, the engine's window (`vendor/rumqttd/PATCH.md`). (Not
//! `max_queued_messages 0`, "no limit": Mosquitto 2.0.11 then disconnects any client whose
//! publish the ACL denies, because its quota check `out_packet_count >= max_queued_messages` is
//! always true.)
//!
//! Where Mosquitto differs from the embedded broker, by design of each:
//! - An ACL-denied PUBLISH is dropped silently (with a PUBACK at QoS 1) and the client stays
//!   connected; a denied SUBSCRIBE may even be granted (2.0.11 grants an anonymous client's),
//!   but nothing the ACL does not let it read is delivered. The embedded broker closes the
//!   connection in both cases.
//! - A full queue drops the **newest** messages for that client; the embedded broker's log drops
//!   the oldest.
//! - Client ids are not rewritten, so a client that connects with another's client id takes
//!   over its session, anonymous ones included (Mosquitto has no per-identity client ids but
//!   `use_username_as_clientid`, which would refuse anonymous clients and give each service one
//!   connection only). Where that matters, use the embedded broker, or a Mosquitto whose loopback
//!   listener other users cannot reach. Units and receivers may publish retained messages.
//! - When started as root, Mosquitto switches to the `mosquitto` user **before** reading the
//!   password and ACL files: make them readable by that user, or add `user root`.
//! - Port 0 cannot be written: Mosquitto could not report the port it picked.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::acl::{Subject, expand, rules};
use super::config::{BrokerConfig, ConfigError};

/// The files [`write_config`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MosquittoFiles {
    /// `mosquitto.conf`: start with `mosquitto -c <this>`.
    pub config: PathBuf,
    /// `passwd`: the password file.
    pub password_file: PathBuf,
    /// `acl`: the ACL file.
    pub acl_file: PathBuf,
    /// `cert.pem` and `key.pem`, the TLS listener's certificate chain and key, when it has TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// The certificate chain and private key (PEM files) of the authenticated listener's TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MosquittoTls {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
}

/// Why [`write_config`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MosquittoError {
    /// The configuration is not acceptable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A listener on port 0.
    #[error("Mosquitto config: listener {0} has port 0; give Mosquitto a fixed port")]
    PortZero(SocketAddr),
    /// A directory Mosquitto's config syntax cannot name (whitespace or `#` in the path).
    #[error("Mosquitto config: directory {0:?} contains whitespace or '#'")]
    BadPath(PathBuf),
    /// TLS given without an authenticated listener to put it on.
    #[error("Mosquitto config: TLS needs an authenticated listener (auth_listen)")]
    TlsWithoutListener,
    /// Writing a file failed.
    #[error("Mosquitto config: cannot write {path:?}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
}

/// Writes `mosquitto.conf`, `passwd` and `acl` for `cfg` into `dir` (which must exist), as
/// described in the [module docs](self). The password file is written with mode 0600.
pub fn write_config(cfg: &BrokerConfig, dir: &Path) -> Result<MosquittoFiles, MosquittoError> {
    write_config_tls(cfg, dir, None)
}

/// [`write_config`], with TLS on the authenticated listener when `tls` is given: the
/// certificate and key are copied into `dir` (`cert.pem`, and `key.pem` readable by its owner
/// only) and the listener takes MQTT over TLS (1.2 or later) only.
pub fn write_config_tls(
    cfg: &BrokerConfig,
    dir: &Path,
    tls: Option<&MosquittoTls>,
) -> Result<MosquittoFiles, MosquittoError> {
    cfg.validate()?;
    if tls.is_some() && cfg.auth_listen.is_none() {
        return Err(MosquittoError::TlsWithoutListener);
    }
    for a in std::iter::once(cfg.listen).chain(cfg.auth_listen) {
        if a.port() == 0 {
            return Err(MosquittoError::PortZero(a));
        }
    }
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| MosquittoError::Io { path, source }
    };
    let dir = dir.canonicalize().map_err(io_err(dir))?;
    if dir
        .to_string_lossy()
        .contains(|c: char| c.is_whitespace() || c == '#')
    {
        return Err(MosquittoError::BadPath(dir));
    }
    let files = MosquittoFiles {
        config: dir.join("mosquitto.conf"),
        password_file: dir.join("passwd"),
        acl_file: dir.join("acl"),
        tls: tls.map(|_| (dir.join("cert.pem"), dir.join("key.pem"))),
    };
    if let (Some(src), Some((cert, key))) = (tls, &files.tls) {
        let copy = |from: &Path, to: &Path, mode| {
            let bytes = fs::read(from).map_err(io_err(from))?;
            write_file(to, &bytes, mode).map_err(io_err(to))
        };
        copy(&src.cert, cert, 0o644)?;
        copy(&src.key, key, 0o600)?;
    }

    let mut passwd = String::new();
    for u in &cfg.users {
        let _ = writeln!(passwd, "{}:{}", u.name, u.password);
    }
    write_file(&files.password_file, passwd.as_bytes(), 0o600)
        .map_err(io_err(&files.password_file))?;
    let acl = acl_text(cfg);
    write_file(&files.acl_file, acl.as_bytes(), 0o644).map_err(io_err(&files.acl_file))?;
    let conf = config_text(cfg, &files);
    write_file(&files.config, conf.as_bytes(), 0o644).map_err(io_err(&files.config))?;
    Ok(files)
}

/// Writes `bytes` to `path` with `mode`: a new file is created with it (a secret is never
/// readable by others, not even for a moment), an existing one is restricted first.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    if path.exists() {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// `listener PORT ADDRESS` (Mosquitto wants the bare IPv6 address, without brackets).
fn listener_line(a: SocketAddr) -> String {
    format!("listener {} {}", a.port(), a.ip())
}

fn config_text(cfg: &BrokerConfig, files: &MosquittoFiles) -> String {
    let mut s = String::new();
    let queued = cfg.log.segments.saturating_mul(cfg.log.segment_bytes);
    let _ = writeln!(
        s,
        "# Written by tidewatch from its broker config; the same policy as the embedded broker.\n\
         per_listener_settings true\n\
         persistence false\n\
         log_dest stderr\n\
         \n\
         # Bounded memory: packet size, and per-client queue in bytes (no count limit).\n\
         max_packet_size {}\n\
         max_queued_messages 1000000\n\
         max_queued_bytes {queued}\n\
         max_inflight_messages 1000\n\
         \n\
         # Loopback: anonymous local clients (raw AIS only, by the ACL's first lines) and accounts.\n\
         {}\n\
         allow_anonymous true\n\
         password_file {}\n\
         acl_file {}\n\
         max_connections {}",
        cfg.max_packet_bytes + 5,
        listener_line(cfg.listen),
        files.password_file.display(),
        files.acl_file.display(),
        cfg.max_connections,
    );
    if let Some(a) = cfg.auth_listen {
        let _ = writeln!(
            s,
            "\n# Authenticated{}: username and password, per-account ACL.\n\
             {}\n\
             allow_anonymous false\n\
             password_file {}\n\
             acl_file {}\n\
             max_connections {}",
            if files.tls.is_some() {
                " (remote units and receivers), MQTT over TLS only"
            } else {
                ""
            },
            listener_line(a),
            files.password_file.display(),
            files.acl_file.display(),
            cfg.max_connections,
        );
        if let Some((cert, key)) = &files.tls {
            let _ = writeln!(
                s,
                "certfile {}\nkeyfile {}\ntls_version tlsv1.2",
                cert.display(),
                key.display()
            );
        }
    }
    s
}

fn acl_text(cfg: &BrokerConfig) -> String {
    let mut s = String::from(
        "# Written by tidewatch: anonymous clients' rules, then one block per account, rules of its role.\n",
    );
    let anonymous = rules(Subject::Anonymous);
    for p in anonymous.publish {
        let _ = writeln!(s, "topic write {p}");
    }
    for p in anonymous.subscribe {
        let _ = writeln!(s, "topic read {p}");
    }
    for u in &cfg.users {
        let r = rules(Subject::Role(u.role));
        let _ = writeln!(s, "\nuser {}", u.name);
        for p in r.publish {
            let _ = writeln!(s, "topic write {}", expand(p, &u.name));
        }
        for p in r.subscribe {
            let _ = writeln!(s, "topic read {}", expand(p, &u.name));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

    use rumqttc::{ConnectReturnCode, ConnectionError};

    use super::*;
    use crate::testkit::{TestClient, free_port, test_config};

    /// The Mosquitto broker binary. Never skips: a missing Mosquitto fails the test.
    fn mosquitto_bin() -> PathBuf {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
            .map(|d| d.join("mosquitto"))
            .find(|p| p.is_file())
            .unwrap_or_else(|| {
                panic!(
                    "mosquitto not found on PATH, /usr/sbin or /usr/local/sbin; \
                     install it (Debian: apt-get install mosquitto)"
                )
            })
    }

    /// A Mosquitto process, killed on drop.
    struct Mosquitto(Child);

    impl Drop for Mosquitto {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[test]
    fn acl_and_config_text() {
        let mut cfg = test_config();
        cfg.listen = "127.0.0.1:1883".parse().unwrap();
        cfg.auth_listen = Some("[::]:1884".parse().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let files = write_config(&cfg, dir.path()).unwrap();
        let acl = fs::read_to_string(&files.acl_file).unwrap();
        assert!(acl.contains(
            "user patrol-7\ntopic write tidewatch/v1/patrol/patrol-7/nmea\ntopic write tidewatch/v1/patrol/patrol-7/report\ntopic write tidewatch/v1/patrol/patrol-7/case\ntopic read tidewatch/v1/patrol/patrol-7/tasking\ntopic read tidewatch/v1/patrol/patrol-7/rejects\ntopic read tidewatch/v1/patrol/patrol-7/case-update\n"
        ));
        assert!(acl.contains("user shore-3\ntopic write tidewatch/v1/raw/ais/shore-3\n\n"));
        assert!(acl.contains("user ingest\ntopic write tidewatch/v1/obs/ais/+\n"));
        let conf = fs::read_to_string(&files.config).unwrap();
        assert!(conf.contains("listener 1883 127.0.0.1\nallow_anonymous true\n"));
        assert!(conf.contains("listener 1884 ::\nallow_anonymous false\n"));
        assert!(conf.contains(&format!("max_queued_bytes {}\n", 4 * 4096)));
        let passwd = fs::read_to_string(&files.password_file).unwrap();
        assert_eq!(passwd.lines().count(), cfg.users.len());
        assert!(passwd.starts_with("patrol-7:$7$"));
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&files.password_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        cfg.auth_listen = Some("0.0.0.0:0".parse().unwrap());
        assert!(matches!(
            write_config(&cfg, dir.path()),
            Err(MosquittoError::PortZero(_))
        ));
    }

    /// The lines of `user`'s block in an ACL file.
    fn block<'a>(acl: &'a str, user: &str) -> Vec<&'a str> {
        acl.split(&format!("\nuser {user}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no block for {user}:\n{acl}"))
            .lines()
            .take_while(|l| !l.is_empty())
            .collect()
    }

    /// Mosquitto gets the same table as the embedded broker: anonymous loopback clients publish
    /// raw AIS only and read nothing; each service reads and writes only its own topics; the
    /// loopback listener checks passwords and the ACL too.
    #[test]
    fn review_17_5_the_mosquitto_acl_gives_each_identity_only_its_own_topics() {
        let mut cfg = test_config();
        cfg.listen = "127.0.0.1:1883".parse().unwrap();
        cfg.auth_listen = Some("0.0.0.0:1884".parse().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let files = write_config(&cfg, dir.path()).unwrap();
        let acl = fs::read_to_string(&files.acl_file).unwrap();
        let anonymous: Vec<&str> = acl
            .split("\nuser ")
            .next()
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("topic"))
            .collect();
        assert_eq!(anonymous, ["topic write tidewatch/v1/raw/ais/#"], "{acl}");
        assert!(!acl.contains("readwrite"), "{acl}");
        assert_eq!(
            block(&acl, "ingest"),
            [
                "topic write tidewatch/v1/obs/ais/+",
                "topic write tidewatch/v1/obs/patrol/+",
                "topic write tidewatch/v1/obs/radar/+",
                "topic write tidewatch/v1/patrol/+/rejects",
                "topic write tidewatch/v1/ingest/instances/+",
                "topic read tidewatch/v1/raw/ais/#",
                "topic read tidewatch/v1/patrol/+/nmea",
                "topic read tidewatch/v1/patrol/+/report",
                "topic read tidewatch/v1/ingest/instances/+",
            ]
        );
        assert_eq!(
            block(&acl, "fusion"),
            [
                "topic write tidewatch/v1/alerts/+",
                "topic write tidewatch/v1/patrol/+/tasking",
                "topic read tidewatch/v1/obs/#",
            ]
        );
        assert_eq!(
            block(&acl, "console"),
            [
                "topic write tidewatch/v1/patrol/+/case-update",
                "topic read tidewatch/v1/obs/#",
                "topic read tidewatch/v1/alerts/#",
                "topic read tidewatch/v1/patrol/+/tasking",
                "topic read tidewatch/v1/patrol/+/case",
            ]
        );
        let conf = fs::read_to_string(&files.config).unwrap();
        let loopback = conf
            .split("listener 1883 127.0.0.1\n")
            .nth(1)
            .unwrap()
            .split("\n\n")
            .next()
            .unwrap();
        for line in [
            "allow_anonymous true".to_owned(),
            format!("password_file {}", files.password_file.display()),
            format!("acl_file {}", files.acl_file.display()),
        ] {
            assert!(loopback.lines().any(|l| l == line), "{line}: {conf}");
        }
    }

    /// A real Mosquitto with the generated files enforces the same ACL: a unit's publish under
    /// another unit never arrives (Mosquitto drops it and keeps the unit connected), a wrong
    /// password is refused, a receiver publishes its raw feed only, an anonymous local client
    /// publishes raw AIS but no alert, and reads nothing.
    #[tokio::test]
    async fn real_mosquitto_enforces_the_generated_acl() {
        let bin = mosquitto_bin();
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = test_config();
        cfg.listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let auth = SocketAddr::from(([127, 0, 0, 1], free_port()));
        cfg.auth_listen = Some(auth);
        let files = write_config(&cfg, dir.path()).unwrap();
        // Started as root, Mosquitto would drop to user `mosquitto` and fail to read the 0600
        // files in our temporary directory; not root, this line changes nothing.
        let mut conf = fs::read_to_string(&files.config).unwrap();
        conf.insert_str(0, "user root\n");
        fs::write(&files.config, conf).unwrap();
        let log = fs::File::create(dir.path().join("mosquitto.log")).unwrap();
        let _broker = Mosquitto(
            Command::new(&bin)
                .arg("-c")
                .arg(&files.config)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {bin:?}: {e}")),
        );
        let log_text = || fs::read_to_string(dir.path().join("mosquitto.log")).unwrap_or_default();

        // Mosquitto reports no readiness: connect until it answers. Ingest's account, on the
        // loopback listener, reads what units and receivers send.
        let mut watcher = TestClient::connect_retrying(
            cfg.listen,
            "watcher",
            Some(("ingest", "pw-ingest")),
            Duration::from_secs(10),
        )
        .await
        .unwrap_or_else(|e| panic!("mosquitto did not come up: {e}\n{}", log_text()));
        assert!(watcher.subscribe("tidewatch/v1/raw/ais/#").await);
        assert!(watcher.subscribe("tidewatch/v1/patrol/+/nmea").await);

        let mut unit = TestClient::connect(auth, "p7", Some(("patrol-7", "pw-patrol-7")))
            .await
            .unwrap();
        unit.publish("tidewatch/v1/patrol/patrol-7/nmea", b"one")
            .await;
        unit.publish("tidewatch/v1/patrol/patrol-8/nmea", b"forged")
            .await;
        unit.publish("tidewatch/v1/raw/ais/shore-3", b"forged")
            .await;
        unit.publish("tidewatch/v1/patrol/patrol-7/nmea", b"two")
            .await;
        let mut rx = TestClient::connect(auth, "rx", Some(("shore-3", "pw-shore-3")))
            .await
            .unwrap();
        rx.publish("tidewatch/v1/raw/ais/shore-4", b"forged").await;
        rx.publish("tidewatch/v1/raw/ais/shore-3", b"three").await;

        // Per-publisher order is kept, so "two" after "one" proves "forged" was dropped between.
        let mut got = Vec::new();
        for _ in 0..3 {
            let p = watcher.next_publish().await;
            got.push((p.topic, p.payload));
        }
        assert!(
            got.contains(&("tidewatch/v1/patrol/patrol-7/nmea".into(), b"one".to_vec())),
            "{got:?}"
        );
        assert!(
            got.contains(&("tidewatch/v1/patrol/patrol-7/nmea".into(), b"two".to_vec())),
            "{got:?}"
        );
        assert!(
            got.contains(&("tidewatch/v1/raw/ais/shore-3".into(), b"three".to_vec())),
            "{got:?}"
        );
        let ones: Vec<_> = got.iter().filter(|(t, _)| t.contains("patrol-7")).collect();
        assert_eq!(ones[0].1, b"one", "{got:?}");

        let mut console =
            TestClient::connect(cfg.listen, "console", Some(("console", "pw-console")))
                .await
                .unwrap();
        assert!(console.subscribe("tidewatch/v1/alerts/#").await);
        // An anonymous local client: its alert is dropped, and what it subscribes to is not
        // delivered (Mosquitto grants the SUBSCRIBE and checks the ACL on delivery).
        let mut anonymous = TestClient::connect(cfg.listen, "anon", None).await.unwrap();
        anonymous
            .publish("tidewatch/v1/alerts/sar_beacon", b"forged")
            .await;
        anonymous.subscribe("tidewatch/v1/alerts/#").await;
        let mut fusion = TestClient::connect(cfg.listen, "fusion", Some(("fusion", "pw-fusion")))
            .await
            .unwrap();
        fusion
            .publish("tidewatch/v1/alerts/sar_beacon", b"real")
            .await;
        assert_eq!(
            console.next_publish().await.payload,
            b"real",
            "fusion's alert comes first: the anonymous one was dropped"
        );
        // Mosquitto queues a message to every subscriber as it takes it: had the anonymous
        // client been given fusion's alert, it would come before this PUBACK.
        anonymous
            .publish_acked("tidewatch/v1/raw/ais/anon", b"!AIVDM")
            .await;
        assert_eq!(anonymous.received(), 0, "an anonymous client read an alert");

        match TestClient::connect(auth, "bad", Some(("patrol-7", "wrong"))).await {
            Err(ConnectionError::ConnectionRefused(code)) => {
                assert_eq!(code, ConnectReturnCode::NotAuthorized)
            }
            other => panic!("expected a refused CONNECT, got {:?}", other.map(|_| ())),
        }
    }
}
