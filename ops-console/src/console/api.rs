//! The REST API (`/api/...`), described by OpenAPI at `/api/openapi.json` with a
//! documentation page at `/api/docs`.
//!
//! Every endpoint but `health`, `login` and the description itself needs a session
//! (401 without) and names the [`Permission`] it needs (403 without); requests that change
//! something also need the session's anti-CSRF token in `X-CSRF-Token`. Errors are JSON:
//! `{"error": "<code>", "message": "<words>"}`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{self, COOKIE, CSRF_HEADER, Permission, Role};
use super::live::{self, LiveEvent};
use super::model::*;
use super::store::{AuditEntry, NewAudit, SessionRecord, StoreError, sha256_hex};
use super::{Console, LiveSession};
use crate::interception::log::{
    AppendError, EventType, LogActor, LogPosition, NewEntry, TimeSource, verify as verify_log,
};
use fusion::sar::case::{Actor, CaseError, Phase, SarCase};

pub(crate) type AppState = Arc<Console>;

// ---------------------------------------------------------------- errors

/// An error as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `not_logged_in`, `session_expired`, `forbidden`, `csrf`,
    /// `password_change_required`, `bad_credentials`, `too_many_attempts`, `busy`,
    /// `bad_request`, `not_found`, `conflict`, `internal`.
    pub error: String,
    /// What went wrong, in words.
    pub message: String,
}

/// An API error: a status and a body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    retry_after_s: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, error: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                error: error.into(),
                message: message.into(),
            },
            retry_after_s: None,
        }
    }
    pub(crate) fn bad_request(m: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", m)
    }
    pub(crate) fn not_found(m: impl Into<String>) -> ApiError {
        Self::new(StatusCode::NOT_FOUND, "not_found", m)
    }
    pub(crate) fn conflict(m: impl Into<String>) -> ApiError {
        Self::new(StatusCode::CONFLICT, "conflict", m)
    }
    fn unauthorized(code: &str, m: impl Into<String>) -> ApiError {
        Self::new(StatusCode::UNAUTHORIZED, code, m)
    }
    pub(crate) fn forbidden(code: &str, m: impl Into<String>) -> ApiError {
        Self::new(StatusCode::FORBIDDEN, code, m)
    }
    /// 429: this name from this address (or this address) tried too often.
    fn too_many_attempts(wait_s: u64) -> ApiError {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("too many failed logins; try again in {wait_s} s"),
        );
        e.retry_after_s = Some(wait_s);
        e
    }
    /// 503: too many password checks running and waiting ([`auth::PasswordGate`]).
    fn busy(e: auth::GateError) -> ApiError {
        match e {
            auth::GateError::Busy { retry_after_s } => {
                let mut e = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    format!("too many password checks at once; try again in {retry_after_s} s"),
                );
                e.retry_after_s = Some(retry_after_s);
                e
            }
            auth::GateError::Panicked => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the password check failed",
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        // The detail is logged, not sent.
        tracing::error!(error = %e, "console: store error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the console's database failed; the operators' log has the detail",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(self.body)).into_response();
        if let Some(s) = self.retry_after_s
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}

pub(crate) type ApiResult<T> = Result<Json<T>, ApiError>;

/// A JSON body whose rejection is an [`ApiError`] (400 with a JSON body).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// Query parameters whose rejection is an [`ApiError`].
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded_from(q).map(ApiQuery)
    }
}

fn serde_urlencoded_from<T: serde::de::DeserializeOwned>(q: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{q}")
            .parse()
            .map_err(|_| ApiError::bad_request("bad query string"))?,
    )
    .map(|q| q.0)
    .map_err(|e| ApiError::bad_request(e.body_text()))
}

// ---------------------------------------------------------------- sessions

/// The logged-in user of a request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Session token hash.
    pub session: String,
    /// Anti-CSRF token.
    pub csrf: String,
    /// Must change the one-time password.
    pub must_change: bool,
}

impl CurrentUser {
    /// 403 unless the role has `p`.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.role.can(p) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "forbidden",
                format!(
                    "the {} role may not do this ({})",
                    self.role,
                    serde_json::to_value(p)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ),
            ))
        }
    }
}

impl CurrentUser {
    /// A log entry by this user, happening now (the console's UTC clock), without a
    /// position; callers set what their request adds.
    pub(crate) fn entry(
        &self,
        now: Timestamp,
        event: EventType,
        why: String,
        details: serde_json::Value,
    ) -> NewEntry {
        NewEntry {
            occurred_at: now,
            time_source: TimeSource::Ntp,
            actor: LogActor {
                user: self.name.clone(),
                role: self.role.as_str().to_owned(),
                unit: None,
                on_behalf_of: None,
            },
            event,
            position: None,
            zone: None,
            why,
            details,
            corrects: None,
            late_reason: None,
            occurred_at_given: None,
        }
    }
}

/// A request's late entry (R57) and position, checked.
pub(crate) fn check_late_and_position(
    late: Option<&LateEntry>,
    position: Option<&LatLon>,
) -> Result<(), ApiError> {
    if let Some(p) = position
        && !((-90.0..=90.0).contains(&p.lat) && (-180.0..=180.0).contains(&p.lon))
    {
        return Err(ApiError::bad_request(
            "position: lat −90..90, lon −180..180",
        ));
    }
    if late.is_some_and(|l| l.minutes_ago > 10_080 || l.reason.trim().is_empty()) {
        return Err(ApiError::bad_request(
            "late: minutes_ago at most 10080 (a week), and the reason it is recorded only now",
        ));
    }
    Ok(())
}

/// When a request says it happened: now, or `late.minutes_ago` before (typed in by a person).
pub(crate) fn occurred(now: Timestamp, late: Option<&LateEntry>) -> (Timestamp, TimeSource) {
    match late {
        Some(l) => (
            now - jiff::SignedDuration::from_mins(i64::from(l.minutes_ago)),
            TimeSource::Manual,
        ),
        None => (now, TimeSource::Ntp),
    }
}

