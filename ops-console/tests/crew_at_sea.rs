//! The crew's side at sea, in a real browser: Debian's chromium on a phone-sized window,
//! driving the vessel's own interface (`tidewatch patrol --web`, HTTPS with the unit's
//! certificate) while its link to the centre (`tidewatch up`, MQTT over TLS through a radio
//! relay the test cuts silently) comes and goes.
//!
//! ```text
//!  chromium (412×915) ──HTTPS──▶ tidewatch patrol --web ──TLS──▶ radio relay (cut) ──▶ tidewatch up ──▶ console
//! ```
//!
//! With the link up the crew reports a sighting; fusion tasks the unit; the centre escalates,
//! opens an article-8 case and records the flag State's authorization with a condition, which
//! the vessel caches. With the link cut the crew reports again, accepts the tasking, boards
//! (before acknowledging the condition: refused later, R09), acknowledges the condition,
//! boards, rescues 12 with tags and seizes an exhibit with a photo and a seal. With the link
//! back everything arrives once, in order, at the times it happened; the refusal comes back
//! with its rule; the evidence's hash is the one taken on board; `tidewatch verify` passes on
//! the export. Screenshots in `target/test-artifacts/crew/`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcp};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::watch;

mod support;

use support::{Killed, relay, require};

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts/crew");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tidewatch(args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(s) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{s}\n").as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tidewatch {args:?}: {text}");
    text
}

/// `tidewatch up` with the remote listener, until it says where everything is: (MQTT remote,
/// console HTTP).
fn start_up(data: &Path) -> (Killed, SocketAddr, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args([
            "up",
            "--mqtt",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--mqtt-remote",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tidewatch up starts");
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let proc = Killed(child);
    let (mut remote, mut http) = (None, None);
    let mut said = String::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while remote.is_none() || http.is_none() {
        let l = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("tidewatch up did not start:\n{said}"));
        said.push_str(&l);
        said.push('\n');
        let l = l.trim();
        if let Some(rest) = l.strip_prefix("MQTT remote  -> ") {
            remote = rest.split(' ').next().and_then(|a| a.parse().ok());
        }
        if let Some(rest) = l.strip_prefix("console      -> http://") {
            http = rest.trim_end_matches('/').parse().ok();
        }
    }
    let mut log = std::fs::File::create(data.with_file_name("up.log")).unwrap();
    let _ = log.write_all(said.as_bytes());
    std::thread::spawn(move || {
        while let Ok(l) = rx.recv() {
            let _ = writeln!(log, "{l}");
        }
    });
    (proc, remote.unwrap(), http.unwrap())
}

fn checksum(body: &str) -> String {
    format!("{:02X}", body.bytes().fold(0u8, |a, b| a ^ b))
}

