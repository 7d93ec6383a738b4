//! The broker's PUBACK is a promise ([`super::hold`]): tested with real clients over TCP, the
//! consumers acknowledging by hand as ingest, fusion and the console do.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::testkit::{TestClient, WAIT, test_config, wait_until};
use super::{Broker, BrokerConfig, LogLimits};

const RAW: &str = "tidewatch/v1/raw/ais/shore-3";
const SHORE3: Option<(&str, &str)> = Some(("shore-3", "pw-shore-3"));
const INGEST: (&str, &str) = ("ingest", "pw-ingest");
const FUSION: (&str, &str) = ("fusion", "pw-fusion");
/// Long enough for a PUBACK that was going to come to have come on loopback.
const QUIET: Duration = Duration::from_millis(300);

/// A consumer as the services are: persistent session, QoS 1, acknowledging by hand.
struct Manual {
    client: AsyncClient,
    got: mpsc::UnboundedReceiver<Publish>,
    task: JoinHandle<()>,
}

impl Drop for Manual {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Manual {
    /// Connects as `login` with client id `id` and subscribes to `filter` (again: the session may
    /// have it already), waiting for the SUBACK.
    async fn connect(broker: &Broker, id: &str, login: (&str, &str), filter: &str) -> Self {
        let addr = broker.addr();
        let mut o = MqttOptions::new(id, addr.ip().to_string(), addr.port());
        o.set_clean_session(false);
        o.set_manual_acks(true);
        o.set_credentials(login.0, login.1);
        o.set_keep_alive(Duration::from_secs(5));
        let (client, mut el) = AsyncClient::new(o, 1024);
        let (tx, got) = mpsc::unbounded_channel();
        let (subacked_tx, mut subacked) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let _ = tx.send(p);
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = subacked_tx.send(());
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
        timeout(WAIT, subacked.recv())
            .await
            .expect("SUBACK in time")
            .expect("connected");
        Manual { client, got, task }
    }

    /// Ingest, as `up` runs it: its session and its subscription to raw AIS.
    async fn ingest(broker: &Broker) -> Self {
        Self::connect(broker, "tidewatch-ingest", INGEST, "tidewatch/v1/raw/ais/#").await
    }

    /// The next delivery; panics after [`WAIT`].
    async fn next(&mut self) -> Publish {
        timeout(WAIT, self.got.recv())
            .await
            .expect("a delivery in time")
            .expect("connected")
    }

    /// Is anything delivered within `window`?
    async fn nothing_within(&mut self, window: Duration) -> bool {
        timeout(window, self.got.recv()).await.is_err()
    }

    async fn ack(&self, p: &Publish) {
        self.client.ack(p).await.unwrap();
    }

