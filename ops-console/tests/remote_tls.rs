//! Patrol units and receivers at sea, over MQTT with TLS and credentials (review 17 §2), with
//! the real `tidewatch` binary:
//!
//! ```text
//!  tidewatch unit add ──▶ DATA/credentials/cp-301.toml ──▶ tidewatch patrol --credentials ──TLS (pinned)──▶ up --mqtt-remote ──▶ ingest ──▶ observations
//!                                                                                                 └──────▶ Mosquitto (tidewatch broker mosquitto-config)
//! ```
//!
//! Tested as an attacker would: a wrong password, a revoked unit (refused, and its open
//! connection cut), another unit's topic, plain MQTT to the TLS port, a wrong pin, plain MQTT
//! from `patrol` to an address outside loopback. Every refusal is counted on `/metrics`.
//! Only 127.0.0.0/8 is ever contacted.

mod support;

use std::io::{BufRead, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, MqttOptions, Packet, QoS,
    TlsConfiguration, Transport,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// How long any wait may take before the test fails.
const WAIT: Duration = Duration::from_secs(30);

/// A child process, killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tidewatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("tidewatch runs")
}

/// Runs `tidewatch args`, which must succeed; its stdout.
fn tidewatch_ok(args: &[&str]) -> String {
    let out = tidewatch(args);
    assert!(
        out.status.success(),
        "tidewatch {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A running `tidewatch up --mqtt-remote`.
struct Up {
    _proc: Proc,
    remote: SocketAddr,
    http: SocketAddr,
    fingerprint: String,
}

/// `tidewatch up` on free loopback ports with the remote listener, until it says where
/// everything is.
fn start_up(data: &Path) -> Up {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args([
            "up",
            "--mqtt",
            "127.0.0.1:0",
            // Outside loopback: the console serves HTTPS with the same certificate.
            "--http",
            "0.0.0.0:0",
            "--mqtt-remote",
            "127.0.0.1:0",
            "--data",
            path(data),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tidewatch up starts");
    let (tx, rx) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let proc = Proc(child);
    let (mut remote, mut http, mut fingerprint) = (None, None, None);
    let mut said = String::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while http.is_none() {
        let l = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("tidewatch up did not start:\n{said}"));
        said.push_str(&l);
        said.push('\n');
        let l = l.trim();
        if let Some(rest) = l.strip_prefix("MQTT remote  -> ") {
            remote = rest.split(' ').next().and_then(|a| a.parse().ok());
            assert!(rest.contains("MQTT over TLS only"), "{l}");
        }
        if let Some(rest) = l.strip_prefix("certificate  -> SHA-256 ") {
            let f = rest.split(' ').next().map(str::to_owned);
            // One certificate for the broker's remote listener and the console: a vessel
            // pins one fingerprint.
            assert!(
                fingerprint.is_none() || fingerprint == f,
                "two certificates announced:\n{said}"
            );
            fingerprint = f;
        }
        if let Some(rest) = l.strip_prefix("console      -> https://") {
            http = rest.trim_end_matches('/').parse().ok();
        }
        assert!(
            !l.starts_with("console      -> http://"),
            "plain HTTP outside loopback:\n{said}"
        );
    }
    // The rest goes to `up.log` beside the data directory (up never blocks on a full pipe).
    let mut log = std::fs::File::create(data.with_file_name("up.log")).unwrap();
    let _ = log.write_all(said.as_bytes());
    std::thread::spawn(move || {
        while let Ok(l) = rx.recv() {
            let _ = writeln!(log, "{l}");
        }
    });
    Up {
        _proc: proc,
        remote: remote.unwrap_or_else(|| panic!("no remote listener announced:\n{said}")),
        http: http.unwrap(),
        fingerprint: fingerprint.unwrap_or_else(|| panic!("no fingerprint announced:\n{said}")),
    }
}

/// An MQTT client (its events in a channel) connected to `addr`, over TLS pinning `pin` when
/// given; waits for the CONNACK.
async fn client(
    addr: SocketAddr,
    id: &str,
    login: Option<(&str, &str)>,
    pin: Option<&str>,
) -> Result<
    (
        AsyncClient,
        mpsc::UnboundedReceiver<Result<Event, ConnectionError>>,
    ),
    ConnectionError,
> {
    let mut opts = MqttOptions::new(id, addr.ip().to_string(), addr.port());
    opts.set_keep_alive(Duration::from_secs(5));
    if let Some((u, p)) = login {
        opts.set_credentials(u, p);
    }
    if let Some(pin) = pin {
        let mut c = ingest::link::tls::pinned_client_config(pin).unwrap();
        c.alpn_protocols = vec![tidewatch_broker::MQTT_ALPN.to_vec()];
        opts.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
            Arc::new(c),
        )));
    }
    let (c, mut el) = AsyncClient::new(opts, 64);
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let ev = el.poll().await;
            let stop = ev.is_err();
            if tx.send(ev).is_err() || stop {
                return;
            }
        }
    });
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Ok(Event::Incoming(Packet::ConnAck(_))))) => return Ok((c, rx)),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => return Err(e),
            Ok(None) | Err(_) => return Err(ConnectionError::NetworkTimeout),
        }
    }
}

