//! Several consoles on one PostgreSQL (DESIGN.md "Beyond one machine"): three
//! `tidewatch console --database postgres://…` processes behind what would be one address,
//! fifty clients acting on one incident (each logs in once; its session is the store's, so
//! it carries on at another console when its own dies), one console SIGKILLed a third of
//! the way through. Then: the incident's log is numbered without a gap and every link holds,
//! `tidewatch verify` passes on the database, every action a client was answered "done"
//! for is in the log once, and every refusal is the case file's rule refusing what the
//! request deserved.
//!
//! PostgreSQL is started by the test itself (`ops_console::testkit`, Debian's
//! `postgresql-15` run as the `postgres` user). `TIDEWATCH_CONSOLES_CLIENTS` (default 50)
//! and `TIDEWATCH_CONSOLES_ACTIONS` (actions per client, default 200) size the run.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use ops_console::console::auth::{self, Role};
use ops_console::console::store::{Store, UserRecord};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::{Value, json};
use tidewatch_broker::{Broker, BrokerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;

const PASSWORD: &str = "a long enough test password";

/// One HTTP/1.1 request on a connection of its own; `None` when the console is not there
/// (refused, reset or cut off before its answer).
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
    cookie: Option<&str>,
    csrf: Option<&str>,
) -> Option<(u16, BTreeMap<String, String>, Value)> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut s = tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
        .await
        .ok()?
        .ok()?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    if let Some(t) = csrf {
        req.push_str(&format!("X-CSRF-Token: {t}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut raw))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Some((
        status,
        headers,
        serde_json::from_str(&body).unwrap_or(Value::Null),
    ))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A client of the consoles: its session (valid at every console) and the console it is at.
struct User {
    cookie: String,
    csrf: String,
    at: usize,
}

async fn login(addr: SocketAddr, name: &str) -> User {
    let (status, headers, me) = request(
        addr,
        "POST",
        "/api/login",
        Some(&json!({"username": name, "password": PASSWORD})),
        None,
        None,
    )
    .await
    .expect("the console answers");
    assert_eq!(status, 200, "login {name}: {me}");
    let cookie = headers["set-cookie"].split(';').next().unwrap().to_owned();
    User {
        cookie,
        csrf: me["csrf"].as_str().unwrap().to_owned(),
        at: 0,
    }
}

fn console(
    n: usize,
    dir: &Path,
    mqtt: u16,
    password_file: &Path,
    http: SocketAddr,
    url: &str,
) -> std::process::Child {
    let data = dir.join(format!("console-{n}"));
    Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args(["console", "--broker", &format!("127.0.0.1:{mqtt}")])
        .args(["--user", "console", "--password-file"])
        .arg(password_file)
        .args(["--client-id", &format!("tidewatch-console-{n}")])
        .args(["--http", &http.to_string()])
        .arg("--data")
        .arg(&data)
        .args(["--database", url])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("console-{n}.log"))).expect("console log"))
        .spawn()
        .expect("tidewatch console starts")
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What a client's action got.
#[derive(Debug, Default)]
struct Outcomes {
    /// Headcounts answered "done": their `alive` figures (unique per action).
    done: BTreeSet<u32>,
    /// Refusals: status, error, message.
    refused: Vec<(u16, String, String)>,
    /// Sent to a console that died before answering: done or not, nobody was told.
    unanswered: usize,
}

/// Consoles on one fresh PostgreSQL database, with a broker they take alerts from.
struct Centre {
    _dir: tempfile::TempDir,
    url: String,
    fusion: AsyncClient,
    addrs: Vec<SocketAddr>,
    consoles: Vec<Option<support::Killed>>,
    _broker: Broker,
}

