//! The console in a real browser: Debian's chromium driven through chromium-driver
//! (WebDriver), against the real `tidewatch up --demo`.
//!
//! A watch officer logs in, watches a simulated vessel move, acknowledges an alert, opens a
//! vessel card and replays the picture an hour back. Screenshots are kept in
//! `target/test-artifacts/browser/`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn require(program: &str, package: &str) -> PathBuf {
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if dir.join(program).is_file() {
            return dir.join(program);
        }
    }
    panic!(
        "`{program}` is not installed: this test needs it (apt-get install -y --no-install-recommends {package}; tests/install-deps.sh does it)"
    );
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts/browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One HTTP request over a fresh connection (for checks behind the browser's back).
fn http(
    port: u16,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<Value>,
) -> (u16, String, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap_or("")
        .to_owned();
    (
        status,
        cookie,
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

async fn text(c: &Client, css: &str) -> String {
    match c.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Wait until `f` gives Some, or fail naming `what` (with a screenshot).
async fn until<T, F, Fut>(c: &Client, what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if Instant::now() > deadline {
            shot(c, "failure").await;
            panic!("timed out after {secs} s waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn shot(c: &Client, name: &str) {
    if let Ok(png) = c.screenshot().await {
        let path = artifacts().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
    }
}

fn pos(s: &str) -> Option<(f64, f64)> {
    let (a, b) = s.split_once(',')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_officer_logs_in_watches_acknowledges_opens_a_card_and_replays_an_hour_back() {
    let chromedriver = require("chromedriver", "chromium-driver");
    require("chromium", "chromium");
    let dir = tempfile::tempdir().unwrap();
    let (mqtt, web) = (free_port(), free_port());
    // One scenario minute per wall second: an hour of picture in a minute.
    let mut up = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args(["up", "--demo", "--speed", "60"])
        .args(["--mqtt", &format!("127.0.0.1:{mqtt}")])
        .args(["--http", &format!("127.0.0.1:{web}")])
        .arg("--data")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let stderr = up.stderr.take().unwrap();
    let _up = Killed(up);
    // The first start prints the administrator's one-time password.
    let mut otp = None;
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some((_, p)) = line.split_once("one-time password: ") {
            otp = Some(p.trim().to_owned());
        }
        if line.contains("demo scenario") {
            break;
        }
    }
    // Keep reading what it says (a closed pipe would stop it at its next line).
    std::thread::spawn(move || lines.for_each(drop));
    assert!(
        otp.is_some_and(|p| p.len() == 19),
        "a one-time admin password is printed"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args([
            "user",
            "add",
            "olga",
            "--role",
            "watch_officer",
            "--password-stdin",
            "--data",
        ])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(b"night-watch-2026\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());

    let wd_port = free_port();
    let _driver = Killed(
        Command::new(chromedriver)
            .arg(format!("--port={wd_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let wd = format!("http://127.0.0.1:{wd_port}");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,900"]}),
    );
    let mut c = None;
    for _ in 0..100 {
        match Client::with_capabilities_and_connector(
            &wd,
            &caps,
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .await
        {
            Ok(cl) => {
                c = Some(cl);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let c = c.expect("a chromium session through chromium-driver");
    let url = format!("http://127.0.0.1:{web}/");

    // Log in.
    c.goto(&url).await.unwrap();
    c.wait()
        .for_element(Locator::Css("#login-form"))
        .await
        .unwrap();
    shot(&c, "01-login").await;
    c.find(Locator::Css("#login-user"))
        .await
        .unwrap()
        .send_keys("olga")
        .await
        .unwrap();
    c.find(Locator::Css("#login-password"))
        .await
        .unwrap()
        .send_keys("wrong-password-0")
        .await
        .unwrap();
    click(&c, "#login-submit").await;
    until(&c, "the login error", 10, || async {
        (!text(&c, "#login-error").await.is_empty()).then_some(())
    })
    .await;
    let pw = c.find(Locator::Css("#login-password")).await.unwrap();
    pw.clear().await.unwrap();
    pw.send_keys("night-watch-2026").await.unwrap();
    click(&c, "#login-submit").await;
    until(&c, "the first picture", 20, || async {
        let r = c
            .execute("return document.body.dataset.ready", vec![])
            .await
            .ok()?;
        (r == json!("1")).then_some(())
    })
    .await;
    let who = text(&c, "#who").await;
    assert!(who.contains("olga") && who.contains("watch"), "{who}");

    // A simulated vessel moves: its position in the track list changes live.
    let row = "[data-track-id=\"ais:247123456\"] .pos";
    let first = until(&c, "the cargo vessel in the track list", 20, || async {
        pos(&text(&c, row).await)
    })
    .await;
    shot(&c, "02-picture").await;
    let moved = until(&c, "the cargo vessel to move", 20, || async {
        pos(&text(&c, row).await).filter(|p| *p != first)
    })
    .await;
    assert!(moved.1 < first.1, "it sails west: {first:?} then {moved:?}");

    // Acknowledge an alert.
    let alert_id = until(&c, "an alert in the list", 60, || async {
        let v = c
            .execute(
                "const e = [...document.querySelectorAll('#alert-list [data-alert-id]')].find(e => e.querySelector('.triage')?.textContent.trim() === 'new'); return e ? e.dataset.alertId : null",
                vec![],
            )
            .await
            .ok()?;
        v.as_str().map(str::to_owned)
    })
    .await;
    let sel = format!("#alert-list [data-alert-id=\"{alert_id}\"]");
    click(&c, &format!("{sel} .ack")).await;
    until(&c, "the alert to show acknowledged", 10, || async {
        (text(&c, &format!("{sel} .triage")).await.trim() == "acknowledged").then_some(())
    })
    .await;
    shot(&c, "03-acknowledged").await;
    // The server recorded it, with who.
    let (status, cookie, _) = http(
        web,
        "POST",
        "/api/login",
        None,
        Some(json!({"username": "olga", "password": "night-watch-2026"})),
    );
    assert_eq!(status, 200);
    let (_, _, d) = http(
        web,
        "GET",
        &format!("/api/alerts/{alert_id}"),
        Some(&cookie),
        None,
    );
    assert_eq!(d["alert"]["triage"]["status"], "acknowledged", "{d}");
    assert_eq!(d["actions"][0]["user"], "olga");

    // The status page: ingest, fusion and broker health from the same numbers as /metrics.
    click(&c, "#status-button").await;
    until(&c, "the status page with ingest figures", 15, || async {
        let t = text(&c, "#status").await.to_lowercase();
        (t.contains("ingest lines") && t.contains("ais:lampedusa") && t.contains("fusion lag"))
            .then_some(())
    })
    .await;
    shot(&c, "03b-status").await;
    click(&c, "#status-button").await;

    // Open the vessel card.
    click(&c, "[data-track-id=\"ais:247123456\"]").await;
    until(&c, "the vessel card", 10, || async {
        let name = text(&c, "#vessel-card .name").await;
        name.contains("MARE NOSTRUM STAR").then_some(())
    })
    .await;
    assert!(text(&c, "#vessel-card .mmsi").await.contains("247123456"));
    assert!(!text(&c, "#vessel-card .risk").await.is_empty());
    shot(&c, "04-vessel-card").await;

    // Replay an hour back: needs an hour of picture (a minute of wall time at 60x).
    let wait = Duration::from_secs(68).saturating_sub(started.elapsed());
    tokio::time::sleep(wait).await;
    let live_pos = pos(&text(&c, row).await).expect("live position");
    c.execute(
        "const r = document.getElementById('replay'); r.value = '60'; r.dispatchEvent(new Event('input', {bubbles: true})); r.dispatchEvent(new Event('change', {bubbles: true})); return r.value",
        vec![],
    )
    .await
    .unwrap();
    until(&c, "the replay banner", 10, || async {
        text(&c, "#replay-label")
            .await
            .contains("REPLAY")
            .then_some(())
    })
    .await;
    let then = until(&c, "the vessel as it was an hour ago", 10, || async {
        pos(&text(&c, row).await).filter(|p| (p.1 - live_pos.1).abs() > 0.1)
    })
    .await;
    // An hour at 13.5 kn: about 13.5 NM east of where it is now, 0.27° of longitude.
    assert!(
        then.1 - live_pos.1 > 0.2 && then.1 - live_pos.1 < 0.35,
        "an hour back it was east of {live_pos:?}: {then:?}"
    );
    shot(&c, "05-replay").await;
    click(&c, "#live-button").await;
    until(&c, "back to live", 10, || async {
        text(&c, "#replay-label")
            .await
            .contains("LIVE")
            .then_some(())
    })
    .await;
    // Escalate the acknowledged alert: an incident, whose interception log opens with it;
    // the watch officer records a hail in it, and the chain verifies as it is shown.
    click(&c, &format!("{sel} .escalate")).await;
    let inc = until(&c, "the incident in the list", 15, || async {
        let v = c
            .execute(
                "const e = document.querySelector('#incident-list [data-ilog]'); return e ? e.dataset.ilog : null",
                vec![],
            )
            .await
            .ok()?;
        v.as_str().map(str::to_owned)
    })
    .await;
    click(&c, &format!("[data-ilog=\"{inc}\"]")).await;
    until(&c, "the interception log, verified", 10, || async {
        let t = text(&c, "#ilog-body").await;
        (t.contains("Hash chain verified: 1 entries") && t.contains("detection")).then_some(())
    })
    .await;
    let why = c.find(Locator::Css("#ilog-why")).await.unwrap();
    why.send_keys("hailed on VHF 16, no answer").await.unwrap();
    click(&c, "#ilog-record").await;
    until(&c, "the hail in the log", 10, || async {
        let t = text(&c, "#ilog-body").await;
        (t.contains("Hash chain verified: 2 entries") && t.contains("hailed on VHF 16, no answer"))
            .then_some(())
    })
    .await;
    shot(&c, "06-interception-log").await;
    click(&c, "[data-close=\"ilog\"]").await;
    let errors = c
        .execute("return window.__errors || []", vec![])
        .await
        .unwrap();
    assert_eq!(errors, json!([]), "no script errors in the page");
    c.close().await.unwrap();
}
