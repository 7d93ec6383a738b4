//! Accounts (with the second person's approval) and the audit log.

use super::*;

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
pub(super) async fn users(State(c): State<AppState>, u: CurrentUser) -> ApiResult<Vec<UserView>> {
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
pub(super) async fn add_user(
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
                crate::console::request_user(store_of.store(), &name, role, by)
                    .map(|ok| ok.then_some(None))
            } else {
                crate::console::create_user(store_of.store(), &name, role, None, Some(by))
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
pub(super) async fn approvals(
    State(c): State<AppState>,
    u: CurrentUser,
) -> ApiResult<Vec<PendingAccount>> {
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
pub(super) async fn approve(
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
        .run(move || crate::console::approve_user(store_of.store(), &name, (&by, by_role)))
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
pub(super) async fn audit(
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
