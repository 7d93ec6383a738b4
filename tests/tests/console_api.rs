//! The console's API against a real embedded broker: what each role may do, sessions,
//! CSRF, login limits, triage and its log, the live stream, replay.

use std::path::Path;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ops_console::console::{self, ConsoleConfig, Running, auth, feed::FeedConfig};
use ops_console::metrics::Metrics;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::{Value, json};
use tidewatch_broker::{Broker, BrokerConfig, Credentials, Role};
use tidewatch_tests::http::Client;

pub(crate) const ROLES: [&str; 10] = [
    "watch_officer",
    "sar_coordinator",
    "boarding_officer",
    "investigator",
    "partner_liaison",
    "auditor",
    "admin",
    "duty_officer",
    "legal_adviser",
    "protection_officer",
];

pub(crate) fn password(role: &str) -> String {
    format!("{role}-password-1")
}

pub(crate) struct TestConsole {
    broker: Broker,
    pub(crate) running: Running,
    /// Publishes observations, logged in as ingest.
    mqtt: AsyncClient,
    /// Publishes alerts, logged in as fusion.
    fusion_mqtt: AsyncClient,
}

/// A client logged in as `login` whose event loop runs (and reconnects) in a task.
fn mqtt_client(port: u16, id: &str, login: &Credentials) -> AsyncClient {
    let mut opts = MqttOptions::new(id, "127.0.0.1", port);
    opts.set_credentials(&login.username, &login.password);
    let (client, mut el) = AsyncClient::new(opts, 1000);
    tokio::spawn(async move {
        loop {
            if el.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    client
}

impl TestConsole {
    pub(crate) async fn start(dir: &Path) -> TestConsole {
        // Each logs in as itself, as in `tidewatch up`: the broker lets only ingest publish
        // observations, only fusion alerts.
        let mut cfg = BrokerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..BrokerConfig::default()
        };
        let console_login = cfg.add_generated_user("console", Role::Console).unwrap();
        let ingest_login = cfg.add_generated_user("ingest", Role::Ingest).unwrap();
        let fusion_login = cfg.add_generated_user("fusion", Role::Fusion).unwrap();
        let broker = Broker::start(cfg).await.unwrap();
        let port = broker.addr().port();
        let running = console::start(
            ConsoleConfig {
                dir: Some(dir.to_owned()),
                picture: Default::default(),
                fusion: Default::default(),
                reference: None,
                database: None,
            },
            FeedConfig {
                credentials: Some(console_login.pair()),
                ..FeedConfig::new("127.0.0.1", port, "test-console")
            },
            "127.0.0.1:0".parse().unwrap(),
            std::sync::Arc::new(Metrics::new()),
            false,
        )
        .await
        .unwrap();
        let t = TestConsole {
            broker,
            running,
            mqtt: mqtt_client(port, "test-source", &ingest_login),
            fusion_mqtt: mqtt_client(port, "test-fusion", &fusion_login),
        };
        // The feed receives what is published once the broker confirmed its subscriptions.
        t.wait(|| t.running.console.feed_is_subscribed()).await;
        t
    }

    pub(crate) fn client(&self) -> Client {
        Client::new(self.running.http)
    }

    /// One account per role, password `<role>-password-1`, no one-time password.
    pub(crate) fn add_role_users(&self) {
        for role in ROLES {
            if role == "admin" {
                let phc = auth::hash_password(&password(role)).unwrap();
                let store = self.running.console.store();
                assert!(store.set_password("admin", &phc, false).unwrap());
                continue;
            }
            self.add_user(role, role);
        }
    }

    /// An account `name` with `role`, password [`password`]`(name)`.
    pub(crate) fn add_user(&self, name: &str, role: &str) {
        let phc = auth::hash_password(&password(name)).unwrap();
        assert!(
            self.running
                .console
                .store()
                .add_user(&console::store::UserRecord {
                    name: name.into(),
                    role: role.parse().unwrap(),
                    password: phc,
                    must_change: false,
                    created_at: Timestamp::now(),
                })
                .unwrap()
        );
    }

    async fn publish(&self, topic: &str, payload: Value) {
        let client = if topic.starts_with("tidewatch/v1/alerts/") {
            &self.fusion_mqtt
        } else {
            &self.mqtt
        };
        client
            .publish(topic, QoS::AtLeastOnce, false, payload.to_string())
            .await
            .unwrap();
    }

    async fn ais(&self, id: &str, time: Timestamp, mmsi: u32, lat: f64, lon: f64, sog: f64) {
        self.publish(
            &format!("tidewatch/v1/obs/ais/{mmsi}"),
            json!({"id": id, "time": time, "time_source": "tag_block", "received_at": time,
                   "receivers": ["test"], "data": {"kind": "ais", "mmsi": mmsi, "msg_type": 1,
                   "lat": lat, "lon": lon, "sog_kn": sog, "cog_deg": 270.0}}),
        )
        .await;
    }

    pub(crate) async fn alert(
        &self,
        id: &str,
        kind: &str,
        severity: &str,
        revision: u32,
        mmsi: u32,
    ) {
        self.alert_json(id, kind, severity, revision, mmsi, json!({}))
            .await;
    }

    /// An incident escalated by the watch officer from a SAR beacon alert `alert` (its SAR
    /// case opened in distress); its id. The role users must exist.
    pub(crate) async fn sar_incident(&self, alert: &str, mmsi: u32) -> String {
        self.alert(alert, "sar_beacon", "critical", 1, mmsi).await;
        let c = self.running.console.clone();
        self.wait(|| {
            c.picture()
                .alerts_at(None, true)
                .iter()
                .any(|a| a.id == alert)
        })
        .await;
        let mut wo = self.client();
        wo.login("watch_officer", &password("watch_officer")).await;
        let r = wo
            .post(&format!("/api/alerts/{alert}/escalate"), json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["triage"]["incident"].as_str().unwrap().to_owned()
    }

    /// [`TestConsole::alert`] with more fields (`extra`, merged in).
    pub(crate) async fn alert_json(
        &self,
        id: &str,
        kind: &str,
        severity: &str,
        revision: u32,
        mmsi: u32,
        extra: Value,
    ) {
        let now = Timestamp::now();
        let mut a = json!({"id": id, "kind": kind, "severity": severity, "state": "open",
            "revision": revision, "time": now, "start": now, "mmsi": [mmsi], "contacts": [],
            "position": {"lat": 35.2, "lon": 12.9}, "score": 0.8,
            "reasons": ["2 vessels within 180 m for 52 min"], "rule": format!("{kind}@1"),
            "params": {}});
        if let (Some(a), Some(extra)) = (a.as_object_mut(), extra.as_object()) {
            a.extend(extra.clone());
        }
        // What the console reads is what fusion writes.
        let _: fusion::Alert = serde_json::from_value(a.clone()).unwrap();
        self.publish(&format!("tidewatch/v1/alerts/{kind}"), a)
            .await;
    }

    pub(crate) async fn wait(&self, mut f: impl FnMut() -> bool) {
        for _ in 0..500 {
            if f() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("timed out waiting");
    }

    pub(crate) async fn stop(self) {
        self.running.shutdown().await;
        self.broker.shutdown().await;
    }
}

/// (method, path, body, roles allowed)
type Endpoint = (
    &'static str,
    String,
    Option<Value>,
    Option<Vec<&'static str>>,
);

/// What the API promises: (method, path, body, roles allowed). `None`: any logged-in user.
/// Written out here, apart from the code's own table, so a change to who may do what
/// must be made in both places.
fn matrix(alert: &str, alert2: &str, alert3: &str, sar: &str, unmask: i64) -> Vec<Endpoint> {
    let picture = Some(vec![
        "watch_officer",
        "sar_coordinator",
        "boarding_officer",
        "investigator",
        "auditor",
        "duty_officer",
        "legal_adviser",
        "protection_officer",
    ]);
    let triage = Some(vec!["watch_officer", "sar_coordinator"]);
    vec![
        ("GET", "/api/me".into(), None, None),
        ("GET", "/api/picture".into(), None, picture.clone()),
        (
            "GET",
            "/api/picture?at=2026-11-22T10:00:00Z".into(),
            None,
            picture.clone(),
        ),
        (
            "GET",
            "/api/tracks/ais:247123456/trail".into(),
            None,
            picture.clone(),
        ),
        (
            "GET",
            "/api/vessels/247123456".into(),
            None,
            picture.clone(),
        ),
        ("GET", "/api/alerts".into(), None, picture.clone()),
        ("GET", format!("/api/alerts/{alert}"), None, picture.clone()),
        ("GET", "/api/incidents".into(), None, picture.clone()),
        ("GET", "/api/assignees".into(), None, triage.clone()),
        ("GET", format!("/api/sar/{sar}"), None, picture.clone()),
        (
            "POST",
            format!("/api/sar/{sar}/phase"),
            Some(json!({"phase": "distress", "rationale": "persons in the water"})),
            Some(vec!["sar_coordinator"]),
        ),
        (
            "POST",
            format!("/api/sar/{sar}/status"),
            Some(
                json!({"action": "suspend", "rationale": "sea state 7, search impracticable until dawn"}),
            ),
            Some(vec!["sar_coordinator"]),
        ),
        (
            "GET",
            format!("/api/incidents/{sar}/log"),
            None,
            picture.clone(),
        ),
        (
            "POST",
            format!("/api/incidents/{sar}/log"),
            Some(json!({"event": "note", "why": "hailed on VHF 16, no answer"})),
            Some(vec![
                "watch_officer",
                "sar_coordinator",
                "boarding_officer",
                "investigator",
                "duty_officer",
                "legal_adviser",
                "protection_officer",
            ]),
        ),
        (
            "GET",
            format!("/api/incidents/{sar}/case"),
            None,
            picture.clone(),
        ),
        (
            "POST",
            format!("/api/incidents/{sar}/case"),
            Some(json!({
                "action": {"type": "imminent_danger", "action": "towed clear of the breakers",
                           "danger": "engine fire on board", "persons_at_risk": 5},
                "why": "fire reported by the skipper on VHF 16",
                "position": {"lat": 35.2, "lon": 12.9},
            })),
            // Rescue first: every operational role records a life-saving action (R21).
            Some(vec![
                "watch_officer",
                "sar_coordinator",
                "boarding_officer",
                "duty_officer",
            ]),
        ),
        (
            "POST",
            format!("/api/incidents/{sar}/evidence-files"),
            Some(json!({"photo": "bytes"})),
            // R60: evidence is handled by the boarding officer and the investigator.
            Some(vec!["boarding_officer", "investigator"]),
        ),
        (
            "POST",
            format!("/api/incidents/{sar}/export"),
            Some(json!({})),
            Some(vec!["investigator"]),
        ),
        (
            "GET",
            format!("/api/incidents/{sar}/report"),
            None,
            Some(vec!["investigator"]),
        ),
        (
            "GET",
            format!("/api/incidents/{sar}/report.pdf"),
            None,
            Some(vec!["investigator"]),
        ),
        (
            "GET",
            format!("/api/incidents/{sar}/released"),
            None,
            Some(vec!["partner_liaison"]),
        ),
        (
            "GET",
            "/api/released".into(),
            None,
            Some(vec!["partner_liaison"]),
        ),
        ("GET", "/api/live".into(), None, picture.clone()),
        (
            "POST",
            format!("/api/alerts/{alert}/ack"),
            Some(json!({})),
            triage.clone(),
        ),
        (
            "POST",
            format!("/api/alerts/{alert}/assign"),
            Some(json!({"user": "watch_officer"})),
            triage.clone(),
        ),
        (
            "POST",
            format!("/api/alerts/{alert2}/dismiss"),
            Some(json!({"reason": "known fishing vessel"})),
            triage.clone(),
        ),
        (
            "POST",
            format!("/api/alerts/{alert3}/escalate"),
            Some(json!({})),
            triage,
        ),
        (
            "GET",
            "/api/status".into(),
            None,
            Some(vec!["watch_officer", "sar_coordinator", "auditor", "admin"]),
        ),
        ("GET", "/api/users".into(), None, Some(vec!["admin"])),
        (
            "POST",
            "/api/users".into(),
            Some(json!({"name": "NAME", "role": "investigator"})),
            Some(vec!["admin"]),
        ),
        // The second person for an account the administrator asks for (review 17, hole 6).
        (
            "GET",
            "/api/approvals".into(),
            None,
            Some(vec!["sar_coordinator"]),
        ),
        (
            "POST",
            "/api/approvals/pending-1".into(),
            None,
            Some(vec!["sar_coordinator"]),
        ),
        ("GET", "/api/audit".into(), None, Some(vec!["auditor"])),
        (
            "POST",
            format!("/api/incidents/{sar}/unmask"),
            Some(json!({"justification": "complaint 2026/7 about this rescue"})),
            Some(vec!["auditor"]),
        ),
        (
            "POST",
            format!("/api/unmask/{unmask}/approve"),
            Some(json!({})),
            Some(vec!["auditor"]),
        ),
    ]
}

async fn call(c: &Client, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    if path == "/api/live" {
        return (c.status_only(method, path).await, Value::Null);
    }
    let r = c.request(method, path, body).await;
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_every_role_as_the_matrix_says_and_no_session_gets_401() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    let now = Timestamp::now();
    t.ais("o-1", now, 247123456, 35.2, 12.9, 12.0).await;
    for (id, kind) in [
        ("a-1", "rendezvous"),
        ("a-2", "loitering"),
        ("a-3", "ais_gap"),
        ("a-4", "sar_beacon"),
    ] {
        t.alert(id, kind, "high", 1, 247123456).await;
    }
    let c = &t.running.console;
    t.wait(|| c.picture().alerts_at(None, true).len() == 4)
        .await;
    // A rescue alert escalated: a SAR case to act on.
    let mut wo = t.client();
    wo.login("watch_officer", &password("watch_officer")).await;
    let r = wo.post("/api/alerts/a-4/escalate", json!({})).await;
    let sar = r.json()["triage"]["incident"].as_str().unwrap().to_owned();
    // An account the administrator asked for, for the SMC to approve.
    let mut admin = t.client();
    admin.login("admin", &password("admin")).await;
    let r = admin
        .post(
            "/api/users",
            json!({"name": "pending-1", "role": "auditor"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text());

    // A second auditor's unmask request, for the auditor to approve (R58).
    t.add_user("auditor-2", "auditor");
    let mut aud2 = t.client();
    aud2.login("auditor-2", &password("auditor-2")).await;
    let r = aud2
        .post(
            &format!("/api/incidents/{sar}/unmask"),
            json!({"justification": "complaint 2026/7 about this rescue"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let unmask = r.json()["request"].as_i64().unwrap();

    let m = matrix("a-1", "a-2", "a-3", &sar, unmask);
    // Every operation the API describes is in the matrix (or public).
    let doc = t.client().get("/api/openapi.json").await.json();
    let public = ["/api/health", "/api/login"];
    let own = ["/api/logout", "/api/me/password"];
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            if public.contains(&path.as_str()) || own.contains(&path.as_str()) {
                continue;
            }
            let templ = regex_like(path);
            assert!(
                m.iter().any(|(mm, p, _, _)| *mm == method && templ(p)),
                "{method} {path} is not in the authorization matrix"
            );
        }
    }

    // No session: 401 everywhere but the public endpoints.
    let anon = t.client();
    for (method, path, body, _) in &m {
        let (status, v) = call(&anon, method, path, body.as_ref()).await;
        assert_eq!(status, 401, "{method} {path} without a session: {v}");
    }
    for path in ["/api/logout", "/api/me/password"] {
        let (status, _) = call(&anon, "POST", path, Some(&json!({}))).await;
        assert_eq!(status, 401, "POST {path} without a session");
    }
    for path in [
        "/api/health",
        "/api/openapi.json",
        "/",
        "/ui/app.js",
        "/metrics",
    ] {
        assert_eq!(anon.get(path).await.status, 200, "GET {path} is public");
    }

    let mut table = String::new();
    for role in ROLES {
        let mut cl = t.client();
        let me = cl.login(role, &password(role)).await;
        assert_eq!(me["role"], role);
        for (method, path, body, allowed) in &m {
            let body = body.as_ref().map(|b| {
                let mut b = b.clone();
                if b.get("name").is_some() {
                    b["name"] = json!(format!("new-{role}"));
                }
                b
            });
            let (status, v) = call(&cl, method, path, body.as_ref()).await;
            let may = allowed.as_ref().is_none_or(|a| a.contains(&role));
            if may {
                // Allowed: done, or a conflict with the state an earlier role left (acked
                // already); never a rule's refusal (`refused`), which would hide a rule that
                // wrongly blocks a role the table allows (R21).
                assert!(
                    status < 300 || (status == 409 && v["error"] == "conflict"),
                    "{role} {method} {path} must be allowed, got {status}: {v}"
                );
            } else {
                assert_eq!(status, 403, "{role} {method} {path} must be refused: {v}");
                if path != "/api/live" {
                    assert_eq!(v["error"], "forbidden", "{role} {method} {path}: {v}");
                }
            }
            table.push_str(&format!("{role:<17} {method:<5} {path:<45} {status}\n"));
        }
        // A change without the anti-CSRF token is refused, whoever sends it.
        let mut no_csrf = cl.clone();
        no_csrf.csrf = None;
        let r = no_csrf.post("/api/alerts/a-1/ack", json!({})).await;
        assert_eq!(r.status, 403, "{role}: no CSRF token");
        assert_eq!(r.json()["error"], "csrf");
        // A wrong one too.
        no_csrf.csrf = Some("x".repeat(43));
        assert_eq!(no_csrf.post("/api/logout", json!({})).await.status, 403);
        // Logging out ends the session.
        assert_eq!(cl.post("/api/logout", json!({})).await.status, 204);
        assert_eq!(cl.get("/api/me").await.status, 401, "{role}: after logout");
    }
    eprintln!("{table}");
    t.stop().await;
}

/// A matcher of an OpenAPI path template (`/api/alerts/{id}`) against a concrete path.
fn regex_like(template: &str) -> impl Fn(&str) -> bool + '_ {
    move |path: &str| {
        let path = path.split('?').next().unwrap();
        let a: Vec<&str> = template.split('/').collect();
        let b: Vec<&str> = path.split('/').collect();
        a.len() == b.len()
            && a.iter()
                .zip(&b)
                .all(|(x, y)| (x.starts_with('{') && x.ends_with('}')) || x == y)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_gives_a_one_time_admin_password_and_logins_are_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    let (name, otp) = t
        .running
        .first_admin
        .clone()
        .expect("a first administrator");
    assert_eq!(name, "admin");
    let mut c = t.client();
    let me = c.login("admin", &otp).await;
    assert_eq!(me["must_change_password"], true);
    // Nothing but changing it until it is changed.
    let r = c.get("/api/users").await;
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (403, json!("password_change_required"))
    );
    let r = c
        .post("/api/me/password", json!({"current": otp, "new": "short"}))
        .await;
    assert_eq!(r.status, 400);
    let r = c
        .post(
            "/api/me/password",
            json!({"current": "wrong", "new": "a-much-longer-password"}),
        )
        .await;
    assert_eq!(r.status, 401);
    let r = c
        .post(
            "/api/me/password",
            json!({"current": otp, "new": "a-much-longer-password"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(c.get("/api/users").await.status, 200);
    // The one-time password no longer works; the new one does.
    let anon = t.client();
    let r = anon
        .post("/api/login", json!({"username": "admin", "password": otp}))
        .await;
    assert_eq!(r.status, 401);
    // The administrator asks for an operational account: it awaits a second person, the
    // SMC (created at the server's command line), who gets its one-time password.
    let r = c
        .post(
            "/api/users",
            json!({"name": "olga", "role": "watch_officer"}),
        )
        .await;
    assert_eq!(r.status, 202);
    assert!(r.json()["one_time_password"].is_null());
    console::create_user(
        t.running.console.store(),
        "smc",
        auth::Role::SarCoordinator,
        Some(password("sar_coordinator")),
        None,
    )
    .unwrap()
    .unwrap();
    let mut smc = t.client();
    smc.login("smc", &password("sar_coordinator")).await;
    let r = smc.post("/api/approvals/olga", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let olga_otp = r.json()["one_time_password"].as_str().unwrap().to_owned();
    assert_eq!(
        c.post("/api/users", json!({"name": "olga", "role": "auditor"}))
            .await
            .status,
        409
    );
    assert_eq!(
        c.post("/api/users", json!({"name": "o l g a", "role": "auditor"}))
            .await
            .status,
        400
    );
    assert_eq!(
        c.post("/api/users", json!({"name": "olga2", "role": "captain"}))
            .await
            .status,
        400
    );

    // Five wrong passwords for a name: the sixth try is refused even with the right one.
    for _ in 0..5 {
        let r = anon
            .post(
                "/api/login",
                json!({"username": "olga", "password": "guess-guess-guess"}),
            )
            .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json()["error"], "bad_credentials");
    }
    let r = anon
        .post(
            "/api/login",
            json!({"username": "olga", "password": olga_otp}),
        )
        .await;
    assert_eq!(r.status, 429);
    let wait: u64 = r.headers["retry-after"].parse().unwrap();
    assert!((800..=900).contains(&wait), "Retry-After {wait}");
    // An unknown name fails the same way as a wrong password.
    let r = anon
        .post(
            "/api/login",
            json!({"username": "nobody", "password": "guess-guess-guess"}),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (401, json!("bad_credentials"))
    );
    // Malformed bodies get a JSON error, not a crash.
    let r = anon.post("/api/login", json!({"user": "x"})).await;
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("bad_request"))
    );

    // Every one of these is in the audit log, and the chain holds.
    let store = t.running.console.store();
    let log = store.audit_log(0, 100).unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "login_failed").count(),
        7,
        "{actions:?}"
    );
    for a in [
        "user_add",
        "user_request",
        "user_approve",
        "login",
        "password_change",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    assert_eq!(store.verify_audit().unwrap(), None);
    t.stop().await;
}

/// Regression: the console dropped fusion's `outside_area`, so its "Outside our area"
/// filter hid nothing. The API carries it, and only when set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_outside_our_area_reaches_the_console_marked() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    let mut wo = t.client();
    wo.login("watch_officer", &password("watch_officer")).await;
    t.alert_json(
        "far-1",
        "zone_entry",
        "high",
        1,
        247000111,
        json!({"outside_area": true}),
    )
    .await;
    t.alert("near-1", "zone_entry", "high", 1, 247000112).await;
    let mut got = Value::Null;
    for _ in 0..250 {
        let v = wo.get("/api/alerts").await.json();
        if v.as_array().is_some_and(|l| l.len() == 2) {
            got = v;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let by_id = |id: &str| {
        got.as_array()
            .and_then(|l| l.iter().find(|a| a["id"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("{id} in {got}"))
    };
    assert_eq!(by_id("far-1")["outside_area"], json!(true));
    assert!(by_id("near-1").get("outside_area").is_none());
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triage_is_logged_streamed_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    let mut wo = t.client();
    wo.login("watch_officer", &password("watch_officer")).await;
    let mut live = wo.live().await;
    let (event, _) = live.next().await;
    assert_eq!(event, "hello");

    t.alert("rv-1", "rendezvous", "high", 1, 247123456).await;
    t.alert("sart-1", "sar_beacon", "critical", 1, 970123456)
        .await;
    // A repeat (QoS 1 redelivery) is one revision.
    t.alert("rv-1", "rendezvous", "high", 1, 247123456).await;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let (event, data) = tokio::time::timeout(Duration::from_secs(10), live.next())
            .await
            .expect("alert events");
        if event == "alert" {
            let v: Value = serde_json::from_str(&data).unwrap();
            seen.push(v["id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen, ["rv-1", "sart-1"]);

    // Acknowledge: the change reaches every tab.
    let r = wo.post("/api/alerts/rv-1/ack", json!({})).await;
    assert_eq!(r.json()["triage"]["status"], "acknowledged");
    loop {
        let (event, data) = live.next().await;
        if event == "alert" {
            let v: Value = serde_json::from_str(&data).unwrap();
            assert_eq!(
                (v["id"].as_str(), v["triage"]["status"].as_str()),
                (Some("rv-1"), Some("acknowledged"))
            );
            break;
        }
    }
    // Assign only to someone who may triage.
    let r = wo
        .post("/api/alerts/rv-1/assign", json!({"user": "investigator"}))
        .await;
    assert_eq!(r.status, 409);
    let r = wo
        .post("/api/alerts/rv-1/assign", json!({"user": "nobody"}))
        .await;
    assert_eq!(r.status, 404);
    let r = wo
        .post(
            "/api/alerts/rv-1/assign",
            json!({"user": "sar_coordinator"}),
        )
        .await;
    assert_eq!(r.json()["triage"]["assignee"], "sar_coordinator");
    // A dismissal needs a reason; a rescue alert is the SMC's to stand down.
    let r = wo
        .post("/api/alerts/rv-1/dismiss", json!({"reason": "  "}))
        .await;
    assert_eq!(r.status, 400);
    let r = wo
        .post("/api/alerts/sart-1/dismiss", json!({"reason": "test"}))
        .await;
    assert_eq!(r.status, 403);
    // Escalate the rescue alert: a SAR incident.
    let r = wo
        .post(
            "/api/alerts/sart-1/escalate",
            json!({"title": "SART south of Lampedusa"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let inc = r.json()["triage"]["incident"].as_str().unwrap().to_owned();
    assert!(inc.starts_with("INC-"), "{inc}");
    let r = wo.post("/api/alerts/sart-1/escalate", json!({})).await;
    assert_eq!(r.status, 409);
    let r = wo
        .post("/api/alerts/sart-1/dismiss", json!({"reason": "x"}))
        .await;
    assert_eq!(r.status, 403);
    let incidents = wo.get("/api/incidents").await.json();
    assert_eq!(incidents[0]["kind"], "sar");
    assert_eq!(incidents[0]["alerts"], json!(["sart-1"]));
    // The SAR case opened in distress (a beacon, R19); only the SMC changes its phase, with
    // a rationale.
    let case = wo.get(&format!("/api/sar/{inc}")).await.json();
    assert_eq!(case["case"]["phase"], "distress");
    assert_eq!(case["case"]["log"][0]["event"]["event"], "opened");
    assert_eq!(case["case"]["log"][0]["by"]["name"], "watch_officer");
    let r = wo
        .post(
            &format!("/api/sar/{inc}/phase"),
            json!({"phase": "alert", "rationale": "x"}),
        )
        .await;
    assert_eq!(r.status, 403);
    let mut smc = t.client();
    smc.login("sar_coordinator", &password("sar_coordinator"))
        .await;
    let r = smc
        .post(
            &format!("/api/sar/{inc}/phase"),
            json!({"phase": "alert", "rationale": " "}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = smc
        .post(
            &format!("/api/sar/{inc}/phase"),
            json!({"phase": "alert", "rationale": "SART confirmed as a test by the flag State's MRCC; keeping watch"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["case"]["phase"], "alert");
    // The role as the account has it: one role type across the console and its cases.
    assert_eq!(r.json()["case"]["log"][1]["by"]["role"], "sar_coordinator");
    // The incident's interception log opened with the escalation, and takes what the crew
    // and the watch record; a late entry says why (R57); it is checked as it is read.
    let log = wo.get(&format!("/api/incidents/{inc}/log")).await.json();
    assert_eq!(log["entries"][0]["event"], "detection");
    assert_eq!(log["entries"][0]["actor"]["user"], "watch_officer");
    // The SMC's phase change is in it too: the log holds every change, with why.
    assert_eq!(log["entries"][1]["event"], "phase_change");
    assert_eq!(log["entries"][1]["actor"]["user"], "sar_coordinator");
    assert_eq!(log["entries"][1]["details"]["phase"], "alert");
    assert!(
        log["entries"][1]["why"]
            .as_str()
            .unwrap()
            .starts_with("SART confirmed")
    );
    let r = wo
        .post(
            &format!("/api/incidents/{inc}/log"),
            json!({"event": "hail", "why": "hailed on VHF 16 and 70, no answer"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    // Recorded after the fact: how long ago, and why only now (R57).
    let r = wo
        .post(
            &format!("/api/incidents/{inc}/log"),
            json!({"event": "note", "why": "persons seen waving", "late": {"minutes_ago": 120, "reason": " "}}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = wo
        .post(
            &format!("/api/incidents/{inc}/log"),
            json!({"event": "note", "why": "persons seen waving",
                   "late": {"minutes_ago": 120, "reason": "radio log transcribed after the rescue"}}),
        )
        .await;
    assert_eq!(r.status, 201);
    let e = &r.json()["entries"][3];
    assert_eq!(e["late_reason"], "radio log transcribed after the rescue");
    let occurred: jiff::Timestamp = e["occurred_at"].as_str().unwrap().parse().unwrap();
    let recorded: jiff::Timestamp = e["recorded_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        recorded.duration_since(occurred),
        jiff::SignedDuration::from_mins(120)
    );
    // A correction of an entry that does not exist.
    let r = wo
        .post(
            &format!("/api/incidents/{inc}/log"),
            json!({"event": "hail", "corrects": 19, "why": "x"}),
        )
        .await;
    assert_eq!(r.status, 404);
    // JSON has one kind of number: `19.0` is entry 19 too (found by Schemathesis, ST202: a
    // schema-valid body refused with 400), and `3.5` names no entry.
    let r = wo
        .post(
            &format!("/api/incidents/{inc}/log"),
            json!({"event": "hail", "corrects": 19.0, "why": "x"}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", String::from_utf8_lossy(&r.body));
    let r = wo
        .post(
            &format!("/api/incidents/{inc}/log"),
            json!({"event": "hail", "corrects": 3.5, "why": "x"}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = wo
        .post(
            &format!("/api/incidents/{inc}/log"),
            json!({"event": "hail", "corrects": 3, "why": "hailed on VHF 16 only"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let log = r.json();
    assert_eq!(log["entries"].as_array().unwrap().len(), 5);
    assert_eq!(log["verified"], 5);
    assert_eq!(log["first_break"], Value::Null);
    assert_eq!(log["entries"][4]["corrects"], 3);
    assert_eq!(log["entries"][4]["event"], "correction");
    let head = log["head"].as_str().unwrap().to_owned();
    // Dismissed, then the same alert comes back more severe: it is in front of the watch again.
    let r = wo
        .post(
            "/api/alerts/rv-1/dismiss",
            json!({"reason": "two fishing vessels pair trawling"}),
        )
        .await;
    assert_eq!(r.json()["triage"]["status"], "dismissed");
    t.alert("rv-1", "rendezvous", "critical", 2, 247123456)
        .await;
    let c = t.running.console.clone();
    t.wait(|| {
        c.picture()
            .triage("rv-1")
            .is_some_and(|t| t.status == console::model::TriageStatus::New)
    })
    .await;

    // Each action is in the alert's log with who and why.
    let d = wo.get("/api/alerts/rv-1").await.json();
    let actions: Vec<&str> = d["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["alert_ack", "alert_assign", "alert_dismiss"]);
    assert_eq!(
        d["actions"][2]["detail"]["reason"],
        "two fishing vessels pair trawling"
    );
    assert_eq!(d["actions"][2]["user"], "watch_officer");
    assert_eq!(d["revisions"].as_array().unwrap().len(), 2);
    assert!(
        d["alert"]["triage"]["reason"]
            .as_str()
            .unwrap()
            .contains("re-raised")
    );

    // Restart on the same directory: alerts, triage, incidents, sessions are still there.
    t.stop().await;
    let t = TestConsole::start(dir.path()).await;
    wo.addr = t.running.http;
    let d = wo.get("/api/alerts/sart-1").await;
    assert_eq!(d.status, 200, "the session survives a restart");
    let d = d.json();
    assert_eq!(d["alert"]["triage"]["status"], "escalated");
    assert_eq!(d["alert"]["triage"]["incident"], inc);
    let case = wo.get(&format!("/api/sar/{inc}")).await.json();
    assert_eq!(
        case["case"]["phase"], "alert",
        "the SMC's phase survives a restart"
    );
    let log = wo.get(&format!("/api/incidents/{inc}/log")).await.json();
    assert_eq!(
        log["head"],
        head.as_str(),
        "the interception log survives a restart"
    );
    assert_eq!(
        wo.get("/api/incidents")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let mut auditor = t.client();
    auditor.login("auditor", &password("auditor")).await;
    let log = auditor.get("/api/audit").await.json();
    assert_eq!(log["chain_broken_at"], Value::Null);
    assert!(log["entries"].as_array().unwrap().len() >= 8);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_picture_moves_live_and_replays_an_hour_back() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    let mut inv = t.client();
    inv.login("investigator", &password("investigator")).await;
    // A vessel sailing west at 12 kn for two hours, a report a minute.
    let start = Timestamp::now() - SignedDuration::from_hours(2);
    for i in 0..=120 {
        let time = start + SignedDuration::from_mins(i);
        let lon = 13.0 - 0.2 * i as f64 / 60.0 * 12.0 / 12.0;
        t.ais(&format!("w-{i}"), time, 247123456, 35.2, lon, 12.0)
            .await;
    }
    t.ais("s-1", start, 247654321, 35.3, 12.5, 0.0).await;
    let c = t.running.console.clone();
    t.wait(|| {
        c.picture()
            .snapshot(None)
            .tracks
            .iter()
            .any(|t| t.position.lon < 12.61)
    })
    .await;
    let live = inv.get("/api/picture").await.json();
    let track = |p: &Value, id: &str| {
        p["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .cloned()
    };
    let now_pos = track(&live, "ais:247123456").expect("the vessel is on the picture");
    assert!(
        (now_pos["position"]["lon"].as_f64().unwrap() - 12.6).abs() < 1e-6,
        "{now_pos}"
    );
    assert_eq!(now_pos["sog_kn"], 12.0);
    // The other vessel has not been heard for two hours: off the live picture, still in memory.
    assert!(track(&live, "ais:247654321").is_none());

    let at = start + SignedDuration::from_mins(60);
    let past = inv.get(&format!("/api/picture?at={at}")).await.json();
    assert_eq!(past["replay"], true);
    let then = track(&past, "ais:247123456").expect("the vessel an hour back");
    assert!(
        (then["position"]["lon"].as_f64().unwrap() - 12.8).abs() < 1e-4,
        "{then}"
    );
    assert!(
        track(&past, "ais:247654321").is_some(),
        "heard within the hour before"
    );
    // Its trail: one point per 30 s at most, so 121 reports a minute apart are 121 points.
    let trail = inv.get("/api/tracks/ais:247123456/trail").await.json();
    assert_eq!(trail.as_array().unwrap().len(), 121);
    let trail = inv
        .get(&format!("/api/tracks/ais:247123456/trail?from={at}"))
        .await
        .json();
    assert_eq!(trail.as_array().unwrap().len(), 61);
    // The vessel card.
    let card = inv.get("/api/vessels/247123456").await.json();
    assert_eq!(card["mmsi"], 247123456);
    assert_eq!(card["flag"], "Italy");
    assert_eq!(card["reports"], 121);
    assert_eq!(inv.get("/api/vessels/999999999").await.status, 404);
    assert_eq!(inv.get("/api/vessels/abc").await.status, 400);
    assert_eq!(inv.get("/api/picture?at=yesterday").await.status, 400);

    // A restarted console can still replay: the history is on disk.
    t.stop().await;
    let t = TestConsole::start(dir.path()).await;
    inv.addr = t.running.http;
    let trail = inv.get("/api/tracks/ais:247123456/trail").await.json();
    assert_eq!(
        trail.as_array().unwrap().len(),
        121,
        "the trail after a restart"
    );
    let past = inv.get(&format!("/api/picture?at={at}")).await.json();
    let then = track(&past, "ais:247123456").expect("the vessel an hour back, after a restart");
    assert!(
        (then["position"]["lon"].as_f64().unwrap() - 12.8).abs() < 1e-4,
        "{then}"
    );
    assert_eq!(then["label"], "247123456");
    t.stop().await;
}

/// Schemathesis (`tests/install-deps.sh` puts it in `target/tools/schemathesis`).
fn schemathesis() -> std::path::PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools/schemathesis/bin/st");
    assert!(
        venv.is_file(),
        "schemathesis is not installed at {}: run tests/install-deps.sh",
        venv.display()
    );
    venv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_every_response_matches_the_openapi_description() {
    let st = schemathesis();
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    let now = Timestamp::now();
    t.ais("o-1", now, 247123456, 35.2, 12.9, 12.0).await;
    for (id, kind, sev) in [
        ("a-1", "rendezvous", "high"),
        ("a-2", "sar_beacon", "critical"),
    ] {
        t.alert(id, kind, sev, 1, 247123456).await;
    }
    let c = t.running.console.clone();
    t.wait(|| c.picture().alerts_at(None, true).len() == 2)
        .await;
    let url = format!("http://{}/api/openapi.json", t.running.http);
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemathesis.toml");
    // Each role that can reach a part of the API: the watch (picture, triage), the
    // administrator (accounts), oversight (audit log).
    // All logged in first: schemathesis tries /api/login with made-up names, and 20 failures
    // from one address lock logins from it for 15 minutes, as they should.
    let mut sessions = Vec::new();
    for role in ["watch_officer", "admin", "auditor"] {
        let mut cl = t.client();
        cl.login(role, &password(role)).await;
        sessions.push((role, cl));
    }
    for (role, cl) in sessions {
        let session = cl.cookie.clone().unwrap();
        let session = session.strip_prefix("tw_session=").unwrap().to_owned();
        let mut cmd = std::process::Command::new(&st);
        cmd.arg("--no-color")
            .arg("--config-file")
            .arg(&config)
            .args(["run", &url])
            // Logging out would end the session mid-run; the live stream never ends.
            .args([
                "--exclude-path",
                "/api/logout",
                "--exclude-path",
                "/api/live",
            ])
            .args(["--max-examples", "40", "--seed", "20261123"])
            .env("TW_SESSION", &session)
            .env("TW_CSRF", cl.csrf.as_ref().unwrap())
            .current_dir(dir.path());
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .expect("schemathesis runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "schemathesis as {role} found failures:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary = text
            .lines()
            .skip_while(|l| !l.contains("Test cases:"))
            .nth(1)
            .unwrap_or_default()
            .trim()
            .to_owned();
        eprintln!("schemathesis as {role}: {summary}");
        assert!(summary.contains("passed"), "{text}");
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r58_case_file_reads_are_audited_r52_a_liaison_sees_only_its_release_r62_local_times_kept_and_the_export_verifies()
 {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    t.alert("sart-9", "sar_beacon", "critical", 1, 970012345)
        .await;
    let c = t.running.console.clone();
    t.wait(|| c.picture().alerts_at(None, true).len() == 1)
        .await;
    let mut wo = t.client();
    wo.login("watch_officer", &password("watch_officer")).await;
    let r = wo.post("/api/alerts/sart-9/escalate", json!({})).await;
    let inc = r.json()["triage"]["incident"].as_str().unwrap().to_owned();
    let case = format!("/api/incidents/{inc}/case");

    // A boarding officer rescues 12 and seizes a photo under a warrant.
    let mut bo = t.client();
    bo.login("boarding_officer", &password("boarding_officer"))
        .await;
    let r = bo
        .post(
            &case,
            json!({"action": {"type": "rescue", "unit": "cp-302", "count": 12},
                   "why": "12 persons taken on board from the capsized boat",
                   "position": {"lat": 35.21, "lon": 12.88}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["persons"]["total"], 12);
    let photo = b"JPEG photo of the boat's engine serial number".to_vec();
    let (sha, exhibit) = seize_a_file(
        &bo,
        &inc,
        ("engine.jpg", &photo),
        "outboard engine plate photo",
        "S-77",
        "engine serial links the boat to a supplier",
    )
    .await;
    // A rule refusal changes nothing and names the rule: the same officer cannot receive
    // what they hand over (R45).
    let transfer = json!({"action": {"type": "custody_transfer", "exhibit": exhibit, "to": "investigator",
                                      "seal": "S-77", "place": "Lampedusa quay"},
                          "why": "handed to the investigator ashore"});
    assert_eq!(bo.post(&case, transfer).await.status, 201);
    let r = bo
        .post(
            &case,
            json!({"action": {"type": "custody_receive", "exhibit": exhibit, "seal": "S-77"},
                   "why": "received"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.json()["error"], "refused");
    assert!(r.json()["message"].as_str().unwrap().starts_with("R45"));
    let mut inv = t.client();
    inv.login("investigator", &password("investigator")).await;
    let r = inv
        .post(
            &case,
            json!({"action": {"type": "custody_receive", "exhibit": exhibit, "seal": "S-77"},
                   "why": "received at the quay, seal intact"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());

    // Nor in the interception log: the entry is there, its content withheld (R60).
    let l = wo.get(&format!("/api/incidents/{inc}/log")).await.json();
    assert!(!l.to_string().contains("engine serial") && !l.to_string().contains("engine plate"));
    assert!(l.to_string().contains("withheld"));
    let l = inv.get(&format!("/api/incidents/{inc}/log")).await.json();
    assert!(
        l.to_string().contains("engine serial"),
        "the investigator reads it"
    );
    // R60: the watch officer sees that evidence exists, not what it is.
    let v = wo.get(&case).await.json();
    assert_eq!(v["evidence"]["exhibits"][0]["number"], exhibit.as_str());
    assert!(v["evidence"]["exhibits"][0].get("description").is_none());
    assert!(v.to_string().find("engine serial").is_none());
    // R58: reads are audited with their purpose.
    inv.get(&format!("{case}?purpose=law_enforcement")).await;
    // R52: a partner's liaison is refused, and the attempt is logged.
    let mut pl = t.client();
    pl.login("partner_liaison", &password("partner_liaison"))
        .await;
    assert_eq!(pl.get(&case).await.status, 403);
    let mut aud = t.client();
    aud.login("auditor", &password("auditor")).await;
    let log = aud.get("/api/audit").await.json();
    let entries = log["entries"].as_array().unwrap();
    let reads: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "case_file_read" && e["target"] == inc.as_str())
        .collect();
    assert!(
        reads
            .iter()
            .any(|e| e["user"] == "watch_officer" && e["detail"]["purpose"] == "sar")
    );
    assert!(
        reads
            .iter()
            .any(|e| e["user"] == "investigator" && e["detail"]["purpose"] == "law_enforcement")
    );
    assert!(entries.iter().any(|e| e["action"] == "access_denied"
        && e["user"] == "partner_liaison"
        && e["target"] == inc.as_str()));

    // Information from Malta under its caveat: intelligence only, for the investigation,
    // shareable with Greece; and a registry extract usable in court.
    for item in [
        json!({"type": "info_item", "content": "owner of MV AURORA under investigation in Malta",
               "evidence": false, "originator": "MT", "originator_ref": "MT-POL-55",
               "purposes": ["investigation"], "recipients": ["GR"]}),
        json!({"type": "info_item", "content": "registry extract of MV AURORA",
               "evidence": true, "originator": "PA", "originator_ref": "PA-REG-9",
               "purposes": ["investigation", "prosecution"], "recipients": []}),
    ] {
        let r = inv
            .post(
                &case,
                json!({"action": item, "why": "received through the liaison channel"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let release = |to: &str| json!({"action": {"type": "release", "item": "IX-1", "to_state": to}, "why": "JIT partner"});
    let r = inv.post(&case, release("LY")).await;
    assert_eq!(
        r.status,
        409,
        "R50: not a permitted recipient: {}",
        r.text()
    );
    assert!(r.json()["message"].as_str().unwrap().starts_with("R50"));
    assert_eq!(inv.post(&case, release("GR")).await.status, 201);
    // R52: Greece's liaison officer sees what was released to Greece, and nothing else;
    // Libya's sees nothing, and the refusal is logged.
    let released = format!("/api/incidents/{inc}/released");
    assert_eq!(pl.get(&released).await.status, 409, "no State recorded yet");
    c.store().set_user_state("partner_liaison", "GR").unwrap();
    let r = pl.get(&released).await.json();
    assert_eq!(r["items"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["items"][0]["id"], "IX-1");
    let all = pl.get("/api/released").await.json();
    assert_eq!(all["state"], "GR");
    assert_eq!(all["incidents"][0]["incident"], inc.as_str());
    assert_eq!(all["incidents"][0]["items"][0]["id"], "IX-1");
    c.store().set_user_state("partner_liaison", "LY").unwrap();
    let r = pl.get(&released).await.json();
    assert_eq!(r["items"], json!([]), "{r}");

    // R51 (review 23): a caveated item that helps a defendant goes into a court's export only
    // once its originator was notified; the export is refused until then, never quietly
    // without it.
    let exculpatory = json!({"type": "info_item",
        "content": "a witness saw another man steering the boat",
        "evidence": true, "originator": "MT", "originator_ref": "MT-POL-56",
        "purposes": ["investigation", "prosecution"], "recipients": [], "exculpatory": true});
    let r = inv
        .post(
            &case,
            json!({"action": exculpatory, "why": "received from Malta"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let export = format!("/api/incidents/{inc}/export");
    let r = inv.post(&export, json!({})).await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(
        r.json()["message"].as_str().unwrap().starts_with("R51"),
        "{}",
        r.text()
    );
    let notice = json!({"type": "disclosure_notice", "item": "IX-3", "before": true,
        "text": "MT notified through the liaison channel, ref MT-N-12"});
    let r = inv
        .post(
            &case,
            json!({"action": notice, "why": "before disclosure to the court"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());

    // The investigator's export verifies offline; altering its evidence file is found.
    let r = inv.post(&export, json!({})).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let rel = r.json()["dir"].as_str().unwrap().to_owned();
    assert!(
        rel.starts_with("exports/"),
        "no server path in the answer: {rel}"
    );
    let out = dir.path().join(rel);
    assert_eq!(r.json()["files"], 1);
    assert_eq!(r.json()["manifests"], 3);
    let rep = ops_console::console::report::export::verify(&out).unwrap();
    assert!(rep.problems.is_empty(), "{:?}", rep.problems);
    let f = out
        .join("evidence")
        .join(exhibit.rsplit('/').next().unwrap())
        .join("engine.jpg");
    assert_eq!(std::fs::read(&f).unwrap(), photo);
    std::fs::write(&f, b"another photo").unwrap();
    let rep = ops_console::console::report::export::verify(&out).unwrap();
    assert!(
        rep.problems.iter().any(|p| p.contains("engine.jpg")),
        "{:?}",
        rep.problems
    );
    // R49: the intelligence-only item stays out of the court export; the extract goes in.
    let bundle: Value =
        serde_json::from_slice(&std::fs::read(out.join("interception.json")).unwrap()).unwrap();
    let ids: Vec<&str> = bundle["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["IX-2", "IX-3"]);
    let log = aud.get("/api/audit").await.json();
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "access_denied"
                && e["user"] == "partner_liaison"
                && e["detail"]["item"] == "IX-1"),
        "Libya's refused read of IX-1 is logged"
    );
    let html = inv.get(&format!("/api/incidents/{inc}/report")).await;
    assert_eq!(html.status, 200);
    assert!(html.text().contains(&exhibit));
    // R62: a time read on a local clock carries its offset: stored in UTC, the original kept;
    // without an offset it is refused; two hours ago needs a reason (R57).
    let local = |mins: i64| {
        (Timestamp::now() - SignedDuration::from_mins(mins))
            .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(2)))
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
    };
    let headcount = |at: String, late: Option<&str>| {
        let mut b = json!({"action": {"type": "headcount", "unit": "cp-302", "alive": 12, "deceased": 0},
                           "why": "count at the quay", "occurred_at": at});
        if let Some(l) = late {
            b["late_reason"] = json!(l);
        }
        b
    };
    let at = local(10);
    assert!(at.ends_with("+02:00"), "{at}");
    assert_eq!(
        bo.post(&case, headcount(at.clone(), None)).await.status,
        201
    );
    let log = bo.get(&format!("/api/incidents/{inc}/log")).await.json();
    let e = log["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(e["occurred_at_given"], at.as_str());
    let utc: Timestamp = e["occurred_at"].as_str().unwrap().parse().unwrap();
    assert!(e["occurred_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(utc, at.parse::<Timestamp>().unwrap());
    let naive = at.trim_end_matches("+02:00").to_owned();
    assert_eq!(bo.post(&case, headcount(naive, None)).await.status, 400);
    assert_eq!(
        bo.post(&case, headcount(local(120), None)).await.status,
        400
    );
    assert_eq!(
        bo.post(
            &case,
            headcount(local(120), Some("count noted on paper, typed in now"))
        )
        .await
        .status,
        201
    );
    // The PDF, read back by poppler's pdftotext as a PDF reader would.
    let pdf = inv.get(&format!("/api/incidents/{inc}/report.pdf")).await;
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    for doc in [
        pdf.body.clone(),
        std::fs::read(out.join("report.pdf")).unwrap(),
    ] {
        let text = pdftotext(&doc);
        assert!(text.contains(&format!("Interception log {inc}")), "{text}");
        assert!(text.contains(&exhibit) && text.contains(&sha), "{text}");
        assert!(
            text.contains("custody_receive") || text.contains("CustodyEvent"),
            "{text}"
        );
    }
    t.stop().await;
}

/// The text of a PDF as poppler's `pdftotext` reads it (fails loudly when it is missing).
pub(crate) fn pdftotext(pdf: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("pdftotext")
        .args(["-layout", "-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("`pdftotext` is not installed: this test needs it (apt-get install -y --no-install-recommends poppler-utils; tests/install-deps.sh does it)");
    child.stdin.take().unwrap().write_all(pdf).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "pdftotext refused the PDF");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---------------------------------------------------------------- security review 17

/// Hole 4: sixty wrong logins at once from one address (half for the SAR coordinator,
/// half for other names) must not all reach argon2 (~19 MiB each): at most the gate's
/// bound run at once, and each attempt is counted before it is checked, so no more reach
/// the check than the limits allow (5 per name and address, 20 per address).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_17_4_concurrent_wrong_logins_never_exceed_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..60 {
        let c = t.client();
        let name = if i % 2 == 0 {
            "sar_coordinator".to_owned()
        } else {
            format!("u{i}")
        };
        attempts.spawn(async move {
            let r = c
                .post(
                    "/api/login",
                    json!({"username": name, "password": "guess-guess-guess"}),
                )
                .await;
            (name, r)
        });
    }
    let results = attempts.join_all().await;
    let gate = t.running.console.password_gate();
    let summary: Vec<(String, u16)> = results.iter().map(|(n, r)| (n.clone(), r.status)).collect();
    assert!(
        gate.peak() <= gate.bound() && gate.peak() <= 4,
        "{} password checks ran at once (bound {}): {summary:?}",
        gate.peak(),
        gate.bound()
    );
    let checked = results.iter().filter(|(_, r)| r.status == 401).count();
    let smc_checked = results
        .iter()
        .filter(|(n, r)| n == "sar_coordinator" && r.status == 401)
        .count();
    assert!(
        checked <= 20 && smc_checked <= 5,
        "{checked} of 60 concurrent wrong logins reached the password check ({smc_checked} for \
         sar_coordinator); at most 20 per address and 5 per name and address may: {summary:?}"
    );
    for (name, r) in &results {
        match r.status {
            401 => assert_eq!(r.json()["error"], "bad_credentials"),
            429 | 503 => assert!(
                r.headers.contains_key("retry-after"),
                "{name}: {} without Retry-After",
                r.status
            ),
            s => panic!("{name}: unexpected {s}: {}", r.text()),
        }
    }
    // Every check is accounted for: one failure in the audit log per check run.
    let failed = t
        .running
        .console
        .store()
        .audit_log(0, 1000)
        .unwrap()
        .iter()
        .filter(|e| e.action == "login_failed")
        .count();
    assert_eq!(failed, checked, "{summary:?}");
    assert_eq!(gate.in_flight(), 0);
    eprintln!(
        "60 concurrent wrong logins: {checked} checked ({smc_checked} for sar_coordinator), \
         {} refused 429, {} turned away 503; at most {} checks at once (bound {})",
        results.iter().filter(|(_, r)| r.status == 429).count(),
        results.iter().filter(|(_, r)| r.status == 503).count(),
        gate.peak(),
        gate.bound()
    );
    t.stop().await;
}

/// Hole 4: an attacker failing again and again for `sar_coordinator` from one address
/// locks only that (name, address) pair; the SAR coordinator logs in from her own console
/// (another address) with her password, slowed down a few seconds at most.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_17_4_failures_from_one_address_do_not_lock_an_officer_out_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    let attacker = t.client();
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = attacker
            .post(
                "/api/login",
                json!({"username": "sar_coordinator", "password": "guess-guess-guess"}),
            )
            .await;
        statuses.push(r.status);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);
    // From the attacker's address even the right password is refused for now.
    let r = attacker
        .post(
            "/api/login",
            json!({"username": "sar_coordinator", "password": password("sar_coordinator")}),
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.text());
    // The SMC at her own console: another address.
    let mut smc = t.client().from_source("127.0.0.2".parse().unwrap());
    let started = std::time::Instant::now();
    smc.login("sar_coordinator", &password("sar_coordinator"))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the SMC waited {:?} to log in",
        started.elapsed()
    );
    assert_eq!(smc.get("/api/alerts").await.status, 200);
    // The console saw her address.
    let log = t.running.console.store().audit_log(0, 1000).unwrap();
    let login = log
        .iter()
        .rfind(|e| e.action == "login")
        .expect("a login entry");
    assert_eq!(login.detail["address"], "127.0.0.2", "{login:?}");
    t.stop().await;
}

/// Hole 6: an administrator (no access to operational data) creates an investigator
/// through the API: the account stays inactive, and the administrator never holds a
/// password for it, until a SAR mission coordinator (a second person) approves it; the
/// one-time password goes to the approver. Every step is in the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_17_6_an_admin_cannot_create_an_operational_account_and_use_it() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    let mut admin = t.client();
    admin.login("admin", &password("admin")).await;
    let r = admin
        .post(
            "/api/users",
            json!({"name": "ivan", "role": "investigator"}),
        )
        .await;
    assert!(r.status < 300, "{}: {}", r.status, r.text());
    let created = r.json();
    // Whatever the administrator was given, it does not open the account.
    if let Some(otp) = created["one_time_password"].as_str() {
        let mut as_ivan = t.client();
        let r = as_ivan
            .post("/api/login", json!({"username": "ivan", "password": otp}))
            .await;
        if r.status == 200 {
            as_ivan.login("ivan", otp).await;
            let r = as_ivan
                .post(
                    "/api/me/password",
                    json!({"current": otp, "new": "admin-now-investigator"}),
                )
                .await;
            assert_eq!(r.status, 204);
            let alerts = as_ivan.get("/api/alerts").await;
            panic!(
                "the administrator logged in as the investigator it created, with the \
                 one-time password it was shown, and read /api/alerts: {} {}",
                alerts.status,
                alerts.text()
            );
        }
    }
    assert_eq!(created["pending_approval"], true, "{created}");
    assert!(created["one_time_password"].is_null(), "{created}");
    // Listed as pending to the administrator.
    let users = admin.get("/api/users").await.json();
    let ivan = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "ivan")
        .expect("ivan listed");
    assert_eq!(ivan["pending_approval"], true, "{ivan}");
    // Neither the administrator nor anyone but the SMC may approve it.
    for role in ["admin", "watch_officer", "investigator", "auditor"] {
        let mut c = t.client();
        c.login(role, &password(role)).await;
        let r = c.post("/api/approvals/ivan", json!({})).await;
        assert_eq!(r.status, 403, "{role}: {}", r.text());
    }
    // The SMC sees the request and approves it: the one-time password is hers to hand over.
    let mut smc = t.client();
    smc.login("sar_coordinator", &password("sar_coordinator"))
        .await;
    let pending = smc.get("/api/approvals").await.json();
    assert_eq!(pending[0]["name"], "ivan", "{pending}");
    assert_eq!(pending[0]["role"], "investigator", "{pending}");
    assert_eq!(pending[0]["requested_by"], "admin", "{pending}");
    let r = smc.post("/api/approvals/ivan", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let otp = r.json()["one_time_password"].as_str().unwrap().to_owned();
    assert_eq!(
        smc.post("/api/approvals/ivan", json!({})).await.status,
        404,
        "approved once"
    );
    // Now, and only now, the investigator logs in, changes the password and works.
    let mut ivan = t.client();
    let me = ivan.login("ivan", &otp).await;
    assert_eq!(me["must_change_password"], true);
    let r = ivan
        .post(
            "/api/me/password",
            json!({"current": otp, "new": "ivan-investigates-1"}),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(ivan.get("/api/alerts").await.status, 200);
    // Each step is in the audit log, by whom.
    let log = t.running.console.store().audit_log(0, 1000).unwrap();
    let step = |action: &str| {
        log.iter()
            .find(|e| e.action == action && e.target.as_deref() == Some("ivan"))
            .unwrap_or_else(|| panic!("{action} for ivan in the audit log"))
    };
    assert_eq!(step("user_request").user.as_deref(), Some("admin"));
    assert_eq!(
        step("user_approve").user.as_deref(),
        Some("sar_coordinator")
    );
    assert_eq!(t.running.console.store().verify_audit().unwrap(), None);
    t.stop().await;
}

/// Hole 8: an open live stream ends when its session is logged out (by another request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_17_8_a_live_stream_ends_at_logout() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    let mut wo = t.client();
    wo.login("watch_officer", &password("watch_officer")).await;
    let mut live = wo.live().await;
    assert_eq!(live.next().await.0, "hello");
    assert_eq!(wo.post("/api/logout", json!({})).await.status, 204);
    assert!(
        live.ends_within(Duration::from_secs(10)).await,
        "the live stream is still open 10 s after logout"
    );
    t.stop().await;
}

/// Hole 8: a password change ends the account's other sessions, and their open live
/// streams with them; the session that changed it goes on, stream and all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_17_8_a_live_stream_ends_when_the_password_changes() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    let mut old_tab = t.client();
    old_tab
        .login("watch_officer", &password("watch_officer"))
        .await;
    let mut old_live = old_tab.live().await;
    assert_eq!(old_live.next().await.0, "hello");
    let mut new_tab = t.client();
    new_tab
        .login("watch_officer", &password("watch_officer"))
        .await;
    let mut new_live = new_tab.live().await;
    assert_eq!(new_live.next().await.0, "hello");
    let r = new_tab
        .post(
            "/api/me/password",
            json!({"current": password("watch_officer"), "new": "a-new-watch-password"}),
        )
        .await;
    assert_eq!(r.status, 204);
    assert!(
        old_live.ends_within(Duration::from_secs(10)).await,
        "the other session's live stream is still open 10 s after the password change"
    );
    assert_eq!(old_tab.get("/api/me").await.status, 401);
    // The changing session's stream still delivers.
    t.alert("pw-1", "rendezvous", "high", 1, 247123456).await;
    tokio::time::timeout(Duration::from_secs(10), async {
        while new_live.next().await.0 != "alert" {}
    })
    .await
    .expect("an alert on the stream of the session that changed the password");
    t.stop().await;
}

/// Hole 8: a live stream ends when its session expires (here: idle past the limit), found
/// by the stream's periodic re-check without any request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_17_8_a_live_stream_ends_when_its_session_expires() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    let mut wo = t.client();
    wo.login("watch_officer", &password("watch_officer")).await;
    let mut live = wo.live().await;
    assert_eq!(live.next().await.0, "hello");
    // The session was last used longer ago than the idle limit.
    let token = wo.cookie.as_deref().unwrap().split_once('=').unwrap().1;
    let hash = console::store::sha256_hex(token.as_bytes());
    let long_ago = Timestamp::now().as_second() - auth::IDLE_LIMIT_S - 60;
    let c = &t.running.console;
    assert!(c.store().touch_session(&hash, long_ago).unwrap());
    if let Some(s) = c.sessions().get_mut(&hash) {
        s.last_seen = long_ago;
        s.stored_seen = long_ago;
    }
    assert!(
        live.ends_within(Duration::from_secs(20)).await,
        "the live stream of an expired session is still open after 20 s"
    );
    assert_eq!(wo.get("/api/me").await.status, 401);
    t.stop().await;
}

/// Review 23 (R58): a read of personal data whose audit entry cannot be written (the disk
/// full, the database refusing) is refused: nothing personal is shown without its trace. The
/// audit failed open before (logged, and the case file served).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_23_a_read_that_cannot_be_audited_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    let inc = t.sar_incident("sart-58", 970022058).await;
    let mut inv = t.client();
    inv.login("investigator", &password("investigator")).await;
    let paths = [
        format!("/api/incidents/{inc}/case"),
        format!("/api/incidents/{inc}/log"),
    ];
    for p in &paths {
        assert_eq!(inv.get(p).await.status, 200, "{p}");
    }
    let db = rusqlite::Connection::open(dir.path().join("console.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    db.execute_batch(
        "CREATE TRIGGER full BEFORE INSERT ON audit \
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    )
    .unwrap();
    for p in &paths {
        let r = inv.get(p).await;
        assert!(r.status >= 500, "{p}: {} {}", r.status, r.text());
        assert!(!r.text().contains("\"persons\""), "{p}: {}", r.text());
    }
    db.execute_batch("DROP TRIGGER full").unwrap();
    for p in &paths {
        assert_eq!(inv.get(p).await.status, 200, "{p}");
    }
}

/// Review 23 (R58): an auditor reads personal data pseudonymised — each person's tag a
/// pseudonym, the same in the case file and the log; what was written about a person masked —
/// while the investigator reads them whole. Auditors read every record in full before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_23_an_auditor_reads_personal_data_pseudonymised() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    let inc = t.sar_incident("sart-59", 970022059).await;
    let case = format!("/api/incidents/{inc}/case");
    let log = format!("/api/incidents/{inc}/log");
    let mut bo = t.client();
    bo.login("boarding_officer", &password("boarding_officer"))
        .await;
    let r = bo
        .post(
            &case,
            json!({"action": {"type": "rescue", "unit": "cp-302", "count": 3},
                   "why": "taken on board", "position": {"lat": 35.21, "lon": 12.88}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let mut inv = t.client();
    inv.login("investigator", &password("investigator")).await;
    let r = inv
        .post(
            &case,
            json!({"action": {"type": "suspect", "tag": "cp-302-0002",
                   "offences": ["smuggling"], "grounds": "steered the boat, Omar K. by his papers"},
                   "why": "cp-302-0002 seen at the tiller by the crew of cp-302"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let whole = inv.get(&case).await.text() + &inv.get(&log).await.text();
    assert!(whole.contains("cp-302-0002") && whole.contains("Omar K."));

    let mut aud = t.client();
    aud.login("auditor", &password("auditor")).await;
    let r = aud.get(&case).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let file = r.text();
    let r = aud.get(&log).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let entries = r.text();
    for (what, text) in [("case file", &file), ("log", &entries)] {
        for secret in ["cp-302-0001", "cp-302-0002", "cp-302-0003", "Omar K."] {
            assert!(
                !text.contains(secret),
                "the auditor's {what} shows {secret}: {text}"
            );
        }
    }
    // One pseudonym per person, the same in both; the units' names stay.
    let pseudonyms = |text: &str| -> std::collections::BTreeSet<String> {
        text.match_indices("person-")
            .map(|(i, _)| text[i..i + 17].to_owned())
            .collect()
    };
    let in_file = pseudonyms(&file);
    assert_eq!(in_file.len(), 3, "{in_file:?}");
    assert!(pseudonyms(&entries).is_subset(&in_file));
    assert!(file.contains("cp-302"));
}

/// R58: an auditor reads an incident's personal data unmasked only once a second auditor has
/// approved their justified request, and only that incident; the read is audited naming the
/// request, and what a person said asking for protection stays the protection officer's
/// (R40). Before, unmask requests did not exist: the rule's second half could not be applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r58_an_auditor_reads_unmasked_only_what_a_second_auditor_approved() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    t.add_user("auditor-2", "auditor");
    let inc = t.sar_incident("sart-58", 970022058).await;
    let other = t.sar_incident("sart-59", 970022059).await;
    for i in [&inc, &other] {
        let mut bo = t.client();
        bo.login("boarding_officer", &password("boarding_officer"))
            .await;
        let r = bo
            .post(
                &format!("/api/incidents/{i}/case"),
                json!({"action": {"type": "rescue", "unit": "cp-302", "count": 2},
                       "why": "taken on board", "position": {"lat": 35.21, "lon": 12.88}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let case = format!("/api/incidents/{inc}/case");
    let log = format!("/api/incidents/{inc}/log");
    let mut po = t.client();
    po.login("protection_officer", &password("protection_officer"))
        .await;
    let r = po
        .post(
            &case,
            json!({"action": {"type": "asylum", "tag": "cp-302-0001",
                   "summary": "fled the militia of the north after my brother was taken",
                   "blocked_states": ["LY"]},
                   "why": "said on the deck to the protection officer"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());

    let mut aud = t.client();
    aud.login("auditor", &password("auditor")).await;
    let mut aud2 = t.client();
    aud2.login("auditor-2", &password("auditor-2")).await;
    let reads = |cl: &Client, path: String| {
        let cl = cl.clone();
        async move {
            let r = cl.get(&path).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text());
            r.text()
        }
    };
    let masked = |text: &str| !text.contains("cp-302-0001") && text.contains("person-");
    assert!(masked(&reads(&aud, case.clone()).await));

    // Who may ask, and how.
    let ask = format!("/api/incidents/{inc}/unmask");
    let mut inv = t.client();
    inv.login("investigator", &password("investigator")).await;
    let r = inv.post(&ask, json!({"justification": "checking"})).await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = aud.post(&ask, json!({"justification": "  "})).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = aud
        .post(
            &ask,
            json!({"justification": "complaint 2026/114: who was held on cp-302, and for how long"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let request = r.json()["request"].as_i64().unwrap();
    // Asked, not approved: still masked.
    assert!(masked(&reads(&aud, case.clone()).await));
    // Nobody approves their own request; a role other than oversight approves none.
    let approve = format!("/api/unmask/{request}/approve");
    let r = aud.post(&approve, json!({})).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(masked(&reads(&aud, case.clone()).await));
    let r = inv.post(&approve, json!({})).await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = aud2.post("/api/unmask/999999/approve", json!({})).await;
    assert_eq!(r.status, 404, "{}", r.text());
    // A read's audit entry is no request to approve.
    let r = aud2
        .post(&format!("/api/unmask/{}/approve", request - 1), json!({}))
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    let r = aud2.post(&approve, json!({})).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["approved_by"], "auditor-2");
    let r = aud2.post(&approve, json!({})).await;
    assert_eq!(r.status, 409, "{}", r.text());

    // The asker reads this incident unmasked, its case file and its log…
    for path in [case.clone(), log.clone()] {
        let text = reads(&aud, path.clone()).await;
        assert!(text.contains("cp-302-0001"), "{path}: {text}");
        assert!(!text.contains("person-"), "{path}: {text}");
        // …but never what a person said asking for protection (R40).
        assert!(!text.contains("militia"), "{path}: {text}");
    }
    // Not the approver, not another incident.
    assert!(masked(&reads(&aud2, case.clone()).await));
    assert!(masked(
        &reads(&aud, format!("/api/incidents/{other}/case")).await
    ));
    // Every unmasked read names the request that allowed it.
    let audit = aud.get("/api/audit?limit=5000").await.json();
    let unmasked_reads = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["user"] == "auditor" && e["detail"]["unmasked_by_request"] == request)
        .count();
    assert_eq!(unmasked_reads, 2, "{audit}");
    t.stop().await;
}

/// Review (issue 24 session), R52: an attempt to read a case that the role may not read is
/// refused and logged whichever rendering it asks for. Only the case file's refusal was
/// logged: the interception log, the report (HTML and PDF), an export and the releases
/// refused without a trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_r52_every_refused_read_of_a_case_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    let inc = t.sar_incident("sart-52", 970022052).await;
    let mut pl = t.client();
    pl.login("partner_liaison", &password("partner_liaison"))
        .await;
    let mut wo = t.client();
    wo.login("watch_officer", &password("watch_officer")).await;
    let attempts = [
        (&pl, "GET", "case", "case_file"),
        (&pl, "GET", "log", "interception_log"),
        (&pl, "GET", "report", "report"),
        (&pl, "GET", "report.pdf", "report"),
        (&pl, "POST", "export", "export"),
        (&wo, "GET", "report", "report"),
        (&wo, "GET", "report.pdf", "report"),
        (&wo, "POST", "export", "export"),
        (&wo, "GET", "released", "released"),
    ];
    for (who, method, what, _) in &attempts {
        let path = format!("/api/incidents/{inc}/{what}");
        let r = match *method {
            "GET" => who.get(&path).await,
            _ => who.post(&path, json!({})).await,
        };
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text());
    }
    let r = wo.get("/api/released").await;
    assert_eq!(r.status, 403, "{}", r.text());
    let mut aud = t.client();
    aud.login("auditor", &password("auditor")).await;
    let log = aud.get("/api/audit").await.json();
    let denied: Vec<(String, Value, String)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "access_denied")
        .map(|e| {
            (
                e["user"].as_str().unwrap().to_owned(),
                e["target"].clone(),
                e["detail"]["object"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    for (user, object, times) in [
        ("partner_liaison", "case_file", 1),
        ("partner_liaison", "interception_log", 1),
        ("partner_liaison", "report", 2),
        ("partner_liaison", "export", 1),
        ("watch_officer", "report", 2),
        ("watch_officer", "export", 1),
        ("watch_officer", "released", 1),
    ] {
        let n = denied
            .iter()
            .filter(|(u, t, o)| u == user && *t == json!(inc) && o == object)
            .count();
        assert_eq!(n, times, "{user} refused {object}: {denied:?}");
    }
    assert!(
        denied
            .iter()
            .any(|(u, t, o)| u == "watch_officer" && t.is_null() && o == "released"),
        "the refused listing of every release: {denied:?}"
    );
    // What the roles may read is not logged as refused.
    let mut inv = t.client();
    inv.login("investigator", &password("investigator")).await;
    assert_eq!(
        inv.get(&format!("/api/incidents/{inc}/report"))
            .await
            .status,
        200
    );
    let log = aud.get("/api/audit").await.json();
    assert!(
        !log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "access_denied" && e["user"] == "investigator"),
        "{log}"
    );
}

/// Review (issue 24 session), R47: an export re-verifies every evidence file and is refused
/// on a mismatch, but the mismatch was then dropped with the refusal; a mismatch must raise
/// an incident. It is now an integrity incident in the interception log, recorded once
/// however many exports find it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_r47_an_export_refused_for_an_altered_file_reports_an_integrity_incident() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    let inc = t.sar_incident("sart-47", 970022047).await;
    let case = format!("/api/incidents/{inc}/case");
    let mut bo = t.client();
    bo.login("boarding_officer", &password("boarding_officer"))
        .await;
    let (sha, _) = seize_a_file(
        &bo,
        &inc,
        ("drums.jpg", b"photo of the fuel drums"),
        "fuel drums photo",
        "S-47",
        "the drums link the boat to a supplier",
    )
    .await;
    let db = rusqlite::Connection::open(dir.path().join("console.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    db.execute_batch("DROP TRIGGER evidence_files_no_update")
        .unwrap();
    db.execute(
        "UPDATE evidence_files SET bytes = x'00' WHERE sha256 = ?1",
        [&sha],
    )
    .unwrap();
    let mut inv = t.client();
    inv.login("investigator", &password("investigator")).await;
    let found = |log: &Value| {
        log.to_string()
            .matches("integrity incident found when the export was refused (R47)")
            .count()
    };
    for _ in 0..2 {
        let r = inv
            .post(&format!("/api/incidents/{inc}/export"), json!({}))
            .await;
        assert_eq!(r.status, 409, "{}", r.text());
        assert!(
            r.text().contains("R47") && r.text().contains("drums.jpg"),
            "{}",
            r.text()
        );
        let log = inv.get(&format!("/api/incidents/{inc}/log")).await;
        assert_eq!(log.status, 200, "{}", log.text());
        assert_eq!(found(&log.json()), 1, "{}", log.text());
    }
    // The case file holds it too.
    let v = inv.get(&case).await;
    assert!(v.text().contains("drums.jpg hashes to"), "{}", v.text());
}

/// The boarding officer uploads `file` (its name and bytes) and seizes it under a warrant as
/// `description`, sealed `seal`, for `why`: its SHA-256 and the exhibit's number.
async fn seize_a_file(
    bo: &Client,
    inc: &str,
    file: (&str, &[u8]),
    description: &str,
    seal: &str,
    why: &str,
) -> (String, String) {
    let r = bo
        .request_bytes(
            "POST",
            &format!("/api/incidents/{inc}/evidence-files"),
            file.1.to_vec(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let sha = r.json()["sha256"].as_str().unwrap().to_owned();
    let r = bo
        .post(
            &format!("/api/incidents/{inc}/case"),
            json!({"action": {"type": "seize", "description": description,
                              "found": "transom", "seal": seal, "place": "cp-302 locker",
                              "files": [{"name": file.0, "sha256": sha}],
                              "legal_basis": "coastal State warrant 44/2026"},
                   "why": why,
                   "position": {"lat": 35.21, "lon": 12.88}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let exhibit = r.json()["evidence"]["exhibits"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    (sha, exhibit)
}
