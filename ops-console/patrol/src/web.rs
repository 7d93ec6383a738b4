//! The vessel's web interface: `tidewatch patrol --web ADDR`, over HTTPS with the unit's own
//! certificate, for the bridge tablet and the boarding team's phones on the ship's network.
//!
//! It works with the link to the centre down: everything it records is written to the unit's
//! queue on disk (and fsync'd) before the crew is told "saved on board"; what it shows comes
//! from the board kept on board ([`crate::board`]). Case actions are signed here with the
//! logged-in officer's own key ([`crate::crew`]).
//!
//! | method | path | what |
//! |---|---|---|
//! | POST | `/api/login` | `{"name", "password"}`: a session cookie |
//! | POST | `/api/logout` | end the session |
//! | GET | `/api/state` | the board: own fix, contacts, taskings, case views, records and answers, link |
//! | POST | `/api/report` | a report (`sighting`, `status`, `persons_on_board`, `tasking_ack`), validated as ingest will |
//! | POST | `/api/case` | `{"incident", "action", "why", "occurred_at"?, "late_reason"?, "position"?}`: signed and queued |
//! | POST | `/api/evidence?name=N` | a photo or file (body): hashed on board, kept, queued in parts |
//!
//! Every POST needs the header `X-Tidewatch-Crew: 1` (a page of another origin cannot send
//! it without asking first, and it is never allowed to), and the session cookie is
//! `HttpOnly; Secure; SameSite=Strict`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ed25519_dalek::SigningKey;
use ingest::wire::sea::Position;
use jiff::Timestamp;
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

use crate::board::Board;
use crate::crew::{Crew, CrewAccount};

/// What the interface asks of the link's loop, which owns the queues.
#[derive(Debug)]
pub enum Cmd {
    /// Queue a report (JSON, validated).
    Report {
        /// The report.
        json: String,
        /// Its place in the queue, or why not.
        reply: oneshot::Sender<Result<u64, String>>,
    },
    /// Sign and queue a case action.
    Case {
        /// What the officer recorded.
        draft: Draft,
        /// Who.
        officer: String,
        /// Their key.
        key: Box<SigningKey>,
        /// The record's id and hash, or why not.
        reply: oneshot::Sender<Result<(String, String), String>>,
    },
    /// Queue an evidence file kept on board at `path`.
    File {
        /// SHA-256, hex.
        sha256: String,
        /// Its name.
        name: String,
        /// Where it is kept on board.
        path: PathBuf,
        /// Done, or why not.
        reply: oneshot::Sender<Result<(), String>>,
    },
}

/// A case action as the crew fills it in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    /// The incident.
    pub incident: String,
    /// The action (`{"type": "board", ...}`), as the console's API takes it.
    pub action: serde_json::Value,
    /// Why, in words.
    pub why: String,
    /// When it happened (default: now).
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
    /// Why it is recorded only now, when it happened more than 30 minutes ago.
    #[serde(default)]
    pub late_reason: Option<String>,
    /// Where (default: the ship's GNSS).
    #[serde(default)]
    pub position: Option<Position>,
}

/// Case actions the crew records at sea. Deciding that a person is a suspect, detaining,
/// interviewing are for the investigator on shore: nothing here asks the crew to record a
/// migrant as a suspect (R36).
pub const SEA_ACTIONS: &[&str] = &[
    "acknowledge_condition",
    "board",
    "search",
    "search_outcome",
    "measure",
    "condition_compliance",
    "finalise_boarding",
    "imminent_danger",
    "rescue",
    "headcount",
    "medevac",
    "person_missing",
    "person_found",
    "person_died",
    "vulnerability",
    "asylum",
    "referral",
    "seize",
    "custody_transfer",
    "reseal",
];

struct Web {
    board: Arc<Board>,
    crew: Crew,
    /// Password checks at once (each takes ~19 MiB and tens of milliseconds of a core).
    checks: tokio::sync::Semaphore,
    sessions: Mutex<HashMap<String, (CrewAccount, Instant)>>,
    /// Failed logins by name: how many in a row, and when the last was.
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    cmds: mpsc::Sender<Cmd>,
}