    /// Leaves cleanly (the persistent session stays at the broker).
    async fn leave(self) {
        let _ = self.client.disconnect().await;
    }
}

/// Publishes `n` messages of 200 bytes to `topic` at QoS 0 (which nothing holds or follows),
/// as client `id` (logged in as `login`, or anonymous), enough to wrap a test broker's log.
async fn flood(
    addr: std::net::SocketAddr,
    id: &str,
    login: Option<(&str, &str)>,
    topic: &str,
    n: usize,
) {
    let mut o = MqttOptions::new(id, addr.ip().to_string(), addr.port());
    if let Some((u, p)) = login {
        o.set_credentials(u, p);
    }
    let (c, mut el) = AsyncClient::new(o, 4096);
    for i in 0..n {
        c.publish(
            topic,
            QoS::AtMostOnce,
            false,
            format!("{i:0200}").into_bytes(),
        )
        .await
        .unwrap();
    }
    c.disconnect().await.unwrap();
    while el.poll().await.is_ok() {}
}

fn keeping() -> BrokerConfig {
    BrokerConfig {
        wait_for_services: true,
        ..test_config()
    }
}

/// The promise of issue 18 §1: a receiver's line is acknowledged only once ingest has
/// acknowledged it, which ingest does only once it is archived and fsync'd. Before ingest has
/// subscribed, the line is not even forwarded (it would be lost: no session keeps it); while
/// ingest is away, its session keeps the line and the PUBACK waits for it to come back.
#[tokio::test]
async fn a_kept_line_is_acknowledged_only_after_ingest_acknowledges_it() {
    let broker = Broker::start(keeping()).await.unwrap();
    let mut receiver = TestClient::connect(broker.addr(), "r", SHORE3)
        .await
        .unwrap();

    // No ingest yet: the line waits at the front, unacknowledged.
    receiver.publish(RAW, b"line 1").await;
    assert_eq!(
        receiver.acked_after(QUIET).await,
        0,
        "acknowledged before ingest subscribed"
    );
    wait_until("the wait is counted", || {
        broker.stats().holds.waited_for_services == 1
    })
    .await;

    // Ingest subscribes and gets it; the receiver's PUBACK waits for ingest's.
    let mut ingest = Manual::ingest(&broker).await;
    let p = ingest.next().await;
    assert_eq!(&p.payload[..], b"line 1");
    assert_eq!(
        receiver.acked_after(QUIET).await,
        0,
        "acknowledged before ingest did"
    );
    let holds = broker.stats().holds;
    assert_eq!(holds.held_now, 1);
    assert_eq!(
        holds.waiting_on.get("ingest@tidewatch-ingest"),
        Some(&1),
        "{holds:?}"
    );
    ingest.ack(&p).await;
    receiver.all_acked().await;

    // Ingest away (its session stays): the next line is kept for it and acknowledged only once
    // it is back and has acknowledged the redelivery.
    ingest.leave().await;
    wait_until("ingest's link is gone", || {
        broker.stats().open_connections == 1
    })
    .await;
    receiver.publish(RAW, b"line 2").await;
    assert_eq!(
        receiver.acked_after(QUIET).await,
        1,
        "acknowledged while ingest was away"
    );
    let mut ingest = Manual::ingest(&broker).await;
    let p = ingest.next().await;
    assert_eq!(&p.payload[..], b"line 2");
    assert_eq!(receiver.acked_after(QUIET).await, 1);
    ingest.ack(&p).await;
    receiver.all_acked().await;

    // The same line twice (a re-send): each publish waits for a delivery of its own.
    receiver.publish(RAW, b"line 3").await;
    receiver.publish(RAW, b"line 3").await;
    let first = ingest.next().await;
    let second = ingest.next().await;
    ingest.ack(&first).await;
    assert_eq!(
        receiver.acked_after(QUIET).await,
        3,
        "one delivery settled two publishes"
    );
    ingest.ack(&second).await;
    receiver.all_acked().await;
    assert_eq!(broker.stats().holds.held_total, 4);
    assert_eq!(broker.stats().holds.held_now, 0);
}

/// Issue 18 §2: a must-see consumer (fusion) slower than its publisher, behind a log far too
/// small for the burst, still gets every message: the publisher is slowed instead. (Without
/// holding, the engine's log wraps and fusion gets a fraction.)
#[tokio::test]
async fn a_slow_must_see_consumer_slows_the_publisher_and_loses_nothing() {
    let broker = Broker::start(BrokerConfig {
        // 64 KiB of log for the filter: room for the publisher's window of 100 messages, and
        // an eighth of the burst.
        log: LogLimits {
            segment_bytes: 16 * 1024,
            segments: 4,
        },
        ..test_config()
    })
    .await
    .unwrap();
    let mut fusion =
        Manual::connect(&broker, "tidewatch-fusion", FUSION, "tidewatch/v1/obs/#").await;
    let mut ingest = TestClient::connect(broker.addr(), "tidewatch-ingest-pub", Some(INGEST))
        .await
        .unwrap();
    const N: u32 = 2000;
    let burst = async {
        for i in 0..N {
            ingest
                .publish("tidewatch/v1/obs/ais/1", format!("{i:0250}").as_bytes())
                .await;
        }
        ingest.all_acked().await;
    };
    let slow = async {
        let mut got = Vec::new();
        while got.len() < N as usize {
            let p = fusion.next().await;
            tokio::time::sleep(Duration::from_micros(300)).await;
            got.push(
                std::str::from_utf8(&p.payload)
                    .unwrap()
                    .parse::<u32>()
                    .unwrap(),
            );
            fusion.ack(&p).await;
        }
        got
    };
    let ((), got) = tokio::join!(burst, slow);
    assert_eq!(
        got,
        (0..N).collect::<Vec<_>>(),
        "fusion lost or reordered messages"
    );
    assert!(fusion.nothing_within(QUIET).await);
    let holds = broker.stats().holds;
    assert_eq!(holds.held_total, u64::from(N));
    assert_eq!((holds.held_now, holds.lost.len()), (0, 0), "{holds:?}");
}

/// What the engine skips for a keeper anyway (here: while ingest is away, a flood of QoS 0
/// lines, which nothing holds, wraps its session's 16 KiB log past a QoS 1 line) is not
/// acknowledged: it is counted as lost for ingest, and the publisher's connection is closed
/// without the PUBACK, so that it sends the line again.
#[tokio::test]
async fn a_line_the_engine_skipped_for_ingest_is_never_acknowledged() {
    let broker = Broker::start(keeping()).await.unwrap();
    // Ingest's session exists, and ingest is away (nothing is delivered meanwhile).
    Manual::ingest(&broker).await.leave().await;
    wait_until("ingest's link is gone", || {
        broker.stats().open_connections == 0
    })
    .await;
    let mut receiver = TestClient::connect(broker.addr(), "r", SHORE3)
        .await
        .unwrap();
    let addr = broker.addr();
    // The held line, then enough to wrap the log past it. (Anonymous local feeds may publish
    // raw AIS; a second shore-3 connection would take over the receiver's session.)
    receiver.publish(RAW, b"the held line").await;
    flood(addr, "flood", None, RAW, 400).await;
    // Ingest comes back, reads and acknowledges everything it gets, and a later held line
    // proves it has moved past the skipped one.
    let mut ingest = Manual::ingest(&broker).await;
    let mut saw_held = false;
    let reader = async {
        loop {
            let p = ingest.next().await;
            saw_held |= &p.payload[..] == b"the held line";
            ingest.ack(&p).await;
            if &p.payload[..] == b"later" {
                break;
            }
        }
    };
    let mut later = TestClient::connect(addr, "later", None).await.unwrap();
    let ((), ()) = tokio::join!(
        later.publish_acked("tidewatch/v1/raw/ais/local", b"later"),
        reader
    );
    assert!(
        !saw_held,
        "the engine did deliver the held line: the test did not wrap the log"
    );
    // Counted as lost for ingest, and the receiver is cut off without its PUBACK.
    receiver.closed().await;
    let holds = broker.stats().holds;
    assert_eq!(
        holds.lost.get(&(
            "ingest@tidewatch-ingest".to_owned(),
            "tidewatch/v1/raw/ais/#".to_owned()
        )),
        Some(&1),
        "{holds:?}"
    );
    assert_eq!(holds.resend_closes, 1);
    assert_eq!(holds.held_now, 0);
}

/// Services first (`up` starts its broker before its services subscribe): an observation ingest
/// publishes before fusion *and* the console listen is not forwarded — the engine would keep it
/// for no one — but waits, and reaches both once both have subscribed.
#[tokio::test]
async fn an_observation_waits_until_fusion_and_the_console_listen() {
    let broker = Broker::start(keeping()).await.unwrap();
    let mut ingest = TestClient::connect(broker.addr(), "tidewatch-ingest-pub", Some(INGEST))
        .await
        .unwrap();
    ingest.publish("tidewatch/v1/obs/ais/1", b"early").await;
    let mut fusion =
        Manual::connect(&broker, "tidewatch-fusion", FUSION, "tidewatch/v1/obs/#").await;
    assert!(
        fusion.nothing_within(QUIET).await,
        "forwarded before the console listened"
    );
    assert_eq!(ingest.acked_after(Duration::ZERO).await, 0);
    let mut console = Manual::connect(
        &broker,
        "tidewatch-console",
        ("console", "pw-console"),
        "tidewatch/v1/obs/#",
    )
    .await;
    let (f, c) = (fusion.next().await, console.next().await);
    assert_eq!(
        (&f.payload[..], &c.payload[..]),
        (&b"early"[..], &b"early"[..])
    );
    fusion.ack(&f).await;
    assert_eq!(
        ingest.acked_after(QUIET).await,
        0,
        "acknowledged before the console had it"
    );
    console.ack(&c).await;
    ingest.all_acked().await;
    assert_eq!(broker.stats().holds.waited_for_services, 1);
}

/// A must-see consumer that stays connected but acknowledges nothing (hung) holds its
/// publishers for its grace only: then it is released (counted) and they go on; when it
/// acknowledges again it is waited for again. (Ingest, whose acknowledgement means "archived",
/// is never released: see the first test.)
#[tokio::test]
async fn a_hung_must_see_consumer_holds_publishers_for_its_grace_only() {
    let broker = Broker::start(test_config()).await.unwrap();
    let mut fusion =
        Manual::connect(&broker, "tidewatch-fusion", FUSION, "tidewatch/v1/obs/#").await;
    let mut ingest = TestClient::connect(broker.addr(), "tidewatch-ingest-pub", Some(INGEST))
        .await
        .unwrap();
    ingest.publish("tidewatch/v1/obs/ais/1", b"one").await;
    let first = fusion.next().await;
    assert_eq!(
        ingest.acked_after(QUIET).await,
        0,
        "not held for the consumer"
    );
    // Hung past its grace (2 s in these tests; 60 s in service): released.
    ingest.all_acked().await;
    assert_eq!(broker.stats().holds.released_sessions, 1);
    // What waited for it, acknowledged to the publisher at the release, is counted for it.
    let unconfirmed = broker.stats().holds.unconfirmed;
    assert_eq!(
        unconfirmed
            .iter()
            .filter(|(s, _)| s.contains("tidewatch-fusion"))
            .map(|(_, n)| *n)
            .sum::<u64>(),
        1,
        "{unconfirmed:?}"
    );
    // It acknowledges again: waited for again.
    fusion.ack(&first).await;
    ingest.publish("tidewatch/v1/obs/ais/1", b"two").await;
    let second = fusion.next().await;
    assert_eq!(ingest.acked_after(QUIET).await, 1, "not waited for again");
    fusion.ack(&second).await;
    ingest.all_acked().await;
}

/// QoS 2 is no way around it: the PUBREC that hands a QoS 2 publisher's message over is held
/// like a PUBACK, until ingest has the line (the front bridges QoS 2 to the engine as QoS 1,
/// and completes the flow with PUBCOMP itself).
#[tokio::test]
async fn a_qos2_receipt_waits_for_ingest_too() {
    let broker = Broker::start(keeping()).await.unwrap();
    let mut ingest = Manual::ingest(&broker).await;
    let addr = broker.addr();
    let mut o = MqttOptions::new("qos2", addr.ip().to_string(), addr.port());
    o.set_credentials("shore-3", "pw-shore-3");
    let (c, mut el) = AsyncClient::new(o, 16);
    let (rec_tx, mut recs) = mpsc::unbounded_channel();
    let _task = tokio::spawn(async move {
        while let Ok(ev) = el.poll().await {
            match ev {
                Event::Incoming(Packet::PubRec(_)) => {
                    let _ = rec_tx.send("PUBREC");
                }
                Event::Incoming(Packet::PubComp(_)) => {
                    let _ = rec_tx.send("PUBCOMP");
                }
                _ => {}
            }
        }
    });
    c.publish(RAW, QoS::ExactlyOnce, false, b"exactly once".to_vec())
        .await
        .unwrap();
    let p = ingest.next().await;
    assert_eq!(&p.payload[..], b"exactly once");
    assert!(
        timeout(QUIET, recs.recv()).await.is_err(),
        "PUBREC before ingest acknowledged"
    );
    ingest.ack(&p).await;
    let mut next = async || timeout(WAIT, recs.recv()).await.ok().flatten();
    assert_eq!(next().await, Some("PUBREC"), "once ingest has the line");
    assert_eq!(next().await, Some("PUBCOMP"), "the flow completes");
    assert!(ingest.nothing_within(QUIET).await, "delivered twice");
}

/// A unit is followed, never waited for (it may be at sea for hours): a tasking the engine
/// skips for it while it is away (its log wrapped) is counted as lost for the unit, and the
/// publisher was acknowledged at once all the same.
#[tokio::test]
async fn a_message_the_engine_skipped_for_a_unit_is_counted_for_it() {
    const TASKING: &str = "tidewatch/v1/patrol/patrol-7/tasking";
    let broker = Broker::start(test_config()).await.unwrap();
    let unit = Manual::connect(&broker, "patrol-7", ("patrol-7", "pw-patrol-7"), TASKING).await;
    unit.leave().await;
    wait_until("the unit's link is gone", || {
        broker.stats().open_connections == 0
    })
    .await;
    let mut fusion = TestClient::connect(broker.addr(), "tidewatch-fusion-pub", Some(FUSION))
        .await
        .unwrap();
    // Not held: the unit is away, and nobody waits for a unit.
    fusion.publish_acked(TASKING, b"the tasking").await;
    assert_eq!(broker.stats().holds.held_now, 0);
    // Then enough at QoS 0 (which nothing follows) to wrap the log past it.
    flood(
        broker.addr(),
        "tidewatch-fusion-flood",
        Some(FUSION),
        TASKING,
        400,
    )
    .await;
    // The unit comes back, reads and acknowledges what it gets; a later tasking shows it has
    // moved past the skipped one.
    let mut unit = Manual::connect(&broker, "patrol-7", ("patrol-7", "pw-patrol-7"), TASKING).await;
    fusion.publish_acked(TASKING, b"later").await;
    let mut saw = false;
    loop {
        let p = unit.next().await;
        saw |= &p.payload[..] == b"the tasking";
        unit.ack(&p).await;
        if &p.payload[..] == b"later" {
            break;
        }
    }
    assert!(
        !saw,
        "the engine did deliver it: the test did not wrap the log"
    );
    wait_until("the skipped tasking is counted for the unit", || {
        broker
            .stats()
            .holds
            .lost
            .iter()
            .any(|((s, f), n)| s.contains("patrol-7") && f == TASKING && *n == 1)
    })
    .await;
    let holds = broker.stats().holds;
    assert_eq!(holds.resend_closes, 0, "{holds:?}");
    assert_eq!(holds.held_total, 0, "{holds:?}");
}

/// Review 23: what is published while a must-see consumer is released past its grace (fusion
/// stalled on a full disk, or away) is counted for it as not vouched for — the release cost
/// nothing visible before — and once it acknowledges again it is waited for again.
#[tokio::test]
async fn what_is_published_while_a_must_see_consumer_is_released_is_counted() {
    const OBS: &str = "tidewatch/v1/obs/ais/247000001";
    let broker = Broker::start(test_config()).await.unwrap();
    let fusion = Manual::connect(&broker, "tidewatch-fusion", FUSION, "tidewatch/v1/obs/#").await;
    fusion.leave().await;
    let mut ingest = TestClient::connect(broker.addr(), "tidewatch-ingest-pub", Some(INGEST))
        .await
        .unwrap();
    wait_until("fusion released", || {
        broker.stats().holds.released_sessions == 1
    })
    .await;
    let unconfirmed = |b: &Broker| {
        b.stats()
            .holds
            .unconfirmed
            .iter()
            .filter(|(s, _)| s.contains("tidewatch-fusion"))
            .map(|(_, n)| *n)
            .sum::<u64>()
    };
    assert_eq!(unconfirmed(&broker), 0);
    for i in 0..3 {
        ingest
            .publish_acked(OBS, format!("while released {i}").as_bytes())
            .await;
    }
    assert_eq!(unconfirmed(&broker), 3);
    // Back, and acknowledging: waited for again, nothing more counted.
    let mut fusion =
        Manual::connect(&broker, "tidewatch-fusion", FUSION, "tidewatch/v1/obs/#").await;
    let p = fusion.next().await;
    fusion.ack(&p).await;
    ingest.publish(OBS, b"later").await;
    loop {
        let p = fusion.next().await;
        fusion.ack(&p).await;
        if &p.payload[..] == b"later" {
            break;
        }
    }
    ingest.all_acked().await;
    assert_eq!(unconfirmed(&broker), 3);
}

/// The engine lets a subscriber have up to 1000 deliveries unacknowledged, not rumqttd's 100
/// (`vendor/rumqttd/PATCH.md`): the services acknowledge only what they have kept, and with a
/// window of 100 every hundred raw messages waited a round trip through ingest and fusion.
#[tokio::test]
async fn a_subscriber_may_have_many_more_than_a_hundred_deliveries_unacknowledged() {
    const TASKING: &str = "tidewatch/v1/patrol/patrol-7/tasking";
    const N: usize = 300;
    let cfg = BrokerConfig {
        log: LogLimits {
            segment_bytes: 1 << 20,
            segments: 4,
        },
        ..test_config()
    };
    let broker = Broker::start(cfg).await.unwrap();
    // A unit is never waited for: fusion's publishes are acknowledged at once.
    let mut unit = Manual::connect(&broker, "patrol-7", ("patrol-7", "pw-patrol-7"), TASKING).await;
    let mut fusion = TestClient::connect(broker.addr(), "tidewatch-fusion-pub", Some(FUSION))
        .await
        .unwrap();
    for i in 0..N {
        fusion.publish(TASKING, format!("{i}").as_bytes()).await;
    }
    fusion.all_acked().await;
    // The unit acknowledges none, and gets every one, in order.
    for i in 0..N {
        let p = unit.next().await;
        assert_eq!(p.payload, format!("{i}").as_bytes(), "delivery {i}");
    }
    assert!(unit.nothing_within(Duration::from_millis(300)).await);
}
