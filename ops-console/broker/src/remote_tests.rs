//! The remote listener as an attacker meets it (review 17 §2): MQTT over TLS only, a client
//! pinning the certificate by its fingerprint, accounts that change while the broker runs, and
//! every refusal counted by its reason.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{ConnectReturnCode, ConnectionError, MqttOptions, TlsConfiguration, Transport};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::testkit::{Received, TestClient, test_config, wait_closed, wait_until};
use super::{Broker, BrokerConfig, BrokerUser, ConfigError, ListenerTls, MQTT_ALPN, Refusal, Role};
use ingest::link::tls::{Identity, pinned_client_config};

const INGEST: Option<(&str, &str)> = Some(("ingest", "pw-ingest"));
const P7: Option<(&str, &str)> = Some(("patrol-7", "pw-patrol-7"));
const P7_NMEA: &str = "tidewatch/v1/patrol/patrol-7/nmea";
const P8_NMEA: &str = "tidewatch/v1/patrol/patrol-8/nmea";

/// The test accounts, with TLS on the authenticated listener (a certificate made now); the
/// fingerprint to pin.
fn tls_config() -> (BrokerConfig, String) {
    let id = Identity::self_signed_ephemeral(&[]).unwrap();
    let mut cfg = test_config();
    cfg.auth_tls = Some(ListenerTls::from_identity(&id).unwrap());
    (cfg, id.fingerprint())
}

/// MQTT over TLS trusting only the certificate `fingerprint`, offering ALPN `alpn`.
fn tls_with(fingerprint: &str, alpn: &[u8]) -> impl FnOnce(&mut MqttOptions) + use<> {
    let mut c = pinned_client_config(fingerprint).unwrap();
    c.alpn_protocols = vec![alpn.to_vec()];
    move |o: &mut MqttOptions| {
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
            Arc::new(c),
        )));
    }
}

/// MQTT over TLS as `tidewatch patrol` speaks it.
fn pinned(fingerprint: &str) -> impl FnOnce(&mut MqttOptions) + use<> {
    tls_with(fingerprint, MQTT_ALPN)
}

/// A unit account made now (as `tidewatch unit add` makes one), its username and password.
fn unit(name: &str) -> (BrokerUser, String, String) {
    let (user, login) = BrokerUser::generated(name, Role::Unit, 1).unwrap();
    let (u, p) = login.pair();
    (user, u, p)
}

