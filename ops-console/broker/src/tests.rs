//! End-to-end tests of [`Broker`] with a real MQTT client (rumqttc) over TCP.
//!
//! "Nothing arrives" is proven by order, not by waiting: after the refused packet, a client that
//! may publish there sends a sentinel on the same subscription, and the sentinel must be the next
//! message. (The front never forwards a refused packet, so nothing can arrive later.)
//!
//! Watchers log in as the services whose topics they read: `ingest` reads what units and
//! receivers send, `console` what ingest and fusion send.

use std::time::Duration;

use rumqttc::{ConnectReturnCode, ConnectionError};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::testkit::{Received, TestClient, test_config, wait_closed, wait_until};
use super::{Broker, BrokerConfig, Refusal};

async fn start() -> Broker {
    Broker::start(test_config()).await.unwrap()
}

fn msg(topic: &str, payload: &[u8]) -> Received {
    Received {
        topic: topic.into(),
        payload: payload.to_vec(),
    }
}

const P7_NMEA: &str = "tidewatch/v1/patrol/patrol-7/nmea";
const P8_NMEA: &str = "tidewatch/v1/patrol/patrol-8/nmea";
const INGEST: Option<(&str, &str)> = Some(("ingest", "pw-ingest"));
const FUSION: Option<(&str, &str)> = Some(("fusion", "pw-fusion"));
const CONSOLE: Option<(&str, &str)> = Some(("console", "pw-console"));
const P8: Option<(&str, &str)> = Some(("patrol-8", "pw-patrol-8"));

#[tokio::test]
async fn anonymous_loopback_client_publishes_qos1_and_another_receives() {
    let broker = start().await;
    assert_ne!(broker.addr().port(), 0, "the bound port is reported");
    assert!(broker.addr().ip().is_loopback());
    // Ingest, logged in on the loopback listener.
    let mut sub = TestClient::connect(broker.addr(), "sub", INGEST)
        .await
        .unwrap();
    assert!(sub.subscribe("tidewatch/v1/raw/ais/+").await);
    let mut publisher = TestClient::connect(broker.addr(), "pub", None)
        .await
        .unwrap();
    publisher
        .publish_acked(
            "tidewatch/v1/raw/ais/local",
            b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*23",
        )
        .await;
    assert_eq!(
        sub.next_publish().await,
        msg(
            "tidewatch/v1/raw/ais/local",
            b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*23"
        )
    );
    let stats = broker.stats();
    assert_eq!(stats.loopback_connections, 2);
    assert_eq!(stats.refused.total(), 0);
    broker.shutdown().await;
}

#[tokio::test]
async fn unit_publishes_under_its_own_prefix_only() {
    let broker = start().await;
    let auth = broker.auth_addr().unwrap();
    let mut watcher = TestClient::connect(broker.addr(), "watcher", INGEST)
        .await
        .unwrap();
    assert!(watcher.subscribe("tidewatch/v1/patrol/+/nmea").await);

    let mut unit = TestClient::connect(auth, "p7", Some(("patrol-7", "pw-patrol-7")))
        .await
        .unwrap();
    unit.publish_acked(P7_NMEA, b"$GPRMC,one").await;
    assert_eq!(watcher.next_publish().await, msg(P7_NMEA, b"$GPRMC,one"));

    unit.publish(P8_NMEA, b"$GPRMC,forged").await;
    // The front closes the connection; rumqttc reports it as MqttState(ConnectionAborted).
    unit.closed().await;

    // patrol-8 itself, logged in on the loopback listener.
    let mut p8 = TestClient::connect(broker.addr(), "p8", P8).await.unwrap();
    p8.publish_acked(P8_NMEA, b"sentinel").await;
    assert_eq!(watcher.next_publish().await, msg(P8_NMEA, b"sentinel"));

    let stats = broker.stats();
    assert_eq!(stats.refused.get(Refusal::PublishDenied), 1);
    assert_eq!(stats.refused.total(), 1);
    assert_eq!(stats.auth_sessions, 1);
}

