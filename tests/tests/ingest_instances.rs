//! Ingest as several instances (`ingest::instances`) on a real Mosquitto: two instances share
//! the slots; one leaves for good (its will says so) and the other takes its slots at once,
//! sessions and all; a new one joins and the slots are shared again; all the while receivers
//! in three regions publish two-sentence AIS messages, one sentence per MQTT message. At the
//! end every message is an observation, every line a receiver had acknowledged is archived,
//! and every archive chain verifies. Then a second process started under a taken name is
//! noticed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ingest::instances::{self, InstanceConfig, InstanceHandle, Slot};
use ingest::service::ServiceConfig;
use ingest::wire::topics::UnitId;
use tidewatch_tests::Mosquitto;
use tokio::sync::oneshot;

const HEARTBEAT: Duration = Duration::from_millis(200);

/// Vessels, each with its message's lines.
type Fleet = Vec<(u32, Vec<String>)>;

/// A running instance: its handle, and how to stop it.
struct Running {
    handle: InstanceHandle,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

fn start(rt: &tokio::runtime::Runtime, port: u16, name: &str, data: &Path) -> Running {
    let slots: Vec<Slot> = ["north=raw/ais/north/#", "south=raw/ais/south/#"]
        .iter()
        .map(|s| Slot::parse(s).unwrap())
        .collect();
    let mut cfg = ServiceConfig::new("127.0.0.1", port, data.join("raw"));
    cfg.broker.client_id = "tw-ingest".into();
    let inst = InstanceConfig {
        name: UnitId::new(name).unwrap(),
        slots: instances::plan(&slots).unwrap(),
        heartbeat: HEARTBEAT,
    };
    let handle = InstanceHandle::new();
    let (stop, stopped) = oneshot::channel::<()>();
    let h = handle.clone();
    let task = rt.spawn(async move {
        instances::run(cfg, inst, h, None, async {
            let _ = stopped.await;
        })
        .await
        .expect("the instance ran");
    });
    Running {
        handle,
        stop: Some(stop),
        task,
    }
}

impl Running {
    fn holds(&self) -> BTreeSet<String> {
        self.handle.instance().holds
    }

