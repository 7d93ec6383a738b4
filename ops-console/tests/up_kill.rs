//! An acknowledgement from `tidewatch up` is a promise (issue 18 §1): SIGKILL of `up` at
//! random moments while a receiver streams 10-line messages at QoS 1; after every kill, each
//! line of every message the broker acknowledged is in the raw archive, no line is there
//! twice (the receiver never sends one again), and the hash chain verifies.
//!
//! `up` is the real binary on a fixed port, restarted on the same data directory each round.
//! Rounds: `TIDEWATCH_KILL_ROUNDS` (default 6); the seed of the kill moments is printed, and
//! `TIDEWATCH_KILL_SEED` replays one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};

mod support;

const TOPIC: &str = "tidewatch/v1/raw/ais/kill-test";
const LINES_PER_MESSAGE: usize = 10;

fn start_up(port: u16, data: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args(["up", "--mqtt", &format!("127.0.0.1:{port}")])
        .args(["--http", "127.0.0.1:0", "--data"])
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tidewatch up starts")
}

/// A small deterministic generator for the kill moments.
/// Unique lines of realistic traffic (the load generator's: 10 000 sentences a second of
/// scenario time, class A and B position and static reports), in messages of ten.
fn messages() -> Vec<Vec<u8>> {
    let start: Timestamp = "2026-11-22T02:00:00Z".parse().unwrap();
    let area = simulators::area::area("central-med").unwrap();
    let mut load = simulators::load::Load::new(&area, 10_000, start, 7);
    let mut text = Vec::new();
    for _ in 0..60 {
        load.second(&mut text).unwrap();
    }
    let mut seen = BTreeSet::new();
    let unique: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && seen.insert(*l))
        .collect();
    unique
        .chunks(LINES_PER_MESSAGE)
        .filter(|c| c.len() == LINES_PER_MESSAGE)
        .map(|c| {
            c.iter()
                .flat_map(|l| l.iter().chain(b"\n"))
                .copied()
                .collect()
        })
        .collect()
}

/// One round: a receiver connects to `up` (retrying while it starts), streams messages from
/// `next` on, and `up` is SIGKILLed `kill_after` after the receiver's first PUBACK. Returns the
/// indices of the messages acknowledged, and the index after the last one sent.
async fn round(
    port: u16,
    data: &std::path::Path,
    messages: &Arc<Vec<Vec<u8>>>,
    next: usize,
    kill_after: Duration,
) -> (BTreeSet<usize>, usize) {
    let mut up = start_up(port, data);
    let mut opts = MqttOptions::new("kill-test-receiver", "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut el) = AsyncClient::new(opts, 64);
    // Connect, retrying while `up` starts.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match el.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => break,
            Ok(_) => {}
            Err(_) => {
                assert!(Instant::now() < deadline, "up did not accept the receiver");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    // The publisher: one message after another, as fast as the client's window allows.
    let sent = Arc::new(Mutex::new(next));
    let publisher = {
        let (client, messages, sent) = (client.clone(), messages.clone(), sent.clone());
        tokio::spawn(async move {
            for i in next..messages.len() {
                if client
                    .publish(TOPIC, QoS::AtLeastOnce, false, messages[i].clone())
                    .await
                    .is_err()
                {
                    break;
                }
                *sent.lock().unwrap() = i + 1;
            }
        })
    };
    // The n-th outgoing PUBLISH is message `next + n` (no resends: the client never
    // reconnects); a PUBACK names its packet id.
    let mut outgoing = next;
    let mut in_flight: HashMap<u16, usize> = HashMap::new();
    let mut acked = BTreeSet::new();
    // Past the last message there is nothing to acknowledge: then the kill comes after the
    // connection.
    let mut kill_at = (next >= messages.len()).then(|| Instant::now() + kill_after);
    loop {
        let ev = match kill_at {
            Some(at) => match tokio::time::timeout_at(at.into(), el.poll()).await {
                Ok(ev) => ev,
                Err(_) => break,
            },
            None => el.poll().await,
        };
        match ev {
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                in_flight.insert(pkid, outgoing);
                outgoing += 1;
            }
            Ok(Event::Incoming(Packet::PubAck(a))) => {
                let i = in_flight
                    .remove(&a.pkid)
                    .expect("a PUBACK for a message sent");
                acked.insert(i);
                kill_at.get_or_insert_with(|| Instant::now() + kill_after);
            }
            Ok(_) => {}
            Err(e) => panic!("the receiver lost `up` before the kill: {e}"),
        }
    }
    up.kill().unwrap(); // SIGKILL
    up.wait().unwrap();
    // PUBACKs already on their way count too: read until the connection is gone.
    while let Ok(Ok(ev)) = tokio::time::timeout(Duration::from_secs(5), el.poll()).await {
        match ev {
            Event::Outgoing(Outgoing::Publish(pkid)) => {
                in_flight.insert(pkid, outgoing);
                outgoing += 1;
            }
            Event::Incoming(Packet::PubAck(a)) => {
                if let Some(i) = in_flight.remove(&a.pkid) {
                    acked.insert(i);
                }
            }
            _ => {}
        }
    }
    publisher.abort();
    let sent_to = (*sent.lock().unwrap()).max(outgoing);
    (acked, sent_to)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_up_never_loses_an_acknowledged_line() {
    let (rounds, seed, mut rng) = support::kills("TIDEWATCH_KILL_ROUNDS", 6);
    let messages = Arc::new(messages());
    assert!(messages.len() > 50_000, "{}", messages.len());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let port = support::free_port();

    let mut acked = BTreeSet::new();
    let mut next = 0;
    for r in 0..rounds {
        let kill_after = Duration::from_millis(100 + rng.below(2400));
        let (a, sent_to) = round(port, data, &messages, next, kill_after).await;
        println!(
            "round {r}: killed {kill_after:?} after the first PUBACK; {} of {} messages acknowledged",
            a.len(),
            sent_to - next
        );
        assert!(
            !a.is_empty() || next >= messages.len(),
            "round {r}: nothing was acknowledged"
        );
        acked.extend(a);
        // (Past the last message, a round's receiver just has nothing to send.)
        next = sent_to;
        check(data, &messages, &acked, seed);
    }
}

/// Every line of every acknowledged message is in the archive as the next start finds it,
/// none twice, and the chain verifies.
fn check(data: &std::path::Path, messages: &[Vec<u8>], acked: &BTreeSet<usize>, seed: u64) {
    // The archive as the next start finds it (a torn tail is cut when it is opened).
    let raw = data.join("raw");
    drop(ingest::archive::Archive::open(&raw).unwrap());
    let mut archived: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    for f in ingest::archive::files(&raw).unwrap() {
        for rec in ingest::archive::read_file(&f).unwrap() {
            *archived.entry(rec.line).or_default() += 1;
        }
    }
    let mut missing = Vec::new();
    for &i in acked {
        for line in messages[i].split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            if !archived.contains_key(line) {
                missing.push(String::from_utf8_lossy(line).into_owned());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} acknowledged lines are not in the archive (seed {seed}), e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(3)]
    );
    let twice: Vec<_> = archived.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "{} lines archived twice (seed {seed})",
        twice.len()
    );
    let report = ingest::archive::verify(&raw).unwrap();
    assert_eq!(report.first_break, None, "seed {seed}");
    assert!(report.records as usize >= acked.len() * LINES_PER_MESSAGE);
}