#[tokio::test]
async fn wrong_password_unknown_user_and_anonymous_are_refused_at_connect() {
    let broker = start().await;
    let auth = broker.auth_addr().unwrap();
    for creds in [
        Some(("patrol-7", "pw-patrol-8")),
        Some(("patrol-7", "")),
        Some(("patrol-9", "pw-patrol-9")),
        None,
    ] {
        match TestClient::connect(auth, "x", creds).await {
            Err(ConnectionError::ConnectionRefused(code)) => {
                assert_eq!(code, ConnectReturnCode::NotAuthorized, "{creds:?}")
            }
            other => panic!(
                "{creds:?}: expected a refused CONNECT, got {:?}",
                other.map(|_| ())
            ),
        }
    }
    let stats = broker.stats();
    assert_eq!(stats.refused.get(Refusal::BadCredentials), 3);
    assert_eq!(stats.refused.get(Refusal::NoCredentials), 1);
    assert_eq!(stats.auth_sessions, 0);
    // The right password still works.
    TestClient::connect(auth, "x", Some(("patrol-7", "pw-patrol-7")))
        .await
        .unwrap();
}

#[tokio::test]
async fn receiver_publishes_its_raw_topic_only() {
    let broker = start().await;
    let auth = broker.auth_addr().unwrap();
    let mut watcher = TestClient::connect(broker.addr(), "watcher", INGEST)
        .await
        .unwrap();
    assert!(watcher.subscribe("tidewatch/v1/raw/ais/#").await);
    assert!(watcher.subscribe("tidewatch/v1/patrol/+/nmea").await);
    let creds = Some(("shore-3", "pw-shore-3"));

    let mut rx = TestClient::connect(auth, "rx", creds).await.unwrap();
    rx.publish_acked("tidewatch/v1/raw/ais/shore-3", b"!AIVDM,ok")
        .await;
    assert_eq!(
        watcher.next_publish().await,
        msg("tidewatch/v1/raw/ais/shore-3", b"!AIVDM,ok")
    );

    // Another source's topic, a sub-topic of its own, a unit's topic: each closes the connection.
    for topic in [
        "tidewatch/v1/raw/ais/shore-4",
        "tidewatch/v1/raw/ais/shore-3/x",
        P7_NMEA,
    ] {
        let mut rx = TestClient::connect(auth, "rx", creds).await.unwrap();
        rx.publish(topic, b"forged").await;
        rx.closed().await;
    }
    // A receiver subscribes to nothing.
    let mut rx = TestClient::connect(auth, "rx", creds).await.unwrap();
    rx.subscribe_nowait("tidewatch/v1/raw/ais/shore-3").await;
    rx.closed().await;

    let mut local = TestClient::connect(broker.addr(), "local", None)
        .await
        .unwrap();
    local
        .publish_acked("tidewatch/v1/raw/ais/shore-4", b"sentinel")
        .await;
    assert_eq!(
        watcher.next_publish().await,
        msg("tidewatch/v1/raw/ais/shore-4", b"sentinel")
    );
    let stats = broker.stats();
    assert_eq!(stats.refused.get(Refusal::PublishDenied), 3);
    assert_eq!(stats.refused.get(Refusal::SubscribeDenied), 1);
}

#[tokio::test]
async fn unit_reads_its_own_tasking_only_and_may_not_retain() {
    let broker = start().await;
    let auth = broker.auth_addr().unwrap();
    let p7 = Some(("patrol-7", "pw-patrol-7"));

    let mut unit = TestClient::connect(auth, "p7", p7).await.unwrap();
    assert!(unit.subscribe("tidewatch/v1/patrol/patrol-7/tasking").await);
    let mut fusion = TestClient::connect(auth, "fusion", FUSION).await.unwrap();
    fusion
        .publish_acked(
            "tidewatch/v1/patrol/patrol-7/tasking",
            b"{\"kind\":\"sar\"}",
        )
        .await;
    assert_eq!(
        unit.next_publish().await,
        msg(
            "tidewatch/v1/patrol/patrol-7/tasking",
            b"{\"kind\":\"sar\"}"
        )
    );

    for filter in [
        "tidewatch/v1/patrol/+/tasking",
        "tidewatch/v1/patrol/patrol-8/tasking",
        "#",
    ] {
        let mut unit = TestClient::connect(auth, "p7", p7).await.unwrap();
        unit.subscribe_nowait(filter).await;
        unit.closed().await;
    }
    let mut unit = TestClient::connect(auth, "p7", p7).await.unwrap();
    unit.publish_with(P7_NMEA, b"retained", true).await;
    unit.closed().await;

    let stats = broker.stats();
    assert_eq!(stats.refused.get(Refusal::SubscribeDenied), 3);
    assert_eq!(stats.refused.get(Refusal::RetainDenied), 1);
}