/// A position as the log keeps it (a user's fix: 0.1 NM).
pub(crate) fn log_position(p: LatLon) -> LogPosition {
    LogPosition {
        lat: p.lat,
        lon: p.lon,
        accuracy_nm: 0.1,
    }
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

fn unix_now() -> i64 {
    Timestamp::now().as_second()
}

/// Paths a user with a one-time password may still use.
const BEFORE_PASSWORD_CHANGE: &[&str] = &["/api/me", "/api/me/password", "/api/logout"];

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, c: &AppState) -> Result<Self, ApiError> {
        let token = cookie_token(&parts.headers)
            .ok_or_else(|| ApiError::unauthorized("not_logged_in", "log in first"))?;
        let hash = sha256_hex(token.as_bytes());
        let now = unix_now();
        let cached = c.sessions().get(&hash).cloned();
        let mut s = match cached {
            Some(s) => s,
            None => {
                // After a restart: the store has it.
                let rec = c.store().session(&hash)?.ok_or_else(|| {
                    ApiError::unauthorized("not_logged_in", "no such session; log in again")
                })?;
                let user = c.store().user(&rec.user)?.ok_or_else(|| {
                    ApiError::unauthorized("not_logged_in", "the account is gone")
                })?;
                LiveSession {
                    user: user.name,
                    role: user.role,
                    must_change: user.must_change,
                    csrf: rec.csrf,
                    created_at: rec.created_at,
                    last_seen: rec.last_seen,
                    stored_seen: rec.last_seen,
                }
            }
        };
        if now - s.last_seen > auth::IDLE_LIMIT_S || now - s.created_at > auth::ABSOLUTE_LIMIT_S {
            c.end_session(&hash)?;
            return Err(ApiError::unauthorized(
                "session_expired",
                "the session has expired; log in again",
            ));
        }
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !auth::same_secret(sent, &s.csrf) {
                return Err(ApiError::forbidden(
                    "csrf",
                    "missing or wrong X-CSRF-Token header (from /api/me)",
                ));
            }
        }
        s.last_seen = now;
        if now - s.stored_seen >= 60 {
            if !c.store().touch_session(&hash, now)? {
                // Ended elsewhere (another process): its streams end too.
                c.end_session(&hash)?;
                return Err(ApiError::unauthorized(
                    "not_logged_in",
                    "the session was ended; log in again",
                ));
            }
            s.stored_seen = now;
        }
        c.sessions().insert(hash.clone(), s.clone());
        if s.must_change && !BEFORE_PASSWORD_CHANGE.contains(&parts.uri.path()) {
            return Err(ApiError::forbidden(
                "password_change_required",
                "change the one-time password first (POST /api/me/password)",
            ));
        }
        Ok(CurrentUser {
            name: s.user,
            role: s.role,
            session: hash,
            csrf: s.csrf,
            must_change: s.must_change,
        })
    }
}

/// The client's address (rate limiting, audit).
struct ClientAddr(IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip()),
        ))
    }
}

// ---------------------------------------------------------------- auth endpoints

/// Health of the console itself (no session needed).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// Whether the console's feed is connected to the broker.
    pub feed_connected: bool,
}

/// Is the console up? No session needed.
#[utoipa::path(get, path = "/api/health", tag = "session",
    responses((status = 200, description = "The console is up", body = Health)))]
async fn health(State(c): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        feed_connected: c.feed_is_up(),
    })
}

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// Who is logged in, and what they may do.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// What the role may do.
    pub permissions: Vec<Permission>,
    /// The anti-CSRF token to send in `X-CSRF-Token` with every change.
    pub csrf: String,
    /// The password is a one-time password: change it before anything else.
    pub must_change_password: bool,
}

fn session_cookie(c: &Console, token: &str, max_age_s: i64) -> HeaderValue {
    let secure = if c.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_s}{secure}"
    ))
    .expect("cookie characters are URL-safe base64")
}

/// Log in: sets the session cookie and returns the anti-CSRF token. Each attempt counts
/// before its password is checked: five for a name from one address (twenty from an
/// address) in 15 minutes lock further tries from there until the window passes; a name's
/// attempts from anywhere only slow its next ones (at most a few seconds), never lock it.
/// A few password checks run at once; past that, 503 with `Retry-After`.
#[utoipa::path(post, path = "/api/login", tag = "session", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; the cookie is set", body = Me),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Wrong name or password", body = ErrorBody),
        (status = 429, description = "Too many failed attempts", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
        (status = 503, description = "Too many password checks at once", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
    ))]
async fn login(
    State(c): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    // Counted now, before the check: concurrent attempts cannot slip past the limits.
    let attempt = c
        .limiter()
        .begin(&req.username, addr)
        .map_err(ApiError::too_many_attempts)?;
    tokio::time::sleep(attempt.delay()).await;
    let user = if req.username.len() <= 256 {
        c.store().user(&req.username)?
    } else {
        None
    };
    let phc = user
        .as_ref()
        .map_or_else(|| auth::decoy_hash().to_owned(), |u| u.password.clone());
    let password = req.password.clone();
    let ok = match c
        .password_gate()
        .run(move || auth::verify_password(&password, &phc))
        .await
    {
        Ok(ok) => ok,
        Err(e) => {
            // Never checked: the attempt gives its place back.
            c.limiter().refund(attempt);
            return Err(ApiError::busy(e));
        }
    };
    // An account awaiting approval cannot be used, whatever password is tried.
    let ok = ok
        && match &user {
            Some(u) => !c.store().account_pending(&u.name)?,
            None => false,
        };
    let (true, Some(user)) = (ok, user) else {
        c.store().audit(NewAudit {
            user: None,
            role: None,
            action: "login_failed",
            target: Some(&req.username.chars().take(64).collect::<String>()),
            detail: &serde_json::json!({"address": addr.to_string()}),
        })?;
        return Err(ApiError::unauthorized(
            "bad_credentials",
            "wrong name or password",
        ));
    };
    c.limiter().succeeded(attempt);
    let token = auth::random_token(32);
    let csrf = auth::random_token(32);
    let hash = sha256_hex(token.as_bytes());
    let now = unix_now();
    c.store().add_session(&SessionRecord {
        token_sha256: hash.clone(),
        user: user.name.clone(),
        csrf: csrf.clone(),
        created_at: now,
        last_seen: now,
    })?;
    c.sessions().insert(
        hash,
        LiveSession {
            user: user.name.clone(),
            role: user.role,
            must_change: user.must_change,
            csrf: csrf.clone(),
            created_at: now,
            last_seen: now,
            stored_seen: now,
        },
    );
    c.store().audit(NewAudit {
        user: Some(&user.name),
        role: Some(user.role),
        action: "login",
        target: None,
        detail: &serde_json::json!({"address": addr.to_string()}),
    })?;
    let me = Me {
        name: user.name,
        role: user.role,
        permissions: user.role.permissions(),
        csrf,
        must_change_password: user.must_change,
    };
    let mut r = Json(me).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&c, &token, auth::ABSOLUTE_LIMIT_S),
    );
    Ok(r)
}

/// Log out: ends the session.
#[utoipa::path(post, path = "/api/logout", tag = "session", security(("session" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Missing anti-CSRF token", body = ErrorBody),
    ))]
async fn logout(State(c): State<AppState>, u: CurrentUser) -> Result<Response, ApiError> {
    c.end_session(&u.session)?;
    c.store().audit(NewAudit {
        user: Some(&u.name),
        role: Some(u.role),
        action: "logout",
        target: None,
        detail: &serde_json::json!({}),
    })?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&c, "", 0));
    Ok(r)
}

/// Who is logged in.
#[utoipa::path(get, path = "/api/me", tag = "session", security(("session" = [])),
    responses(
        (status = 200, description = "The session's user", body = Me),
        (status = 401, description = "Not logged in", body = ErrorBody),
    ))]