impl Centre {
    /// `consoles` consoles on database `db` (made here), with `users` (name, role).
    async fn start(db: &str, consoles: usize, users: &[(String, Role)]) -> Centre {
        let dir = tempfile::tempdir().unwrap();
        let server = tokio::task::spawn_blocking(ops_console::testkit::shared_server)
            .await
            .unwrap();
        let url = server.create_database(db).unwrap();
        {
            let store = Store::connect_postgres(&url).unwrap();
            let phc = auth::hash_password(PASSWORD).unwrap();
            for (name, role) in users {
                assert!(
                    store
                        .add_user(&UserRecord {
                            name: name.clone(),
                            role: *role,
                            password: phc.clone(),
                            must_change: false,
                            created_at: Timestamp::now(),
                        })
                        .unwrap()
                );
            }
        }
        let mut cfg = BrokerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..BrokerConfig::default()
        };
        let console_login = cfg
            .add_generated_user("console", tidewatch_broker::Role::Console)
            .unwrap();
        let fusion_login = cfg
            .add_generated_user("fusion", tidewatch_broker::Role::Fusion)
            .unwrap();
        let password_file = dir.path().join("console.password");
        std::fs::write(&password_file, &console_login.password).unwrap();
        let broker = Broker::start(cfg).await.unwrap();
        let mqtt = broker.addr().port();
        let addrs: Vec<SocketAddr> = (0..consoles)
            .map(|_| SocketAddr::from(([127, 0, 0, 1], support::free_port())))
            .collect();
        let consoles = addrs
            .iter()
            .enumerate()
            .map(|(n, a)| {
                Some(support::Killed(console(
                    n,
                    dir.path(),
                    mqtt,
                    &password_file,
                    *a,
                    &url,
                )))
            })
            .collect();
        for a in &addrs {
            let deadline = Instant::now() + Duration::from_secs(60);
            while request(*a, "GET", "/api/status", None, None, None)
                .await
                .is_none()
            {
                assert!(Instant::now() < deadline, "console {a} did not start");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let mut opts = MqttOptions::new("test-fusion", "127.0.0.1", mqtt);
        opts.set_credentials(&fusion_login.username, &fusion_login.password);
        let (fusion, mut el) = AsyncClient::new(opts, 16);
        tokio::spawn(async move { while el.poll().await.is_ok() {} });
        Centre {
            _dir: dir,
            url,
            fusion,
            addrs,
            consoles,
            _broker: broker,
        }
    }

    /// A beacon's alert `id` (fusion publishes it), escalated at console 1 by `wo`: the
    /// incident.
    async fn incident_from_beacon(&self, id: &str, mmsi: u32, wo: &User) -> String {
        let now = Timestamp::now();
        let alert = json!({"id": id, "kind": "sar_beacon", "severity": "critical",
            "state": "open", "revision": 1, "time": now, "start": now, "mmsi": [mmsi],
            "contacts": [], "position": {"lat": 35.2, "lon": 12.9}, "score": 0.9,
            "reasons": ["SART active"], "rule": "sar_beacon@1", "params": {}});
        self.fusion
            .publish(
                "tidewatch/v1/alerts/sar_beacon",
                QoS::AtLeastOnce,
                false,
                alert.to_string(),
            )
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = request(
                self.addrs[0],
                "POST",
                &format!("/api/alerts/{id}/escalate"),
                Some(&json!({})),
                Some(&wo.cookie),
                Some(&wo.csrf),
            )
            .await;
            if let Some((200, _, v)) = r {
                return v["triage"]["incident"].as_str().unwrap().to_owned();
            }
            assert!(Instant::now() < deadline, "no alert to escalate: {r:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_consoles_fifty_clients_one_incident_one_console_killed_the_log_holds() {
    let clients = env_usize("TIDEWATCH_CONSOLES_CLIENTS", 50);
    let actions = env_usize("TIDEWATCH_CONSOLES_ACTIONS", 200);
    // The database, its users (one watch officer, one boarding officer per client), three
    // consoles on it; a beacon's alert escalated at console 1: the incident.
    let users: Vec<(String, Role)> = std::iter::once(("wo".to_owned(), Role::WatchOfficer))
        .chain((0..clients).map(|c| (format!("bo{c:02}"), Role::BoardingOfficer)))
        .collect();
    let mut centre = Centre::start("three-consoles", 3, &users).await;
    let (url, addrs) = (centre.url.clone(), centre.addrs.clone());
    let wo = login(addrs[0], "wo").await;
    let incident = centre
        .incident_from_beacon("sart-1", 970_000_001, &wo)
        .await;
    let entries_before = Store::connect_postgres(&url)
        .unwrap()
        .interception_log(&incident)
        .unwrap()
        .entries
        .len();

    // Fifty clients, spread over the three consoles, 200 actions each: headcounts (each
    // with its own figure, to find it in the log), and every tenth a flag on a person
    // nobody rescued, which a rule refuses.
    let total = clients * actions;
    let answered = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let mut user = login(addrs[c % 3], &format!("bo{c:02}")).await;
        user.at = c % 3;
        let (addrs, incident, answered) = (addrs.clone(), incident.clone(), answered.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Outcomes::default();
            for k in 0..actions {
                let alive = (c * 100_000 + k) as u32;
                let action = if k % 10 == 9 {
                    json!({"type": "vulnerability", "tag": "cp-302-9999", "flag": "MED_EMERG"})
                } else {
                    json!({"type": "headcount", "unit": "cp-302", "alive": alive, "deceased": 0})
                };
                let body = json!({"action": action, "why": format!("count {k} by client {c}"),
                    "position": {"lat": 35.2, "lon": 12.9}});
                let path = format!("/api/incidents/{incident}/case");
                let r = request(
                    addrs[user.at],
                    "POST",
                    &path,
                    Some(&body),
                    Some(&user.cookie),
                    Some(&user.csrf),
                )
                .await;
                match r {
                    Some((201, _, _)) => {
                        out.done.insert(alive);
                    }
                    Some((status, _, v)) if (400..500).contains(&status) => out.refused.push((
                        status,
                        v["error"].as_str().unwrap_or_default().to_owned(),
                        v["message"].as_str().unwrap_or_default().to_owned(),
                    )),
                    Some((status, _, v)) => panic!("client {c} action {k}: {status} {v}"),
                    None => {
                        // Its console is gone: the same session at the next one.
                        out.unanswered += 1;
                        user.at = (user.at + 1) % 3;
                    }
                }
                answered.fetch_add(1, Ordering::Relaxed);
            }
            out
        }));
    }
    // A third of the way through, console 3 dies.
    let deadline = Instant::now() + Duration::from_secs(1800);
    while answered.load(Ordering::Relaxed) < total / 3 {
        assert!(Instant::now() < deadline, "the clients stalled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(centre.consoles[2].take()); // SIGKILL
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }

    // The log: numbered without a gap, every link holding.
    let store = Store::connect_postgres(&url).unwrap();
    let log = store.interception_log(&incident).unwrap();
    let v = tidewatch_cases::log::verify(&log, None);
    assert!(
        v.first_break.is_none(),
        "the chain breaks: {:?}",
        v.first_break
    );
    for (i, e) in log.entries.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1, "numbering");
    }
    // Every action answered "done" is in it, once.
    let mut logged: BTreeMap<u32, usize> = BTreeMap::new();
    for e in &log.entries {
        if let Some(a) = e.entry.details["case_action"]["alive"].as_u64() {
            *logged.entry(a as u32).or_default() += 1;
        }
    }
    let done: BTreeSet<u32> = outcomes
        .iter()
        .flat_map(|o| o.done.iter().copied())
        .collect();
    let unanswered: usize = outcomes.iter().map(|o| o.unanswered).sum();
    let refused: Vec<&(u16, String, String)> = outcomes.iter().flat_map(|o| &o.refused).collect();
    let missing: Vec<&u32> = done.iter().filter(|a| !logged.contains_key(a)).collect();
    assert!(
        missing.is_empty(),
        "answered done, not in the log: {missing:?}"
    );
    assert!(logged.values().all(|n| *n == 1), "an action logged twice");
    assert!(
        logged.len() <= done.len() + unanswered,
        "{} headcounts logged, {} answered done, {unanswered} unanswered",
        logged.len(),
        done.len()
    );
    assert_eq!(
        log.entries.len(),
        entries_before + logged.len(),
        "entries other than the clients' actions"
    );
    // Every refusal is the rule's, for the request that deserved it: a flag on a person
    // nobody rescued (the roster's check), never the store's trouble with two writers.
    for (status, error, message) in &refused {
        assert_eq!(
            (*status, error.as_str(), message.as_str()),
            (409, "refused", "roster: no person tagged cp-302-9999"),
        );
    }
    assert_eq!(done.len() + refused.len() + unanswered, total);
    assert!(
        unanswered > 0 || clients < 3,
        "the kill landed on no request"
    );
    // And the store verifies as a court's copy would be checked.
    let out = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args(["verify", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tidewatch verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "{clients} clients x {actions} actions on {incident} over 3 consoles, one killed: {} done, {} refused by a rule, {unanswered} unanswered when the console died; log of {} entries intact; {}",
        done.len(),
        refused.len(),
        log.entries.len(),
        String::from_utf8_lossy(&out.stdout).trim()
    );
}