#[tokio::test]
async fn garbage_and_oversized_packets_close_only_that_connection() {
    let broker = start().await;
    let auth = broker.auth_addr().unwrap();
    let mut watcher = TestClient::connect(broker.addr(), "watcher", INGEST)
        .await
        .unwrap();
    assert!(watcher.subscribe("tidewatch/v1/patrol/+/nmea").await);
    let mut unit = TestClient::connect(auth, "p7", Some(("patrol-7", "pw-patrol-7")))
        .await
        .unwrap();

    // Not MQTT at all.
    let mut s = TcpStream::connect(auth).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(wait_closed(&mut s).await.is_empty());
    // A CONNECT header announcing 2 MiB: closed before the body is read.
    let mut s = TcpStream::connect(auth).await.unwrap();
    s.write_all(&[0x10, 0x80, 0x80, 0x80, 0x01]).await.unwrap();
    assert!(wait_closed(&mut s).await.is_empty());
    // A CONNECT of 128 KiB: under max_packet_bytes, over the 64 KiB allowed before authentication.
    let mut s = TcpStream::connect(auth).await.unwrap();
    s.write_all(&[0x10, 0x80, 0x80, 0x08]).await.unwrap();
    assert!(wait_closed(&mut s).await.is_empty());
    // A remaining length of five bytes.
    let mut s = TcpStream::connect(auth).await.unwrap();
    s.write_all(&[0x10, 0xff, 0xff, 0xff, 0xff, 0x7f])
        .await
        .unwrap();
    wait_closed(&mut s).await;
    // MQTT 5: CONNACK 1 (unacceptable protocol version), then closed.
    let mut s = TcpStream::connect(auth).await.unwrap();
    s.write_all(&[0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 5, 2, 0, 10, 0, 0, 0])
        .await
        .unwrap();
    assert_eq!(wait_closed(&mut s).await, [0x20, 2, 0, 1]);
    // An authenticated service sending a 2 MiB PUBLISH.
    let mut big = TestClient::connect_with(auth, "big", INGEST, |o| {
        o.set_max_packet_size(4 << 20, 4 << 20);
    })
    .await
    .unwrap();
    big.publish("tidewatch/v1/obs/ais/247123456", &vec![b'x'; 2 << 20])
        .await;
    big.closed().await;
    // A connection that never sends its CONNECT is closed after connect_timeout_secs; not waited
    // for here.

    // Everyone else is unaffected.
    unit.publish_acked(P7_NMEA, b"still here").await;
    assert_eq!(watcher.next_publish().await, msg(P7_NMEA, b"still here"));

    let stats = broker.stats();
    assert_eq!(stats.refused.get(Refusal::Malformed), 2, "{stats:?}");
    assert_eq!(stats.refused.get(Refusal::Oversized), 3, "{stats:?}");
    assert_eq!(stats.refused.get(Refusal::ProtocolVersion), 1, "{stats:?}");
}

#[tokio::test]
async fn a_unit_client_id_cannot_take_over_another_session() {
    let broker = start().await;
    let auth = broker.auth_addr().unwrap();
    // A local service with client id "ingest-1"; patrol-8 connects claiming the same id.
    let mut service = TestClient::connect(broker.addr(), "ingest-1", INGEST)
        .await
        .unwrap();
    assert!(service.subscribe("tidewatch/v1/patrol/+/nmea").await);
    let mut unit = TestClient::connect(auth, "ingest-1", Some(("patrol-8", "pw-patrol-8")))
        .await
        .unwrap();
    unit.publish_acked(P8_NMEA, b"hello").await;
    // The service's session survived and receives the unit's message.
    assert_eq!(service.next_publish().await, msg(P8_NMEA, b"hello"));
}