async fn me(u: CurrentUser) -> Json<Me> {
    Json(Me {
        name: u.name,
        role: u.role,
        permissions: u.role.permissions(),
        csrf: u.csrf,
        must_change_password: u.must_change,
    })
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current (or one-time) password.
    pub current: String,
    /// The new password, 12 to 1024 characters.
    #[schema(min_length = 12, max_length = 1024)]
    pub new: String,
}

/// Change one's own password. Other sessions of the account end (and their live streams).
/// The current password is checked as a login's is: counted first, limited, a few at once.
#[utoipa::path(post, path = "/api/me/password", tag = "session", request_body = PasswordChange,
    security(("session" = [])),
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "The new password is too short", body = ErrorBody),
        (status = 401, description = "Not logged in, or the current password is wrong", body = ErrorBody),
        (status = 403, description = "Missing anti-CSRF token", body = ErrorBody),
        (status = 429, description = "Too many failed attempts", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
        (status = 503, description = "Too many password checks at once", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
    ))]
async fn change_password(
    State(c): State<AppState>,
    ClientAddr(addr): ClientAddr,
    u: CurrentUser,
    ApiJson(req): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    auth::check_new_password(&req.new).map_err(ApiError::bad_request)?;
    let rec = c
        .store()
        .user(&u.name)?
        .ok_or_else(|| ApiError::unauthorized("not_logged_in", "the account is gone"))?;
    let (current, new) = (req.current, req.new);
    let phc = rec.password.clone();
    let attempt = c
        .limiter()
        .begin(&u.name, addr)
        .map_err(ApiError::too_many_attempts)?;
    tokio::time::sleep(attempt.delay()).await;
    let hashed = match c
        .password_gate()
        .run(move || auth::verify_password(&current, &phc).then(|| auth::hash_password(&new)))
        .await
    {
        Ok(h) => h,
        Err(e) => {
            c.limiter().refund(attempt);
            return Err(ApiError::busy(e));
        }
    };
    let Some(hashed) = hashed else {
        return Err(ApiError::unauthorized(
            "bad_credentials",
            "the current password is wrong",
        ));
    };
    c.limiter().succeeded(attempt);
    let phc = hashed.map_err(ApiError::bad_request)?;
    c.store().set_password(&u.name, &phc, false)?;
    // Every other session of the account ends, open live streams with them; this one goes on.
    c.end_other_sessions(&u.name, &u.session)?;
    if let Some(s) = c.sessions().get_mut(&u.session) {
        s.must_change = false;
    }
    c.store().audit(NewAudit {
        user: Some(&u.name),
        role: Some(u.role),
        action: "password_change",
        target: Some(&u.name),
        detail: &serde_json::json!({}),
    })?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- picture

/// `?at=` for a replay.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AtQuery {
    /// Replay time (RFC 3339, UTC); absent for now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub at: Option<Timestamp>,
}

/// The picture: every track and the open alerts, now or as it was at `at`.
#[utoipa::path(get, path = "/api/picture", tag = "picture", params(AtQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The picture", body = PictureView),
        (status = 400, description = "Bad time", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not see the picture", body = ErrorBody),
    ))]
async fn picture(
    State(c): State<AppState>,
    u: CurrentUser,
    ApiQuery(q): ApiQuery<AtQuery>,
) -> Result<Response, ApiError> {
    u.require(Permission::ViewPicture)?;
    let body = match q.at {
        None => c.live_picture_json(),
        Some(at) => serde_json::to_vec(&c.picture().snapshot(Some(at)))
            .map_err(|e| ApiError::bad_request(e.to_string()))?
            .into(),
    };
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// A time range.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    /// From (RFC 3339, UTC); default: the history kept.
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<Timestamp>,
    /// To (RFC 3339, UTC); default: now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<Timestamp>,
}

/// A track's trail (history points, at most one per 30 s).
#[utoipa::path(get, path = "/api/tracks/{id}/trail", tag = "picture",
    params(("id" = String, Path, description = "Track id, e.g. `ais:247123456`"), RangeQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The trail, oldest first", body = Vec<TrailPoint>),
        (status = 400, description = "Bad time", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not see the picture", body = ErrorBody),
        (status = 404, description = "No such track", body = ErrorBody),
    ))]
async fn trail(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Vec<TrailPoint>> {
    u.require(Permission::ViewPicture)?;
    let p = c.picture();
    let to = q.to.unwrap_or_else(|| p.clock());
    let from = q.from.unwrap_or(Timestamp::MIN);
    p.trail(&id, from, to)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no track {id:?}")))
}

/// A vessel's card: identity and its changes, static data, alerts, risk, nearby tracks.
#[utoipa::path(get, path = "/api/vessels/{mmsi}", tag = "picture",
    params(("mmsi" = u32, Path, description = "MMSI (up to 9 digits)", maximum = 999_999_999)),
    security(("session" = [])),
    responses(
        (status = 200, description = "The vessel card", body = VesselCard),
        (status = 400, description = "Not an MMSI", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not see the picture", body = ErrorBody),
        (status = 404, description = "Nothing heard from it", body = ErrorBody),
    ))]
async fn vessel(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(mmsi): Path<String>,
) -> ApiResult<VesselCard> {
    u.require(Permission::ViewPicture)?;
    let m: u32 = mmsi
        .parse()
        .ok()
        .filter(|m| *m <= 999_999_999)
        .ok_or_else(|| ApiError::bad_request(format!("{mmsi:?} is not an MMSI")))?;
    c.picture()
        .vessel(m)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("nothing heard from MMSI {m}")))
}

// ---------------------------------------------------------------- alerts

/// Alert filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this severity or higher.
    #[param(inline)]
    pub min_severity: Option<SeverityFilter>,
    /// `open` (default: open in fusion's terms) or `all`.
    #[param(inline)]
    pub state: Option<StateFilter>,
    /// Only this triage status.
    #[param(inline)]
    pub triage: Option<TriageStatus>,
    /// As of this time (RFC 3339, UTC).
    #[param(value_type = Option<String>, format = DateTime)]
    pub at: Option<Timestamp>,
}

const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

/// A minimum severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeverityFilter {
    /// Everything.
    Info,
    /// Low and above.
    Low,
    /// Medium and above.
    Medium,
    /// High and above.
    High,
    /// Critical only.
    Critical,
}

/// Which alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateFilter {
    /// Open in fusion's terms.
    Open,
    /// Every alert, closed and retracted ones too.
    All,
}

/// Alerts, newest first.
#[utoipa::path(get, path = "/api/alerts", tag = "alerts", params(AlertQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "Alerts, newest first", body = Vec<AlertView>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not see alerts", body = ErrorBody),
    ))]
