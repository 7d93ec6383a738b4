//! Test setup: a scratch PostgreSQL server for the test process ([`shared_server`], an
//! [`PgServer`] of `crate::engines`), and [`TestDb`]: a store for a test on whichever engine
//! `TIDEWATCH_TEST_STORE` names (`sqlite`, the default, or `postgres`), so the same tests
//! run on both.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::console::store::Store;
pub use crate::engines::postgres::{PG_BIN, PgServer};

/// One scratch server for this test process, started at first use.
pub fn shared_server() -> &'static PgServer {
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("tw-postgres-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let port = tidewatch_broker::testkit::free_port();
        PgServer::start(&dir, port, false).unwrap_or_else(|e| panic!("PostgreSQL: {e:#}"))
    })
}

/// A test's store, on the engine `TIDEWATCH_TEST_STORE` names: SQLite in a directory of its
/// own (the default), or a fresh database on [`shared_server`]. [`TestDb::open`] opens it
/// again, as a restarted console would.
#[derive(Debug)]
pub struct TestDb {
    sqlite: Option<PathBuf>,
    postgres: Option<String>,
}

/// Is this test process on PostgreSQL (`TIDEWATCH_TEST_STORE=postgres`)?
pub fn on_postgres() -> bool {
    match std::env::var("TIDEWATCH_TEST_STORE").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("TIDEWATCH_TEST_STORE={other:?}: sqlite or postgres"),
    }
}

impl TestDb {
    /// A new, empty store's place.
    pub fn new() -> TestDb {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("tw-test-{}-{n}", std::process::id());
        if on_postgres() {
            let url = shared_server()
                .create_database(&name)
                .unwrap_or_else(|e| panic!("{e:#}"));
            TestDb {
                sqlite: None,
                postgres: Some(url),
            }
        } else {
            let dir = std::env::temp_dir().join(name);
            let _ = std::fs::remove_dir_all(&dir);
            TestDb {
                sqlite: Some(dir),
                postgres: None,
            }
        }
    }

    /// Open the store (again).
    pub fn open(&self) -> Store {
        match (&self.sqlite, &self.postgres) {
            (_, Some(url)) => Store::connect_postgres(url),
            (Some(dir), _) => Store::open(dir),
            _ => unreachable!("a test store is on one engine"),
        }
        .unwrap_or_else(|e| panic!("the test store: {e}"))
    }

    /// Its directory (SQLite) or URL (PostgreSQL), for `--data`/`--database`.
    pub fn place(&self) -> String {
        match (&self.sqlite, &self.postgres) {
            (_, Some(url)) => url.clone(),
            (Some(dir), _) => dir.display().to_string(),
            _ => unreachable!("a test store is on one engine"),
        }
    }
}

/// A fresh, empty store for a test on the engine `TIDEWATCH_TEST_STORE` names (SQLite in
/// memory by default).
pub fn store() -> Store {
    if on_postgres() {
        TestDb::new().open()
    } else {
        Store::in_memory().unwrap_or_else(|e| panic!("an in-memory store: {e}"))
    }
}

impl Default for TestDb {
    fn default() -> Self {
        TestDb::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(d) = &self.sqlite {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// The MMSIs of the AIS observations a persistent QoS 1 subscriber (`client_id`, on the broker
/// at 127.0.0.1:`port`, logged in as `login` if given) receives, as they come; returns once it
/// is subscribed.
///
/// # Panics
/// If it is not subscribed within 30 s.
pub fn observe_ais(
    rt: &tokio::runtime::Runtime,
    client_id: &str,
    port: u16,
    login: Option<&(String, String)>,
) -> std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<u32>>> {
    use ingest::link::client;
    use rumqttc::{Event, Packet, QoS};
    let (sub, mut el) = client::connect(
        client::options(client_id, "127.0.0.1", port, login, true, 1 << 20),
        // The acknowledgements are queued from the task that polls: room for every one, or a
        // burst fills the queue and the task waits on itself.
        1 << 16,
    );
    let seen = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let (subscribed_tx, subscribed_rx) = std::sync::mpsc::channel();
    let into = seen.clone();
    rt.spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = sub
                        .subscribe("tidewatch/v1/obs/ais/+", QoS::AtLeastOnce)
                        .await;
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = subscribed_tx.send(());
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if let Some(m) = p.topic.rsplit('/').next().and_then(|m| m.parse().ok()) {
                        into.lock().unwrap_or_else(|e| e.into_inner()).insert(m);
                    }
                    let _ = sub.ack(&p).await;
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            }
        }
    });
    subscribed_rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the observer subscribed within 30 s");
    seen
}

/// A receiver that publishes QoS 1 and waits for the broker's acknowledgement of each message
/// before the next, so the lines it has sent are exactly those the broker acknowledged.
pub struct AckedSender {
    client: rumqttc::AsyncClient,
    acks: std::sync::mpsc::Receiver<()>,
    rt: tokio::runtime::Handle,
}

impl AckedSender {
    /// A receiver `client_id` on the broker at 127.0.0.1:`port`.
    pub fn connect(rt: &tokio::runtime::Runtime, client_id: &str, port: u16) -> AckedSender {
        use ingest::link::client;
        use rumqttc::{Event, Packet};
        let (c, mut el) = client::connect(
            client::options(client_id, "127.0.0.1", port, None, false, 1 << 20),
            64,
        );
        let (tx, acks) = std::sync::mpsc::channel();
        rt.spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        let _ = tx.send(());
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
                }
            }
        });
        AckedSender {
            client: c,
            acks,
            rt: rt.handle().clone(),
        }
    }

    /// Publish `payload` on `topic` and wait for the broker's acknowledgement.
    ///
    /// # Panics
    /// If the broker does not acknowledge it within 30 s.
    pub fn send(&self, topic: &str, payload: &str) {
        self.rt
            .block_on(self.client.publish(
                topic,
                rumqttc::QoS::AtLeastOnce,
                false,
                payload.to_owned(),
            ))
            .expect("the client takes the publish");
        self.acks
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the broker acknowledges each message within 30 s");
    }
}
