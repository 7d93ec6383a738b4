//! Alerts and their triage: acknowledge, assign, dismiss, escalate to an incident.

use super::*;

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

pub(super) const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

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
pub(super) async fn alerts(
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
pub(super) async fn alert(
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
    /// The SAR case's phase, for a rescue alert: a distress report (a patrol saw the craft
    /// sinking, capsized, people in the water) opens it in distress directly (R19). Default:
    /// distress for a beacon, alert otherwise; never lower than that (a lower phase is the
    /// SMC's to declare). Ignored for a law-enforcement alert, whose SAR case, if one is
    /// needed, the SMC opens by declaring its phase.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^(uncertainty|alert|distress)$")]
    pub sar_phase: Option<Phase>,
}

pub(super) fn current_triage(c: &Console, id: &str) -> Result<(Triage, AlertView), ApiError> {
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
pub(super) async fn ack(
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
pub(super) fn still_open(t: &Triage) -> Result<(), ApiError> {
    if matches!(t.status, TriageStatus::Dismissed | TriageStatus::Escalated) {
        return Err(ApiError::conflict(format!(
            "the alert is already {}",
            status_name(t.status)
        )));
    }
    Ok(())
}

/// Stamp a triage change with who and when, store and log it, show it.
pub(super) fn record(
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

pub(super) fn status_name(s: TriageStatus) -> String {
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
pub(super) async fn assign(
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
pub(super) async fn dismiss(
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
        // Rescue first (RULES.md): only the SMC stands a rescue alert down.
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
pub(super) async fn escalate(
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
    // Incidents other consoles opened (they share the store) count when numbering this one.
    c.sync_incidents()?;
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
    let sar_case = match kind {
        "sar" => {
            let by_default = if view.kind == "sar_beacon" {
                Phase::Distress
            } else {
                Phase::Alert
            };
            // The watch may open it higher, never lower: a lower phase is the SMC's to
            // declare, with a rationale (R19).
            let phase = req.sar_phase.map_or(by_default, |p| p.max(by_default));
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
                    role: u.role,
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
pub(super) async fn incidents(
    State(c): State<AppState>,
    u: CurrentUser,
) -> ApiResult<Vec<Incident>> {
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
pub(super) async fn assignees(State(c): State<AppState>, u: CurrentUser) -> ApiResult<Vec<String>> {
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