async fn alerts(
    State(c): State<AppState>,
    u: CurrentUser,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> ApiResult<Vec<AlertView>> {
    u.require(Permission::ViewPicture)?;
    let open_only = q.state != Some(StateFilter::All);
    let min = q.min_severity.map_or(0, |s| s as usize);
    let v = c.picture().alerts_at(q.at, open_only);
    Ok(Json(
        v.into_iter()
            .filter(|a| q.kind.as_ref().is_none_or(|k| *k == a.kind))
            .filter(|a| {
                SEVERITIES
                    .iter()
                    .position(|s| *s == a.severity)
                    .unwrap_or(0)
                    >= min
            })
            .filter(|a| q.triage.is_none_or(|t| t == a.triage.status))
            .collect(),
    ))
}

/// An alert with every revision and its triage log.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AlertDetail {
    /// The latest revision with its triage.
    pub alert: AlertView,
    /// Every revision, oldest first.
    pub revisions: Vec<AlertView>,
    /// The triage actions taken on it, oldest first.
    pub actions: Vec<AuditEntry>,
}

/// One alert, its revisions and the actions taken on it.
#[utoipa::path(get, path = "/api/alerts/{id}", tag = "alerts",
    params(("id" = String, Path, description = "Alert id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The alert", body = AlertDetail),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not see alerts", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
    ))]
async fn alert(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<AlertDetail> {
    u.require(Permission::ViewPicture)?;
    let (alert, revisions) = c
        .picture()
        .alert_with_history(&id)
        .ok_or_else(|| ApiError::not_found(format!("no alert {id:?}")))?;
    let actions = c.store().audit_for(&id)?;
    Ok(Json(AlertDetail {
        alert,
        revisions,
        actions,
    }))
}

/// Assign an alert.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The user who takes it (any user whose role may triage).
    #[schema(min_length = 1)]
    pub user: String,
}

/// Dismiss an alert.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissRequest {
    /// Why no action is needed (required, not blank).
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: String,
}

/// Escalate an alert.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalateRequest {
    /// The incident's title (default: from the alert).
    #[schema(max_length = 200)]
    pub title: Option<String>,
}

fn current_triage(c: &Console, id: &str) -> Result<(Triage, AlertView), ApiError> {
    let p = c.picture();
    let (view, _) = p
        .alert_with_history(id)
        .ok_or_else(|| ApiError::not_found(format!("no alert {id:?}")))?;
    Ok((view.triage.clone(), view))
}

/// Acknowledge an alert: the watch has seen it.
#[utoipa::path(post, path = "/api/alerts/{id}/ack", tag = "alerts",
    params(("id" = String, Path, description = "Alert id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "Acknowledged", body = AlertView),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not triage, or no anti-CSRF token", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 409, description = "Already dismissed or escalated", body = ErrorBody),
    ))]
async fn ack(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<AlertView> {
    u.require(Permission::TriageAlerts)?;
    let (mut t, _) = current_triage(&c, &id)?;
    still_open(&t)?;
    if t.status == TriageStatus::New {
        t.status = TriageStatus::Acknowledged;
    }
    record(&c, &id, t, &u, "alert_ack", serde_json::json!({}))
}

/// 409 when the alert is already dismissed or escalated.
fn still_open(t: &Triage) -> Result<(), ApiError> {
    if matches!(t.status, TriageStatus::Dismissed | TriageStatus::Escalated) {
        return Err(ApiError::conflict(format!(
            "the alert is already {}",
            status_name(t.status)
        )));
    }
    Ok(())
}

/// Stamp a triage change with who and when, store and log it, show it.
fn record(
    c: &Console,
    id: &str,
    mut t: Triage,
    u: &CurrentUser,
    action: &str,
    detail: serde_json::Value,
) -> ApiResult<AlertView> {
    t.by = Some(u.name.clone());
    t.at = Some(Timestamp::now());
    Ok(Json(c.triage(id, t, &u.name, u.role, action, detail)?))
}

fn status_name(s: TriageStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Assign an alert to a user.
#[utoipa::path(post, path = "/api/alerts/{id}/assign", tag = "alerts",
    params(("id" = String, Path, description = "Alert id")), request_body = AssignRequest,
    security(("session" = [])),
    responses(
        (status = 200, description = "Assigned", body = AlertView),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not triage, or no anti-CSRF token", body = ErrorBody),
        (status = 404, description = "No such alert, or no such user", body = ErrorBody),
        (status = 409, description = "Already dismissed or escalated, or the user's role may not triage", body = ErrorBody),
    ))]
async fn assign(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AssignRequest>,
) -> ApiResult<AlertView> {
    u.require(Permission::TriageAlerts)?;
    let (mut t, _) = current_triage(&c, &id)?;
    let to = c
        .store()
        .user(&req.user)?
        .ok_or_else(|| ApiError::not_found(format!("no user {:?}", req.user)))?;
    if !to.role.can(Permission::TriageAlerts) {
        return Err(ApiError::conflict(format!(
            "{} is {}, a role that may not triage alerts",
            to.name, to.role
        )));
    }
    still_open(&t)?;
    t.status = TriageStatus::Assigned;
    t.assignee = Some(to.name.clone());
    record(
        &c,
        &id,
        t,
        &u,
        "alert_assign",
        serde_json::json!({"assignee": to.name}),
    )
}

/// Dismiss an alert, with a reason. An escalated alert cannot be dismissed; a rescue alert
/// (`sar_beacon`, `distress`) only by the SAR mission coordinator.
#[utoipa::path(post, path = "/api/alerts/{id}/dismiss", tag = "alerts",
    params(("id" = String, Path, description = "Alert id")), request_body = DismissRequest,
    security(("session" = [])),
    responses(
        (status = 200, description = "Dismissed", body = AlertView),
        (status = 400, description = "No reason given", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not dismiss it, or no anti-CSRF token", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 409, description = "Already escalated", body = ErrorBody),
    ))]
async fn dismiss(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<DismissRequest>,
) -> ApiResult<AlertView> {
    u.require(Permission::TriageAlerts)?;
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(ApiError::bad_request(
            "a dismissal needs a reason (at most 2000 characters)",
        ));
    }
    let (mut t, view) = current_triage(&c, &id)?;
    if matches!(view.kind.as_str(), "sar_beacon" | "distress") && u.role != Role::SarCoordinator {
        // Rescue first (DOMAIN.md §2): only the SMC stands a rescue alert down.
        return Err(ApiError::forbidden(
            "forbidden",
            "only the SAR mission coordinator may dismiss a rescue alert",
        ));
    }
    if t.status == TriageStatus::Escalated {
        return Err(ApiError::conflict("the alert was escalated to an incident"));
    }
    t.status = TriageStatus::Dismissed;
    t.reason = Some(reason.to_owned());
    t.dismissed_at_severity = Some(view.severity.clone());
    record(
        &c,
        &id,
        t,
        &u,
        "alert_dismiss",
        serde_json::json!({"reason": reason}),
    )
}

/// Escalate an alert to a new incident (a SAR incident for rescue alerts).
#[utoipa::path(post, path = "/api/alerts/{id}/escalate", tag = "alerts",
    params(("id" = String, Path, description = "Alert id")), request_body = EscalateRequest,
    security(("session" = [])),
    responses(
        (status = 200, description = "Escalated; the alert names the incident", body = AlertView),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not triage, or no anti-CSRF token", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 409, description = "Already escalated", body = ErrorBody),
    ))]
