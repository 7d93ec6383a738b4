//! An incident's interception log: read with its chain checked, and entries recorded.

use super::*;

/// An incident's interception log and what checking its chain found.
#[derive(Debug, Serialize, ToSchema)]
pub struct InterceptionLogView {
    /// The incident.
    pub incident: String,
    /// Every entry, in order (RULES.md: who, when it happened and when it was
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
    let known = |c: &Console| c.picture().incidents().iter().any(|i| i.id == id);
    // Another console sharing the store may have opened it.
    if known(c) || (!c.sync_incidents()?.is_empty() && known(c)) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("no incident {id:?}")))
    }
}

pub(super) fn log_view(
    c: &Console,
    id: &str,
    reader: crate::console::disclosure::Reader<'_>,
) -> Result<InterceptionLogView, ApiError> {
    let log = c.store().interception_log(id)?;
    let v = verify_log(&log, None);
    Ok(InterceptionLogView {
        incident: id.to_owned(),
        entries: crate::console::disclosure::log(&log, reader)
            .entries
            .iter()
            .map(|e| serde_json::to_value(e).unwrap_or_default())
            .collect(),
        verified: v.entries,
        first_break: v.first_break.map(|(n, why)| format!("entry {n}: {why}")),
        head: v.head,
    })
}

/// An incident's interception log, verified as it is read.
#[utoipa::path(get, path = "/api/incidents/{id}/log", tag = "interception",
    params(("id" = String, Path, description = "Incident id"), super::cases::CaseQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The log (every read audited with its purpose, R58)", body = InterceptionLogView),
        (status = 400, description = "A purpose not among those allowed", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not see it", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
    ))]
pub(super) async fn incident_log(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<super::cases::CaseQuery>,
) -> ApiResult<InterceptionLogView> {
    super::cases::require_read(
        &c,
        &u,
        Permission::ViewPicture,
        Some(&id),
        "interception_log",
    )?;
    let purpose = super::cases::purpose_of(&u, q.purpose)?;
    incident_exists(&c, &id)?;
    let reader = super::unmask::reader_for(&c, &u, &id)?;
    let view = log_view(&c, &id, reader)?;
    super::cases::read_audit(
        &c,
        &u,
        &id,
        "interception_log_read",
        &purpose,
        reader.unmasked_by,
    )?;
    Ok(Json(view))
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
    pub position: Option<Position>,
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
pub(super) async fn record_log(
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
    // R18: a position is stored with its maritime zone and zone State, as a case action's.
    let zone = req.position.as_ref().map(|p| {
        let (kind, state) = c.reference().zone(p.lat, p.lon);
        if state.is_empty() {
            kind
        } else {
            format!("{kind}:{state}")
        }
    });
    let entry = NewEntry {
        occurred_at,
        time_source,
        zone,
        position: req.position.map(log_position),
        corrects: req.corrects,
        late_reason: req.late.map(|l| l.reason.trim().to_owned()),
        ..u.entry(now, event, req.why.trim().to_owned(), details)
    };
    match c.store().append_interception(&id, entry, now)? {
        Ok(_) => Ok((StatusCode::CREATED, Json(log_view(&c, &id, u.reader())?))),
        Err(
            e @ (AppendError::NoReason
            | AppendError::LateWithoutReason { .. }
            | AppendError::Future
            | AppendError::TooLarge { .. }
            | AppendError::CorrectsNothing(_)),
        ) => Err(ApiError::bad_request(e.to_string())),
    }
}
