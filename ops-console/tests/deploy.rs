//! `tidewatch deploy` (DESIGN.md "Beyond one machine"): the multi-node layout on one machine,
//! and ingest as several instances on it. Receivers in three regions (two named slots and the
//! rest) publish two-sentence AIS messages, one sentence per MQTT message; the ingest instance
//! holding a slot is SIGKILLed mid-stream. The other takes its slots over at once: every line a
//! receiver had acknowledged is in an archive (each slot's chain on each instance verifies),
//! and every message comes out as its observation: ingest acknowledges a message's first
//! sentence only with its last, so the kill never splits one between the instances.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A base port whose whole range (`deploy --base-port`) is free.
fn free_base() -> u16 {
    let offsets = [1, 2, 3, 11, 12, 13, 21, 22, 23, 30, 81, 82, 91, 92, 93, 94];
    for attempt in 0..200u16 {
        let base = 30_000 + ((std::process::id() + u32::from(attempt)) % 300) as u16 * 100;
        if offsets
            .iter()
            .all(|o| std::net::TcpListener::bind(("127.0.0.1", base + o)).is_ok())
        {
            return base;
        }
    }
    panic!("no free range of ports for deploy");
}

/// GET `path` on 127.0.0.1:`port`; the body.
fn get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out.split_once("\r\n\r\n")?.1.to_owned())
}

/// The slots an ingest instance holds, from its `/metrics`.
fn holds(port: u16) -> BTreeSet<String> {
    get(port, "/metrics")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("tidewatch_ingest_slot_held{slot=\""))
        .filter_map(|l| l.split_once("\"} "))
        .filter(|(_, held)| *held == "1")
        .map(|(slot, _)| slot.to_owned())
        .collect()
}

fn wait_for(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The deploy, stopped (SIGINT, then SIGKILL to its group) when dropped.
struct Deploy(Child);

impl Drop for Deploy {
    fn drop(&mut self) {
        ops_console::engines::signal(&self.0, "INT", false);
        ops_console::engines::reap(&mut self.0, Instant::now() + Duration::from_secs(90));
    }
}

/// What became of one client's try.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// The broker confirmed it (PUBACK, or a SUBACK granting the subscription).
    Done,
    /// Refused: a SUBACK's failure code, a refused CONNACK, or the connection closed.
    Refused,
}

/// What a probe does once connected.
#[derive(Debug, Clone, Copy)]
enum Act<'a> {
    /// Nothing more: done when the connection is accepted.
    Connect,
    /// Publish `(topic, payload)` at QoS 1: done at its PUBACK.
    Publish(&'a str, &'a str),
    /// Subscribe to a filter at QoS 1: done when the SUBACK grants it.
    Subscribe(&'a str),
}

/// One client's try at 127.0.0.1:`port`: client id `id`, logged in as `login` (or
/// anonymously), a clean session or a persistent one (`clean`); it does `act`, then waits
/// for `listen` messages to arrive (or 20 s, or the connection's end) and disconnects. What
/// the broker did, and the payloads that came.
fn probe(
    rt: &tokio::runtime::Runtime,
    port: u16,
    (id, login, clean): (&str, Option<(&str, &str)>, bool),
    act: Act<'_>,
    listen: usize,
) -> (Outcome, Vec<String>) {
    use rumqttc::{
        AsyncClient, ConnectReturnCode, Event, MqttOptions, Packet, QoS, SubscribeReasonCode,
    };
    rt.block_on(async {
        let mut o = MqttOptions::new(id, "127.0.0.1", port);
        o.set_clean_session(clean);
        if let Some((u, p)) = login {
            o.set_credentials(u, p);
        }
        let (c, mut el) = AsyncClient::new(o, 8);
        let mut outcome = None;
        let mut got = Vec::new();
        let attempt = async {
            loop {
                let done = match el.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(a))) => {
                        if a.code != ConnectReturnCode::Success {
                            return Outcome::Refused;
                        }
                        match act {
                            Act::Connect => true,
                            Act::Publish(topic, payload) => {
                                c.publish(topic, QoS::AtLeastOnce, false, payload)
                                    .await
                                    .unwrap();
                                false
                            }
                            Act::Subscribe(filter) => {
                                c.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
                                false
                            }
                        }
                    }
                    Ok(Event::Incoming(Packet::PubAck(_))) => true,
                    Ok(Event::Incoming(Packet::SubAck(s))) => {
                        if !s
                            .return_codes
                            .iter()
                            .all(|r| matches!(r, SubscribeReasonCode::Success(_)))
                        {
                            return Outcome::Refused;
                        }
                        true
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        got.push(String::from_utf8_lossy(&p.payload).into_owned());
                        false
                    }
                    Ok(_) => false,
                    // The broker closed the connection: done if it had done the act (a
                    // listener's end), refused otherwise.
                    Err(_) => return outcome.take().unwrap_or(Outcome::Refused),
                };
                if done {
                    outcome = Some(Outcome::Done);
                }
                if outcome.is_some() && got.len() >= listen {
                    return Outcome::Done;
                }
            }
        };
        let result = match tokio::time::timeout(Duration::from_secs(20), attempt).await {
            Ok(r) => r,
            Err(_) => outcome.expect("the broker answered within 20 s"),
        };
        if result == Outcome::Done {
            // A clean end (no will), then the disconnect sent.
            let _ = c.disconnect().await;
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while el.poll().await.is_ok() {}
            })
            .await;
        }
        (result, got)
    })
}