fn refused_as_not_authorized(r: Result<TestClient, ConnectionError>, what: &str) {
    match r {
        Err(ConnectionError::ConnectionRefused(code)) => {
            assert_eq!(code, ConnectReturnCode::NotAuthorized, "{what}")
        }
        other => panic!("{what}: expected CONNACK 5, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn review_17_tls_the_remote_listener_takes_mqtt_over_tls_only_and_counts_each_refusal() {
    let (mut cfg, fingerprint) = tls_config();
    cfg.connect_timeout_secs = 1;
    let broker = Broker::start(cfg).await.unwrap();
    let remote = broker.auth_addr().unwrap();
    let mut watcher = TestClient::connect(broker.addr(), "w", INGEST)
        .await
        .unwrap();
    assert!(watcher.subscribe("tidewatch/v1/patrol/+/nmea").await);

    // A unit over TLS, pinning the certificate: its NMEA arrives.
    let mut unit = TestClient::connect_with(remote, "p7", P7, pinned(&fingerprint))
        .await
        .unwrap();
    unit.publish_acked(P7_NMEA, b"$GPRMC,one").await;
    assert_eq!(
        watcher.next_publish().await,
        Received {
            topic: P7_NMEA.into(),
            payload: b"$GPRMC,one".to_vec()
        }
    );

    // Plain MQTT to the TLS port, with the right password: no session.
    assert!(
        TestClient::connect(remote, "plain", P7).await.is_err(),
        "plain MQTT got in"
    );
    // A client pinning another certificate refuses this one (as it would a man in the middle).
    let other = Identity::self_signed_ephemeral(&[]).unwrap().fingerprint();
    match TestClient::connect_with(remote, "p7", P7, pinned(&other)).await {
        Err(ConnectionError::Tls(e)) => {
            assert!(e.to_string().contains("not the pinned"), "{e}")
        }
        other => panic!("a wrong pin: {:?}", other.map(|_| ())),
    }
    // A browser sent here with the console's certificate: another protocol, refused.
    assert!(
        TestClient::connect_with(remote, "web", P7, tls_with(&fingerprint, b"http/1.1"))
            .await
            .is_err()
    );
    // Inside TLS, a wrong password is refused like on any listener.
    refused_as_not_authorized(
        TestClient::connect_with(
            remote,
            "x",
            Some(("patrol-7", "pw-patrol-8")),
            pinned(&fingerprint),
        )
        .await,
        "a wrong password",
    );
    // A peer that opens a connection and says nothing is closed once the timeout is over.
    let mut silent = TcpStream::connect(remote).await.unwrap();
    let opened = Instant::now();
    wait_closed(&mut silent).await;
    let held = opened.elapsed();
    assert!(
        held >= Duration::from_millis(900) && held < Duration::from_secs(3),
        "{held:?}"
    );
    // Another unit's topic, over TLS: the connection ends there.
    assert!(unit.try_publish_acked(P8_NMEA, b"forged").await.is_err());

    wait_until("every refusal is counted", || {
        let s = broker.stats();
        s.refused.get(Refusal::TlsHandshake) == 4
            && s.refused.get(Refusal::BadCredentials) == 1
            && s.refused.get(Refusal::PublishDenied) == 1
    })
    .await;
    let s = broker.stats();
    assert_eq!(s.refused.total(), 6, "{s:?}");
    assert_eq!(
        s.tls_handshakes, 2,
        "the unit and the wrong password: {s:?}"
    );
    assert_eq!(s.auth_sessions, 1, "{s:?}");
    assert_eq!(s.auth_connections, 6, "{s:?}");
    broker.shutdown().await;
}

#[tokio::test]
async fn review_17_tls_revoking_an_account_closes_its_live_connections_at_once() {
    let (cfg, fingerprint) = tls_config();
    let broker = Broker::start(cfg).await.unwrap();
    let (remote, local) = (broker.auth_addr().unwrap(), broker.addr());
    let accounts = broker.accounts();
    let (cp301, u301, p301) = unit("cp-301");
    let (cp302, u302, p302) = unit("cp-302");

    // Unknown until added.
    refused_as_not_authorized(
        TestClient::connect_with(remote, "a", Some((&u301, &p301)), pinned(&fingerprint)).await,
        "before it is added",
    );
    let update = accounts.replace(&[cp301.clone(), cp302.clone()], &[]);
    assert_eq!((update.closed, update.shadowed.len()), (0, 0));
    let mut a = TestClient::connect_with(remote, "a", Some((&u301, &p301)), pinned(&fingerprint))
        .await
        .unwrap();
    assert!(a.subscribe("tidewatch/v1/patrol/cp-301/tasking").await);
    // The other unit on the loopback listener (a unit has one session: a second connection of
    // the same unit would take over the first).
    let mut b = TestClient::connect(local, "b", Some((&u302, &p302)))
        .await
        .unwrap();

    // Revoked: its connection is closed at once; the other unit's stays.
    let revoked_at = Instant::now();
    let update = accounts.replace(std::slice::from_ref(&cp302), std::slice::from_ref(&cp301));
    assert_eq!(update.closed, 1);
    a.closed().await;
    let cut = revoked_at.elapsed();
    assert!(cut < Duration::from_millis(500), "{cut:?}");
    b.publish_acked("tidewatch/v1/patrol/cp-302/nmea", b"still here")
        .await;

    // Its right password is refused now, and counted apart from a wrong one.
    refused_as_not_authorized(
        TestClient::connect_with(remote, "a", Some((&u301, &p301)), pinned(&fingerprint)).await,
        "the revoked unit",
    );
    refused_as_not_authorized(
        TestClient::connect_with(remote, "a", Some((&u301, "guess")), pinned(&fingerprint)).await,
        "a guess at the revoked unit",
    );
    wait_until("counted", || {
        let s = broker.stats();
        s.refused.get(Refusal::Revoked) == 2 && s.refused.get(Refusal::BadCredentials) == 2
    })
    .await;

    // New credentials for cp-302: its connection, made with the old ones on the loopback
    // listener, is closed; the new password logs in, the old one no longer.
    let (cp302_new, login302_new) = BrokerUser::generated("cp-302", Role::Unit, 1).unwrap();
    let update = accounts.replace(
        std::slice::from_ref(&cp302_new),
        std::slice::from_ref(&cp301),
    );
    assert_eq!(update.closed, 1);
    b.closed().await;
    refused_as_not_authorized(
        TestClient::connect_with(remote, "b", Some((&u302, &p302)), pinned(&fingerprint)).await,
        "cp-302's old password",
    );
    TestClient::connect_with(
        remote,
        "b",
        Some(("cp-302", &login302_new.password)),
        pinned(&fingerprint),
    )
    .await
    .unwrap();

    // The accounts the broker was started with are not the store's to replace or revoke.
    let forged = BrokerUser::generated("patrol-7", Role::Receiver, 1)
        .unwrap()
        .0;
    let update = accounts.replace(std::slice::from_ref(&forged), std::slice::from_ref(&forged));
    assert_eq!(update.shadowed, ["patrol-7"]);
    let mut p7 = TestClient::connect_with(remote, "p7", P7, pinned(&fingerprint))
        .await
        .unwrap();
    p7.publish_acked(P7_NMEA, b"a unit still").await;
    broker.shutdown().await;
}

#[tokio::test]
async fn review_17_tls_a_plain_listener_outside_loopback_is_refused_at_start() {
    let mut cfg = test_config();
    cfg.auth_listen = Some("0.0.0.0:0".parse().unwrap());
    match Broker::start(cfg).await {
        Err(super::BrokerError::Config(ConfigError::PlainRemote(a))) => {
            assert_eq!(a, "0.0.0.0:0".parse().unwrap())
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
}

/// Review (issue 24 session): the remote listener held any connection up to its CONNECT
/// deadline with nothing said, 1 024 at once, from anyone: one host opening a hundred
/// connections a second kept it full, and no unit could log in. Once it is more than half
/// full, one address may have at most eight connections not logged in; more are refused at
/// once, counted apart, while a unit from elsewhere logs in; with room to spare an address
/// (units behind one carrier's NAT) is not held to it; once they go, it connects again.
#[tokio::test]
async fn review_one_address_cannot_fill_the_remote_listener_with_silent_connections() {
    use super::front::MAX_UNAUTHENTICATED_PER_ADDRESS;
    use tokio::io::AsyncReadExt as _;
    let (mut cfg, fingerprint) = tls_config();
    assert!(cfg.connect_timeout_secs >= 5);
    cfg.max_connections = 20;
    let broker = Broker::start(cfg).await.unwrap();
    let remote = broker.auth_addr().unwrap();
    let from = |last: u8| async move {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind(([127, 0, 0, last], 0).into()).unwrap();
        s.connect(remote).await.unwrap()
    };
    // Half the listener from one address: more than its share, with room to spare.
    let mut silent = Vec::new();
    for _ in 0..10 {
        silent.push(from(2).await);
    }
    const { assert!(10 > MAX_UNAUTHENTICATED_PER_ADDRESS) };
    wait_until("the silent connections accepted", || {
        broker.stats().auth_connections >= 10
    })
    .await;
    assert_eq!(broker.stats().refused.get(Refusal::AddressBusy), 0);
    // More than half full now: the address is held to its share.
    let started = Instant::now();
    let mut one_more = from(2).await;
    wait_closed(&mut one_more).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "refused only after {:?}",
        started.elapsed()
    );
    assert_eq!(broker.stats().refused.get(Refusal::AddressBusy), 1);
    // A unit from another address logs in meanwhile.
    let mut unit = TestClient::connect_with(remote, "p7", P7, pinned(&fingerprint))
        .await
        .unwrap();
    unit.publish_acked(P7_NMEA, b"$GPRMC,one").await;
    // The silent ones gone, the address connects again: not closed at once.
    drop(silent);
    let mut again = None;
    for _ in 0..100 {
        let mut s = from(2).await;
        let mut b = [0u8; 1];
        if tokio::time::timeout(Duration::from_millis(500), s.read(&mut b))
            .await
            .is_err()
        {
            again = Some(s);
            break;
        }
    }
    assert!(again.is_some(), "the address stayed refused");
}

/// Review (issue 24 session): revoking an account closed its connection without a word to
/// the engine, which then published the connection's will: whoever held the account (stolen
/// credentials, say) could leave a sighting to be published as the unit once revoked. The
/// engine is now told the session ended cleanly, and drops the will.
#[tokio::test]
async fn review_a_revoked_account_s_will_is_not_published() {
    let (cfg, fingerprint) = tls_config();
    let broker = Broker::start(cfg).await.unwrap();
    let (remote, local) = (broker.auth_addr().unwrap(), broker.addr());
    let accounts = broker.accounts();
    let (cp301, u301, p301) = unit("cp-301");
    let (cp302, u302, p302) = unit("cp-302");
    accounts.replace(&[cp301.clone(), cp302.clone()], &[]);
    let mut watcher = TestClient::connect(local, "w", INGEST).await.unwrap();
    assert!(watcher.subscribe("tidewatch/v1/patrol/+/report").await);
    let will_on = pinned(&fingerprint);
    let mut a = TestClient::connect_with(remote, "a", Some((&u301, &p301)), move |o| {
        will_on(o);
        o.set_last_will(rumqttc::LastWill::new(
            "tidewatch/v1/patrol/cp-301/report",
            "FAKE SIGHTING",
            rumqttc::QoS::AtLeastOnce,
            false,
        ));
    })
    .await
    .unwrap();
    a.publish_acked("tidewatch/v1/patrol/cp-301/nmea", b"$GPRMC,here")
        .await;
    let update = accounts.replace(std::slice::from_ref(&cp302), std::slice::from_ref(&cp301));
    assert_eq!(update.closed, 1);
    a.closed().await;
    // A fence: what cp-302 publishes now comes after anything the engine published on the
    // revoked connection's end.
    let mut b = TestClient::connect(local, "b", Some((&u302, &p302)))
        .await
        .unwrap();
    b.publish_acked("tidewatch/v1/patrol/cp-302/report", b"fence")
        .await;
    let next = watcher.next_publish().await;
    assert_eq!(
        next,
        Received {
            topic: "tidewatch/v1/patrol/cp-302/report".into(),
            payload: b"fence".to_vec()
        },
        "the revoked unit's will was published"
    );
}
