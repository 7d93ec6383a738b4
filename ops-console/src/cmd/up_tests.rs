//! Review 17.5, "internal topics are Tidewatch's own": through the broker, ingest, fusion and
//! the console started as `tidewatch up` starts them.
//!
//! "Never arrives" is proven by order, not by waiting: after the forged message, the topic's
//! rightful publisher sends a proof of life on the same topic filter, and once the service has
//! taken it, it would have taken the forged one before it.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use jiff::Timestamp;
use rumqttc::ConnectionError;
use serde_json::json;

use super::*;
use tidewatch_broker::testkit::{TestClient, wait_until};

type Creds = Option<(String, String)>;

fn creds(c: &Creds) -> Option<(&str, &str)> {
    c.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
}

/// What the tests use of a running `up`.
struct Up {
    stack: Stack,
    /// Ingest's, fusion's and the console's logins (as `up` gives them), and the units'.
    ingest_login: Creds,
    fusion_login: Creds,
    console_login: Creds,
    units: BTreeMap<String, Creds>,
    _dir: tempfile::TempDir,
}

/// `up` on free ports with patrol units cp-301 and cp-302, every service connected.
async fn start_up() -> Up {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(StackConfig {
        mqtt: "127.0.0.1:0".parse().unwrap(),
        http: "127.0.0.1:0".parse().unwrap(),
        data: dir.path().to_owned(),
        reference: None,
        fusion: Default::default(),
        units: vec!["cp-301".into(), "cp-302".into()],
        web: Default::default(),
        remote: None,
        identities: None,
        retain_raw_days: ingest::service::DEFAULT_RETAIN_RAW_DAYS,
        retain_alerts_days: fusion::store::DEFAULT_RETAIN_ALERTS_DAYS,
        retain_rejects_days: fusion::store::DEFAULT_RETAIN_REJECTS_DAYS,
    })
    .await
    .unwrap();
    let login = |c: &Credentials| Some(c.pair());
    let up = Up {
        ingest_login: login(&stack.accounts.ingest),
        fusion_login: login(&stack.accounts.fusion),
        console_login: login(&stack.accounts.console),
        units: stack
            .accounts
            .units
            .iter()
            .map(|(u, c)| (u.clone(), login(c)))
            .collect(),
        stack,
        _dir: dir,
    };
    up.ready().await;
    up
}

impl Up {
    fn addr(&self) -> SocketAddr {
        self.stack.broker.addr()
    }

    /// Every service connected and subscribed: a receiver's line has gone through ingest and
    /// fusion to the console. (Each service subscribes to all its filters at once as it
    /// connects, so these are in place by then too.) Counts in the tests start after it.
    async fn ready(&self) {
        self.stack.ready().await;
        publish_as(
            self.addr(),
            "ready-probe",
            &None,
            "tidewatch/v1/raw/ais/ready",
            ais_line(READY_MMSI).as_bytes(),
        )
        .await;
        wait_until("a receiver's line reaches fusion and the console", || {
            self.stack.fusion.stats().observations >= 1
                && self
                    .stack
                    .console
                    .console
                    .picture()
                    .vessel(READY_MMSI)
                    .is_some()
        })
        .await;
    }

    async fn stop(self) {
        self.stack.shutdown().await.unwrap();
    }
}

/// How a forger fared.
#[derive(Debug, PartialEq)]
enum Forged {
    /// The broker acknowledged the publish.
    Taken,
    /// The broker refused it (closed the connection).
    Refused,
}

/// Connects as `id` (anonymous, or with `login`) and publishes `payload` on `topic` at QoS 1.
async fn forge(addr: SocketAddr, id: &str, login: Creds, topic: &str, payload: &[u8]) -> Forged {
    let mut c = match TestClient::connect(addr, id, creds(&login)).await {
        Ok(c) => c,
        Err(ConnectionError::ConnectionRefused(_)) => return Forged::Refused,
        Err(e) => panic!("forger {id}: {e}"),
    };
    match c.try_publish_acked(topic, payload).await {
        Ok(()) => Forged::Taken,
        Err(_) => Forged::Refused,
    }
}