/// Connect to 127.0.0.1:`port` as `id` (logged in as `login`, or anonymously), with a clean
/// session, and publish at QoS 1 on `topic` (`subscribe` false) or subscribe to it: what the
/// broker did.
fn try_bus(
    rt: &tokio::runtime::Runtime,
    port: u16,
    (id, login): (&str, Option<(&str, &str)>),
    topic: &str,
    subscribe: bool,
) -> Outcome {
    let act = if subscribe {
        Act::Subscribe(topic)
    } else {
        Act::Publish(topic, "{}")
    };
    probe(rt, port, (id, login, true), act, 0).0
}

/// The bus's accounts at work: an anonymous client may publish a raw AIS feed and nothing
/// else, and read nothing; `guest`, RabbitMQ's account with every right, is refused.
fn bus_refuses_what_its_accounts_do_not_allow(rt: &tokio::runtime::Runtime, base: u16) {
    let node = base + 2;
    assert_eq!(
        try_bus(
            rt,
            node,
            ("deploy-probe", None),
            "tidewatch/v1/raw/ais/north/probe",
            false
        ),
        Outcome::Done,
        "an anonymous receiver publishes its raw feed"
    );
    for forged in [
        "tidewatch/v1/alerts/distress",
        "tidewatch/v1/obs/ais/247123456",
        "tidewatch/v1/ingest/instances/ingest-a",
        "tidewatch/v1/patrol/cp-301/tasking",
    ] {
        assert_eq!(
            try_bus(rt, node, ("deploy-probe", None), forged, false),
            Outcome::Refused,
            "an anonymous client published on {forged}"
        );
    }
    for filter in ["tidewatch/v1/obs/#", "tidewatch/v1/alerts/#", "#"] {
        assert_eq!(
            try_bus(rt, node, ("deploy-probe", None), filter, true),
            Outcome::Refused,
            "an anonymous client subscribed to {filter}"
        );
    }
    assert_eq!(
        try_bus(
            rt,
            node,
            ("deploy-probe", Some(("guest", "guest"))),
            "tidewatch/v1/alerts/distress",
            false
        ),
        Outcome::Refused,
        "guest/guest logged in and published an alert"
    );
}

