//! SAR cases: a case and its phase (R19), declared by the SAR mission coordinator.

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

/// A SAR case with the JSON it was read from (the version a change is made to).
pub(super) fn load_case_json(
    c: &Console,
    id: &str,
) -> Result<(Incident, SarCase, String), ApiError> {
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
        (status = 404, description = "No such SAR case", body = ErrorBody),
        (status = 409, description = "The case is terminated", body = ErrorBody),
    ))]
pub(super) async fn sar_phase(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PhaseRequest>,
) -> ApiResult<SarCaseView> {
    u.require(Permission::CoordinateSar)?;
    let (incident, mut case, before) = load_case_json(&c, &id)?;
    let actor = Actor {
        name: u.name.clone(),
        role: u.role,
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