/// Waits for the next PUBLISH (topic, payload); panics on a connection error or after [`WAIT`].
async fn next_publish(
    rx: &mut mpsc::UnboundedReceiver<Result<Event, ConnectionError>>,
) -> (String, Vec<u8>) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Ok(Event::Incoming(Packet::Publish(p))))) => {
                return (p.topic.clone(), p.payload.to_vec());
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("waiting for a PUBLISH: {other:?}"),
        }
    }
}

/// Waits until the connection ends (at most [`WAIT`]); when it did.
async fn closed(rx: &mut mpsc::UnboundedReceiver<Result<Event, ConnectionError>>) -> Instant {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => return Instant::now(),
            Err(_) => panic!("the connection was not closed"),
        }
    }
}

fn assert_not_authorized<T>(r: Result<T, ConnectionError>, what: &str) {
    match r {
        Err(ConnectionError::ConnectionRefused(code)) => {
            assert_eq!(code, ConnectReturnCode::NotAuthorized, "{what}")
        }
        Err(e) => panic!("{what}: expected CONNACK 5, got {e}"),
        Ok(_) => panic!("{what}: got in"),
    }
}

fn checksum(body: &str) -> String {
    format!("{:02X}", body.bytes().fold(0u8, |a, b| a ^ b))
}

/// A GNSS fix (RMC) for now.
fn rmc(i: u32) -> String {
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let body = format!(
        "GPRMC,{},A,3530.{:04},N,01230.{:04},E,12.5,270.0,{},,,A",
        now.strftime("%H%M%S.00"),
        i % 10_000,
        (i * 7) % 10_000,
        now.strftime("%d%m%y"),
    );
    format!("${body}*{}\r\n", checksum(&body))
}

/// The ship's NMEA multiplexer: a fix every 100 ms to whoever connects.
async fn nmea_server() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut c, _)) = l.accept().await {
            tokio::spawn(async move {
                for i in 0.. {
                    if c.write_all(rmc(i).as_bytes()).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
        }
    });
    addr
}

/// `tidewatch patrol ARGS`, its stdout and stderr in `log`, stdin kept for the crew.
fn patrol(args: &[&str], data: &Path, log: &Path) -> Proc {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Proc(
        Command::new(env!("CARGO_BIN_EXE_tidewatch"))
            .arg("patrol")
            .args(args)
            .args(["--keep-alive-secs", "5", "--data", path(data)])
            .stdin(Stdio::piped())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("tidewatch patrol starts"),
    )
}

fn crew(p: &mut Proc, command: &str) {
    let stdin = p.0.stdin.as_mut().unwrap();
    writeln!(stdin, "{command}").unwrap();
    stdin.flush().unwrap();
}

/// Polls `cond` every 50 ms until it holds; panics with `what` and `context()` after [`WAIT`].
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool, context: impl Fn() -> String) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting until {what}:\n{}",
            context()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `GET /metrics` from the console over HTTPS, pinning the fingerprint `up` printed.
