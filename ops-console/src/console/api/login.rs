//! Logging in and out, the current user, changing one's password.

use super::*;

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
pub(super) async fn health(State(c): State<AppState>) -> Json<Health> {
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

pub(super) fn session_cookie(c: &Console, token: &str, max_age_s: i64) -> HeaderValue {
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
pub(super) async fn login(
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
pub(super) async fn logout(
    State(c): State<AppState>,
    u: CurrentUser,
) -> Result<Response, ApiError> {
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
pub(super) async fn me(u: CurrentUser) -> Json<Me> {
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
pub(super) async fn change_password(
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
