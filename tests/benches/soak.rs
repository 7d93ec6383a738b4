//! The soak of issue 18: `tidewatch up` (the real binary) for `--minutes` at `--rate` AIS
//! sentences a second of realistic traffic (the load generator: class A and B position and
//! static reports of a pool of vessels, tag blocks `s:` and `c:`), 10 sentences a message at
//! QoS 1, as a receiver would send them. Every `--every` seconds a row: what was sent and
//! acknowledged, what ingest archived and fusion took, what the broker counted as lost and
//! what publishers wait on, `up`'s RSS, and disk use per store. Memory and losses must stay
//! flat; disk grows at the rate the retention and compression allow.
//!
//! ```text
//! cargo build --release -p ops-console
//! cargo bench -p tidewatch-tests --bench soak -- [--minutes 60] [--rate 10000] [--every 60]
//! ```
//!
//! Against the embedded broker no client but fusion and the console may subscribe to
//! observations, and both are held to "must see": the slow-subscriber half of the probe is
//! `burst` (and the broker's hold tests).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tidewatch_tests::bench::{Up, metric, rss_mib, scrape};

struct Args {
    minutes: u64,
    rate: u32,
    every: u64,
}

fn args() -> Args {
    let mut a = Args {
        minutes: 60,
        rate: 10_000,
        every: 60,
    };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let value = argv.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match (argv[i].as_str(), value) {
            ("--minutes", Some(v)) => a.minutes = v.max(1),
            ("--rate", Some(v)) => a.rate = v.clamp(1, 1_000_000) as u32,
            ("--every", Some(v)) => a.every = v.max(1),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

/// The sample of `name` with label `key="value"`.
fn labelled(text: &str, name: &str, key: &str, value: &str) -> u64 {
    let head = format!("{name}{{{key}=\"{value}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&head)?.parse::<f64>().ok())
        .unwrap_or(0.0) as u64
}

fn main() {
    let a = args();
    let mut up = Up::start();
    let (mqtt_addr, http_addr) = (up.mqtt, up.http);
    let sent = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(AtomicU64::new(0));
    let behind = Arc::new(AtomicU64::new(0));
    {
        let (sent, acked, behind, rate) = (sent.clone(), acked.clone(), behind.clone(), a.rate);
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(receiver(mqtt_addr, rate, sent, acked, behind));
        });
    }
    println!(
        "soak: `up` for {} min at {} sentences/s (10 a message, QoS 1); a row every {} s",
        a.minutes, a.rate, a.every
    );
    println!(
        "{:>6} {:>11} {:>11} {:>11} {:>11} {:>6} {:>6} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "min",
        "sent",
        "acked",
        "archived",
        "fusion obs",
        "lost",
        "held",
        "RSS MiB",
        "raw MB",
        "obs MB",
        "console MB",
        "fusion MB",
        "state MB"
    );
    let start = Instant::now();
    let end = start + Duration::from_secs(a.minutes * 60);
    let mut rss = Vec::new();
    while Instant::now() < end {
        std::thread::sleep(Duration::from_secs(a.every).min(end - Instant::now()));
        let text = scrape(http_addr);
        let mb =
            |store: &str| labelled(&text, "tidewatch_store_bytes", "store", store) as f64 / 1e6;
        let r = rss_mib(up.child.id());
        rss.push(r);
        println!(
            "{:>6.1} {:>11} {:>11} {:>11} {:>11} {:>6} {:>6} {:>8.0} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            start.elapsed().as_secs_f64() / 60.0,
            sent.load(Ordering::Relaxed) * 10,
            acked.load(Ordering::Relaxed) * 10,
            metric(&text, "tidewatch_ingest_lines_total"),
            metric(&text, "tidewatch_fusion_observations_total"),
            metric(&text, "tidewatch_broker_lost_total"),
            metric(&text, "tidewatch_broker_held"),
            r,
            mb("raw"),
            mb("observations"),
            mb("console"),
            mb("fusion"),
            metric(&text, "tidewatch_fusion_snapshot_bytes") as f64 / 1e6,
        );
    }
    let text = scrape(http_addr);
    let third = rss.len() / 3;
    let (early, late) = (
        rss[..third.max(1)].iter().cloned().fold(0.0, f64::max),
        rss[rss.len() - third.max(1)..]
            .iter()
            .cloned()
            .fold(0.0, f64::max),
    );
    println!(
        "RSS: highest in the first third {early:.0} MiB, in the last third {late:.0} MiB; the receiver fell behind its rate {} times; broker lost {}; ingest rejected {}",
        behind.load(Ordering::Relaxed),
        metric(&text, "tidewatch_broker_lost_total"),
        metric(&text, "tidewatch_ingest_rejected_total"),
    );
    // A restart after all that: SIGKILL, start again, and how long fusion takes to stand
    // where it stood (its snapshot, then the journal since).
    let vessels = metric(&text, "tidewatch_fusion_vessels");
    let snapshot_mb = metric(&text, "tidewatch_fusion_snapshot_bytes") as f64 / 1e6;
    let killed = Instant::now();
    up.kill_and_restart();
    let text = loop {
        std::thread::sleep(Duration::from_millis(100));
        let t = scrape(http_addr);
        if metric(&t, "tidewatch_fusion_restored_from_snapshot") == 1 {
            break t;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(600),
            "`up` did not come back"
        );
    };
    println!(
        "restart after SIGKILL: fusion restored {} of {vessels} vessels from a {:.1} MB snapshot and {} journal entries in {:.2} s; /metrics answered {:.1} s after the kill",
        metric(&text, "tidewatch_fusion_vessels"),
        snapshot_mb,
        metric(&text, "tidewatch_fusion_replayed_entries"),
        scrape_f64(&text, "tidewatch_fusion_restore_seconds"),
        killed.elapsed().as_secs_f64(),
    );
    drop(up);
}

/// A metric's value as written (a fraction).
fn scrape_f64(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

/// A receiver at `rate` sentences a second: each second's sentences of the load generator, 10
/// a message, as fast as the broker takes them; a second it could not finish in time counts
/// in `behind`.
async fn receiver(
    broker: SocketAddr,
    rate: u32,
    sent: Arc<AtomicU64>,
    acked: Arc<AtomicU64>,
    behind: Arc<AtomicU64>,
) {
    let mut o = MqttOptions::new("soak-receiver", broker.ip().to_string(), broker.port());
    o.set_keep_alive(Duration::from_secs(30));
    let (c, mut el) = AsyncClient::new(o, 1024);
    tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => {
                    acked.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    let area = simulators::area::area("central-med").expect("the area");
    let mut load = simulators::load::Load::new(&area, rate, jiff::Timestamp::now(), 1);
    let mut text = Vec::new();
    let mut next = tokio::time::Instant::now();
    loop {
        text.clear();
        load.second(&mut text).expect("the load generator writes");
        let lines: Vec<&[u8]> = text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        for chunk in lines.chunks(10) {
            let mut m = Vec::with_capacity(1024);
            for l in chunk {
                m.extend_from_slice(l);
                m.push(b'\n');
            }
            if c.publish("tidewatch/v1/raw/ais/soak", QoS::AtLeastOnce, false, m)
                .await
                .is_err()
            {
                return;
            }
            sent.fetch_add(1, Ordering::Relaxed);
        }
        next += Duration::from_secs(1);
        if tokio::time::Instant::now() > next {
            behind.fetch_add(1, Ordering::Relaxed);
            next = tokio::time::Instant::now();
        }
        tokio::time::sleep_until(next).await;
    }
}