#[test]
fn deploy_runs_the_layout_and_a_killed_ingest_instance_is_taken_over_without_losing_an_acknowledged_line()
 {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    use std::os::unix::process::CommandExt;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args([
            "deploy",
            "--base-port",
            &base.to_string(),
            "--unit",
            "cp-301",
            "--unit",
            "cp-302",
            "--dir",
        ])
        .arg(dir.path().join("deploy"))
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("deploy.log")).unwrap())
        .spawn()
        .expect("tidewatch deploy starts");
    let stdout = child.stdout.take().unwrap();
    let deploy = Deploy(child);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            eprintln!("deploy: {line}");
            if line.contains("tidewatch deploy: ready") {
                let _ = ready_tx.send(());
            }
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(300))
        .unwrap_or_else(|_| {
            panic!(
                "deploy not ready within 300 s: {}",
                std::fs::read_to_string(dir.path().join("deploy.log")).unwrap_or_default()
            )
        });
    let home = dir.path().join("deploy");
    // The layout: each process's command line, both consoles answering.
    let commands = std::fs::read_to_string(home.join("commands.txt")).unwrap();
    for part in [
        "--instance ingest-a",
        "--instance ingest-b",
        "tidewatch-fusion-b",
        "--database postgres://",
    ] {
        assert!(commands.contains(part), "{part} not in {commands}");
    }
    for port in [base + 81, base + 82] {
        assert!(get(port, "/").is_some(), "console on {port} answers");
    }
    // The two instances share the four slots.
    let (ma, mb) = (base + 91, base + 92);
    wait_for(
        "the slots shared by both instances",
        Duration::from_secs(60),
        || {
            let (a, b) = (holds(ma), holds(mb));
            a.len() + b.len() == 4 && a.is_disjoint(&b) && !a.is_empty() && !b.is_empty()
        },
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // A persistent subscriber to the observations, on the third node, as the console.
    let console = (
        "console".to_owned(),
        std::fs::read_to_string(home.join("secrets/console.password"))
            .unwrap()
            .trim()
            .to_owned(),
    );
    let seen =
        ops_console::testkit::observe_ais(&rt, "tidewatch-console-test", base + 3, Some(&console));

    // Receivers in three regions: two named slots and the rest.
    let sources = [
        ("tidewatch/v1/raw/ais/north/r1", "north", 201_000_000),
        ("tidewatch/v1/raw/ais/south/r2", "south", 202_000_000),
        ("tidewatch/v1/raw/ais/west/r3", "rest", 203_000_000),
    ];
    const PER_SOURCE: u32 = 120;
    let streams: Vec<_> = sources
        .iter()
        .map(|(topic, _, first)| {
            let start = "2026-12-05T03:00:00Z".parse().unwrap();
            let fleet = simulators::load::static_fleet(topic, *first, PER_SOURCE, start);
            assert_eq!(fleet.len(), PER_SOURCE as usize);
            (*topic, fleet)
        })
        .collect();
    // Each sentence its own QoS 1 message, each acknowledged by the broker before the next.
    let publisher = ops_console::testkit::AckedSender::connect(&rt, "deploy-test-pub", base + 1);
    let victim_port = if holds(ma).contains("north") { ma } else { mb };
    let victim = if victim_port == ma {
        "ingest-a"
    } else {
        "ingest-b"
    };
    let survivor_port = if victim_port == ma { mb } else { ma };
    let mut acked_lines: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let total = PER_SOURCE as usize * streams.len();
    let mut sent = 0usize;
    let mut takeover = None;
    for i in 0..PER_SOURCE as usize {
        for (topic, msgs) in &streams {
            for line in &msgs[i].1 {
                publisher.send(topic, line);
                acked_lines.entry(topic).or_default().push(line.clone());
            }
            sent += 1;
            if sent == total / 3 {
                // The instance holding `north` dies mid-stream; how long until the survivor
                // holds its slots is timed meanwhile.
                let pid = std::fs::read_to_string(home.join("run").join(format!("{victim}.pid")))
                    .unwrap();
                Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", pid.trim())])
                    .status()
                    .unwrap();
                let killed = Instant::now();
                takeover = Some(std::thread::spawn(move || {
                    while holds(survivor_port).len() < 4
                        && killed.elapsed() < Duration::from_secs(30)
                    {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    killed.elapsed()
                }));
            }
        }
    }
    // The survivor holds every slot, at once (the broker published the lost one's will).
    let taken = takeover.expect("killed").join().unwrap();
    assert!(
        holds(survivor_port).len() == 4,
        "the survivor holds {:?} {taken:?} after the kill",
        holds(survivor_port)
    );

    // Every message's observation.
    let expected: BTreeSet<u32> = streams
        .iter()
        .flat_map(|(_, m)| m.iter().map(|(mmsi, _)| *mmsi))
        .collect();
    // Wait until every one is in (the usual end), or for a minute.
    let deadline = Instant::now() + Duration::from_secs(60);
    let missing = loop {
        let missing: BTreeSet<u32> = expected
            .difference(&seen.lock().unwrap())
            .copied()
            .collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        missing.is_empty(),
        "{} messages never observed: {missing:?}",
        missing.len()
    );

    // A last sentence whose message the killed instance had completed, published and begun
    // acknowledging may come to the survivor alone: archived as an orphan, the only refusal
    // there may be, once per source at most.
    let mut archived: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut orphans = BTreeMap::<String, usize>::new();
    for inst in ["ingest-a", "ingest-b"] {
        let raw = home.join(inst).join("raw");
        for slot in std::fs::read_dir(&raw).unwrap() {
            let slot = slot.unwrap().path();
            ingest::archive::verify(&slot).unwrap_or_else(|e| panic!("{}: {e}", slot.display()));
            for f in ingest::archive::files(&slot).unwrap() {
                for r in ingest::archive::read_file(&f).unwrap() {
                    if r.verdict != "ok" {
                        assert_eq!(
                            r.verdict,
                            "rej:orphan_fragment",
                            "{}",
                            String::from_utf8_lossy(&r.line)
                        );
                        *orphans.entry(r.source.clone()).or_default() += 1;
                    }
                    archived.insert(r.line);
                }
            }
        }
    }
    assert!(orphans.values().all(|n| *n <= 1), "orphans: {orphans:?}");
    for (topic, lines) in &acked_lines {
        for l in lines {
            assert!(
                archived.contains(l.as_bytes()),
                "{topic}: acknowledged line not archived: {l}"
            );
        }
    }
    // `tidewatch verify` on an instance's archive checks each slot's chain, and names the one
    // broken.
    let verify = |dir: &Path| {
        Command::new(env!("CARGO_BIN_EXE_tidewatch"))
            .arg("verify")
            .arg(dir)
            .output()
            .unwrap()
    };
    let survivor = if victim == "ingest-a" {
        "ingest-b"
    } else {
        "ingest-a"
    };
    let raw = home.join(survivor).join("raw");
    let out = verify(&raw);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for slot in ["north", "south", "rest"] {
        assert!(
            said.contains(&format!("raw/{slot}: raw archive intact")),
            "{said}"
        );
    }
    let north = ingest::archive::files(&raw.join("north")).unwrap();
    // Its header altered (a body altered in the newest file is what `--expect-head` is for).
    let mut bytes = std::fs::read(&north[0]).unwrap();
    bytes[0] ^= 0x01;
    std::fs::write(&north[0], bytes).unwrap();
    let out = verify(&raw);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && said.contains("north") && said.contains("BROKEN"),
        "{said}"
    );

    // The administrator's one-time password is for the operator's eyes only.
    use std::os::unix::fs::PermissionsExt;
    let mode = Path::new(&home.join("admin-password.txt"))
        .metadata()
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "admin-password.txt is readable by others");
    eprintln!(
        "deploy: {} lines acknowledged, all archived; {} of {} messages observed; orphans {orphans:?}; {victim} killed at 1/3, every slot held by the survivor {taken:?} after the kill",
        acked_lines.values().map(Vec::len).sum::<usize>(),
        expected.len() - missing.len(),
        expected.len()
    );
    // The bus has accounts: without one a client publishes raw AIS and nothing else, reads
    // nothing; RabbitMQ's own `guest` is gone. (Last: the probe's raw line is archived too.)
    bus_refuses_what_its_accounts_do_not_allow(&rt, base);
    a_unit_given_logs_in_to_its_own_topics_only(&rt, base, &home);
    review_no_account_takes_another_s_session_queue(&rt, base, &home);
    drop(deploy);

    // Started again (`--check`: start, print the layout, stop) without `--unit` and with
    // `--remove-unit cp-302`: cp-301 is kept, cp-302's account is removed from the bus and
    // its password file with it.
    let out = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args([
            "deploy",
            "--check",
            "--base-port",
            &base.to_string(),
            "--dir",
        ])
        .arg(&home)
        .args(["--remove-unit", "cp-302"])
        .output()
        .unwrap();
    let (layout, said) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("unit cp-302 removed from the bus, with its session tidewatch-patrol-cp-302"),
        "{said}"
    );
    assert!(
        layout.contains("unit cp-301") && !layout.contains("unit cp-302"),
        "{layout}"
    );
    assert!(home.join("secrets/units/cp-301.password").exists());
    assert!(!home.join("secrets/units/cp-302.password").exists());
}