async fn escalate(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<EscalateRequest>,
) -> ApiResult<AlertView> {
    u.require(Permission::TriageAlerts)?;
    let (mut t, view) = current_triage(&c, &id)?;
    if t.status == TriageStatus::Escalated {
        return Err(ApiError::conflict(format!(
            "already escalated to {}",
            t.incident.unwrap_or_default()
        )));
    }
    let now = Timestamp::now();
    let kind = if matches!(view.kind.as_str(), "sar_beacon" | "distress") {
        "sar"
    } else {
        "law_enforcement"
    };
    if req.title.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(ApiError::bad_request("a title has at most 200 characters"));
    }
    let title = req
        .title
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            format!(
                "{} at {:.4}, {:.4}",
                view.kind.replace('_', " "),
                view.position.lat,
                view.position.lon
            )
        });
    let incident = {
        let p = c.picture();
        Incident {
            id: p.next_incident_id(now),
            title,
            kind: kind.into(),
            alerts: vec![id.clone()],
            created_by: u.name.clone(),
            created_at: now,
        }
    };
    // A rescue alert opens a SAR case at once: a beacon in distress (R19: a distress
    // report may open the case in distress directly), a proposal in the alert phase; the
    // SMC then owns its phases.
    let sar_case = match (kind, u.role.sar_role()) {
        ("sar", Some(role)) => {
            let phase = if view.kind == "sar_beacon" {
                Phase::Distress
            } else {
                Phase::Alert
            };
            let case = SarCase::open(
                &incident.id,
                phase,
                &id,
                &format!(
                    "escalated from the {} alert: {}",
                    view.kind.replace('_', " "),
                    view.reasons.first().cloned().unwrap_or_default()
                ),
                Actor {
                    name: u.name.clone(),
                    role,
                },
                now,
            )
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
            Some(serde_json::to_string(&case).unwrap_or_default())
        }
        _ => None,
    };
    let first_entry = NewEntry {
        position: Some(log_position(view.position)),
        ..u.entry(
            now,
            EventType::Detection,
            format!(
                "incident opened from the {} alert {id}: {}",
                view.kind.replace('_', " "),
                view.reasons.first().cloned().unwrap_or_default()
            ),
            serde_json::json!({"alert": id, "kind": kind, "mmsi": view.mmsi}),
        )
    };
    c.store().add_incident(
        &incident.id,
        &serde_json::to_string(&incident).unwrap_or_default(),
        sar_case.as_deref(),
        first_entry,
        NewAudit {
            user: Some(&u.name),
            role: Some(u.role),
            action: "incident_open",
            target: Some(&incident.id),
            detail: &serde_json::json!({"alerts": [id], "kind": kind}),
        },
    )?;
    c.picture_mut().add_incident(incident.clone());
    c.publish(LiveEvent::Incident(incident.clone()));
    t.status = TriageStatus::Escalated;
    t.incident = Some(incident.id.clone());
    record(
        &c,
        &id,
        t,
        &u,
        "alert_escalate",
        serde_json::json!({"incident": incident.id}),
    )
}

/// Incidents, oldest first.
#[utoipa::path(get, path = "/api/incidents", tag = "alerts", security(("session" = [])),
    responses(
        (status = 200, description = "Incidents", body = Vec<Incident>),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not see the picture", body = ErrorBody),
    ))]
async fn incidents(State(c): State<AppState>, u: CurrentUser) -> ApiResult<Vec<Incident>> {
    u.require(Permission::ViewPicture)?;
    Ok(Json(c.picture().incidents().to_vec()))
}

/// Who an alert can be assigned to: the accounts whose role may triage.
#[utoipa::path(get, path = "/api/assignees", tag = "alerts", security(("session" = [])),
    responses(
        (status = 200, description = "Names, sorted", body = Vec<String>),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not triage", body = ErrorBody),
    ))]
async fn assignees(State(c): State<AppState>, u: CurrentUser) -> ApiResult<Vec<String>> {
    u.require(Permission::TriageAlerts)?;
    Ok(Json(
        c.store()
            .users()?
            .into_iter()
            .filter(|r| r.role.can(Permission::TriageAlerts))
            .map(|r| r.name)
            .collect(),
    ))
}

// ---------------------------------------------------------------- SAR cases

/// A SAR case and the incident it belongs to.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SarCaseView {
    /// The incident.
    pub incident: Incident,
    /// The case: `phase` (`uncertainty`, `alert`, `distress`), `status`, survivors, place of
    /// safety, and `log`, every change with who, when and why.
    #[schema(value_type = Object)]
    pub case: serde_json::Value,
}

fn load_case(c: &Console, id: &str) -> Result<(Incident, SarCase), ApiError> {
    load_case_json(c, id).map(|(i, c, _)| (i, c))
}

/// A SAR case with the JSON it was read from (the version a change is made to).
fn load_case_json(c: &Console, id: &str) -> Result<(Incident, SarCase, String), ApiError> {
    let incident = c
        .picture()
        .incidents()
        .iter()
        .find(|i| i.id == id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no incident {id:?}")))?;
    let json = c
        .store()
        .sar_case(id)?
        .ok_or_else(|| ApiError::not_found(format!("{id} has no SAR case")))?;
    let case: SarCase = serde_json::from_str(&json)
        .map_err(|e| StoreError::Corrupt(format!("SAR case {id}: {e}")))?;
    Ok((incident, case, json))
}

/// A SAR case: phase, status and its log.
#[utoipa::path(get, path = "/api/sar/{id}", tag = "sar",
    params(("id" = String, Path, description = "Incident id, e.g. `INC-20261122-001`")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The case", body = SarCaseView),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not see it", body = ErrorBody),
        (status = 404, description = "No such SAR case", body = ErrorBody),
    ))]
async fn sar_case(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<SarCaseView> {
    u.require(Permission::ViewPicture)?;
    let (incident, case) = load_case(&c, &id)?;
    Ok(Json(SarCaseView {
        incident,
        case: serde_json::to_value(&case).unwrap_or_default(),
    }))
}

/// A phase declaration.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseRequest {
    /// The phase.
    #[schema(value_type = String, pattern = "^(uncertainty|alert|distress)$")]
    pub phase: Phase,
    /// Why (required, not blank).
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub rationale: String,
}

/// Declare a SAR phase (up or down): the SAR mission coordinator only, with a rationale
/// (R19). Nothing a law-enforcement case holds can block it (R21).
#[utoipa::path(post, path = "/api/sar/{id}/phase", tag = "sar",
    params(("id" = String, Path, description = "Incident id")), request_body = PhaseRequest,
    security(("session" = [])),
    responses(
        (status = 200, description = "Declared", body = SarCaseView),
        (status = 400, description = "No rationale", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Only the SAR mission coordinator, or no anti-CSRF token", body = ErrorBody),
        (status = 404, description = "No such SAR case", body = ErrorBody),
        (status = 409, description = "The case is terminated", body = ErrorBody),
    ))]