    fn stop(mut self, rt: &tokio::runtime::Runtime) {
        let _ = self.stop.take().unwrap().send(());
        rt.block_on(self.task).unwrap();
    }
}

fn wait_for(what: &str, within: Duration, mut ok: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

#[test]
fn ingest_instances_share_the_slots_hand_them_over_and_back_and_lose_nothing() {
    // RUST_LOG=info shows the instances' decisions.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let broker = Mosquitto::start();
    let port = broker.port;
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let data = |n: &str| -> PathBuf { dir.path().join(n) };

    // A persistent subscriber to the observations.
    let seen = ops_console::testkit::observe_ais(&rt, "obs-watch", port, None);

    let a = start(&rt, port, "ingest-a", &data("a"));
    let mut b = Some(start(&rt, port, "ingest-b", &data("b")));
    let shared = |a: &Running, b: &Running| {
        let (x, y) = (a.holds(), b.holds());
        x.len() + y.len() == 3 && x.is_disjoint(&y) && !x.is_empty() && !y.is_empty()
    };
    wait_for(
        "the two instances share the slots",
        Duration::from_secs(20),
        || shared(&a, b.as_ref().unwrap()),
    );

    // Receivers publish, each sentence acknowledged by the broker before the next.
    let publisher = ops_console::testkit::AckedSender::connect(&rt, "receivers", port);
    const PER_SOURCE: u32 = 160;
    let start_time = "2026-12-05T03:00:00Z".parse().unwrap();
    let streams: Vec<(&str, Fleet)> = [
        ("tidewatch/v1/raw/ais/north/r1", 211_000_000),
        ("tidewatch/v1/raw/ais/south/r2", 212_000_000),
        ("tidewatch/v1/raw/ais/west/r3", 213_000_000),
    ]
    .iter()
    .map(|(t, first)| {
        (
            *t,
            simulators::load::static_fleet(t, *first, PER_SOURCE, start_time),
        )
    })
    .collect();
    // The receivers publish from a thread of their own, each sentence acknowledged by the
    // broker before the next, while instances leave and join.
    let progress = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let streams = Arc::new(streams);
    let receivers = {
        let (progress, streams) = (progress.clone(), streams.clone());
        std::thread::spawn(move || {
            let mut acked: Vec<String> = Vec::new();
            for i in 0..PER_SOURCE as usize {
                for (topic, fleet) in streams.iter() {
                    for line in &fleet[i].1 {
                        publisher.send(topic, line);
                        acked.push(line.clone());
                    }
                }
                progress.store(i + 1, std::sync::atomic::Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
            }
            acked
        })
    };
    let at = |n: usize| {
        wait_for("the receivers' progress", Duration::from_secs(60), || {
            progress.load(std::sync::atomic::Ordering::SeqCst) >= n
        });
    };
    let mut figures = Vec::new();
    // b leaves: its will is published, a takes every slot at once, sessions and all.
    at(40);
    b.take().unwrap().stop(&rt);
    let t = wait_for("a takes b's slots", Duration::from_secs(10), || {
        a.holds().len() == 3
    });
    figures.push(format!("b left: a held every slot {t:?} after"));
    // A new instance c joins (b never comes back: what its sessions held while a took over
    // must not wait for it): the slots are shared again.
    at(80);
    let c = start(&rt, port, "ingest-c", &data("c"));
    let t = wait_for("the slots shared again", Duration::from_secs(20), || {
        shared(&a, &c)
    });
    figures.push(format!("c joined: slots shared again {t:?} after"));
    assert!(a.handle.instance().released >= 1);
    let acked = receivers.join().unwrap();

    let expected: BTreeSet<u32> = streams
        .iter()
        .flat_map(|(_, f)| f.iter().map(|(m, _)| *m))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let missing: Vec<u32> = expected
            .difference(&seen.lock().unwrap())
            .copied()
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} messages never observed (a holds {:?}, {:?}; c holds {:?}, {:?}), e.g. {:?}",
            missing.len(),
            a.holds(),
            a.handle.stats(),
            c.holds(),
            c.handle.stats(),
            &missing[..missing.len().min(5)]
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A second process under c's name (a mistake of configuration) is noticed by c. (The two
    // take each other's sessions in turn meanwhile: no traffic is checked across that.)
    let duplicate = start(&rt, port, "ingest-c", &data("c2"));
    wait_for(
        "the name conflict is noticed",
        Duration::from_secs(10),
        || c.handle.instance().name_conflicts > 0,
    );
    duplicate.stop(&rt);
    a.stop(&rt);
    c.stop(&rt);

    // Every acknowledged line in an archive; every chain verifies; no line refused.
    let mut archived = BTreeSet::new();
    for inst in ["a", "b", "c", "c2"] {
        let raw = data(inst).join("raw");
        // The duplicate may never have held a slot.
        let Ok(slots) = std::fs::read_dir(&raw) else {
            assert_eq!(inst, "c2", "{} has no archive", raw.display());
            continue;
        };
        for slot in slots {
            let slot = slot.unwrap().path();
            ingest::archive::verify(&slot).unwrap_or_else(|e| panic!("{}: {e}", slot.display()));
            for f in ingest::archive::files(&slot).unwrap() {
                for r in ingest::archive::read_file(&f).unwrap() {
                    archived.insert(r.line);
                }
            }
        }
    }
    let lost: Vec<&String> = acked
        .iter()
        .filter(|l| !archived.contains(l.as_bytes()))
        .collect();
    assert!(lost.is_empty(), "acknowledged, not archived: {lost:?}");
    eprintln!(
        "ingest instances: {} lines, {} messages, all observed and archived; {}",
        acked.len(),
        expected.len(),
        figures.join("; ")
    );
}