/// A unit given to `deploy` (`--unit cp-301`) logs in with the password deploy made for it
/// and publishes its own reports and reads its own taskings, and nothing of another unit's;
/// a wrong password is refused. Its password file is readable by the owner only.
fn a_unit_given_logs_in_to_its_own_topics_only(
    rt: &tokio::runtime::Runtime,
    base: u16,
    home: &Path,
) {
    use std::os::unix::fs::PermissionsExt;
    let file = home.join("secrets/units/cp-301.password");
    let mode = file.metadata().unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "{} is readable by others", file.display());
    let password = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    let unit = (
        "tidewatch-patrol-cp-301",
        Some(("cp-301", password.as_str())),
    );
    let node = base + 3;
    for (topic, subscribe) in [
        ("tidewatch/v1/patrol/cp-301/report", false),
        ("tidewatch/v1/patrol/cp-301/nmea", false),
        ("tidewatch/v1/patrol/cp-301/tasking", true),
    ] {
        assert_eq!(
            try_bus(rt, node, unit, topic, subscribe),
            Outcome::Done,
            "cp-301 on {topic} (subscribe {subscribe})"
        );
    }
    for (topic, subscribe) in [
        ("tidewatch/v1/patrol/cp-302/report", false),
        ("tidewatch/v1/alerts/distress", false),
        ("tidewatch/v1/patrol/cp-302/tasking", true),
        ("tidewatch/v1/patrol/+/tasking", true),
        ("tidewatch/v1/obs/#", true),
    ] {
        assert_eq!(
            try_bus(rt, node, unit, topic, subscribe),
            Outcome::Refused,
            "cp-301 on {topic} (subscribe {subscribe})"
        );
    }
    assert_eq!(
        try_bus(
            rt,
            node,
            (
                "tidewatch-patrol-cp-301",
                Some(("cp-301", "not-its-password"))
            ),
            "tidewatch/v1/patrol/cp-301/report",
            false
        ),
        Outcome::Refused,
        "cp-301 logged in with a wrong password"
    );
}