/// The ship's GNSS and radar: a fix and a radar target every second to whoever connects.
async fn instruments(listener: TcpListener) {
    loop {
        let Ok((mut c, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            loop {
                let rmc = "GPRMC,101500.00,A,3530.600,N,01233.000,E,6.0,270.0,051226,,,A";
                let tll = "RATLL,07,3531.200,N,01231.000,E,BOAT,101500.00,T,";
                let text = format!("${rmc}*{}\r\n${tll}*{}\r\n", checksum(rmc), checksum(tll));
                if c.write_all(text.as_bytes()).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

/// The console's API, as a shore user: (status, body).
struct Shore {
    addr: SocketAddr,
    cookie: String,
    csrf: String,
}

fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String, String) {
    let mut s = StdTcp::connect(addr).unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

impl Shore {
    fn login(addr: SocketAddr, name: &str) -> Shore {
        let (status, head, body) = request(
            addr,
            "POST",
            "/api/login",
            "",
            &json!({"username": name, "password": format!("{name}-pass-2026")}).to_string(),
        );
        assert_eq!(status, 200, "{name}: {body}");
        let cookie = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .starts_with("set-cookie:")
                    .then(|| l[11..].trim().to_owned())
            })
            .unwrap();
        let csrf = serde_json::from_str::<Value>(&body).unwrap()["csrf"]
            .as_str()
            .unwrap()
            .to_owned();
        Shore {
            addr,
            cookie: cookie.split(';').next().unwrap().to_owned(),
            csrf,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (status, _, b) = request(
            self.addr,
            method,
            path,
            &format!("Cookie: {}\r\nX-CSRF-Token: {}\r\n", self.cookie, self.csrf),
            &body.map(|b| b.to_string()).unwrap_or_default(),
        );
        (status, serde_json::from_str(&b).unwrap_or(Value::String(b)))
    }

    fn act(&self, incident: &str, action: Value) {
        let (s, b) = self.call(
            "POST",
            &format!("/api/incidents/{incident}/case"),
            Some(json!({"action": action, "why": "as the procedure requires"})),
        );
        assert_eq!(s, 201, "{action}: {b}");
    }
}

fn message(ours: &str, theirs: Option<&str>) -> Value {
    json!({"authority": "Panama registry", "channel": "secure e-mail", "our_ref": ours,
        "their_ref": theirs, "content": format!("message {ours}")})
}

/// The text of the first element `css` picks, lower-cased ("" when none). Read in the page
/// in one go: the interface redraws its lists every two seconds, and an element found before a
/// redraw is gone after it.
async fn text(c: &Client, css: &str) -> String {
    all_text(c, css)
        .await
        .into_iter()
        .next()
        .unwrap_or_default()
}

/// The texts of the elements `css` picks, lower-cased, read in the page in one go.
async fn all_text(c: &Client, css: &str) -> Vec<String> {
    let v = c
        .execute(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent);",
            vec![json!(css)],
        )
        .await
        .unwrap_or(Value::Null);
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|t| t.as_str().unwrap_or_default().to_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

async fn shot(c: &Client, name: &str) {
    if let Ok(png) = c.screenshot().await {
        let path = artifacts().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
    }
}

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
    let e = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    // As a thumb would: the button scrolled to the middle of the screen first.
    let _ = c
        .execute(
            "arguments[0].scrollIntoView({block: 'center'})",
            vec![serde_json::to_value(&e).unwrap()],
        )
        .await;
    e.click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn fill(c: &Client, css: &str, value: &str) {
    let e = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

async fn scroll_to(c: &Client, css: &str) {
    c.execute(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'start'})",
        vec![json!(css)],
    )
    .await
    .unwrap();
}

async fn tab(c: &Client, name: &str) {
    click(c, &format!("nav button[data-tab={name}]")).await;
}

/// Record a case action on the vessel's interface: what the page says after.
async fn record(c: &Client, action: &str, fields: &[(&str, &str)], why: &str) -> String {
    tab(c, "case").await;
    c.execute(
        "const s = document.getElementById('action'); s.value = arguments[0]; s.onchange();",
        vec![json!(action)],
    )
    .await
    .unwrap();
    for (name, value) in fields {
        if *name == "photo" {
            c.find(Locator::Css("#photo"))
                .await
                .unwrap()
                .send_keys(value)
                .await
                .unwrap();
        } else {
            fill(c, &format!("#f-{name}"), value).await;
        }
    }
    fill(c, "#why", why).await;
    let before = text(c, "#msg").await;
    click(c, "#record").await;
    until(c, &format!("{action} saved"), 30, || async {
        let m = text(c, "#msg").await;
        (m != before && !m.is_empty()).then_some(m)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_sea_with_the_link_cut_the_crew_records_everything_and_it_arrives_once_in_order() {
    let chromedriver = require("chromedriver", "chromium-driver");
    require("chromium", "chromium");
    let tmp = tempfile::tempdir().unwrap();
    let centre = tmp.path().join("centre");
    let boat = tmp.path().join("boat");
    let (_up, remote, http) = start_up(&centre);
    let centre_s = centre.to_str().unwrap();

    // The radio link between the vessel and the centre's remote listener.
    let radio = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let radio_addr = radio.local_addr().unwrap();
    let (link, link_rx) = watch::channel(true);
    tokio::spawn(relay(radio, remote, link_rx));
    tidewatch(
        &[
            "unit",
            "add",
            "cp-301",
            "--data",
            centre_s,
            "--broker-address",
            &radio_addr.to_string(),
        ],
        None,
    );
    for (name, role) in [
        ("owo", "watch_officer"),
        ("duty1", "duty_officer"),
        ("duty2", "duty_officer"),
        ("bo", "boarding_officer"),
        ("inv", "investigator"),
    ] {
        tidewatch(
            &[
                "user",
                "add",
                name,
                "--role",
                role,
                "--password-stdin",
                "--data",
                centre_s,
            ],
            Some(&format!("{name}-pass-2026")),
        );
    }
    // On board: the boarding officer's account and key; the centre registers the key.
    let credentials = centre.join("credentials/cp-301.toml");
    let creds = credentials.to_str().unwrap();
    let said = tidewatch(
        &[
            "patrol",
            "--credentials",
            creds,
            "--data",
            boat.to_str().unwrap(),
            "--add-crew",
            "bo",
            "--crew-role",
            "boarding_officer",
        ],
        Some("bo-pass-2026"),
    );
    let register = said
        .lines()
        .find(|l| l.trim_start().starts_with("tidewatch user sea-key"))
        .unwrap_or_else(|| panic!("no registration command printed: {said}"));
    let mut args: Vec<&str> = register.split_whitespace().skip(1).collect();
    args.extend(["--data", centre_s]);
    tidewatch(&args, None);

    let gnss = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gnss_addr = gnss.local_addr().unwrap();
    tokio::spawn(instruments(gnss));
    let web_port = support::free_port();
    let patrol_log = std::fs::File::create(tmp.path().join("patrol.log")).unwrap();
    let _patrol = Killed(
        Command::new(env!("CARGO_BIN_EXE_tidewatch"))
            .args(["patrol", "--credentials", creds, "--keep-alive-secs", "4"])
            .args(["--nmea", &format!("tcp://{gnss_addr}")])
            .args(["--web", &format!("127.0.0.1:{web_port}")])
            .arg("--data")
            .arg(&boat)
            .stdin(Stdio::piped())
            .stdout(patrol_log.try_clone().unwrap())
            .stderr(patrol_log)
            .spawn()
            .unwrap(),
    );

    let wd_port = support::free_port();
    let _driver = Killed(
        Command::new(chromedriver)
            .arg(format!("--port={wd_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--ignore-certificate-errors", "--window-size=412,915"]}),
    );
    let c = until_client(&format!("http://127.0.0.1:{wd_port}"), caps).await;
    c.set_window_size(412, 915).await.unwrap();
    let url = format!("https://127.0.0.1:{web_port}/");
    let started = Instant::now();
    loop {
        if c.goto(&url).await.is_ok() && c.find(Locator::Css("#login")).await.is_ok() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the vessel's interface did not come up"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    fill(&c, "#name", "bo").await;
    fill(&c, "#password", "bo-pass-2026").await;
    click(&c, "#login").await;
    until(&c, "the link up and a GNSS fix", 60, || async {
        let link = text(&c, "#link").await;
        let own = text(&c, "#own").await;
        (link.starts_with("link up") && own.contains("35.51")).then_some(())
    })
    .await;
    shot(&c, "01-map-link-up").await;
    // Review 22: another page cannot make the crew's browser post (no header, no action), and
    // nothing asks the crew to record a migrant as a suspect (R36).
    let posted = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const body = JSON.stringify({incident: 'INC-X', why: 'x', action: {type: 'suspect', tag: 'cp-301-0001', offences: ['smuggling'], grounds: 'x'}});
             Promise.all([
               fetch('/api/case', {method: 'POST', headers: {'Content-Type': 'application/json'}, body}).then(r => r.status),
               fetch('/api/case', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-Tidewatch-Crew': '1'}, body}).then(async r => [r.status, await r.text()]),
             ]).then(done);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(posted[0], 403, "{posted}");
    assert_eq!(posted[1][0], 422, "{posted}");
    assert!(posted[1][1].as_str().unwrap().contains("R36"), "{posted}");
    // Guessing a crew member's password: after five wrong ones, a wait (429), even for the
    // right one; others are not held up.
    let tries = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const login = (name, password) => fetch('/api/login', {method: 'POST',
               headers: {'Content-Type': 'application/json', 'X-Tidewatch-Crew': '1'},
               body: JSON.stringify({name, password})}).then(r => r.status);
             (async () => {
               const out = [];
               for (let i = 0; i < 6; i++) out.push(await login('captain', 'guess-' + i));
               out.push(await login('bo', 'bo-pass-2026'));
               done(out);
             })();",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(tries, json!([401, 401, 401, 401, 401, 429, 200]), "{tries}");

    // ---- Link up: a sighting; fusion tasks the unit; the centre opens the case.
    tab(&c, "report").await;
    c.execute(
        "document.getElementById('s-condition').value = 'overcrowded'",
        vec![],
    )
    .await
    .unwrap();
    fill(&c, "#s-persons", "12").await;
    click(&c, "#send-sighting").await;
    until(&c, "the sighting saved", 20, || async {
        text(&c, "#msg")
            .await
            .contains("saved on board")
            .then_some(())
    })
    .await;
    let tasking = until(&c, "a tasking from the centre", 90, || async {
        let e = c.find(Locator::Css(".tasking")).await.ok()?;
        e.attr("data-id").await.ok().flatten()
    })
    .await;
    let owo = Shore::login(http, "owo");
    let (s, alerts) = owo.call("GET", "/api/alerts", None);
    assert_eq!(s, 200, "{alerts}");
    let alert = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| tasking.contains(a["id"].as_str().unwrap()))
        .unwrap_or_else(|| panic!("no alert for {tasking}: {alerts}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, inc) = owo.call(
        "POST",
        &format!("/api/alerts/{alert}/escalate"),
        Some(json!({"title": "rubber boat, 12 persons, overcrowded"})),
    );
    assert!(s == 200 || s == 201, "{inc}");
    let incident = inc["triage"]["incident"]
        .as_str()
        .unwrap_or_else(|| panic!("{inc}"))
        .to_owned();
    owo.act(
        &incident,
        json!({"type": "open_art8", "target": "MV AURORA, MMSI 352001234",
        "vessel_kind": "private", "grounds": "mother ship released the boat"}),
    );
    let duty1 = Shore::login(http, "duty1");
    duty1.act(&incident, json!({"type": "notify_flag_state", "case": 1, "flag": "PA", "message": message("IT-1", None)}));
    duty1.act(&incident, json!({"type": "registry_reply", "case": 1, "confirmed": true, "message": message("IT-1", Some("PA-9"))}));
    duty1.act(
        &incident,
        json!({"type": "request_authorization", "case": 1,
        "measures": ["board", "search", "seize_evidence"], "message": message("IT-2", None)}),
    );
    Shore::login(http, "duty2").act(
        &incident,
        json!({"type": "record_authorization", "case": 1,
        "reference": "PA-AUTH-7", "issued_by": "Director of Merchant Marine",
        "measures": ["board", "search", "seize_evidence"],
        "conditions": ["Crew of the vessel remain on board under Panamanian jurisdiction"],
        "valid_hours": 48.0, "message": message("IT-2", Some("PA-10"))}),
    );
    let shore_entries = owo
        .call("GET", &format!("/api/incidents/{incident}/log"), None)
        .1["entries"]
        .as_array()
        .unwrap()
        .len();

    // The vessel caches the case: the authorization and its condition, not acknowledged.
    tab(&c, "case").await;
    until(&c, "the case view on board", 60, || async {
        let b = text(&c, "#brief").await;
        (b.contains("pa-auth-7") && b.contains("not acknowledged")).then_some(())
    })
    .await;
    scroll_to(&c, "#brief").await;
    shot(&c, "02-case-view-synced").await;

    // ---- Link cut.
    link.send_replace(false);
    until(&c, "the interface to say the link is down", 60, || async {
        text(&c, "#link")
            .await
            .starts_with("link down")
            .then_some(())
    })
    .await;
    // A second sighting, its position taken from the map.
    tab(&c, "map").await;
    click(&c, "#map").await;
    until(&c, "a position taken from the map", 10, || async {
        (text(&c, "#picked").await != "none").then_some(())
    })
    .await;
    tab(&c, "report").await;
    c.execute(
        "document.getElementById('s-condition').value = 'people_in_water'",
        vec![],
    )
    .await
    .unwrap();
    fill(&c, "#s-persons", "12").await;
    click(&c, "#send-sighting").await;
    until(&c, "the second sighting saved", 20, || async {
        text(&c, "#msg")
            .await
            .contains("saved on board")
            .then_some(())
    })
    .await;
    click(&c, ".tasking .accept").await;
    until(&c, "the tasking accepted", 20, || async {
        text(&c, ".tasking .answer")
            .await
            .contains("accepted")
            .then_some(())
    })
    .await;
    c.execute(
        "const s = document.getElementById('incident'); s.value = arguments[0]; s.onchange();",
        vec![json!(incident)],
    )
    .await
    .unwrap();
    // Boarding before the condition is acknowledged: saved on board, refused by the centre.
    let m = record(
        &c,
        "board",
        &[("case", "1")],
        "vessel stopped, boarding team away",
    )
    .await;
    assert!(m.contains("saved on board"), "{m}");
    record(
        &c,
        "acknowledge_condition",
        &[("case", "1"), ("condition", "1")],
        "commander acknowledges",
    )
    .await;
    record(&c, "board", &[("case", "1")], "boarding under PA-AUTH-7").await;
    tab(&c, "case").await;
    c.execute(
        "const s = document.getElementById('action'); s.value = 'rescue'; s.onchange();",
        vec![],
    )
    .await
    .unwrap();
    fill(&c, "#f-count", "12").await;
    let hint = until(&c, "the tags to give", 10, || async {
        let t = text(&c, "#tags-hint").await;
        t.contains("cp-301-0012").then_some(t)
    })
    .await;
    assert!(hint.contains("cp-301-0001"), "{hint}");
    shot(&c, "03-rescue-tags-offline").await;
    record(
        &c,
        "rescue",
        &[("count", "12")],
        "persons in the water, all recovered",
    )
    .await;
    let photo = tmp.path().join("engine-plate.jpg");
    let photo_bytes: Vec<u8> = (0..150_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&photo, &photo_bytes).unwrap();
    let m = record(
        &c,
        "seize",
        &[
            ("description", "engine identification plate"),
            ("found", "stern, outboard"),
            ("seal", "S-1001"),
            ("place", "cp-301 evidence locker"),
            ("photo", photo.to_str().unwrap()),
        ],
        "evidence of the vessel's identity",
    )
    .await;
    assert!(m.contains("saved on board"), "{m}");
    tab(&c, "log").await;
    let waiting = all_text(&c, ".record .outcome").await;
    assert_eq!(waiting.len(), 5, "{waiting:?}");
    assert!(
        waiting.iter().all(|w| w.contains("waiting for the link")),
        "{waiting:?}"
    );
    shot(&c, "04-log-link-down").await;
    // Nothing reached the centre.
    let (_, log) = owo.call("GET", &format!("/api/incidents/{incident}/log"), None);
    assert_eq!(
        log["entries"].as_array().unwrap().len(),
        shore_entries,
        "something crossed a cut link"
    );

    // ---- Link back: everything arrives, once, in order.
    link.send_replace(true);
    let outcomes = until(&c, "the centre's answers to all five", 180, || async {
        let o = all_text(&c, ".record .outcome").await;
        let f = all_text(&c, ".file .outcome").await;
        (o.len() == 5
            && o.iter().all(|t| !t.is_empty() && !t.contains("waiting"))
            && f.iter().any(|t| t.contains("kept at the centre")))
        .then_some(o)
    })
    .await;
    scroll_to(&c, "#records .record:last-child").await;
    shot(&c, "05-log-synced").await;
    // Answered, each record and the file's parts leave the vessel's queue (not before).
    until(
        &c,
        "the case queue on board emptied by the answers",
        30,
        || async {
            let v = c
                .execute_async(
                    "const done = arguments[arguments.length - 1];
                 fetch('/api/state').then(r => r.json()).then(s => done(s.waiting_case));",
                    vec![],
                )
                .await
                .ok()?;
            (v == json!(0)).then_some(())
        },
    )
    .await;
    // Newest first on the page.
    let oldest_first: Vec<&String> = outcomes.iter().rev().collect();
    assert!(
        oldest_first[0].contains("refused (r09)"),
        "{oldest_first:?}"
    );
    for o in &oldest_first[1..] {
        assert!(o.contains("applied"), "{oldest_first:?}");
    }
    assert!(
        oldest_first[3].contains("cp-301-0001") && oldest_first[3].contains("cp-301-0012"),
        "{oldest_first:?}"
    );

    // The console's case file: the four applied, in the order taken on board, each once, at
    // the times they happened, signed on board.
    let journal: Vec<Value> = std::fs::read_to_string(boat.join("case-journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(journal.len(), 5);
    // Read by the investigator: evidence entries are withheld from the watch officer.
    let inv = Shore::login(http, "inv");
    let (_, log) = inv.call("GET", &format!("/api/incidents/{incident}/log"), None);
    let entries = log["entries"].as_array().unwrap();
    let from_sea: Vec<&Value> = entries
        .iter()
        .filter(|e| !e["details"]["at_sea"].is_null())
        .collect();
    let ids: Vec<&str> = from_sea
        .iter()
        .map(|e| e["details"]["at_sea"]["record_id"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = journal[1..]
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, want, "taken once each, in the order recorded on board");
    for (e, r) in from_sea.iter().zip(&journal[1..]) {
        let a: jiff::Timestamp = e["occurred_at"].as_str().unwrap().parse().unwrap();
        let b: jiff::Timestamp = r["occurred_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(a, b, "the time it happened on board");
        assert_eq!(e["details"]["at_sea"]["record_sha256"], r["sha256"]);
        assert_eq!(e["actor"]["user"], "bo");
        assert_eq!(e["actor"]["unit"], "cp-301");
    }
    let seize = from_sea.last().unwrap();
    let sha = ingest::wire::sea::sha256_hex(&photo_bytes);
    assert_eq!(
        seize["details"]["case_action"]["files"][0]["sha256"],
        sha.as_str(),
        "the hash taken on board"
    );
    let files = std::fs::read_to_string(boat.join("evidence-files.jsonl")).unwrap();
    assert!(files.contains(&sha), "{files}");

    // The investigator's export verifies offline.
    let (s, done) = inv.call("POST", &format!("/api/incidents/{incident}/export"), None);
    assert!(s == 200 || s == 201, "{done}");
    let dir = centre.join("console").join(done["dir"].as_str().unwrap());
    let verified = tidewatch(&["verify", dir.to_str().unwrap()], None);
    eprintln!("{verified}");
    assert_eq!(done["files"], 1, "{done}");
    assert!(
        verified.contains("4 entries signed at sea by the officer's key"),
        "{verified}"
    );
    // A record altered in the export (the rescue said 12; now 11): the officer's signature
    // no longer holds, and verify says so.
    let bundle = dir.join("interception.json");
    let text = std::fs::read_to_string(&bundle).unwrap();
    let altered = text.replacen(r#"\"count\":12"#, r#"\"count\":11"#, 1);
    assert_ne!(altered, text, "the rescue's record is in the export");
    std::fs::write(&bundle, altered).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .arg("verify")
        .arg(&dir)
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("signed at sea"), "{said}");

    // The night mode, for the README.
    tab(&c, "case").await;
    click(&c, "#night").await;
    scroll_to(&c, "#brief").await;
    shot(&c, "06-case-night").await;
    c.close().await.unwrap();
}

async fn until_client(wd: &str, caps: serde_json::Map<String, Value>) -> Client {
    let started = Instant::now();
    loop {
        match Client::with_capabilities_and_connector(
            wd,
            &caps,
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .await
        {
            Ok(c) => return c,
            Err(e) => {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "chromedriver: {e}"
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    }
}