async fn sar_phase(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PhaseRequest>,
) -> ApiResult<SarCaseView> {
    u.require(Permission::CoordinateSar)?;
    let (incident, mut case, before) = load_case_json(&c, &id)?;
    let role = u
        .role
        .sar_role()
        .ok_or_else(|| ApiError::forbidden("forbidden", "the role does not act on SAR cases"))?;
    let actor = Actor {
        name: u.name.clone(),
        role,
    };
    let now = Timestamp::now();
    case.declare_phase(req.phase, &req.rationale, actor, now)
        .map_err(|e| match e {
            CaseError::NotCoordinator(_) => ApiError::forbidden("forbidden", e.to_string()),
            CaseError::NoRationale(_) => ApiError::bad_request(e.to_string()),
            _ => ApiError::conflict(e.to_string()),
        })?;
    let changed = c.store().update_sar_case(
        &id,
        &before,
        &serde_json::to_string(&case).unwrap_or_default(),
        NewAudit {
            user: Some(&u.name),
            role: Some(u.role),
            action: "sar_phase",
            target: Some(&id),
            detail: &serde_json::json!({"phase": req.phase, "rationale": req.rationale}),
        },
        Some((
            &id,
            u.entry(
                now,
                EventType::PhaseChange,
                req.rationale.trim().to_owned(),
                serde_json::json!({"phase": req.phase}),
            ),
            now,
        )),
    )?;
    if changed.is_none() {
        return Err(ApiError::conflict(
            "the SAR case changed meanwhile: reload it and decide again",
        ));
    }
    Ok(Json(SarCaseView {
        incident,
        case: serde_json::to_value(&case).unwrap_or_default(),
    }))
}

// ---------------------------------------------------------------- interception log

/// An incident's interception log and what checking its chain found.
#[derive(Debug, Serialize, ToSchema)]
pub struct InterceptionLogView {
    /// The incident.
    pub incident: String,
    /// Every entry, in order (DOMAIN.md §6.1: who, when it happened and when it was
    /// recorded, where, why, the hash chain).
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<serde_json::Value>,
    /// Entries whose chain verified.
    pub verified: usize,
    /// The first broken entry, if any: position and why.
    pub first_break: Option<String>,
    /// The head hash (note it elsewhere to detect a rewritten tail).
    pub head: String,
}

pub(crate) fn incident_exists(c: &Console, id: &str) -> Result<(), ApiError> {
    if c.picture().incidents().iter().any(|i| i.id == id) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("no incident {id:?}")))
    }
}

fn log_view(c: &Console, id: &str, role: Role) -> Result<InterceptionLogView, ApiError> {
    let log = c.store().interception_log(id)?;
    let v = verify_log(&log, None);
    Ok(InterceptionLogView {
        incident: id.to_owned(),
        entries: log
            .entries
            .iter()
            .map(|e| serde_json::to_value(super::disclosure::entry(e, role)).unwrap_or_default())
            .collect(),
        verified: v.entries,
        first_break: v.first_break.map(|(n, why)| format!("entry {n}: {why}")),
        head: v.head,
    })
}

/// An incident's interception log, verified as it is read.
#[utoipa::path(get, path = "/api/incidents/{id}/log", tag = "interception",
    params(("id" = String, Path, description = "Incident id")), security(("session" = [])),
    responses(
        (status = 200, description = "The log", body = InterceptionLogView),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not see it", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
    ))]
async fn incident_log(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<InterceptionLogView> {
    u.require(Permission::ViewPicture)?;
    incident_exists(&c, &id)?;
    Ok(Json(log_view(&c, &id, u.role)?))
}

/// An entry a user records in an incident's log.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogRequest {
    /// What: `note`, `hail`, `flag_claim`, `message_out`, `message_in`, `headcount`,
    /// `transfer`, `medevac`, `death`, `decision`, `imminent_danger_action`.
    #[schema(
        pattern = "^(note|hail|flag_claim|message_out|message_in|headcount|transfer|medevac|death|decision|imminent_danger_action)$"
    )]
    pub event: String,
    /// Why, in words (required).
    #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
    pub why: String,
    /// Recorded after the fact: how long ago it happened and why it is recorded only now
    /// (R57). Without it, it happened now.
    pub late: Option<LateEntry>,
    /// Where the user's unit was.
    pub position: Option<LatLon>,
    /// The entry this one corrects: the new entry is then a correction (R55: nothing is
    /// ever changed in place), `event` saying what kind of entry it corrects.
    #[schema(minimum = 1)]
    pub corrects: Option<u64>,
}

/// An entry recorded after the fact (R57: it says why).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LateEntry {
    /// How long ago it happened, minutes (at most a week).
    #[schema(minimum = 0, maximum = 10080)]
    pub minutes_ago: u32,
    /// Why it is recorded only now.
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: String,
}

/// Record an entry in an incident's interception log (append-only: a correction is a new
/// entry naming the corrected one, R55; late entries say why, R57).
#[utoipa::path(post, path = "/api/incidents/{id}/log", tag = "interception",
    params(("id" = String, Path, description = "Incident id")), request_body = LogRequest,
    security(("session" = [])),
    responses(
        (status = 201, description = "Recorded; the log as it now stands", body = InterceptionLogView),
        (status = 400, description = "Malformed: no reason, a bad event or position", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not record, or no anti-CSRF token", body = ErrorBody),
        (status = 404, description = "No such incident, or no such entry to correct", body = ErrorBody),
    ))]
async fn record_log(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<LogRequest>,
) -> Result<(StatusCode, Json<InterceptionLogView>), ApiError> {
    u.require(Permission::RecordInterception)?;
    incident_exists(&c, &id)?;
    const ALLOWED: [&str; 11] = [
        "note",
        "hail",
        "flag_claim",
        "message_out",
        "message_in",
        "headcount",
        "transfer",
        "medevac",
        "death",
        "decision",
        "imminent_danger_action",
    ];
    if !ALLOWED.contains(&req.event.as_str()) {
        return Err(ApiError::bad_request(format!(
            "event {:?}: one of {}",
            req.event,
            ALLOWED.join(", ")
        )));
    }
    let mut event: EventType = serde_json::from_value(serde_json::Value::String(req.event.clone()))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut details = serde_json::json!({});
    if let Some(n) = req.corrects {
        let entries = c.store().interception_log(&id)?.entries.len() as u64;
        if n > entries {
            return Err(ApiError::not_found(format!(
                "no entry {n} to correct: the log has {entries}"
            )));
        }
        details = serde_json::json!({"corrects_a": req.event});
        event = EventType::Correction;
    }
    if req.why.chars().count() > 4000
        || req
            .late
            .as_ref()
            .is_some_and(|l| l.reason.chars().count() > 2000)
    {
        return Err(ApiError::bad_request(
            "why: at most 4000 characters, late.reason 2000",
        ));
    }
    check_late_and_position(req.late.as_ref(), req.position.as_ref())?;
    let now = Timestamp::now();
    let (occurred_at, time_source) = occurred(now, req.late.as_ref());
    let entry = NewEntry {
        occurred_at,
        time_source,
        position: req.position.map(log_position),
        corrects: req.corrects,
        late_reason: req.late.map(|l| l.reason.trim().to_owned()),
        ..u.entry(now, event, req.why.trim().to_owned(), details)
    };
    match c.store().append_interception(&id, entry, now)? {
        Ok(_) => Ok((StatusCode::CREATED, Json(log_view(&c, &id, u.role)?))),
        Err(
            e @ (AppendError::NoReason
            | AppendError::LateWithoutReason { .. }
            | AppendError::Future
            | AppendError::TooLarge { .. }
            | AppendError::CorrectsNothing(_)),
        ) => Err(ApiError::bad_request(e.to_string())),
    }
}