/// A session's queue is its own: a client connecting with another's client id (a unit with
/// another unit's, an anonymous client with a clean session) neither reads what waits in it
/// nor deletes it. RabbitMQ names a session's queue by the client id alone
/// (`mqtt-subscription-{client id}qos1`) and checks topic permissions on bindings only, so
/// with every account free to use any queue (resource permissions `.*`), cp-301 connecting as
/// `tidewatch-patrol-cp-302` was served cp-302's taskings from its queue, and an anonymous
/// client's clean session deleted the queue and the taskings in it.
fn review_no_account_takes_another_s_session_queue(
    rt: &tokio::runtime::Runtime,
    base: u16,
    home: &Path,
) {
    let password = |f: &str| {
        std::fs::read_to_string(home.join("secrets").join(f))
            .unwrap()
            .trim()
            .to_owned()
    };
    let (cp301, cp302, fusion) = (
        password("units/cp-301.password"),
        password("units/cp-302.password"),
        password("fusion.password"),
    );
    let node = base + 2;
    let session = "tidewatch-patrol-cp-302";
    let tasking = "tidewatch/v1/patrol/cp-302/tasking";
    // cp-302's session, with its subscription, while it is away.
    assert_eq!(
        probe(
            rt,
            node,
            (session, Some(("cp-302", &cp302)), false),
            Act::Subscribe(tasking),
            0
        )
        .0,
        Outcome::Done
    );
    let payload = r#"{"probe":"a tasking waiting for cp-302"}"#;
    let fusion = ("tidewatch-fusion-probe", Some(("fusion", fusion.as_str())));
    assert_eq!(
        probe(
            rt,
            base + 1,
            (fusion.0, fusion.1, true),
            Act::Publish(tasking, payload),
            0
        )
        .0,
        Outcome::Done,
        "fusion publishes a tasking for cp-302"
    );
    // cp-301 subscribes to its own taskings in its own session on that node...
    assert_eq!(
        probe(
            rt,
            node,
            ("tidewatch-patrol-cp-301", Some(("cp-301", &cp301)), false),
            Act::Subscribe("tidewatch/v1/patrol/cp-301/tasking"),
            0
        )
        .0,
        Outcome::Done,
        "cp-301 in its own session"
    );
    // ...but not in cp-302's, logged in as itself with cp-302's client id (its topic
    // permissions allow that binding).
    let (outcome, stolen) = probe(
        rt,
        node,
        (session, Some(("cp-301", &cp301)), false),
        Act::Subscribe("tidewatch/v1/patrol/cp-301/tasking"),
        1,
    );
    assert!(
        outcome == Outcome::Refused && stolen.is_empty(),
        "cp-301 used cp-302's session ({outcome:?}) and read {stolen:?}"
    );
    // An anonymous client with cp-302's client id and a clean session.
    probe(rt, base + 3, (session, None, true), Act::Connect, 0);
    // cp-302 comes back: its tasking waited for it.
    let (outcome, got) = probe(
        rt,
        node,
        (session, Some(("cp-302", &cp302)), false),
        Act::Subscribe(tasking),
        1,
    );
    assert_eq!(outcome, Outcome::Done);
    assert_eq!(got, [payload], "cp-302's tasking lost from its session");
}