/// Failed logins in a row a name may have before it waits [`LOCKOUT`] between tries.
const FAILURES_ALLOWED: u32 = 5;
const LOCKOUT: Duration = Duration::from_secs(60);
/// Names with failed logins remembered at most (the oldest forgotten first).
const MAX_FAILING_NAMES: usize = 1000;

/// A session lasts this long without use.
const IDLE: Duration = Duration::from_secs(12 * 3600);
const COOKIE: &str = "tw_crew";

type Reply = Result<Response, WebError>;

/// An answer that is not a success: a status and what went wrong, in words.
#[derive(Debug)]
struct WebError(StatusCode, String);

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(serde_json::json!({"error": self.1}))).into_response()
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> WebError {
    WebError(status, message.into())
}

impl Web {
    fn who(&self, headers: &HeaderMap) -> Result<CrewAccount, WebError> {
        let token = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == COOKIE)
            .map(|(_, v)| v.to_owned());
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        sessions.retain(|_, (_, at)| now.duration_since(*at) < IDLE);
        match token.and_then(|t| sessions.get_mut(&t)) {
            Some((a, at)) => {
                *at = now;
                Ok(a.clone())
            }
            None => Err(error(StatusCode::UNAUTHORIZED, "log in")),
        }
    }

    /// A POST from this page, not another site's.
    fn posted_here(headers: &HeaderMap) -> Result<(), WebError> {
        if headers
            .get("x-tidewatch-crew")
            .is_some_and(|v| v.as_bytes() == b"1")
        {
            Ok(())
        } else {
            Err(error(StatusCode::FORBIDDEN, "a request from another page"))
        }
    }
}

const INDEX: &[u8] = include_bytes!("../ui/index.html");
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../ui/app.js"),
    ),
    (
        "/style.css",
        "text/css; charset=utf-8",
        include_bytes!("../ui/style.css"),
    ),
    (
        "/leaflet.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../ui/vendor/leaflet-1.9.4/leaflet.js"),
    ),
    (
        "/leaflet.css",
        "text/css; charset=utf-8",
        include_bytes!("../../ui/vendor/leaflet-1.9.4/leaflet.css"),
    ),
    (
        "/land.geojson",
        "application/geo+json",
        include_bytes!("../../ui/basemap/land-50m.geojson"),
    ),
    (
        "/islands.geojson",
        "application/geo+json",
        include_bytes!("../../ui/basemap/med-islands-10m.geojson"),
    ),
];

const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

fn page(content_type: &'static str, body: &'static [u8]) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// The interface's routes.
fn router(web: Arc<Web>) -> Router {
    let mut r = Router::new().route(
        "/",
        get(|| async { page("text/html; charset=utf-8", INDEX) }),
    );
    for (path, ct, body) in FILES {
        r = r.route(path, get(move || async move { page(ct, body) }));
    }
    r.route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/state", get(state))
        .route("/api/report", post(report))
        .route("/api/case", post(case))
        .route(
            "/api/evidence",
            post(evidence).layer(DefaultBodyLimit::max(
                ingest::wire::sea::MAX_FILE_BYTES as usize,
            )),
        )
        .with_state(web)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    name: String,
    password: String,
}