#[tokio::test]
async fn shutdown_closes_listeners_and_clients() {
    let broker = start().await;
    let (addr, auth) = (broker.addr(), broker.auth_addr().unwrap());
    let mut local = TestClient::connect(addr, "local", None).await.unwrap();
    let mut unit = TestClient::connect(auth, "p7", Some(("patrol-7", "pw-patrol-7")))
        .await
        .unwrap();
    assert_eq!(broker.stats().open_connections, 2);
    broker.shutdown().await;
    local.closed().await;
    unit.closed().await;
    assert!(TcpStream::connect(addr).await.is_err());
    assert!(TcpStream::connect(auth).await.is_err());
}

#[tokio::test]
async fn start_refuses_a_bad_config_and_a_taken_port() {
    let mut cfg = test_config();
    cfg.listen = "0.0.0.0:0".parse().unwrap();
    assert!(Broker::start(cfg).await.is_err());

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let cfg = BrokerConfig {
        listen: taken.local_addr().unwrap(),
        ..BrokerConfig::default()
    };
    let err = Broker::start(cfg).await.unwrap_err().to_string();
    assert!(err.contains("cannot listen"), "{err}");
}

#[tokio::test]
async fn loopback_only_when_no_auth_listener() {
    let broker = Broker::start(BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..BrokerConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(broker.auth_addr(), None);
    let _c = TestClient::connect(broker.addr(), "c", None).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), broker.shutdown())
        .await
        .unwrap();
}

/// The log bound reaches the engine: a persistent-session subscriber that was away while 500
/// messages (about 55 KiB counted) went by gets back only the newest ones that fit the test's
/// 4 × 4 KiB log, in order, ending with the last.
#[tokio::test]
async fn the_log_bound_limits_what_an_absent_subscriber_gets_back() {
    let broker = start().await;
    let persistent = |o: &mut rumqttc::MqttOptions| {
        o.set_clean_session(false);
    };
    let mut sub = TestClient::connect_with(broker.addr(), "slow", CONSOLE, persistent)
        .await
        .unwrap();
    assert!(sub.subscribe("tidewatch/v1/obs/#").await);
    sub.disconnect().await;
    // The relay ends once the engine has closed the link, and the engine tells its router about
    // the disconnect before closing: from here on the session is offline.
    wait_until("the engine closed the subscriber's link", || {
        broker.stats().open_connections == 0
    })
    .await;

    let mut publisher = TestClient::connect(broker.addr(), "pub", INGEST)
        .await
        .unwrap();
    for i in 0..500 {
        publisher
            .publish("tidewatch/v1/obs/ais/1", format!("{i:0100}").as_bytes())
            .await;
    }
    publisher
        .publish_acked("tidewatch/v1/obs/ais/1", b"end")
        .await;

    let mut sub = TestClient::connect_with(broker.addr(), "slow", CONSOLE, persistent)
        .await
        .unwrap();
    let mut got = Vec::new();
    loop {
        let m = sub.next_publish().await;
        if m.payload == b"end" {
            break;
        }
        got.push(
            String::from_utf8(m.payload)
                .unwrap()
                .parse::<u32>()
                .unwrap(),
        );
    }
    assert!(
        !got.is_empty() && got.len() < 200,
        "{} messages came back",
        got.len()
    );
    assert_eq!(got.last(), Some(&499));
    assert!(got.windows(2).all(|w| w[1] == w[0] + 1), "{got:?}");
}

