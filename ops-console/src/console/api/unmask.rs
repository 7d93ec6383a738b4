//! R58: an auditor reads personal data pseudonymised unless an unmask request was approved.
//! The auditor asks for one incident with a justification; a second auditor approves it
//! (separation of duties: never the one who asked). Both are entries of the hash-chained
//! audit log, the only records oversight writes (R59), so a grant cannot be made or moved
//! without breaking the chain. An approval opens the incident's case file and log, unmasked,
//! to the auditor who asked, for [`UNMASK_VALID`]; every such read is audited naming the
//! request. What is compartmented from oversight stays so (R40: what a person said asking for
//! protection is for the protection officer alone).

use super::*;

/// How long an approved unmask request opens the incident to the auditor who asked: a
/// review's working day, after which a new justification is recorded and approved.
pub const UNMASK_VALID: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// The longest justification kept, in characters.
const JUSTIFICATION_MAX: usize = 4000;

/// An auditor's request to read an incident's personal data unmasked.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnmaskRequest {
    /// Why the review needs the persons' identities (kept in the audit log, shown to the
    /// approver).
    #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
    pub justification: String,
}

/// A recorded unmask request or approval.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnmaskRecord {
    /// The request's number: the audit log's sequence number of the request.
    pub request: i64,
    /// The incident it opens.
    pub incident: String,
    /// The auditor who asked.
    pub requested_by: String,
    /// The auditor who approved, once approved.
    pub approved_by: Option<String>,
    /// Until when an approved request opens the incident (UTC).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub valid_until: Option<Timestamp>,
}

/// Ask to read an incident's personal data unmasked (R58). Nothing is unmasked until a
/// second auditor approves.
#[utoipa::path(post, path = "/api/incidents/{id}/unmask", tag = "cases",
    params(("id" = String, Path, description = "Incident id")),
    request_body = UnmaskRequest, security(("session" = [])),
    responses(
        (status = 201, description = "Recorded, awaiting a second auditor's approval", body = UnmaskRecord),
        (status = 400, description = "No justification", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Only oversight", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
    ))]
pub(super) async fn unmask_request(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UnmaskRequest>,
) -> Result<(StatusCode, Json<UnmaskRecord>), ApiError> {
    u.require(Permission::Unmask)?;
    let justification = req.justification.trim();
    if justification.is_empty() {
        return Err(ApiError::bad_request(
            "R58: an unmask request says why the review needs the identities (`justification`)",
        ));
    }
    if justification.chars().count() > JUSTIFICATION_MAX {
        return Err(ApiError::bad_request(format!(
            "the justification is longer than {JUSTIFICATION_MAX} characters"
        )));
    }
    incident_exists(&c, &id)?;
    let e = c.store().audit(NewAudit {
        user: Some(&u.name),
        role: Some(u.role),
        action: "unmask_request",
        target: Some(&id),
        detail: &serde_json::json!({"justification": justification}),
    })?;
    Ok((
        StatusCode::CREATED,
        Json(UnmaskRecord {
            request: e.seq,
            incident: id,
            requested_by: u.name,
            approved_by: None,
            valid_until: None,
        }),
    ))
}

/// Approve another auditor's unmask request: it opens the incident's personal data to
/// them for [`UNMASK_VALID`]. Nobody approves their own request.
#[utoipa::path(post, path = "/api/unmask/{request}/approve", tag = "cases",
    params(("request" = String, Path, description = "The request's number")),
    security(("session" = [])),
    responses(
        (status = 201, description = "Approved", body = UnmaskRecord),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Only oversight, and never the auditor who asked", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "Approved already", body = ErrorBody),
    ))]
