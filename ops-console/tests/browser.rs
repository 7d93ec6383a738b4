//! The console in a real browser: Debian's chromium driven through chromium-driver
//! (WebDriver), against the real `tidewatch up --demo`.
//!
//! A watch officer logs in, watches a simulated vessel move, acknowledges an alert, opens a
//! vessel card and replays the picture an hour back. Screenshots are kept in
//! `target/test-artifacts/browser/`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

mod support;

use support::{Killed, free_port, require};

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
    // The centre's area ends at 35.3° N: the fishing closure north of it is someone else's.
    let area = dir.path().join("area.geojson");
    std::fs::write(
        &area,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"our SRR"},
           "geometry":{"type":"Polygon","coordinates":[[[10,32],[16,32],[16,35.3],[10,35.3],[10,32]]]}}]}"#,
    )
    .unwrap();
    // One scenario minute per wall second: an hour of picture in a minute.
    let mut up = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args(["up", "--demo", "--speed", "60"])
        .arg("--area")
        .arg(&area)
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

    // The trawler in the closure north of our area: alerted, kept, hidden unless asked.
    let listed = |kind: &'static str| {
        let c = c.clone();
        async move {
            let v = c
                .execute(
                    "return [...document.querySelectorAll('#alert-list [data-alert-id]')].filter(e => e.dataset.alertId.startsWith(arguments[0])).length",
                    vec![json!(format!("{kind}-"))],
                )
                .await
                .ok()?;
            v.as_u64()
        }
    };
    until(&c, "an alert outside our area, hidden", 90, || async {
        // (Shown in capitals.)
        let t = text(&c, "#alert-count").await.to_lowercase();
        t.contains("1 outside our area hidden").then_some(())
    })
    .await;
    assert_eq!(listed("zone_entry").await, Some(0), "hidden by default");
    click(&c, "#filter-outside").await;
    until(
        &c,
        "the alert outside our area, shown when asked",
        10,
        || async { (listed("zone_entry").await? > 0).then_some(()) },
    )
    .await;
    click(&c, "#filter-outside").await;
    until(
        &c,
        "the alert outside our area, hidden again",
        10,
        || async { (listed("zone_entry").await? == 0).then_some(()) },
    )
    .await;

    // Acknowledge an alert.
    let alert_id = until(&c, "an alert in the list", 90, || async {
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
    // Listed after those inside our area when asked for.
    click(&c, "#filter-outside").await;
    let last_is_outside = until(&c, "the alert outside our area, listed last", 10, || async {
        let v = c
            .execute(
                "const l = [...document.querySelectorAll('#alert-list [data-alert-id]')]; return l.length > 1 ? l[l.length - 1].dataset.alertId.startsWith('zone_entry-') && !l[0].dataset.alertId.startsWith('zone_entry-') : null",
                vec![],
            )
            .await
            .ok()?;
        v.as_bool()
    })
    .await;
    assert!(last_is_outside);
    let where_ = text(&c, "#alert-list [data-alert-id^=\"zone_entry-\"] .a-where").await;
    assert!(
        where_.to_lowercase().contains("outside our area"),
        "{where_}"
    );
    shot(&c, "03a-outside-our-area").await;
    click(&c, "#filter-outside").await;
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
        (t.contains("ingest lines")
            && t.contains("ais:lampedusa")
            && t.contains("fusion lag")
            && t.contains("publishers wait on"))
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

    walk_a_whole_interception(&c, &url, dir.path(), web, &inc).await;

    let errors = c
        .execute("return window.__errors || []", vec![])
        .await
        .unwrap();
    assert_eq!(errors, json!([]), "no script errors in the page");
    c.close().await.unwrap();
}

/// Add a user through the command line, as an administrator would.
fn add_user(data: &std::path::Path, name: &str, role: &str, state: Option<&str>) {
    let out = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args([
            "user",
            "add",
            name,
            "--role",
            role,
            "--password-stdin",
            "--data",
        ])
        .arg(data)
        .args(state.map(|s| ["--state", s]).into_iter().flatten())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .unwrap()
                .write_all(format!("{name}-pass-2026\n").as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success(), "adding {name}");
}

async fn login_as(c: &Client, url: &str, name: &str) {
    if c.find(Locator::Css("#logout")).await.is_ok_and(|_| true) {
        let _ = c
            .execute("document.getElementById('logout').click()", vec![])
            .await;
    }
    c.goto(url).await.unwrap();
    until(c, "the login form", 15, || async {
        c.execute(
            "const f = document.getElementById('login-form'); return !!f && f.offsetParent !== null",
            vec![],
        )
        .await
        .ok()
        .filter(|v| *v == json!(true))
    })
    .await;
    let u = c.find(Locator::Css("#login-user")).await.unwrap();
    u.clear().await.unwrap();
    u.send_keys(name).await.unwrap();
    let p = c.find(Locator::Css("#login-password")).await.unwrap();
    p.clear().await.unwrap();
    p.send_keys(&format!("{name}-pass-2026")).await.unwrap();
    click(c, "#login-submit").await;
    until(c, &format!("{name} logged in"), 20, || async {
        text(c, "#who").await.contains(name).then_some(())
    })
    .await;
}

async fn open_case(c: &Client, inc: &str) {
    until(c, "the incident's case button", 20, || async {
        c.find(Locator::Css(&format!("[data-case=\"{inc}\"]")))
            .await
            .ok()
    })
    .await;
    click(c, &format!("[data-case=\"{inc}\"]")).await;
    until(c, "the case file", 10, || async {
        // Headings are shown upper-case: compare without case.
        text(c, "#case-body")
            .await
            .to_lowercase()
            .contains("evidence register")
            .then_some(())
    })
    .await;
}

/// A field of the action form: text typed, a box ticked, or a file chosen.
enum F<'a> {
    T(&'a str, &'a str),
    Tick(&'a str),
    File(&'a str, &'a str),
}

/// Choose `action` in the open case file, fill its form and say why.
async fn fill(c: &Client, action: &str, fields: &[F<'_>], why: &str) {
    c.find(Locator::Css("#case-action"))
        .await
        .unwrap()
        .select_by_value(action)
        .await
        .unwrap();
    for f in fields {
        match f {
            F::T(id, v) => {
                let e = c
                    .find(Locator::Css(&format!("#cf-{id}")))
                    .await
                    .unwrap_or_else(|e| panic!("{action}: field {id}: {e}"));
                e.clear().await.unwrap();
                e.send_keys(v).await.unwrap();
            }
            F::Tick(sel) => click(c, sel).await,
            F::File(id, path) => c
                .find(Locator::Css(&format!("#cf-{id}")))
                .await
                .unwrap()
                .send_keys(path)
                .await
                .unwrap(),
        }
    }
    let w = c.find(Locator::Css("#case-why")).await.unwrap();
    w.clear().await.unwrap();
    w.send_keys(why).await.unwrap();
}

/// Record one action in the open case file as a user would: choose it, fill its form, say
/// why, submit; then wait for `expect` in the case file (or, for what it does not show, the
/// toast that confirms it: `Recorded: family`).
async fn act(c: &Client, action: &str, fields: &[F<'_>], why: &str, expect: &str) {
    fill(c, action, fields, why).await;
    click(c, "#case-submit").await;
    until(
        c,
        &format!("{action}: {expect:?} in the case file"),
        15,
        || async {
            let t = text(c, "#case-body").await.to_lowercase();
            if t.contains(&expect.to_lowercase()) {
                return Some(());
            }
            let toast = text(c, "#toast").await;
            // What the case file does not show is confirmed by the toast.
            if toast.starts_with(expect) {
                return Some(());
            }
            assert!(
                !toast.starts_with("Refused"),
                "{action} refused in the browser: {toast}"
            );
            None
        },
    )
    .await;
}

/// Try an action the rules refuse: the user is told, with the rule.
async fn refused(c: &Client, action: &str, fields: &[F<'_>], why: &str, rule: &str) {
    fill(c, action, fields, why).await;
    click(c, "#case-submit").await;
    until(c, &format!("{action} refused with {rule}"), 15, || async {
        let toast = text(c, "#toast").await;
        (toast.starts_with("Refused") && toast.contains(rule)).then_some(())
    })
    .await;
}

fn msg<'a>(our: &'a str, their: Option<&'a str>) -> Vec<F<'a>> {
    let mut v = vec![
        F::T("message-authority", "Panama Maritime Authority (art. 8(6))"),
        F::T("message-channel", "secure e-mail"),
        F::T("message-our_ref", our),
        F::T(
            "message-content",
            "Request under art. 8(2) of the Protocol, see attached",
        ),
    ];
    if let Some(t) = their {
        v.push(F::T("message-their_ref", t));
    }
    v
}

/// The whole interception in the browser, each step by the role that does it: an article-8
/// case on the escalated incident, the flag-State request, an authorization with a
/// condition (recorded by a second duty officer, R61), the condition acknowledged, boarding,
/// the rescue of 47, a place of safety, their disembarkation, evidence seized with a photo
/// and handed to the investigator, and the investigator's export, verified offline.
async fn walk_a_whole_interception(
    c: &Client,
    url: &str,
    data: &std::path::Path,
    web: u16,
    inc: &str,
) {
    for (name, role) in [
        ("anna.duty", "duty_officer"),
        ("paolo.duty", "duty_officer"),
        ("marco.bo", "boarding_officer"),
        ("luca.smc", "sar_coordinator"),
        ("giulia.inv", "investigator"),
    ] {
        add_user(data, name, role, None);
    }
    // The watch officer opens the article-8 case on the incident.
    open_case(c, inc).await;
    act(
        c,
        "open_art8",
        &[
            F::T("target", "MV AURORA, MMSI 352001234"),
            F::T(
                "grounds",
                "met an overcrowded rubber boat at sea, then went dark",
            ),
        ],
        "pattern of a mother ship releasing a boat",
        "suspicion recorded",
    )
    .await;
    shot(c, "07-case-opened").await;

    login_as(c, url, "anna.duty").await;
    open_case(c, inc).await;
    let mut f = vec![F::T("flag", "PA")];
    f.extend(msg("IT-ART8-2026-014", None));
    act(
        c,
        "notify_flag_state",
        &f,
        "claims Panama",
        "flag state notified",
    )
    .await;
    let mut f = vec![F::Tick("#cf-confirmed")];
    f.extend(msg("IT-ART8-2026-014", Some("PA-AMP-0917")));
    act(
        c,
        "registry_reply",
        &f,
        "Panama confirms registry",
        "registry confirmed",
    )
    .await;
    let mut f = vec![
        F::Tick("#cf-measures [data-measure=board]"),
        F::Tick("#cf-measures [data-measure=search]"),
        F::Tick("#cf-measures [data-measure=seize_evidence]"),
    ];
    f.extend(msg("IT-ART8-2026-015", None));
    act(
        c,
        "request_authorization",
        &f,
        "boarding and search needed",
        "authorization requested",
    )
    .await;

    login_as(c, url, "paolo.duty").await;
    open_case(c, inc).await;
    let mut f = vec![
        F::T("reference", "PA-AUTH-2026-331"),
        F::T("issued_by", "Director General of Merchant Marine"),
        F::Tick("#cf-measures [data-measure=board]"),
        F::Tick("#cf-measures [data-measure=search]"),
        F::Tick("#cf-measures [data-measure=seize_evidence]"),
        F::T("conditions", "Report the results within 24 hours"),
        F::T("valid_hours", "48"),
    ];
    f.extend(msg("IT-ART8-2026-015", Some("PA-AMP-0931")));
    act(
        c,
        "record_authorization",
        &f,
        "authorization received by secure e-mail",
        "Authorization PA-AUTH-2026-331",
    )
    .await;
    shot(c, "08-authorized").await;

    // On scene, on a patrol vessel's small laptop screen.
    c.set_window_size(1024, 640).await.unwrap();
    login_as(c, url, "marco.bo").await;
    open_case(c, inc).await;
    act(
        c,
        "acknowledge_condition",
        &[],
        "condition read to the boarding team",
        "acknowledged by marco.bo",
    )
    .await;
    let at = [F::T("pos-lat", "35.21"), F::T("pos-lon", "12.88")];
    let mut f = vec![F::T("unit", "cp-301")];
    f.extend(at.iter().map(|x| match x {
        F::T(a, b) => F::T(a, b),
        _ => unreachable!(),
    }));
    act(
        c,
        "board",
        &f,
        "boarding team of six on board",
        "Boarded by cp-301",
    )
    .await;
    act(
        c,
        "rescue",
        &[
            F::T("unit", "cp-302"),
            F::T("count", "47"),
            F::T("pos-lat", "35.22"),
            F::T("pos-lon", "12.87"),
        ],
        "47 persons taken off the rubber boat, tagged at the rail",
        "Persons: 47 rescued",
    )
    .await;
    act(
        c,
        "headcount",
        &[F::T("unit", "cp-302"), F::T("alive", "47")],
        "count on the aft deck",
        "47 alive, 0 deceased",
    )
    .await;
    shot(c, "09-small-screen-rescue").await;
    c.set_window_size(1400, 900).await.unwrap();

    login_as(c, url, "luca.smc").await;
    open_case(c, inc).await;
    act(
        c,
        "place_of_safety",
        &[
            F::T("name", "Porto Empedocle"),
            F::T("state", "IT"),
            F::T(
                "rationale",
                "assigned by the RCC, reception and medical teams ready",
            ),
        ],
        "place of safety assigned",
        "Porto Empedocle (IT)",
    )
    .await;

    login_as(c, url, "marco.bo").await;
    open_case(c, inc).await;
    // A child with a medical emergency and her father: kept together, landed first (R38,
    // R39).
    act(
        c,
        "vulnerability",
        // MED_EMERG, the form's first flag.
        &[F::T("tag", "cp-302-0031")],
        "the child is hypothermic",
        "MED_EMERG",
    )
    .await;
    act(
        c,
        "family",
        &[F::T("tags", "cp-302-0031, cp-302-0012")],
        "father and daughter",
        "Recorded: family",
    )
    .await;
    act(
        c,
        "disembark",
        &[F::T("unit", "cp-302")],
        "all landed at the quay",
        "landing order cp-302-0031, cp-302-0012, cp-302-0001",
    )
    .await;
    let photo = data.join("engine-plate.jpg");
    std::fs::write(&photo, b"JPEG: outboard engine plate, serial 7731-XK").unwrap();
    act(
        c,
        "seize",
        &[
            F::T("description", "outboard engine plate"),
            F::T("found", "transom of the rubber boat"),
            F::T("seal", "S-2026-0411"),
            F::T("place", "cp-301 evidence locker"),
            F::T("case", "1"),
            F::File("files", photo.to_str().unwrap()),
            F::T("pos-lat", "35.22"),
            F::T("pos-lon", "12.87"),
        ],
        "serial links the engine to a supplier",
        "EX-0001",
    )
    .await;
    let exhibit = format!("{inc}/EX-0001");
    act(
        c,
        "custody_transfer",
        &[
            F::T("exhibit", &exhibit),
            F::T("to", "giulia.inv"),
            F::T("seal", "S-2026-0411"),
            F::T("place", "Porto Empedocle quay"),
        ],
        "handed to the investigator",
        "in transfer",
    )
    .await;

    login_as(c, url, "giulia.inv").await;
    open_case(c, inc).await;
    act(
        c,
        "custody_receive",
        &[F::T("exhibit", &exhibit), F::T("seal", "S-2026-0411")],
        "received, seal intact",
        "held by giulia.inv",
    )
    .await;
    click(c, "#case-export").await;
    let out = until(c, "the export written and verified", 20, || async {
        let t = text(c, "#case-export-out").await;
        t.split_once("→ ").map(|(_, d)| d.trim().to_owned())
    })
    .await;
    shot(c, "10-export").await;
    // The console names it inside its data directory, not by the server's own path.
    assert!(out.starts_with("exports/"), "{out}");
    let out = data.join("console").join(&out);
    // Checked offline, by the command an investigator or a court would run.
    let v = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .arg("verify")
        .arg(&out)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&v.stdout);
    assert!(
        v.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(
        said.contains("intact") && said.contains("1 evidence files"),
        "{said}"
    );
    let bundle: Value = serde_json::from_slice(
        &std::fs::read(PathBuf::from(&out).join("interception.json")).unwrap(),
    )
    .unwrap();
    let events: Vec<&str> = bundle["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    for e in [
        "detection",
        "message_out",
        "message_in",
        "authorization_recorded",
        "condition_acknowledged",
        "boarding_start",
        "headcount",
        "place_of_safety_decision",
        "disembarkation",
        "evidence_seized",
        "custody_event",
    ] {
        assert!(events.contains(&e), "{e} in the exported log: {events:?}");
    }
    let report = std::fs::read_to_string(PathBuf::from(&out).join("report.html")).unwrap();
    assert!(
        report.contains("PA-AUTH-2026-331"),
        "the authorization in the report"
    );
    // The escalated alert's track is on the report's map.
    assert!(
        bundle["tracks"].as_array().is_some_and(|t| !t.is_empty()),
        "the alert's track in the export"
    );
    assert!(
        report.contains("stroke-dasharray"),
        "the track drawn on the map"
    );
    let (status, _, _) = http(
        web,
        "GET",
        &format!("/api/incidents/{inc}/report"),
        None,
        None,
    );
    assert_eq!(status, 401, "the report is behind a login");

    // Information from Malta, shareable with Greece under its caveat: released to Greece, whose
    // liaison officer sees it and nothing else of the incident.
    act(
        c,
        "info_item",
        &[
            F::T("content", "MV AURORA's owner is known to Maltese police"),
            F::T("originator", "MT"),
            F::T("originator_ref", "MT-POL-2026-55"),
            F::T("purposes", "investigation"),
            F::T("recipients", "GR"),
        ],
        "received from the Maltese liaison",
        "IX-1",
    )
    .await;
    act(
        c,
        "release",
        &[F::T("item", "IX-1"), F::T("to_state", "GR")],
        "joint investigation with Greece",
        "released to GR",
    )
    .await;
    // The father asked for protection and fears Greece: an item about him goes nowhere
    // near Greece, whatever its caveat allows (R41).
    add_user(data, "sara.prot", "protection_officer", None);
    login_as(c, url, "sara.prot").await;
    open_case(c, inc).await;
    act(
        c,
        "asylum",
        &[
            F::T("tag", "cp-302-0012"),
            F::T("summary", "fears being returned through Greece"),
            F::T("blocked_states", "GR"),
        ],
        "said on arrival at the quay, with an interpreter",
        "Recorded: asylum",
    )
    .await;
    login_as(c, url, "giulia.inv").await;
    open_case(c, inc).await;
    act(
        c,
        "info_item",
        &[
            F::T("content", "the father's phone lists the organiser's number"),
            F::T("originator", "IT"),
            F::T("originator_ref", "IT-GDF-2026-9"),
            F::T("purposes", "investigation"),
            F::T("recipients", "GR"),
            F::T("persons", "cp-302-0012"),
        ],
        "from the phone examination",
        "IX-2",
    )
    .await;
    refused(
        c,
        "release",
        &[F::T("item", "IX-2"), F::T("to_state", "GR")],
        "joint investigation with Greece",
        "R41",
    )
    .await;
    add_user(data, "eleni.gr", "partner_liaison", Some("GR"));
    login_as(c, url, "eleni.gr").await;
    until(c, "what was released to Greece", 15, || async {
        let t = text(c, "#no-access").await.to_lowercase();
        (t.contains("released to gr") && t.contains("known to maltese police")).then_some(())
    })
    .await;
    let t = text(c, "#no-access").await;
    assert!(
        !t.contains("engine plate") && !t.contains("47") && !t.contains("organiser's number"),
        "only the release: {t}"
    );
    shot(c, "11-liaison").await;

    // R58: oversight reads the persons pseudonymised until a second auditor approves a
    // justified request to unmask the incident.
    add_user(data, "ines.aud", "auditor", None);
    add_user(data, "otto.aud", "auditor", None);
    login_as(c, url, "ines.aud").await;
    open_case(c, inc).await;
    let t = text(c, "#case-body").await;
    assert!(
        !t.contains("cp-302-0012") && t.contains("person-"),
        "pseudonymised: {t}"
    );
    click(c, "#audit-button").await;
    until(c, "the unmask form", 15, || async {
        c.find(Locator::Css("#unmask-ask")).await.ok()
    })
    .await;
    c.find(Locator::Css("#unmask-incident"))
        .await
        .unwrap()
        .send_keys(inc)
        .await
        .unwrap();
    c.find(Locator::Css("#unmask-why"))
        .await
        .unwrap()
        .send_keys("complaint 2026/31: who was held, and where they landed")
        .await
        .unwrap();
    click(c, "#unmask-ask").await;
    until(c, "the unmask request recorded", 15, || async {
        text(c, "#unmask-said")
            .await
            .contains("recorded")
            .then_some(())
    })
    .await;
    login_as(c, url, "otto.aud").await;
    click(c, "#audit-button").await;
    until(c, "the request to approve", 15, || async {
        c.find(Locator::Css("[data-unmask-approve]")).await.ok()
    })
    .await;
    click(c, "[data-unmask-approve]").await;
    until(c, "the request approved", 15, || async {
        text(c, ".unmask-approved")
            .await
            .contains("approved")
            .then_some(())
    })
    .await;
    shot(c, "12-unmask-approved").await;
    login_as(c, url, "ines.aud").await;
    open_case(c, inc).await;
    until(c, "the persons unmasked", 15, || async {
        text(c, "#case-body")
            .await
            .contains("cp-302-0012")
            .then_some(())
    })
    .await;
}