async fn login(State(w): State<Arc<Web>>, headers: HeaderMap, body: Bytes) -> Reply {
    Web::posted_here(&headers)?;
    let l: Login = serde_json::from_slice(&body)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("{{name, password}}: {e}")))?;
    let name = l.name.clone();
    if crate::crew::check_name(&name).is_err() {
        return Err(error(StatusCode::UNAUTHORIZED, "wrong name or password"));
    }
    {
        let f = w.failures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((n, last)) = f.get(&name)
            && *n >= FAILURES_ALLOWED
            && last.elapsed() < LOCKOUT
        {
            return Err(error(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "{n} wrong passwords for {name}: try again in {} s",
                    (LOCKOUT - last.elapsed()).as_secs() + 1
                ),
            ));
        }
    }
    let _turn = w
        .checks
        .acquire()
        .await
        .map_err(|_| error(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    let w2 = w.clone();
    let account = tokio::task::spawn_blocking(move || w2.crew.login(&l.name, &l.password))
        .await
        .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "login failed"))?;
    let mut failures = w.failures.lock().unwrap_or_else(|p| p.into_inner());
    let Some(account) = account else {
        if failures.len() >= MAX_FAILING_NAMES {
            failures.retain(|_, (_, at)| at.elapsed() < LOCKOUT);
            if failures.len() >= MAX_FAILING_NAMES
                && let Some(oldest) = failures
                    .iter()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(n, _)| n.clone())
            {
                failures.remove(&oldest);
            }
        }
        let e = failures.entry(name).or_insert((0, Instant::now()));
        *e = (e.0 + 1, Instant::now());
        return Err(error(StatusCode::UNAUTHORIZED, "wrong name or password"));
    };
    failures.remove(&name);
    drop(failures);
    let mut t = [0u8; 32];
    getrandom::fill(&mut t)
        .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "no randomness"))?;
    let token = ingest::wire::sea::sha256_hex(&t);
    let body = serde_json::json!({"name": account.name, "role": account.role});
    w.sessions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(token.clone(), (account, Instant::now()));
    let mut r = axum::Json(body).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict"
        ))
        .expect("a cookie header"),
    );
    Ok(r)
}

async fn logout(State(w): State<Arc<Web>>, headers: HeaderMap) -> Reply {
    Web::posted_here(&headers)?;
    let me = w.who(&headers)?;
    w.sessions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|_, (a, _)| a.name != me.name);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn state(State(w): State<Arc<Web>>, headers: HeaderMap) -> Reply {
    let me = w.who(&headers)?;
    let s = w.board.snapshot().seen_by(me.role, &me.name);
    let mut v = serde_json::to_value(&s).expect("the board serializes");
    v["me"] = serde_json::json!({"name": me.name, "role": me.role,
        "signs": me.role.signs_case_actions()});
    v["now"] = serde_json::json!(Timestamp::now());
    Ok(axum::Json(v).into_response())
}

async fn ask<T>(
    w: &Web,
    cmd: Cmd,
    rx: oneshot::Receiver<Result<T, String>>,
) -> Result<T, WebError> {
    w.cmds.send(cmd).await.map_err(|_| {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the link's loop has stopped",
        )
    })?;
    rx.await
        .map_err(|_| {
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the link's loop has stopped",
            )
        })?
        .map_err(|e| error(StatusCode::UNPROCESSABLE_ENTITY, e))
}

async fn report(State(w): State<Arc<Web>>, headers: HeaderMap, body: Bytes) -> Reply {
    Web::posted_here(&headers)?;
    w.who(&headers)?;
    let mut v: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("a report in JSON: {e}")))?;
    if v.get("time").is_none() {
        v["time"] = serde_json::json!(Timestamp::now());
    }
    let (reply, rx) = oneshot::channel();
    let seq = ask(
        &w,
        Cmd::Report {
            json: v.to_string(),
            reply,
        },
        rx,
    )
    .await?;
    if v["type"] == "tasking_ack"
        && let (Some(id), Some(acc)) = (v["tasking"].as_str(), v["accepted"].as_bool())
    {
        w.board
            .answered(id, acc)
            .map_err(|e| error(StatusCode::INSUFFICIENT_STORAGE, e.to_string()))?;
    }
    Ok(axum::Json(serde_json::json!({"queued": seq, "saved_on_board": true})).into_response())
}

async fn case(State(w): State<Arc<Web>>, headers: HeaderMap, body: Bytes) -> Reply {
    Web::posted_here(&headers)?;
    let me = w.who(&headers)?;
    if !me.role.signs_case_actions() {
        return Err(error(
            StatusCode::FORBIDDEN,
            "the bridge watch records sightings, status and persons on board; case actions are signed by the commander or the boarding officer",
        ));
    }
    let mut draft: Draft = serde_json::from_slice(&body)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("a case action: {e}")))?;
    let kind = draft.action["type"].as_str().unwrap_or_default().to_owned();
    if !SEA_ACTIONS.contains(&kind.as_str()) {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "{kind:?} is not recorded at sea (actions here: {}); R36: a person is never recorded as a suspect from a boat",
                SEA_ACTIONS.join(", ")
            ),
        ));
    }
    if draft.why.trim().is_empty() {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "why: say why, in words",
        ));
    }
    if draft.position.is_none() {
        let own = w.board.lock().own.clone();
        draft.position = match (own.lat, own.lon) {
            (Some(lat), Some(lon)) => Position::new(lat, lon),
            _ => None,
        };
    }
    let key = {
        let crew = &w.crew;
        crew.signing_key(&me.name)
            .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    };
    let (reply, rx) = oneshot::channel();
    let (id, sha256) = ask(
        &w,
        Cmd::Case {
            draft,
            officer: me.name.clone(),
            key: Box::new(key),
            reply,
        },
        rx,
    )
    .await?;
    Ok(
        axum::Json(serde_json::json!({"id": id, "sha256": sha256, "saved_on_board": true}))
            .into_response(),
    )
}