/// Publishes `payload` on `topic` as `login`, acknowledged.
async fn publish_as(addr: SocketAddr, id: &str, login: &Creds, topic: &str, payload: &[u8]) {
    let mut c = TestClient::connect(addr, id, creds(login)).await.unwrap();
    c.try_publish_acked(topic, payload)
        .await
        .unwrap_or_else(|e| panic!("{id} may publish on {topic}: {e}"));
}

fn alert(id: &str, kind: &str, severity: &str, revision: u32, state: &str) -> Vec<u8> {
    let now = Timestamp::now();
    json!({"id": id, "kind": kind, "severity": severity, "state": state,
        "revision": revision, "time": now, "start": now, "mmsi": [970_111_222], "contacts": [],
        "position": {"lat": 35.2, "lon": 12.9}, "score": 0.9,
        "reasons": ["AIS-SART active"], "rule": format!("{kind}@1"), "params": {}})
    .to_string()
    .into_bytes()
}

fn observation(id: &str, mmsi: u32) -> Vec<u8> {
    let now = Timestamp::now();
    json!({"id": id, "time": now, "time_source": "tag_block", "received_at": now,
        "receivers": ["test"], "data": {"kind": "ais", "mmsi": mmsi, "msg_type": 1,
        "lat": 35.1, "lon": 12.8, "sog_kn": 7.5, "cog_deg": 270.0}})
    .to_string()
    .into_bytes()
}

fn tasking(id: &str, unit: &str) -> Vec<u8> {
    json!({"id": id, "time": Timestamp::now(), "unit": unit, "kind": "sar",
        "alert": "sar_beacon-970111222-1", "instructions": "search", "datum": {"lat": 35.0, "lon": 13.0},
        "distance_nm": 12.0, "eta_min": 40.0})
    .to_string()
    .into_bytes()
}

fn sighting(persons: u32) -> Vec<u8> {
    json!({"type": "sighting", "time": Timestamp::now(), "position": {"lat": 35.71, "lon": 12.94},
        "craft": "rubber_boat", "persons_estimate": persons, "condition": "overcrowded"})
    .to_string()
    .into_bytes()
}

const SART_ALERTS: &str = "tidewatch/v1/alerts/sar_beacon";
/// The vessel of [`Up::ready`]'s line.
const READY_MMSI: u32 = 247_999_001;

/// A receiver's AIS position report (type 1) of `mmsi`, now.
fn ais_line(mmsi: u32) -> String {
    use simulators::ais_encode::{EncodeOptions, TagBlockOptions, encode};
    let mut m = ingest::ais::AisMessage::empty(1);
    m.mmsi = mmsi;
    if let ingest::ais::Body::Position(p) = &mut m.body {
        p.lat = (35.0 * 600_000.0) as i32;
        p.lon = (13.0 * 600_000.0) as i32;
        p.speed = 75;
        p.course = 2700;
        p.heading = 270;
    }
    let opts = EncodeOptions {
        tag: Some(TagBlockOptions {
            source: Some("ready".into()),
            time: Some(Timestamp::now()),
            group_id: 0,
        }),
        ..EncodeOptions::default()
    };
    encode(&m, &opts).unwrap().join("\n")
}
/// A real AIS line (type 1) as a receiver sends it.
const AIS_LINE: &[u8] = b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A";