/// On the loopback listener an anonymous client publishes raw AIS and nothing else, and reads
/// nothing; each refusal closes its connection and is counted. A username there is an account:
/// a wrong password is refused, not taken as anonymous.
#[tokio::test]
async fn anonymous_loopback_clients_publish_raw_ais_only_and_read_nothing() {
    let broker = start().await;
    let mut console = TestClient::connect(broker.addr(), "console", CONSOLE)
        .await
        .unwrap();
    assert!(console.subscribe("tidewatch/v1/alerts/#").await);
    let mut ingest = TestClient::connect(broker.addr(), "ingest", INGEST)
        .await
        .unwrap();
    assert!(ingest.subscribe("tidewatch/v1/raw/ais/#").await);

    let mut local = TestClient::connect(broker.addr(), "ais-catcher", None)
        .await
        .unwrap();
    local
        .publish_acked("tidewatch/v1/raw/ais/ais-catcher/ch1", b"!AIVDM,ok")
        .await;
    assert_eq!(
        ingest.next_publish().await,
        msg("tidewatch/v1/raw/ais/ais-catcher/ch1", b"!AIVDM,ok")
    );
    for topic in [
        "tidewatch/v1/alerts/sar_beacon",
        "tidewatch/v1/obs/ais/247123456",
        "tidewatch/v1/patrol/patrol-7/tasking",
        "tidewatch/v1/patrol/patrol-7/report",
    ] {
        let mut forger = TestClient::connect(broker.addr(), "forger", None)
            .await
            .unwrap();
        forger.publish(topic, b"forged").await;
        forger.closed().await;
    }
    let mut retainer = TestClient::connect(broker.addr(), "retainer", None)
        .await
        .unwrap();
    retainer
        .publish_with("tidewatch/v1/raw/ais/x", b"kept", true)
        .await;
    retainer.closed().await;
    let mut reader = TestClient::connect(broker.addr(), "reader", None)
        .await
        .unwrap();
    reader.subscribe_nowait("tidewatch/v1/raw/ais/#").await;
    reader.closed().await;
    match TestClient::connect(broker.addr(), "x", Some(("console", "pw-fusion"))).await {
        Err(ConnectionError::ConnectionRefused(code)) => {
            assert_eq!(code, ConnectReturnCode::NotAuthorized)
        }
        other => panic!("expected a refused CONNECT, got {:?}", other.map(|_| ())),
    }

    let mut fusion = TestClient::connect(broker.addr(), "fusion", FUSION)
        .await
        .unwrap();
    fusion
        .publish_acked("tidewatch/v1/alerts/sar_beacon", b"real")
        .await;
    assert_eq!(
        console.next_publish().await,
        msg("tidewatch/v1/alerts/sar_beacon", b"real")
    );
    let stats = broker.stats();
    assert_eq!(stats.refused.get(Refusal::PublishDenied), 4, "{stats:?}");
    assert_eq!(stats.refused.get(Refusal::RetainDenied), 1, "{stats:?}");
    assert_eq!(stats.refused.get(Refusal::SubscribeDenied), 1, "{stats:?}");
    assert_eq!(stats.refused.get(Refusal::BadCredentials), 1, "{stats:?}");
    assert_eq!(
        stats.auth_sessions, 0,
        "all of them on the loopback listener"
    );
}

/// Each service reads and writes its own topics only: the console publishes nothing, fusion
/// no observation, ingest no alert.
#[tokio::test]
async fn each_service_publishes_only_its_own_topics() {
    let broker = start().await;
    for (who, creds, topic) in [
        ("console", CONSOLE, "tidewatch/v1/alerts/sar_beacon"),
        ("fusion", FUSION, "tidewatch/v1/obs/ais/247123456"),
        ("ingest", INGEST, "tidewatch/v1/alerts/sar_beacon"),
        ("ingest", INGEST, "tidewatch/v1/patrol/patrol-7/tasking"),
    ] {
        let mut c = TestClient::connect(broker.addr(), who, creds)
            .await
            .unwrap();
        assert!(
            c.try_publish_acked(topic, b"x").await.is_err(),
            "{who} published on {topic}"
        );
    }
    let mut fusion = TestClient::connect(broker.addr(), "fusion", FUSION)
        .await
        .unwrap();
    fusion.subscribe_nowait("tidewatch/v1/raw/ais/#").await;
    fusion.closed().await;
    let stats = broker.stats();
    assert_eq!(stats.refused.get(Refusal::PublishDenied), 4, "{stats:?}");
    assert_eq!(stats.refused.get(Refusal::SubscribeDenied), 1, "{stats:?}");
}