// ---------------------------------------------------------------- live

/// Live updates (Server-Sent Events): `hello`, `tracks`, `alert`, `incident`, `clock`,
/// `resync`. The stream ends as soon as its session does (logout, password change, expiry).
#[utoipa::path(get, path = "/api/live", tag = "picture", security(("session" = [])),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream", body = String),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not see the picture", body = ErrorBody),
    ))]
async fn live_stream(State(c): State<AppState>, u: CurrentUser) -> Result<Response, ApiError> {
    u.require(Permission::ViewPicture)?;
    let rx = c.subscribe();
    let hello = serde_json::json!({"time": c.picture().clock()}).to_string();
    let guard = live::ClientGuard::new(c.stats().live_clients.clone());
    // The stream ends with its session, whatever ends it.
    let session_end = c.session_end(u.session, u.name, u.role);
    Ok(live::stream(rx, hello, guard, session_end).into_response())
}

// ---------------------------------------------------------------- status

/// One sample of a metric.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Sample {
    /// Metric name (as in `/metrics`).
    pub name: String,
    /// Labels.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Value.
    pub value: f64,
}

/// Service health, from the same numbers as `/metrics`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Status {
    /// When read (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub time: Timestamp,
    /// The picture's clock (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub picture_time: Timestamp,
    /// Tracks held by the picture.
    pub tracks: u64,
    /// The console's feed is connected to the broker.
    pub feed_connected: bool,
    /// Every metric sample (ingest, fusion, broker, console).
    pub samples: Vec<Sample>,
}

/// Ingest, fusion, broker and console health.
#[utoipa::path(get, path = "/api/status", tag = "status", security(("session" = [])),
    responses(
        (status = 200, description = "Health figures", body = Status),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not see the status", body = ErrorBody),
    ))]
async fn status(State(c): State<AppState>, u: CurrentUser) -> ApiResult<Status> {
    u.require(Permission::ViewStatus)?;
    let text = c.metrics().render();
    let (picture_time, tracks) = {
        let p = c.picture();
        (p.clock(), p.track_count() as u64)
    };
    Ok(Json(Status {
        time: Timestamp::now(),
        picture_time,
        tracks,
        feed_connected: c.feed_is_up(),
        samples: parse_prometheus(&text),
    }))
}

/// Samples of Prometheus text (`name{a="b"} 1`), comments skipped.
pub fn parse_prometheus(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (head, value) = l.rsplit_once(' ')?;
            let value: f64 = value.parse().ok()?;
            let (name, labels) = match head.split_once('{') {
                Some((n, rest)) => {
                    let inner = rest.strip_suffix('}')?;
                    let mut m = std::collections::BTreeMap::new();
                    for kv in inner.split("\",").filter(|s| !s.is_empty()) {
                        let (k, v) = kv.split_once("=\"")?;
                        m.insert(k.to_owned(), v.trim_end_matches('"').to_owned());
                    }
                    (n.to_owned(), m)
                }
                None => (head.to_owned(), Default::default()),
            };
            Some(Sample {
                name,
                labels,
                value: if value.is_finite() { value } else { 0.0 },
            })
        })
        .collect()
}

// ---------------------------------------------------------------- users and audit

/// A user account (no password).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Still on a one-time password.
    pub must_change_password: bool,
    /// Asked for by the administrator and not yet approved: cannot be used.
    pub pending_approval: bool,
    /// Created (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// Every account.
#[utoipa::path(get, path = "/api/users", tag = "admin", security(("session" = [])),
    responses(
        (status = 200, description = "Accounts", body = Vec<UserView>),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Only the administrator", body = ErrorBody),
    ))]
async fn users(State(c): State<AppState>, u: CurrentUser) -> ApiResult<Vec<UserView>> {
    u.require(Permission::ManageUsers)?;
    let pending: std::collections::HashSet<String> = c
        .store()
        .account_requests()?
        .into_iter()
        .map(|r| r.name)
        .collect();
    Ok(Json(
        c.store()
            .users()?
            .into_iter()
            .map(|r| UserView {
                pending_approval: pending.contains(&r.name),
                name: r.name,
                role: r.role,
                must_change_password: r.must_change,
                created_at: r.created_at,
            })
            .collect(),
    ))
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login name: letters, digits, `.`, `_`, `-`; 2–64 characters.
    #[schema(pattern = r"^[A-Za-z0-9._-]{2,64}$")]
    pub name: String,
    /// Role.
    pub role: Role,
}

/// The account created: an administrator's with its one-time password (shown once), or
/// one with an operational role, inactive until approved (no password: the approver gets
/// it).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedUser {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// One-time password, to be changed at first login; absent when the account awaits
    /// approval (the approver receives it).
    pub one_time_password: Option<String>,
    /// The account sees operational data: inactive until someone with the
    /// `approve_accounts` permission (a SAR mission coordinator) approves it.
    pub pending_approval: bool,
}

/// Is `name` acceptable as a login name?
pub fn check_user_name(name: &str) -> Result<(), String> {
    let ok = (2..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "user name {name:?}: 2 to 64 letters, digits, '.', '_' or '-'"
        ))
    }
}

/// Create an account. An administrator's gets a one-time password, shown once. One with a
/// role that sees operational data is only asked for: it stays inactive, with no password
/// anyone holds, until a second person (a SAR mission coordinator, `POST
/// /api/approvals/{name}`) approves it and receives its one-time password; the
/// administrator never holds one (separation of duties). Both steps are audited.
#[utoipa::path(post, path = "/api/users", tag = "admin", request_body = NewUser,
    security(("session" = [])),
    responses(
        (status = 201, description = "Created (an administrator)", body = CreatedUser),
        (status = 202, description = "Asked for: awaits approval", body = CreatedUser),
        (status = 400, description = "Bad name or role", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Only the administrator", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 503, description = "Too many password checks at once", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
    ))]