pub(super) async fn unmask_approve(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(request): Path<String>,
) -> Result<(StatusCode, Json<UnmaskRecord>), ApiError> {
    u.require(Permission::Unmask)?;
    // Anything but a request's number names no request.
    let request = request.parse::<i64>().unwrap_or(0);
    let found = if request >= 1 {
        c.store().audit_log(request - 1, 1)?.pop()
    } else {
        None
    };
    let Some((incident, requested_by)) = found
        .filter(|e| e.seq == request && e.action == "unmask_request")
        .and_then(|e| Some((e.target?, e.user?)))
    else {
        return Err(ApiError::not_found(format!("no unmask request {request}")));
    };
    if requested_by == u.name {
        return Err(ApiError::forbidden(
            "forbidden",
            "R58: an unmask request is approved by a second auditor, never by the one who asked",
        ));
    }
    let entries = c.store().audit_for(&incident)?;
    if let Some(by) = approval_of(&entries, request) {
        return Err(ApiError::conflict(format!(
            "unmask request {request} was approved already, by {}",
            by.user.as_deref().unwrap_or("?")
        )));
    }
    let e = c.store().audit(NewAudit {
        user: Some(&u.name),
        role: Some(u.role),
        action: "unmask_approve",
        target: Some(&incident),
        detail: &serde_json::json!({"request": request, "requested_by": requested_by}),
    })?;
    Ok((
        StatusCode::CREATED,
        Json(UnmaskRecord {
            request,
            incident,
            requested_by,
            approved_by: Some(u.name),
            valid_until: Some(e.time + UNMASK_VALID),
        }),
    ))
}

/// The approval of request `request` among an incident's audit entries: by another
/// auditor than the one who asked.
fn approval_of(entries: &[AuditEntry], request: i64) -> Option<&AuditEntry> {
    let asked = entries
        .iter()
        .find(|e| e.seq == request && e.action == "unmask_request")?;
    entries.iter().find(|e| {
        e.action == "unmask_approve"
            && e.seq > request
            && e.detail["request"].as_i64() == Some(request)
            && e.role.as_deref() == Some(Role::Auditor.as_str())
            && e.user.is_some()
            && e.user != asked.user
    })
}

/// The approved request that opens incident `id` to `user` at `now`, if any: their own
/// request, approved by a second auditor less than [`UNMASK_VALID`] ago.
fn granted(entries: &[AuditEntry], user: &str, now: Timestamp) -> Option<i64> {
    entries
        .iter()
        .filter(|e| e.action == "unmask_request" && e.user.as_deref() == Some(user))
        .filter_map(|e| approval_of(entries, e.seq).map(|a| (e.seq, a.time)))
        .filter(|(_, at)| *at <= now && now < *at + UNMASK_VALID)
        .map(|(seq, _)| seq)
        .next_back()
}

/// Who reads incident `id`, for the one filter of protected data: an auditor with an
/// approved unmask request for it reads it unmasked (R58); everyone else as their role
/// reads.
pub(crate) fn reader_for<'a>(
    c: &Console,
    u: &'a CurrentUser,
    id: &str,
) -> Result<crate::console::disclosure::Reader<'a>, ApiError> {
    let mut reader = u.reader();
    if u.role == Role::Auditor {
        reader.unmasked_by = granted(&c.store().audit_for(id)?, &u.name, Timestamp::now());
    }
    Ok(reader)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        seq: i64,
        user: &str,
        action: &str,
        detail: serde_json::Value,
        at: Timestamp,
    ) -> AuditEntry {
        AuditEntry {
            seq,
            time: at,
            user: Some(user.into()),
            role: Some("auditor".into()),
            action: action.into(),
            target: Some("inc-1".into()),
            detail,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    /// R58: a grant is the asker's own request, approved by someone else, and lapses after
    /// [`UNMASK_VALID`].
    #[test]
    fn r58_an_unmask_grant_is_the_askers_approved_by_another_and_lapses() {
        let t0: Timestamp = "2026-12-08T10:00:00Z".parse().unwrap();
        let asked = entry(
            5,
            "aud-1",
            "unmask_request",
            serde_json::json!({"justification": "x"}),
            t0,
        );
        let by_self = entry(
            6,
            "aud-1",
            "unmask_approve",
            serde_json::json!({"request": 5}),
            t0,
        );
        let by_other = entry(
            7,
            "aud-2",
            "unmask_approve",
            serde_json::json!({"request": 5}),
            t0,
        );
        let later = t0 + jiff::SignedDuration::from_hours(1);
        assert_eq!(
            granted(&[asked.clone(), by_self.clone()], "aud-1", later),
            None
        );
        let all = [asked, by_self, by_other];
        assert_eq!(granted(&all, "aud-1", later), Some(5));
        assert_eq!(granted(&all, "aud-2", later), None, "not the approver's");
        assert_eq!(granted(&all, "aud-1", t0 + UNMASK_VALID), None, "lapsed");
    }
}