/// Review (issue 24 session): the front answers a client's PUBREL itself (the client's QoS 2
/// publishes go to the engine as QoS 1), queueing a PUBCOMP. A client that sent PUBRELs and
/// never read made that queue grow without end (4 bytes in, 16 held) until the broker ran
/// out of memory. Past 4 096 answers waiting, the front reads nothing more from that client
/// until it reads: the client's writes stall, however much it sends.
#[tokio::test]
async fn review_a_client_sending_pubrels_and_never_reading_is_held_back() {
    use tokio::io::AsyncReadExt;
    let broker = start().await;
    let mut s = TcpStream::connect(broker.addr()).await.unwrap();
    let connect = crate::packet::Connect {
        clean_session: true,
        keep_alive: 600,
        client_id: "",
        will: None,
        username: None,
        password: None,
    };
    s.write_all(&crate::packet::encode_connect(
        &connect,
        "pubrels",
        INGEST.unwrap(),
    ))
    .await
    .unwrap();
    let mut ack = [0u8; 4];
    s.read_exact(&mut ack).await.unwrap();
    assert_eq!(ack, [0x20, 2, 0, 0]);
    // 64 KiB of PUBRELs at a time.
    let chunk: Vec<u8> = (0..16_384u16)
        .flat_map(|i| {
            let [hi, lo] = i.to_be_bytes();
            [0x62, 2, hi, lo]
        })
        .collect();
    const LIMIT: usize = 64 << 20;
    let mut sent = 0;
    while sent < LIMIT {
        match tokio::time::timeout(Duration::from_secs(3), s.write_all(&chunk)).await {
            Ok(Ok(())) => sent += chunk.len(),
            Ok(Err(e)) => panic!("closed after {sent} bytes: {e}"),
            Err(_) => break,
        }
    }
    assert!(
        sent < LIMIT,
        "the broker read {sent} bytes of PUBRELs from a client that reads nothing"
    );
    // Reading again, the client is answered and goes on.
    let mut answers = vec![0u8; 4 * 1024];
    s.read_exact(&mut answers).await.unwrap();
    assert_eq!(&answers[..4], &[0x70, 2, 0, 0]);
}

/// Review (issue 24 session): the engine keeps every topic it is sent and every client id's
/// session for good, and any anonymous client on loopback could send names of 64 KiB, by the
/// thousand. A client id, topic or filter over 256 bytes is refused: the CONNACK says
/// "identifier rejected", a publish or subscription closes the connection, each counted.
#[tokio::test]
async fn review_names_longer_than_the_broker_keeps_are_refused() {
    use tokio::io::AsyncReadExt;
    let broker = start().await;
    let mut s = TcpStream::connect(broker.addr()).await.unwrap();
    // An anonymous CONNECT (no login) with a client id of 300 bytes.
    let long_id = "x".repeat(300);
    let mut packet = vec![0x10, 0, 0];
    packet.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60]);
    packet.extend_from_slice(&(long_id.len() as u16).to_be_bytes());
    packet.extend_from_slice(long_id.as_bytes());
    let body = packet.len() - 3;
    packet[1] = (body % 128) as u8 | 0x80;
    packet[2] = (body / 128) as u8;
    s.write_all(&packet).await.unwrap();
    let mut ack = [0u8; 4];
    s.read_exact(&mut ack).await.unwrap();
    assert_eq!(ack, [0x20, 2, 0, 2], "a client id of 300 bytes");

    let long_topic = format!("tidewatch/v1/raw/ais/{}", "a".repeat(300));
    let mut anon = TestClient::connect(broker.addr(), "anon", None)
        .await
        .unwrap();
    anon.publish(&long_topic, b"!AIVDM").await;
    anon.closed().await;
    let mut sub = TestClient::connect(broker.addr(), "sub", INGEST)
        .await
        .unwrap();
    sub.subscribe_nowait(&format!("tidewatch/v1/raw/ais/{}", "b".repeat(300)))
        .await;
    sub.closed().await;
    // A short name still goes.
    let mut ok = TestClient::connect(broker.addr(), "ok", None)
        .await
        .unwrap();
    ok.publish_acked("tidewatch/v1/raw/ais/linosa", b"!AIVDM")
        .await;
    let stats = broker.stats();
    assert_eq!(stats.refused.get(Refusal::Malformed), 1, "{stats:?}");
    assert_eq!(stats.refused.get(Refusal::PublishDenied), 1, "{stats:?}");
    assert_eq!(stats.refused.get(Refusal::SubscribeDenied), 1, "{stats:?}");
}