/// Server-sent events of `/api/live` at `addr` for `user`: (event, data) pairs, in order.
async fn live(
    addr: SocketAddr,
    user: &User,
) -> tokio::sync::mpsc::UnboundedReceiver<(String, String)> {
    use tokio::io::AsyncBufReadExt;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!(
            "GET /api/live HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\nCookie: {}\r\n\r\n",
            user.cookie
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(s).lines();
        let mut event = String::new();
        while let Ok(Some(l)) = lines.next_line().await {
            if let Some(e) = l.strip_prefix("event: ") {
                event = e.to_owned();
            } else if let Some(d) = l.strip_prefix("data: ")
                && tx.send((event.clone(), d.to_owned())).is_err()
            {
                return;
            }
        }
    });
    rx
}

/// What a watch officer does at one console is on the live stream of a watch officer at
/// another, as it happens: the incident opened and the alert's triage (PostgreSQL
/// LISTEN/NOTIFY between the consoles sharing the store).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_at_one_console_reaches_the_live_stream_of_another() {
    let users = ["wo1", "wo2"].map(|n| (n.to_owned(), Role::WatchOfficer));
    let centre = Centre::start("live-across-consoles", 2, &users).await;
    let addrs = &centre.addrs;
    let (wo1, wo2) = (login(addrs[0], "wo1").await, login(addrs[1], "wo2").await);
    let mut stream = live(addrs[1], &wo2).await;
    let incident = centre
        .incident_from_beacon("sart-2", 970_000_002, &wo1)
        .await;
    let (mut saw_incident, mut saw_triage) = (false, false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !(saw_incident && saw_triage) {
        let (event, data) = tokio::time::timeout_at(deadline, stream.recv())
            .await
            .unwrap_or_else(|_| {
                panic!("console 2's stream: incident {saw_incident}, triage {saw_triage}")
            })
            .expect("the stream goes on");
        let v: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
        match event.as_str() {
            "incident" if v["id"] == incident.as_str() => saw_incident = true,
            "alert" if v["id"] == "sart-2" && v["triage"]["incident"] == incident.as_str() => {
                saw_triage = true
            }
            _ => {}
        }
    }
}
