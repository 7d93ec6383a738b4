//! SAR cases: a case and its phase (R19), its suspension and termination (R22), by the SAR
//! mission coordinator.

use super::*;

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

pub(super) fn load_case(c: &Console, id: &str) -> Result<(Incident, SarCase), ApiError> {
    load_case_json(c, id).map(|(i, c, _)| (i, c))
}

/// The incident `id`, as the picture holds it.
fn incident_of(c: &Console, id: &str) -> Result<Incident, ApiError> {
    c.picture()
        .incidents()
        .iter()
        .find(|i| i.id == id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no incident {id:?}")))
}

/// A SAR case with the JSON it was read from (the version a change is made to).
pub(super) fn load_case_json(
    c: &Console,
    id: &str,
) -> Result<(Incident, SarCase, String), ApiError> {
    let incident = incident_of(c, id)?;
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
pub(super) async fn sar_case(
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
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 409, description = "The case is terminated", body = ErrorBody),
    ))]
pub(super) async fn sar_phase(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PhaseRequest>,
) -> ApiResult<SarCaseView> {
    u.require(Permission::CoordinateSar)?;
    // An incident without a SAR case (an interception): the coordinator's phase opens one
    // (R19, R21: whatever the law-enforcement case, persons at sea may need rescue).
    if c.store().sar_case(&id)?.is_none() {
        let incident = incident_of(&c, &id)?;
        let now = Timestamp::now();
        let actor = Actor {
            name: u.name.clone(),
            role: u.role,
        };
        let case = SarCase::open(
            &id,
            req.phase,
            "the SAR mission coordinator",
            &req.rationale,
            actor,
            now,
        )
        .map_err(case_error)?;
        return save(
            &c,
            &u,
            (incident, case, String::new()),
            now,
            "sar_opened",
            req.rationale.trim(),
            serde_json::json!({"phase": req.phase, "opened": true}),
        );
    }
    let (incident, mut case, before, actor, now) = coordinate(&c, &u, &id)?;
    case.declare_phase(req.phase, &req.rationale, actor, now)
        .map_err(case_error)?;
    save(
        &c,
        &u,
        (incident, case, before),
        now,
        "sar_phase",
        req.rationale.trim(),
        serde_json::json!({"phase": req.phase}),
    )
}

/// A change by the SAR mission coordinator (R19, R22): the case as read, who acts, and now.
fn coordinate(
    c: &Console,
    u: &CurrentUser,
    id: &str,
) -> Result<(Incident, SarCase, String, Actor, Timestamp), ApiError> {
    u.require(Permission::CoordinateSar)?;
    let (incident, case, before) = load_case_json(c, id)?;
    let actor = Actor {
        name: u.name.clone(),
        role: u.role,
    };
    Ok((incident, case, before, actor, Timestamp::now()))
}

/// How a refusal of the SAR case reaches the user.
fn case_error(e: CaseError) -> ApiError {
    match e {
        CaseError::NotCoordinator(_) => ApiError::forbidden("forbidden", e.to_string()),
        CaseError::NoRationale(_) => ApiError::bad_request(e.to_string()),
        CaseError::NotAccountedFor { .. } | CaseError::StillOnBoard(_) => {
            ApiError::new(StatusCode::CONFLICT, "refused", e.to_string())
        }
        _ => ApiError::conflict(e.to_string()),
    }
}