async fn add_user(
    State(c): State<AppState>,
    u: CurrentUser,
    ApiJson(req): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    u.require(Permission::ManageUsers)?;
    check_user_name(&req.name).map_err(ApiError::bad_request)?;
    let (name, role, by, by_role) = (req.name.clone(), req.role, u.name.clone(), u.role);
    let pending = role.needs_approval();
    let store_of = c.clone();
    let created = c
        .password_gate()
        .run(move || {
            let by = (by.as_str(), by_role);
            if pending {
                super::request_user(store_of.store(), &name, role, by).map(|ok| ok.then_some(None))
            } else {
                super::create_user(store_of.store(), &name, role, None, Some(by))
                    .map(|p| p.map(Some))
            }
        })
        .await
        .map_err(ApiError::busy)??;
    let Some(password) = created else {
        return Err(ApiError::conflict(format!("user {:?} exists", req.name)));
    };
    Ok((
        if pending {
            StatusCode::ACCEPTED
        } else {
            StatusCode::CREATED
        },
        Json(CreatedUser {
            name: req.name,
            role: req.role,
            one_time_password: password,
            pending_approval: pending,
        }),
    ))
}

/// An account awaiting approval.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PendingAccount {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The administrator who asked for it.
    pub requested_by: String,
    /// When (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub requested_at: Timestamp,
}

/// An approved account and its one-time password, for the approver to hand over (shown
/// once; changed at first login).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApprovedAccount {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The administrator who asked for it.
    pub requested_by: String,
    /// One-time password.
    pub one_time_password: String,
}

/// Accounts the administrator asked for that await approval.
#[utoipa::path(get, path = "/api/approvals", tag = "admin", security(("session" = [])),
    responses(
        (status = 200, description = "Accounts awaiting approval, oldest first", body = Vec<PendingAccount>),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Only the SAR mission coordinator", body = ErrorBody),
    ))]
async fn approvals(State(c): State<AppState>, u: CurrentUser) -> ApiResult<Vec<PendingAccount>> {
    u.require(Permission::ApproveAccounts)?;
    Ok(Json(
        c.store()
            .account_requests()?
            .into_iter()
            .map(|r| PendingAccount {
                name: r.name,
                role: r.role,
                requested_by: r.requested_by,
                requested_at: r.requested_at,
            })
            .collect(),
    ))
}

/// Approve an account the administrator asked for: it becomes usable with a one-time
/// password, returned to the approver only. Nobody approves an account they asked for.
#[utoipa::path(post, path = "/api/approvals/{name}", tag = "admin",
    params(("name" = String, Path, description = "Login name")),
    security(("session" = [])),
    responses(
        (status = 200, description = "Approved", body = ApprovedAccount),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Only the SAR mission coordinator, and not for an account they asked for", body = ErrorBody),
        (status = 404, description = "No such account awaits approval", body = ErrorBody),
        (status = 503, description = "Too many password checks at once", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
    ))]
async fn approve(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(name): Path<String>,
) -> ApiResult<ApprovedAccount> {
    u.require(Permission::ApproveAccounts)?;
    let Some(req) = c.store().account_request(&name)? else {
        return Err(ApiError::not_found(format!(
            "no account {name:?} awaits approval"
        )));
    };
    if req.requested_by == u.name {
        return Err(ApiError::forbidden(
            "forbidden",
            "an account is approved by someone other than who asked for it",
        ));
    }
    let (store_of, by, by_role) = (c.clone(), u.name.clone(), u.role);
    let approved = c
        .password_gate()
        .run(move || super::approve_user(store_of.store(), &name, (&by, by_role)))
        .await
        .map_err(ApiError::busy)??;
    let Some((req, password)) = approved else {
        return Err(ApiError::not_found("the account was approved meanwhile"));
    };
    Ok(Json(ApprovedAccount {
        name: req.name,
        role: req.role,
        requested_by: req.requested_by,
        one_time_password: password,
    }))
}

/// Audit log paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries after this sequence number (default 0).
    pub after: Option<i64>,
    /// At most this many (default 500, at most 5000).
    pub limit: Option<usize>,
}

/// The audit log with the result of checking its hash chain.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    /// The first entry whose hash does not chain, if any (the log was altered).
    pub chain_broken_at: Option<i64>,
    /// Entries, oldest first.
    pub entries: Vec<AuditEntry>,
}

/// The audit log (logins, triage, incidents, accounts), hash-chained.
#[utoipa::path(get, path = "/api/audit", tag = "admin", params(AuditQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "Entries", body = AuditPage),
        (status = 400, description = "Bad paging", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Only oversight", body = ErrorBody),
    ))]
async fn audit(
    State(c): State<AppState>,
    u: CurrentUser,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<AuditPage> {
    u.require(Permission::ViewAudit)?;
    Ok(Json(AuditPage {
        chain_broken_at: c.store().verify_audit()?,
        entries: c
            .store()
            .audit_log(q.after.unwrap_or(0), q.limit.unwrap_or(500).clamp(1, 5000))?,
    }))
}

// ---------------------------------------------------------------- assembly

struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(COOKIE))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Tidewatch console API", description = "The operations console: picture, alerts, triage, accounts. Log in with POST /api/login; send the returned csrf value in X-CSRF-Token with every POST."),
    modifiers(&SessionCookie),
    tags(
        (name = "session", description = "Log in and out"),
        (name = "picture", description = "Tracks, vessels, replay, live updates"),
        (name = "alerts", description = "Alerts and their triage"),
        (name = "sar", description = "Search and rescue cases (rescue first)"),
        (name = "interception", description = "Incidents' interception logs (append-only, hash-chained)"),
        (name = "cases", description = "Incidents' case files: article-8 cases, persons, place of safety, evidence; the investigator's export"),
        (name = "status", description = "Service health"),
        (name = "admin", description = "Accounts and the audit log"),
    )
)]
struct ApiDoc;

/// The API routes and their OpenAPI description.
pub fn routes() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    // Evidence files (photos, device images) may be larger than other bodies.
    let evidence = OpenApiRouter::new()
        .routes(routes!(super::cases::evidence_file))
        .layer(axum::extract::DefaultBodyLimit::max(
            super::cases::MAX_EVIDENCE_FILE,
        ));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(evidence)
        .routes(routes!(health))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(picture))
        .routes(routes!(trail))
        .routes(routes!(vessel))
        .routes(routes!(alerts))
        .routes(routes!(alert))
        .routes(routes!(ack))
        .routes(routes!(assign))
        .routes(routes!(dismiss))
        .routes(routes!(escalate))
        .routes(routes!(incidents))
        .routes(routes!(assignees))
        .routes(routes!(sar_case))
        .routes(routes!(sar_phase))
        .routes(routes!(incident_log, record_log))
        .routes(routes!(super::cases::case_file, super::cases::case_action))
        .routes(routes!(super::cases::export))
        .routes(routes!(super::cases::report))
        .routes(routes!(super::cases::report_pdf))
        .routes(routes!(super::cases::released))
        .routes(routes!(super::cases::released_all))
        .routes(routes!(live_stream))
        .routes(routes!(status))
        .routes(routes!(users, add_user))
        .routes(routes!(approvals))
        .routes(routes!(approve))
        .routes(routes!(audit))
        .split_for_parts()
}