#[derive(Deserialize)]
struct FileName {
    name: String,
}

async fn evidence(
    State(w): State<Arc<Web>>,
    Query(q): Query<FileName>,
    request: axum::extract::Request,
) -> Reply {
    // Who asks, before a byte of the body is read.
    let headers = request.headers().clone();
    Web::posted_here(&headers)?;
    let me = w.who(&headers)?;
    if !me.role.signs_case_actions() {
        return Err(error(
            StatusCode::FORBIDDEN,
            "evidence is captured by the boarding team",
        ));
    }
    let body = axum::body::to_bytes(
        request.into_body(),
        ingest::wire::sea::MAX_FILE_BYTES as usize,
    )
    .await
    .map_err(|e| error(StatusCode::PAYLOAD_TOO_LARGE, format!("the file: {e}")))?;
    let name: String = q
        .name
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(100)
        .collect();
    if body.is_empty() || name.is_empty() {
        return Err(error(StatusCode::BAD_REQUEST, "a file with a name"));
    }
    let sha256 = ingest::wire::sea::sha256_hex(&body);
    let dir = w.board.evidence_dir();
    let path = dir.join(&sha256);
    let size = body.len() as u64;
    let p = path.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        if !p.exists() {
            let tmp = dir.join(format!(
                "{}.tmp",
                p.file_name().unwrap_or_default().to_string_lossy()
            ));
            std::fs::write(&tmp, &body)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &p)?;
            // The rename itself on disk.
            std::fs::File::open(&dir)?.sync_all()?;
        }
        Ok(())
    })
    .await
    .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "cannot keep the file"))?
    .map_err(|e| {
        error(
            StatusCode::INSUFFICIENT_STORAGE,
            format!("cannot keep the file on board: {e}"),
        )
    })?;
    let (reply, rx) = oneshot::channel();
    ask(
        &w,
        Cmd::File {
            sha256: sha256.clone(),
            name: name.clone(),
            path,
            reply,
        },
        rx,
    )
    .await?;
    Ok(axum::Json(
        serde_json::json!({"sha256": sha256, "name": name, "size": size, "saved_on_board": true}),
    )
    .into_response())
}

/// Serve the interface on `addr` over HTTPS with `identity`, until the program ends.
pub async fn serve(
    addr: SocketAddr,
    identity: &ingest::link::tls::Identity,
    board: Arc<Board>,
    crew: Crew,
    cmds: mpsc::Sender<Cmd>,
) -> Result<SocketAddr> {
    let web = Arc::new(Web {
        board,
        crew,
        sessions: Mutex::new(HashMap::new()),
        failures: Mutex::new(HashMap::new()),
        checks: tokio::sync::Semaphore::new(2),
        cmds,
    });
    let listener = std::net::TcpListener::bind(addr)
        .with_context(|| format!("--web {addr}: cannot listen"))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let config = identity.server_config_alpn(&[b"http/1.1"])?;
    let config = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config));
    let server = axum_server::from_tcp_rustls(listener, config)?;
    let app = router(web).layer(axum::middleware::map_response(
        |mut r: Response| async move {
            r.headers_mut().insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000"),
            );
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        },
    ));
    tokio::spawn(async move {
        if let Err(e) = server.serve(app.into_make_service()).await {
            tracing::error!(error = %e, "the vessel's web interface stopped");
        }
    });
    Ok(local)
}