/// A made-up critical alert, and a real alert republished as retracted at revision 99, from an
/// anonymous local client: the console takes neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_17_5_anonymous_clients_cannot_forge_or_retract_alerts() {
    let up = start_up().await;
    let real = "sar_beacon-970111222-1";
    publish_as(
        up.addr(),
        "review-fusion",
        &up.fusion_login,
        SART_ALERTS,
        &alert(real, "sar_beacon", "critical", 1, "open"),
    )
    .await;
    wait_until("the console has fusion's alert", || {
        up.stack
            .console
            .console
            .picture()
            .alert_with_history(real)
            .is_some()
    })
    .await;

    // Two forgers with ids of their own: reconnecting at once under an id whose
    // connection the broker has just cut may be dropped while the engine tears the old
    // session down, which would say nothing about what a forger may publish.
    let made_up = forge(
        up.addr(),
        "forger-1",
        None,
        SART_ALERTS,
        &alert("sar_beacon-forged-1", "sar_beacon", "critical", 1, "open"),
    )
    .await;
    let retracted = forge(
        up.addr(),
        "forger-2",
        None,
        SART_ALERTS,
        &alert(real, "sar_beacon", "critical", 99, "retracted"),
    )
    .await;
    // Proof of life: fusion's next alert, on the same topic.
    let next = "sar_beacon-970111333-1";
    publish_as(
        up.addr(),
        "review-fusion",
        &up.fusion_login,
        SART_ALERTS,
        &alert(next, "sar_beacon", "critical", 1, "open"),
    )
    .await;
    wait_until("the console has fusion's next alert", || {
        up.stack
            .console
            .console
            .picture()
            .alert_with_history(next)
            .is_some()
    })
    .await;
    {
        let p = up.stack.console.console.picture();
        assert!(
            p.alert_with_history("sar_beacon-forged-1").is_none(),
            "the console took a made-up alert from an anonymous client"
        );
        let (now, _) = p.alert_with_history(real).unwrap();
        assert_eq!(
            (now.revision, now.state.as_str()),
            (1, "open"),
            "an anonymous client retracted a real alert"
        );
        assert!(p.alerts_at(None, true).iter().any(|a| a.id == real));
    }
    assert_eq!((made_up, retracted), (Forged::Refused, Forged::Refused));
    up.stop().await;
}

/// An observation from an anonymous local client reaches neither fusion nor the console.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_17_5_anonymous_clients_cannot_forge_observations() {
    let up = start_up().await;
    let forged = forge(
        up.addr(),
        "forger",
        None,
        "tidewatch/v1/obs/ais/247000111",
        &observation("forged-1", 247_000_111),
    )
    .await;
    publish_as(
        up.addr(),
        "review-ingest",
        &up.ingest_login,
        "tidewatch/v1/obs/ais/247000222",
        &observation("real-1", 247_000_222),
    )
    .await;
    wait_until("fusion and the console have ingest's observation", || {
        up.stack.fusion.stats().observations >= 2
            && up
                .stack
                .console
                .console
                .picture()
                .vessel(247_000_222)
                .is_some()
    })
    .await;
    assert!(
        up.stack
            .console
            .console
            .picture()
            .vessel(247_000_111)
            .is_none(),
        "the console took a forged observation"
    );
    assert_eq!(
        up.stack.fusion.stats().observations,
        2,
        "fusion took a forged observation (besides the ready probe's and ingest's)"
    );
    assert_eq!(forged, Forged::Refused);
    up.stop().await;
}

/// A tasking from an anonymous local client reaches neither the console nor the unit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_17_5_anonymous_clients_cannot_forge_taskings() {
    let up = start_up().await;
    let forged = forge(
        up.addr(),
        "forger",
        None,
        "tidewatch/v1/patrol/cp-301/tasking",
        &tasking("forged-tasking", "cp-301"),
    )
    .await;
    publish_as(
        up.addr(),
        "review-fusion",
        &up.fusion_login,
        "tidewatch/v1/patrol/cp-302/tasking",
        &tasking("real-tasking", "cp-302"),
    )
    .await;
    wait_until("the console has fusion's tasking", || {
        up.stack
            .console
            .console
            .picture()
            .has_tasking("real-tasking")
    })
    .await;
    assert!(
        !up.stack
            .console
            .console
            .picture()
            .has_tasking("forged-tasking"),
        "the console took a forged tasking"
    );
    assert_eq!(forged, Forged::Refused);
    up.stop().await;
}

/// A sighting on cp-302's report topic, from an anonymous client or from cp-301 with its own
/// login, never reaches ingest; cp-302's own does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_17_5_only_a_unit_itself_publishes_its_reports() {
    let up = start_up().await;
    // What ingest makes of cp-302's reports, in the order it made it.
    let mut observations =
        TestClient::connect(up.addr(), "review-observer", creds(&up.console_login))
            .await
            .unwrap();
    assert!(observations.subscribe("tidewatch/v1/obs/#").await);
    let topic = "tidewatch/v1/patrol/cp-302/report";
    let anonymous = forge(up.addr(), "forger", None, topic, &sighting(45)).await;
    let other_unit = forge(
        up.addr(),
        "cp-301",
        up.units["cp-301"].clone(),
        topic,
        &sighting(46),
    )
    .await;
    publish_as(
        up.addr(),
        "cp-302",
        &up.units["cp-302"],
        topic,
        &sighting(47),
    )
    .await;
    // Up to cp-302's own sighting (47 persons), every report ingest made into an observation.
    let mut reported = Vec::new();
    while reported.last() != Some(&47) {
        let o: serde_json::Value =
            serde_json::from_slice(&observations.next_publish().await.payload).unwrap();
        reported.push(
            o["data"]["report"]["persons_estimate"]
                .as_u64()
                .unwrap_or(0),
        );
    }
    assert_eq!(
        reported,
        [47],
        "ingest took sightings in cp-302's name from others"
    );
    assert_eq!((anonymous, other_unit), (Forged::Refused, Forged::Refused));
    up.stop().await;
}

