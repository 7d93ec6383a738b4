//! The session of a request: the cookie, the anti-CSRF token, the current user and what it may do.

use super::*;

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
    /// Who reads, for the one filter of protected data.
    pub fn reader(&self) -> crate::console::disclosure::Reader<'_> {
        crate::console::disclosure::Reader {
            role: self.role,
            user: &self.name,
            unmasked_by: None,
        }
    }

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
    position: Option<&Position>,
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
pub(crate) fn log_position(p: Position) -> LogPosition {
    LogPosition {
        lat: p.lat,
        lon: p.lon,
        accuracy_nm: 0.1,
    }
}

pub(super) fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

pub(super) fn unix_now() -> i64 {
    Timestamp::now().as_second()
}

/// Paths a user with a one-time password may still use.
pub(super) const BEFORE_PASSWORD_CHANGE: &[&str] = &["/api/me", "/api/me/password", "/api/logout"];

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
pub(super) struct ClientAddr(pub(super) IpAddr);

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