async fn metrics(http: SocketAddr, pin: &str) -> String {
    let tcp = tokio::net::TcpStream::connect(http).await.unwrap();
    let config = ingest::link::tls::pinned_client_config(pin).unwrap();
    let name = rustls::pki_types::ServerName::try_from("tidewatch.invalid").unwrap();
    let mut s = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("the console's certificate is the one printed");
    s.write_all(b"GET /metrics HTTP/1.1\r\nhost: tidewatch\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    // The server may close without a TLS close_notify once it has answered: what was read
    // is the answer.
    let _ = tokio::time::timeout(WAIT, s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text
}

/// The value of a counter line `name{labels} N` in Prometheus text (0 when absent).
fn counter(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_17_tls_a_unit_at_sea_reaches_up_over_tls_with_its_credentials_and_is_cut_when_revoked()
 {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("centre");
    let up = start_up(&data);
    let data_s = path(&data);
    let broker = format!("127.0.0.1:{}", up.remote.port());

    // The centre issues the unit's credentials while up runs.
    let said = tidewatch_ok(&[
        "unit",
        "add",
        "cp-301",
        "--data",
        data_s,
        "--broker-address",
        &broker,
    ]);
    let creds = data.join("credentials/cp-301.toml");
    assert!(said.contains(&up.fingerprint), "{said}");
    let text = read(&creds);
    assert!(
        text.contains(&format!("fingerprint = \"{}\"", up.fingerprint)),
        "{text}"
    );
    assert!(
        text.contains(&format!("brokers = [\"{broker}\"]")),
        "{text}"
    );
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&creds).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the credentials file is {mode:o}");
    let store = read(&data.join("broker/identities.toml"));
    let password = text
        .lines()
        .find_map(|l| l.strip_prefix("password = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_owned();
    assert!(!store.contains(&password), "the store keeps the hash only");
    tidewatch_ok(&[
        "unit",
        "add",
        "cp-302",
        "--data",
        data_s,
        "--broker-address",
        &broker,
    ]);
    let password_302 = read(&data.join("credentials/cp-302.toml"))
        .lines()
        .find_map(|l| {
            Some(
                l.strip_prefix("password = \"")?
                    .trim_end_matches('"')
                    .to_owned(),
            )
        })
        .unwrap();
    let listed = tidewatch_ok(&["unit", "list", "--data", data_s]);
    assert!(
        listed.contains("cp-301") && listed.contains("cp-302"),
        "{listed}"
    );

    // On board: the patrol program with the credentials file, over TLS, pinning the centre.
    let nmea = nmea_server().await;
    let log = tmp.path().join("patrol.log");
    let mut unit = patrol(
        &[
            "--credentials",
            path(&creds),
            "--nmea",
            &format!("tcp://{nmea}"),
        ],
        &tmp.path().join("patrol"),
        &log,
    );
    crew(
        &mut unit,
        "sighting 35.31 12.41 rubber_boat 60 overcrowded no AIS",
    );
    // The observation log: hourly files under DATA/observations/.
    let observations = data.join("observations");
    wait_until(
        "the unit's fixes and its sighting are observations at the centre",
        || {
            let o = ingest::obslog::read_to_string(&observations).unwrap_or_default();
            o.contains(r#""kind":"patrol_fix","unit":"cp-301""#)
                && o.contains(r#""kind":"report","unit":"cp-301""#)
                && o.contains(r#""persons_estimate":60"#)
        },
        || read(&log) + &read(&tmp.path().join("up.log")),
    )
    .await;
    assert!(read(&log).contains("MQTT over TLS, trusting only the certificate SHA-256"));

    // An attacker: a wrong password (inside TLS), plain MQTT to the TLS port, a wrong pin.
    assert_not_authorized(
        client(
            up.remote,
            "x",
            Some(("cp-302", "guessed")),
            Some(&up.fingerprint),
        )
        .await,
        "a wrong password",
    );
    assert!(
        client(up.remote, "x", Some(("cp-302", &password_302)), None)
            .await
            .is_err(),
        "plain MQTT to the TLS port got in"
    );
    let other = support::another_pin(&up.fingerprint);
    match client(
        up.remote,
        "x",
        Some(("cp-302", &password_302)),
        Some(&other),
    )
    .await
    {
        Err(ConnectionError::Tls(e)) => assert!(e.to_string().contains("not the pinned"), "{e}"),
        other => panic!("a wrong pin: {:?}", other.map(|_| ())),
    }
    // The patrol program pinning another certificate says so, and sends nothing.
    let password_file = tmp.path().join("cp-302.password");
    std::fs::write(&password_file, &password_302).unwrap();
    let wrong_log = tmp.path().join("wrong-pin.log");
    let _wrong = patrol(
        &[
            "--unit",
            "cp-302",
            "--broker",
            &broker,
            "--password-file",
            path(&password_file),
            "--pin",
            &other,
            "--nmea",
            &format!("tcp://{nmea}"),
        ],
        &tmp.path().join("wrong-pin"),
        &wrong_log,
    );
    wait_until(
        "the patrol program refuses a broker with another certificate",
        || read(&wrong_log).contains("REFUSED the broker: its certificate is not the centre's"),
        || read(&wrong_log),
    )
    .await;
    // Plain MQTT from patrol to an address outside loopback: refused before any packet.
    let out = tidewatch(&[
        "patrol",
        "--unit",
        "cp-302",
        "--broker",
        "192.0.2.1:1883",
        "--password-file",
        path(&password_file),
        "--nmea",
        &format!("tcp://{nmea}"),
        "--data",
        path(&tmp.path().join("plain")),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("plain MQTT to 192.0.2.1:1883 is refused"),
        "{err}"
    );

    // Another unit's open connection, then its revocation: cut within a second.
    let (c302, mut events) = client(
        up.remote,
        "cp-302-test",
        Some(("cp-302", &password_302)),
        Some(&up.fingerprint),
    )
    .await
    .unwrap();
    c302.subscribe("tidewatch/v1/patrol/cp-302/tasking", QoS::AtLeastOnce)
        .await
        .unwrap();
    tidewatch_ok(&["unit", "revoke", "cp-302", "--data", data_s]);
    let revoked_at = Instant::now();
    let cut = closed(&mut events).await - revoked_at;
    eprintln!("cp-302's open connection closed {cut:?} after `tidewatch unit revoke` returned");
    assert!(cut < Duration::from_secs(2), "{cut:?}");
    assert_not_authorized(
        client(
            up.remote,
            "x",
            Some(("cp-302", &password_302)),
            Some(&up.fingerprint),
        )
        .await,
        "the revoked unit",
    );

    // The patrol unit revoked: cut, and told why when it tries again.
    tidewatch_ok(&["unit", "revoke", "cp-301", "--data", data_s]);
    wait_until(
        "the revoked patrol unit is told its credentials are refused",
        || read(&log).contains("the centre refused the unit's credentials"),
        || read(&log),
    )
    .await;
    let listed = tidewatch_ok(&["unit", "list", "--data", data_s]);
    assert!(
        listed
            .lines()
            .filter(|l| l.starts_with("cp-30"))
            .all(|l| !l.trim_end().ends_with('-')),
        "both revoked: {listed}"
    );

    // Every refusal counted, by reason.
    let reason = |m: &str, r: &str| {
        counter(
            m,
            &format!("tidewatch_broker_refusals_total{{reason=\"{r}\"}}"),
        )
    };
    let deadline = Instant::now() + WAIT;
    let m = loop {
        let m = metrics(up.http, &up.fingerprint).await;
        if reason(&m, "bad_credentials") >= 1
            && reason(&m, "revoked") >= 4
            && reason(&m, "tls_handshake") >= 3
        {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "the refusals are not on /metrics:\n{m}\n{}",
            read(&tmp.path().join("up.log"))
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "refusals: bad_credentials {}, revoked {}, tls_handshake {}",
        reason(&m, "bad_credentials"),
        reason(&m, "revoked"),
        reason(&m, "tls_handshake"),
    );
}

/// The Mosquitto broker binary. Never skips: a missing Mosquitto fails the test.
fn mosquitto_bin() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|d| d.join("mosquitto"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "mosquitto not found on PATH, /usr/sbin or /usr/local/sbin; install it \
                 (bash tests/install-deps.sh, or Debian: apt-get install mosquitto)"
            )
        })
}

use tidewatch_broker::testkit::free_port;

/// `tidewatch broker mosquitto-config`, with `user root` first: started as root, Mosquitto
/// would drop to user `mosquitto` and fail to read our 0600 files (not root: no effect).
fn mosquitto_config(dir: &Path, data: &Path, listen: SocketAddr, remote: SocketAddr) -> String {
    let said = tidewatch_ok(&[
        "broker",
        "mosquitto-config",
        path(dir),
        "--data",
        path(data),
        "--listen",
        &listen.to_string(),
        "--remote",
        &remote.to_string(),
    ]);
    let conf = dir.join("mosquitto.conf");
    let text = read(&conf);
    std::fs::write(&conf, format!("user root\n{text}")).unwrap();
    said
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_17_tls_mosquitto_takes_the_same_identities_certificate_and_grants() {
    let bin = mosquitto_bin();
    let tmp = tempfile::tempdir().unwrap();
    let (data, dir) = (tmp.path().join("centre"), tmp.path().join("mosquitto"));
    let listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let remote = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let broker = remote.to_string();
    for (kind, name) in [
        ("unit", "cp-301"),
        ("unit", "cp-302"),
        ("receiver", "lampedusa"),
    ] {
        tidewatch_ok(&[
            kind,
            "add",
            name,
            "--data",
            path(&data),
            "--broker-address",
            &broker,
        ]);
    }
    let password_of = |name: &str| {
        read(&data.join(format!("credentials/{name}.toml")))
            .lines()
            .find_map(|l| {
                Some(
                    l.strip_prefix("password = \"")?
                        .trim_end_matches('"')
                        .to_owned(),
                )
            })
            .unwrap()
    };
    let said = mosquitto_config(&dir, &data, listen, remote);
    let fingerprint = said
        .split("certificate SHA-256 ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap()
        .to_owned();
    assert!(
        read(&data.join("credentials/cp-301.toml")).contains(&fingerprint),
        "Mosquitto serves the certificate the units pin"
    );
    let conf = read(&dir.join("mosquitto.conf"));
    assert!(
        conf.contains(&format!(
            "listener {} 127.0.0.1\nallow_anonymous false",
            remote.port()
        )) && conf.contains("tls_version tlsv1.2"),
        "{conf}"
    );
    let log = tmp.path().join("mosquitto.log");
    let mosquitto = Proc(
        Command::new(&bin)
            .arg("-c")
            .arg(dir.join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {bin:?}: {e}")),
    );

    // Ingest's place: the service account on the loopback listener, its password from the
    // file mosquitto-config wrote. Mosquitto says nothing when ready: connect until it answers.
    let ingest_password = read(&dir.join("ingest.password")).trim().to_owned();
    let deadline = Instant::now() + WAIT;
    let (ingest, mut seen) = loop {
        match client(
            listen,
            "ingest",
            Some(("tidewatch.ingest", &ingest_password)),
            None,
        )
        .await
        {
            Ok(c) => break c,
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "mosquitto did not come up: {e}\n{}",
                    read(&log)
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    for f in ["tidewatch/v1/patrol/+/nmea", "tidewatch/v1/raw/ais/#"] {
        ingest.subscribe(f, QoS::AtLeastOnce).await.unwrap();
    }
    // SUBACKs first: a publish before them would not be seen.
    let mut subacks = 0;
    let deadline = tokio::time::Instant::now() + WAIT;
    while subacks < 2 {
        match tokio::time::timeout_at(deadline, seen.recv()).await {
            Ok(Some(Ok(Event::Incoming(Packet::SubAck(_))))) => subacks += 1,
            Ok(Some(Ok(_))) => {}
            other => panic!("waiting for the SUBACKs: {other:?}"),
        }
    }

    // The unit on board, with its credentials file: its NMEA arrives through Mosquitto's TLS.
    let nmea = nmea_server().await;
    let plog = tmp.path().join("patrol.log");
    let _unit = patrol(
        &[
            "--credentials",
            path(&data.join("credentials/cp-301.toml")),
            "--nmea",
            &format!("tcp://{nmea}"),
        ],
        &tmp.path().join("patrol"),
        &plog,
    );
    let (topic, payload) = next_publish(&mut seen).await;
    assert_eq!(topic, "tidewatch/v1/patrol/cp-301/nmea", "{}", read(&plog));
    assert!(String::from_utf8_lossy(&payload).contains("GPRMC"));

    // Another unit, over TLS pinned, tries cp-301's topic: Mosquitto drops it (and keeps the
    // connection); its own topic is delivered. Per-publisher order proves the drop.
    let p302 = password_of("cp-302");
    let (c302, mut e302) = client(
        remote,
        "cp-302",
        Some(("cp-302", &p302)),
        Some(&fingerprint),
    )
    .await
    .unwrap();
    for (t, p) in [
        ("tidewatch/v1/patrol/cp-301/nmea", "forged"),
        ("tidewatch/v1/raw/ais/lampedusa", "forged"),
        ("tidewatch/v1/patrol/cp-302/nmea", "proof"),
    ] {
        c302.publish(t, QoS::AtLeastOnce, false, p).await.unwrap();
    }
    // A receiver publishes its own feed only.
    let (rx, _erx) = client(
        remote,
        "lampedusa",
        Some(("lampedusa", &password_of("lampedusa"))),
        Some(&fingerprint),
    )
    .await
    .unwrap();
    for (t, p) in [
        ("tidewatch/v1/raw/ais/linosa", "forged"),
        ("tidewatch/v1/patrol/cp-301/nmea", "forged"),
        ("tidewatch/v1/raw/ais/lampedusa", "!AIVDM,proof"),
    ] {
        rx.publish(t, QoS::AtLeastOnce, false, p).await.unwrap();
    }
    let (mut proof_302, mut proof_rx) = (false, false);
    while !(proof_302 && proof_rx) {
        let (topic, payload) = next_publish(&mut seen).await;
        assert_ne!(payload, b"forged", "{topic} delivered a forged message");
        proof_302 |= payload == b"proof" && topic == "tidewatch/v1/patrol/cp-302/nmea";
        proof_rx |= payload == b"!AIVDM,proof" && topic == "tidewatch/v1/raw/ais/lampedusa";
    }

    // A wrong password, plain MQTT to the TLS port, a wrong pin: refused.
    assert_not_authorized(
        client(remote, "x", Some(("cp-302", "guessed")), Some(&fingerprint)).await,
        "a wrong password at Mosquitto",
    );
    assert!(
        client(remote, "x", Some(("cp-302", &p302)), None)
            .await
            .is_err()
    );
    let other = support::another_pin(&fingerprint);
    match client(remote, "x", Some(("cp-302", &p302)), Some(&other)).await {
        Err(ConnectionError::Tls(e)) => assert!(e.to_string().contains("not the pinned"), "{e}"),
        other => panic!("a wrong pin: {:?}", other.map(|_| ())),
    }

    // Revoked at the centre, the configuration written again and Mosquitto reloaded (SIGHUP):
    // the unit's open connection is closed and it no longer logs in.
    tidewatch_ok(&["unit", "revoke", "cp-302", "--data", path(&data)]);
    let said = mosquitto_config(&dir, &data, listen, remote);
    assert!(said.contains("2 active, 1 revoked"), "{said}");
    assert!(!read(&dir.join("passwd")).contains("cp-302:"));
    let hup = Command::new("kill")
        .args(["-HUP", &mosquitto.0.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    // Mosquitto re-checks its connected clients against the reloaded password file: the
    // revoked unit's open connection is closed.
    let reloaded = Instant::now();
    let cut = closed(&mut e302).await - reloaded;
    eprintln!("Mosquitto closed cp-302's open connection {cut:?} after the reload signal");
    let deadline = Instant::now() + WAIT;
    loop {
        match client(remote, "x", Some(("cp-302", &p302)), Some(&fingerprint)).await {
            Err(ConnectionError::ConnectionRefused(_)) => break,
            Ok(_) => {
                assert!(
                    Instant::now() < deadline,
                    "Mosquitto still takes the revoked unit"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
}