/// The anonymous listener takes raw AIS feeds, and reads nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_17_5_anonymous_clients_publish_raw_ais_and_read_nothing() {
    let up = start_up().await;
    let mut granted = Vec::new();
    for filter in [
        "tidewatch/v1/alerts/#",
        "tidewatch/v1/obs/#",
        "tidewatch/v1/patrol/+/tasking",
        "tidewatch/v1/patrol/cp-301/rejects",
        "tidewatch/v1/raw/ais/#",
        "#",
    ] {
        let id = format!("reader-{}", granted.len() + filter.len());
        let mut c = TestClient::connect(up.addr(), &id, None).await.unwrap();
        if let Ok(true) = c.try_subscribe(filter).await {
            granted.push(filter);
        }
    }
    assert!(granted.is_empty(), "anonymous clients may read {granted:?}");
    let mut receiver = TestClient::connect(up.addr(), "shore", None).await.unwrap();
    receiver
        .try_publish_acked("tidewatch/v1/raw/ais/shore", AIS_LINE)
        .await
        .expect("an anonymous receiver publishes its raw feed");
    wait_until(
        "ingest has the receiver's line (after the ready probe's)",
        || up.stack.ingest.stats().messages >= 2,
    )
    .await;
    up.stop().await;
}

/// Clients connecting with the services' client ids take over nothing: each service keeps its
/// connection and keeps receiving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_17_5_service_client_ids_cannot_be_taken_over() {
    let up = start_up().await;
    let mut squatters = Vec::new();
    for id in [
        "tidewatch-console",
        "tidewatch-ingest",
        "tidewatch-ingest-pub",
        "tidewatch-fusion",
        "tidewatch-fusion-pub",
    ] {
        squatters.push(TestClient::connect(up.addr(), id, None).await.unwrap());
    }
    // Proofs of life, right away: a receiver's line (to ingest, whose observation goes to fusion),
    // fusion's alert (to the console).
    publish_as(
        up.addr(),
        "shore",
        &None,
        "tidewatch/v1/raw/ais/shore",
        AIS_LINE,
    )
    .await;
    let next = "sar_beacon-970111444-1";
    publish_as(
        up.addr(),
        "review-fusion",
        &up.fusion_login,
        SART_ALERTS,
        &alert(next, "sar_beacon", "critical", 1, "open"),
    )
    .await;
    wait_until("the console has fusion's alert", || {
        up.stack
            .console
            .console
            .picture()
            .alert_with_history(next)
            .is_some()
    })
    .await;
    wait_until("fusion has ingest's observation of the line", || {
        up.stack.fusion.stats().observations >= 2
    })
    .await;
    assert_eq!(
        (
            up.stack.ingest.stats().connection_errors,
            up.stack.fusion.stats().connection_errors
        ),
        (0, 0),
        "a squatter cut ingest or fusion off"
    );
    drop(squatters);
    up.stop().await;
}

/// The engine behind the fronts takes no client without the fronts' secret: no one reaches it
/// around the ACL. (It listens on no port since the fronts reach it in process; the secret
/// stays, so that no future listener of it would let a client in around them.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_17_5_the_engine_refuses_clients_without_the_fronts_secret() {
    let up = start_up().await;
    for login in [
        ("tidewatch-front", "not-the-secret"),
        ("tidewatch-console", ""),
        ("ingest", "whatever"),
    ] {
        let answer = up.stack.broker.engine_connack(login).await;
        assert!(
            !matches!(answer, Ok(0)),
            "the engine took {login:?} straight, around the fronts: {answer:?}"
        );
    }
    up.stop().await;
}