/// Keep a changed SAR case over the version it was changed from, with its audit entry and
/// an entry of the incident's interception log, in one transaction.
fn save(
    c: &Console,
    u: &CurrentUser,
    (incident, case, before): (Incident, SarCase, String),
    now: Timestamp,
    action: &str,
    rationale: &str,
    detail: serde_json::Value,
) -> ApiResult<SarCaseView> {
    let id = incident.id.clone();
    let mut audit_detail = detail.clone();
    audit_detail["rationale"] = rationale.into();
    let changed = c.store().update_sar_case(
        &id,
        &before,
        &serde_json::to_string(&case).unwrap_or_default(),
        NewAudit {
            user: Some(&u.name),
            role: Some(u.role),
            action,
            target: Some(&id),
            detail: &audit_detail,
        },
        Some((
            &id,
            u.entry(now, EventType::PhaseChange, rationale.to_owned(), detail),
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

/// A change of a SAR case's status (R22), by `action`. Each ground of a termination is its
/// own action, so that none is taken by leaving a field out.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum StatusRequest {
    /// Suspend: on-scene activity stops, survivors may still be alive; can be resumed.
    Suspend {
        /// Why (required, not blank).
        #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
        rationale: String,
    },
    /// Resume a suspended case.
    Resume {
        /// Why (required, not blank).
        #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
        rationale: String,
    },
    /// Terminate, for good, because everyone reported on board is accounted for: the
    /// incident's case file must hold as many persons, none missing.
    TerminateAllAccountedFor {
        /// Persons believed on board.
        #[schema(minimum = 0, maximum = 100000)]
        persons_reported: u32,
        /// Why (required, not blank).
        #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
        rationale: String,
    },
    /// Terminate, for good, on the decision that there is no longer any reasonable hope of
    /// rescuing survivors.
    TerminateNoReasonableHope {
        /// The decision and why (required, not blank).
        #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
        rationale: String,
    },
}

/// Suspend, resume or terminate a SAR case: the SAR mission coordinator only, with a
/// rationale (R22). Termination needs everyone reported on board accounted for in the
/// incident's case file (`terminate_all_accounted_for`), or the decision that there is no
/// longer any reasonable hope (`terminate_no_reasonable_hope`).
#[utoipa::path(post, path = "/api/sar/{id}/status", tag = "sar",
    params(("id" = String, Path, description = "Incident id")), request_body = StatusRequest,
    security(("session" = [])),
    responses(
        (status = 200, description = "Done", body = SarCaseView),
        (status = 400, description = "No rationale", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Only the SAR mission coordinator, or no anti-CSRF token", body = ErrorBody),
        (status = 404, description = "No such SAR case", body = ErrorBody),
        (status = 409, description = "Terminated, already suspended, not suspended, or not everyone accounted for (R22)", body = ErrorBody),
    ))]
pub(super) async fn sar_status(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<StatusRequest>,
) -> ApiResult<SarCaseView> {
    let (incident, mut case, before, actor, now) = coordinate(&c, &u, &id)?;
    let (action, rationale, detail) = match &req {
        StatusRequest::Suspend { rationale } => {
            case.suspend(rationale, actor, now).map_err(case_error)?;
            (
                "sar_suspend",
                rationale,
                serde_json::json!({"status": "suspended"}),
            )
        }
        StatusRequest::Resume { rationale } => {
            case.resume(rationale, actor, now).map_err(case_error)?;
            (
                "sar_resume",
                rationale,
                serde_json::json!({"status": "open"}),
            )
        }
        StatusRequest::TerminateAllAccountedFor {
            persons_reported,
            rationale,
        } => {
            // What the incident's case file says of the persons, as recorded now.
            let file = c.store().case_file(&id, c.reference())?;
            let accounted = Accounted::of(&file.roster);
            case.terminate(Some((*persons_reported, accounted)), rationale, actor, now)
                .map_err(case_error)?;
            (
                "sar_terminate",
                rationale,
                serde_json::json!({
                    "status": "terminated",
                    "ground": "all_accounted_for",
                    "persons_reported": persons_reported,
                    "accounted": accounted.found,
                }),
            )
        }
        StatusRequest::TerminateNoReasonableHope { rationale } => {
            case.terminate(None, rationale, actor, now)
                .map_err(case_error)?;
            (
                "sar_terminate",
                rationale,
                serde_json::json!({"status": "terminated", "ground": "no_reasonable_hope"}),
            )
        }
    };
    save(
        &c,
        &u,
        (incident, case, before),
        now,
        action,
        rationale.trim(),
        detail,
    )
}
