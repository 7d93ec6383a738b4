//! Load on the console's API with a full picture: 10 000 live tracks kept moving over MQTT
//! (1 000 reports/s), and a load generator on loopback sending a console's mix of requests
//! at a fixed rate (open loop: each request has its scheduled time, and its latency counts
//! from then, so a slow server cannot hide its backlog).
//!
//! ```text
//! cargo bench -p tidewatch-tests --bench console_load -- [--tracks 10000] [--rate 500] [--seconds 30] [--connections 32] [--no-browser]
//! ```
//!
//! Then the map with the same 10 000 moving tracks in headless Chromium (through
//! chromium-driver): the time to the first picture drawn, the frame intervals while the
//! live stream moves every track (each is redrawn every 10 s), and a pan.
//!
//! The console and the embedded broker run on a 2-worker runtime (as `tidewatch up`); the
//! feed and the load generator on another thread. All on the same 2 cores.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use ops_console::console::{self, ConsoleConfig, auth, feed::FeedConfig};
use ops_console::metrics::Metrics;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::json;
use tidewatch_broker::{Broker, BrokerConfig, Role};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

struct Args {
    tracks: u32,
    rate: u64,
    seconds: u64,
    connections: usize,
    browser: bool,
}

fn args() -> Args {
    let mut a = Args {
        tracks: 10_000,
        rate: 500,
        seconds: 30,
        connections: 32,
        browser: true,
    };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let v = argv.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match (argv[i].as_str(), v) {
            ("--tracks", Some(v)) => a.tracks = v.max(1) as u32,
            ("--rate", Some(v)) => a.rate = v.max(1),
            ("--seconds", Some(v)) => a.seconds = v.max(1),
            ("--connections", Some(v)) => a.connections = v.max(1) as usize,
            ("--no-browser", _) => {
                a.browser = false;
                i += 1;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

/// A vessel's position at `t` seconds: each sails its own circle around the central Med.
fn position(k: u32, t: f64) -> (f64, f64) {
    let lat0 = 33.0 + (k % 100) as f64 * 0.06;
    let lon0 = 10.0 + (k / 100) as f64 * 0.06;
    let w = 0.0005 * (1.0 + (k % 7) as f64);
    (lat0 + 0.02 * (w * t).sin(), lon0 + 0.02 * (w * t).cos())
}

fn observation(k: u32, seq: u64, time: Timestamp, t: f64) -> String {
    let mmsi = 247_000_000 + k;
    let (lat, lon) = position(k, t);
    json!({"id": format!("b-{k}-{seq}"), "time": time, "time_source": "tag_block",
        "received_at": time, "receivers": ["bench"],
        "data": {"kind": "ais", "mmsi": mmsi, "msg_type": 1, "lat": lat, "lon": lon,
                 "sog_kn": 8.5, "cog_deg": 90.0}})
    .to_string()
}

/// A request due at a time: (when, kind, path).
type Scheduled = (Instant, &'static str, String);
/// A request done: (kind, latency ms from its scheduled time, status).
type Outcome = (&'static str, f64, u16);

/// A keep-alive HTTP/1.1 connection.
struct Conn {
    r: BufReader<TcpStream>,
    cookie: String,
}

impl Conn {
    async fn open(addr: SocketAddr, cookie: &str) -> Conn {
        let s = TcpStream::connect(addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        Conn {
            r: BufReader::new(s),
            cookie: cookie.to_owned(),
        }
    }

    /// GET `path`; the status and body length.
    async fn get(&mut self, path: &str) -> std::io::Result<(u16, usize)> {
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: bench\r\nCookie: {}\r\n\r\n",
            self.cookie
        );
        self.r.get_mut().write_all(req.as_bytes()).await?;
        let mut line = String::new();
        self.r.read_line(&mut line).await?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut len = 0usize;
        loop {
            line.clear();
            self.r.read_line(&mut line).await?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; len];
        self.r.read_exact(&mut body).await?;
        Ok((status, len))
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let a = args();
    let dir = tempfile::tempdir().unwrap();
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The console, the feed (ingest's place) and the alerts (fusion's) log in as `up`'s do.
    let mut broker_cfg = BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..BrokerConfig::default()
    };
    let console_login = broker_cfg
        .add_generated_user("console", Role::Console)
        .unwrap();
    let feed_login = broker_cfg
        .add_generated_user("ingest", Role::Ingest)
        .unwrap();
    let fusion_login = broker_cfg
        .add_generated_user("fusion", Role::Fusion)
        .unwrap();
    let (broker, running) = server.block_on(async {
        let broker = Broker::start(broker_cfg).await.unwrap();
        let running = console::start(
            ConsoleConfig {
                dir: Some(dir.path().to_owned()),
                picture: Default::default(),
                fusion: Default::default(),
                reference: None,
                database: None,
            },
            FeedConfig {
                credentials: Some(console_login.pair()),
                ..FeedConfig::new("127.0.0.1", broker.addr().port(), "bench-console")
            },
            "127.0.0.1:0".parse().unwrap(),
            Arc::new(Metrics::new()),
            false,
        )
        .await
        .unwrap();
        (broker, running)
    });
    let store = running.console.store();
    store
        .add_user(&console::store::UserRecord {
            name: "bench".into(),
            role: console::auth::Role::WatchOfficer,
            password: auth::hash_password("bench-password-1").unwrap(),
            must_change: false,
            created_at: Timestamp::now(),
        })
        .unwrap();
    let http = running.http;
    let mqtt_port = broker.addr().port();
    let picture = running.console.clone();

    let load = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    load.block_on(async move {
        // The feed: 10 000 vessels, then a tenth of them every second.
        let mut opts = MqttOptions::new("bench-feed", "127.0.0.1", mqtt_port);
        opts.set_credentials(&feed_login.username, &feed_login.password);
        let (mqtt, mut el) = AsyncClient::new(opts, 10_000);
        tokio::spawn(async move {
            loop {
                if el.poll().await.is_err() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        });
        let mut opts = MqttOptions::new("bench-fusion", "127.0.0.1", mqtt_port);
        opts.set_credentials(&fusion_login.username, &fusion_login.password);
        let (alerts, mut el) = AsyncClient::new(opts, 1_000);
        tokio::spawn(async move {
            loop {
                if el.poll().await.is_err() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        let t0 = Instant::now();
        let start_time = Timestamp::now();
        for k in 0..a.tracks {
            mqtt.publish(
                format!("tidewatch/v1/obs/ais/{}", 247_000_000 + k),
                QoS::AtLeastOnce,
                false,
                observation(k, 0, start_time, 0.0),
            )
            .await
            .unwrap();
        }
        for i in 0..200u32 {
            let k = i * (a.tracks / 200).max(1);
            let now = Timestamp::now();
            let (lat, lon) = position(k, 0.0);
            alerts.publish(
                "tidewatch/v1/alerts/loitering",
                QoS::AtLeastOnce,
                false,
                json!({"id": format!("al-{i}"), "kind": "loitering", "severity": "medium",
                    "state": "open", "revision": 1, "time": now, "start": now,
                    "mmsi": [247_000_000 + k], "contacts": [], "position": {"lat": lat, "lon": lon},
                    "score": 0.5, "reasons": ["1 vessel under 2 kn for 2 h"],
                    "rule": "loitering@1", "params": {}})
                .to_string(),
            )
            .await
            .unwrap();
        }
        while picture.picture().track_count() < a.tracks as usize {
            assert!(t0.elapsed() < Duration::from_secs(120), "the picture did not fill");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!(
            "picture: {} tracks, 200 alerts, after {:.1} s; RSS {:.0} MiB",
            picture.picture().track_count(),
            t0.elapsed().as_secs_f64(),
            rss_mib()
        );
        let feeding = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let feeder = {
            let feeding = feeding.clone();
            let tracks = a.tracks;
            tokio::spawn(async move {
                let mut seq = 1u64;
                let mut tick = tokio::time::interval(Duration::from_millis(100));
                while feeding.load(std::sync::atomic::Ordering::Relaxed) {
                    tick.tick().await;
                    // A hundredth of the fleet every 100 ms: each vessel every 10 s.
                    let t = t0.elapsed().as_secs_f64();
                    let now = Timestamp::now();
                    for j in 0..tracks / 100 {
                        let k = ((seq as u32) * (tracks / 100) + j) % tracks;
                        let _ = mqtt
                            .publish(
                                format!("tidewatch/v1/obs/ais/{}", 247_000_000 + k),
                                QoS::AtMostOnce,
                                false,
                                observation(k, seq, now, t),
                            )
                            .await;
                    }
                    seq += 1;
                }
            })
        };

        // Log in.
        let mut s = TcpStream::connect(http).await.unwrap();
        let body = r#"{"username":"bench","password":"bench-password-1"}"#;
        s.write_all(
            format!(
                "POST /api/login HTTP/1.1\r\nHost: b\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).await.unwrap();
        let cookie = raw
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: "))
            .and_then(|c| c.split(';').next())
            .expect("logged in")
            .to_owned();

        // The mix a watch floor makes: vessel cards and trails as tracks are clicked,
        // the alert list, the session check, the status page, now and then the whole picture.
        let mix: Vec<(&str, u32)> = vec![
            ("vessel", 40),
            ("trail", 20),
            ("alerts", 15),
            ("alert", 5),
            ("me", 10),
            ("status", 5),
            ("picture", 5),
        ];
        let total: u32 = mix.iter().map(|m| m.1).sum();
        let n = (a.rate * a.seconds) as usize;
        let (tx, rx) = tokio::sync::mpsc::channel::<Scheduled>(n.max(1));
        let queue = Arc::new(Mutex::new(rx));
        let results: Arc<std::sync::Mutex<Vec<Outcome>>> =
            Arc::new(std::sync::Mutex::new(Vec::with_capacity(n)));
        let mut workers = Vec::new();
        for _ in 0..a.connections {
            let queue = queue.clone();
            let results = results.clone();
            let cookie = cookie.clone();
            workers.push(tokio::spawn(async move {
                let mut c = Conn::open(http, &cookie).await;
                loop {
                    let next = queue.lock().await.recv().await;
                    let Some((at, kind, path)) = next else { break };
                    let status = match c.get(&path).await {
                        Ok((s, _)) => s,
                        Err(_) => {
                            c = Conn::open(http, &cookie).await;
                            0
                        }
                    };
                    let ms = at.elapsed().as_secs_f64() * 1e3;
                    results.lock().unwrap().push((kind, ms, status));
                }
            }));
        }
        let begin = Instant::now() + Duration::from_millis(100);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..n {
            let at = begin + Duration::from_secs_f64(i as f64 / a.rate as f64);
            tokio::time::sleep_until(at.into()).await;
            let mut pick = (rnd() % total as u64) as u32;
            let kind = mix
                .iter()
                .find(|(_, w)| {
                    if pick < *w {
                        true
                    } else {
                        pick -= w;
                        false
                    }
                })
                .unwrap()
                .0;
            let k = (rnd() % a.tracks as u64) as u32;
            let path = match kind {
                "vessel" => format!("/api/vessels/{}", 247_000_000 + k),
                "trail" => format!("/api/tracks/ais:{}/trail", 247_000_000 + k),
                "alerts" => "/api/alerts".to_string(),
                "alert" => format!("/api/alerts/al-{}", rnd() % 200),
                "me" => "/api/me".to_string(),
                "status" => "/api/status".to_string(),
                _ => "/api/picture".to_string(),
            };
            let kind: &'static str = mix.iter().find(|m| m.0 == kind).unwrap().0;
            tx.send((at, kind, path)).await.unwrap();
        }
        drop(tx);
        for w in workers {
            let _ = w.await;
        }
        let elapsed = begin.elapsed().as_secs_f64();
        let results = results.lock().unwrap().clone();
        let errors = results.iter().filter(|r| r.2 != 200).count();
        let mut by: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for (k, ms, _) in &results {
            by.entry(k).or_default().push(*ms);
        }
        let mut all: Vec<f64> = results.iter().map(|r| r.1).collect();
        println!(
            "console_load: {} tracks, {} req/s offered for {} s over {} connections",
            a.tracks, a.rate, a.seconds, a.connections
        );
        println!(
            "{:<8} {:>6} {:>9} {:>9} {:>9} {:>9}",
            "request", "count", "p50 ms", "p90 ms", "p99 ms", "max ms"
        );
        for (k, v) in by.iter_mut() {
            println!(
                "{:<8} {:>6} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                k,
                v.len(),
                pct(v, 0.5),
                pct(v, 0.9),
                pct(v, 0.99),
                pct(v, 1.0)
            );
        }
        println!(
            "all      {:>6} {:>9.2} {:>9.2} {:>9.2} {:>9.2}   achieved {:.0} req/s, {} not 200, RSS {:.0} MiB",
            all.len(),
            pct(&mut all, 0.5),
            pct(&mut all, 0.9),
            pct(&mut all, 0.99),
            pct(&mut all, 1.0),
            results.len() as f64 / elapsed,
            errors,
            rss_mib()
        );
        if a.browser {
            browser(http).await;
        }
        feeding.store(false, std::sync::atomic::Ordering::Relaxed);
        let _ = feeder.await;
    });
    server.block_on(async {
        running.shutdown().await;
        broker.shutdown().await;
    });
}

/// The map in Chromium with the full picture, live.
async fn browser(http: SocketAddr) {
    use fantoccini::{Client, Locator};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut driver = std::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromedriver (Debian chromium-driver; tests/install-deps.sh installs it)");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000"]}),
    );
    let mut c = None;
    for _ in 0..100 {
        if let Ok(cl) = Client::with_capabilities_and_connector(
            &format!("http://127.0.0.1:{port}"),
            &caps,
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .await
        {
            c = Some(cl);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let c = c.expect("a chromium session");
    c.goto(&format!("http://{http}/")).await.unwrap();
    c.wait()
        .for_element(Locator::Css("#login-form"))
        .await
        .unwrap();
    c.find(Locator::Css("#login-user"))
        .await
        .unwrap()
        .send_keys("bench")
        .await
        .unwrap();
    c.find(Locator::Css("#login-password"))
        .await
        .unwrap()
        .send_keys("bench-password-1")
        .await
        .unwrap();
    let t = Instant::now();
    c.find(Locator::Css("#login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    loop {
        let r = c
            .execute("return document.body.dataset.ready", vec![])
            .await
            .unwrap();
        if r == json!("1") {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the map did not draw"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ready_ms = t.elapsed().as_secs_f64() * 1e3;
    let shown = c
        .execute("return window.tidewatch.tracks.size", vec![])
        .await
        .unwrap();
    // Zoom out so every track is on the canvas, then watch the frames for 10 s of live updates.
    c.execute(
        "window.tidewatch.map.setView([36.0, 12.9], 7, {animate: false}); \
         window.__frames = []; window.__long = []; \
         new PerformanceObserver(l => l.getEntries().forEach(e => window.__long.push(e.duration))).observe({type: 'longtask', buffered: false}); \
         let last = performance.now(); \
         const f = (t) => { window.__frames.push(t - last); last = t; if (window.__frames.length < 100000) requestAnimationFrame(f); }; \
         requestAnimationFrame(f); return true",
        vec![],
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let frames: Vec<f64> =
        serde_json::from_value(c.execute("return window.__frames", vec![]).await.unwrap())
            .unwrap_or_default();
    let long: Vec<f64> =
        serde_json::from_value(c.execute("return window.__long", vec![]).await.unwrap())
            .unwrap_or_default();
    // A pan: from the call to the next two frames drawn.
    let pan_ms = c
        .execute_async(
            "const done = arguments[arguments.length - 1]; const t = performance.now(); \
             window.tidewatch.map.panBy([300, 200], {animate: false}); \
             requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - t)));",
            vec![],
        )
        .await
        .unwrap();
    let mut f = frames.clone();
    println!(
        "map: {shown} tracks drawn {ready_ms:.0} ms after login; 10 s of live updates: {} frames, interval p50 {:.1} ms, p99 {:.1} ms, max {:.0} ms; {} long tasks (> 50 ms), longest {:.0} ms, {:.0} ms in total; pan redrawn in {:.0} ms",
        frames.len(),
        pct(&mut f, 0.5),
        pct(&mut f, 0.99),
        pct(&mut f, 1.0),
        long.len(),
        long.iter().cloned().fold(0.0, f64::max),
        long.iter().sum::<f64>(),
        pan_ms.as_f64().unwrap_or(f64::NAN),
    );
    let png = c.screenshot().await.unwrap();
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("console-10000-tracks.png"), png).unwrap();
    c.close().await.unwrap();
    let _ = driver.kill();
    let _ = driver.wait();
}
