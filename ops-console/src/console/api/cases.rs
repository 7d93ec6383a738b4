//! An incident's case file through the API: read it as the role may see it (R40, R58, R60),
//! act on it (every action one interception-log entry, checked by the rules of RULES.md
//! §10 inside the same transaction), upload evidence files, and the investigator's export
//! and printable report.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    ApiError, ApiJson, ApiQuery, ApiResult, AppState, CurrentUser, ErrorBody, LateEntry,
    check_late_and_position, incident_exists, log_position, occurred,
};
use crate::console::auth::{Permission, Role};
use crate::console::disclosure::{self, Class, Reader, may_see};
use crate::console::model::Position;
use crate::console::report::export::{self, Bundle, FORMAT};
use crate::console::store::{CaseRefusal, NewAudit};
use tidewatch_cases::casefile::{Action, ActionKind, CaseFile, Who};
use tidewatch_cases::caveat;
use tidewatch_cases::log::{NewEntry, TimeSource};

/// The purpose a case file is read for (R58: every read of personal data says why).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// Why it is read: `sar`, `law_enforcement`, `protection`, `oversight` (default: the
    /// role's own purpose).
    #[param(pattern = "^(sar|law_enforcement|protection|oversight)$")]
    pub purpose: Option<String>,
}

/// An incident's case file as the reader's role may see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    /// The incident.
    pub incident: String,
    /// The reader's role.
    pub role: Role,
    /// Actions this role may take.
    pub may: Vec<String>,
    /// Article-8 cases, numbered from 1.
    #[schema(value_type = Vec<Object>)]
    pub art8: Vec<serde_json::Value>,
    /// The persons rescued: totals, and each person as the role may see them.
    #[schema(value_type = Object)]
    pub persons: serde_json::Value,
    /// The place of safety decided.
    #[schema(value_type = Option<Object>)]
    pub place_of_safety: serde_json::Value,
    /// Disembarkations.
    #[schema(value_type = Vec<Object>)]
    pub disembarkations: Vec<serde_json::Value>,
    /// The evidence register (operations roles see only numbers and status, R60).
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    /// Mutual legal assistance requests sent.
    pub mla_requests: Vec<String>,
    /// Interviews recorded (investigator and auditor only, R60).
    #[schema(value_type = Vec<Object>)]
    pub interviews: Vec<serde_json::Value>,
    /// Information exchanged with partner States (investigator and auditor; content only
    /// where the caveat allows reading it for this investigation, R50).
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
    /// Requests where we are the flag State.
    #[schema(value_type = Vec<Object>)]
    pub incoming: Vec<serde_json::Value>,
    /// Those not answered within the SLA (R17).
    pub sla_alerts: Vec<String>,
    /// Transfers of persons not received in time (R33).
    pub transfer_alerts: Vec<String>,
    /// Units whose last headcount disagrees with the roster (R32): open until a recount
    /// agrees; closure waits for a reconciliation note while any is open (R34).
    pub headcount_discrepancies: Vec<String>,
    /// Closed (R34): by whom and when.
    #[schema(value_type = Option<Object>)]
    pub closed: Option<(String, Timestamp)>,
    /// Legal reviews raised (R18).
    pub legal_reviews: Vec<String>,
    /// Entries that no longer apply on replay: tampering or a store out of step.
    pub problems: Vec<String>,
}

fn may(role: Role) -> Vec<String> {
    ActionKind::ALL
        .into_iter()
        .filter(|k| k.taken_by_users() && role.may_take(*k))
        .map(|k| k.as_str().to_owned())
        .collect()
}

fn view(
    f: &CaseFile,
    reader: Reader<'_>,
    reference: &tidewatch_cases::casefile::Reference,
) -> CaseView {
    let role = reader.role;
    let people: Vec<serde_json::Value> = disclosure::people(f, role)
        .iter()
        .map(|p| serde_json::to_value(p).unwrap_or_default())
        .collect();
    let mut by_status: BTreeMap<String, u32> = BTreeMap::new();
    for p in f.roster.persons.values() {
        let k = match &p.status {
            tidewatch_cases::roster::Status::OnBoard(u) => format!("on board {u}"),
            tidewatch_cases::roster::Status::InTransfer { to, .. } => {
                format!("in transfer to {to}")
            }
            tidewatch_cases::roster::Status::Medevac(x) => format!("medevac {x}"),
            tidewatch_cases::roster::Status::Disembarked(x) => format!("disembarked {x}"),
            tidewatch_cases::roster::Status::Died => "died".into(),
            tidewatch_cases::roster::Status::Missing => "missing".into(),
        };
        *by_status.entry(k).or_default() += 1;
    }
    let (total, suspects) = f.roster.counts();
    let evidence = disclosure::evidence(&f.register, reader);
    let mut out = CaseView {
        incident: f.incident.clone(),
        role,
        may: may(role),
        art8: f
            .art8
            .iter()
            .enumerate()
            .map(|(i, (target, c))| {
                let mut j = serde_json::to_value(c).unwrap_or_default();
                j["number"] = (i + 1).into();
                j["target"] = target.clone().into();
                j
            })
            .collect(),
        persons: serde_json::json!({
            "referrals": if may_see(role, Class::Protection) {
                serde_json::to_value(&f.referrals).unwrap_or_default()
            } else {
                serde_json::json!([])
            },
            "total": total,
            "suspects": suspects,
            "by_status": by_status,
            "headcounts": f.roster.headcounts,
            "transfers": f.roster.transfers,
            "people": people,
            "medevac_queue": disclosure::medevac_queue(f, role),
        }),
        place_of_safety: serde_json::to_value(&f.place_of_safety).unwrap_or_default(),
        disembarkations: f
            .disembarkations
            .iter()
            .map(|d| serde_json::to_value(d).unwrap_or_default())
            .collect(),
        evidence,
        // R60: requests for legal assistance and interviews are investigation data.
        mla_requests: if may_see(role, Class::Investigation) {
            f.mla_requests
                .iter()
                .map(|(to, r, at)| format!("{r} to {to}, {at}"))
                .collect()
        } else {
            Vec::new()
        },
        interviews: if may_see(role, Class::Investigation) {
            f.interviews
                .iter()
                .map(|i| serde_json::to_value(i).unwrap_or_default())
                .collect()
        } else {
            Vec::new()
        },
        items: items_view(f, role),
        incoming: f
            .incoming
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or_default())
            .collect(),
        sla_alerts: f.sla_alerts(
            Timestamp::now(),
            jiff::SignedDuration::from_secs_f64(reference.incoming_sla_h * 3600.0),
        ),
        transfer_alerts: f.transfer_alerts(Timestamp::now(), tidewatch_cases::roster::TRANSFER_DUE),
        headcount_discrepancies: f
            .roster
            .discrepancies
            .values()
            .map(|d| format!("R32: {d}"))
            .collect(),
        closed: f.closed.clone(),
        legal_reviews: f
            .legal_reviews
            .iter()
            .map(|(n, why)| format!("entry {n}: {why}"))
            .collect(),
        problems: f.problems.clone(),
    };
    // R58: an auditor reads personal data pseudonymised (unless an unmask request covers it).
    if reader.pseudonymised() {
        let o = disclosure::Oversight::of_roster(&f.incident, &f.roster);
        o.mask(&mut out.persons);
        for v in out
            .art8
            .iter_mut()
            .chain(&mut out.disembarkations)
            .chain(&mut out.interviews)
            .chain(&mut out.items)
            .chain(&mut out.incoming)
        {
            o.mask(v);
        }
        o.mask(&mut out.evidence);
        for t in out
            .mla_requests
            .iter_mut()
            .chain(&mut out.transfer_alerts)
            .chain(&mut out.headcount_discrepancies)
            .chain(&mut out.sla_alerts)
            .chain(&mut out.legal_reviews)
            .chain(&mut out.problems)
        {
            *t = o.text(t);
        }
    }
    out
}

/// Exchanged items as the role may see them: the investigator reads each one its caveat
/// allows for this investigation; the auditor sees that it exists; nobody else sees them.
fn items_view(f: &CaseFile, role: Role) -> Vec<serde_json::Value> {
    if !may_see(role, Class::Investigation) {
        return Vec::new();
    }
    f.items
        .iter()
        .map(|i| {
            let d = caveat::check(
                i,
                &caveat::Request {
                    user: String::new(),
                    state: String::new(),
                    liaison: false,
                    purpose: caveat::Purpose::Investigation(f.incident.clone()),
                    action: caveat::Action::Read,
                },
                Timestamp::now(),
            );
            let readable = role == Role::Investigator && d.allowed();
            serde_json::json!({
                "id": i.id,
                "originator": i.caveat.originator,
                "originator_ref": i.caveat.originator_ref,
                "evidential": i.evidential,
                "recipients": i.caveat.recipients,
                "released_to": i.releases.iter().map(|r| &r.0).collect::<Vec<_>>(),
                "content": readable.then_some(&i.content),
                "withheld": d.denied.map(|(rule, why)| format!("{rule}: {why}")),
            })
        })
        .collect()
}

/// `perm` for a read of `object` (of incident `id`), or the refusal, logged: R52, an attempt
/// to read what the role may not is refused and logged, whichever rendering of the case it
/// asked for (the case file, the log, the report, an export, a release). Every such read
/// checks its permission here.
pub(super) fn require_read(
    c: &super::Console,
    u: &CurrentUser,
    perm: Permission,
    id: Option<&str>,
    object: &str,
) -> Result<(), ApiError> {
    let Err(refused) = u.require(perm) else {
        return Ok(());
    };
    if let Err(e) = c.store().audit(NewAudit {
        user: Some(&u.name),
        role: Some(u.role),
        action: "access_denied",
        target: id,
        detail: &serde_json::json!({"object": object}),
    }) {
        tracing::error!(error = %e, "console: audit of a denied read failed");
    }
    Err(refused)
}

/// Keep every caveat decision in the audit log (R50, R52).
fn audit_decisions(c: &super::Console, u: &CurrentUser, id: &str, ds: &[caveat::Decision]) {
    for d in ds {
        if let Err(e) = c.store().audit(NewAudit {
            user: Some(&u.name),
            role: Some(u.role),
            action: if d.allowed() {
                "caveat_allowed"
            } else {
                "access_denied"
            },
            target: Some(id),
            detail: &serde_json::json!({"item": d.item, "action": d.request.action,
                "purpose": d.request.purpose, "denied": d.denied}),
        }) {
            tracing::error!(error = %e, "console: audit of a caveat decision failed");
        }
    }
}

/// What a partner State's liaison officer sees of an incident.
#[derive(Debug, Serialize, ToSchema)]
pub struct Released {
    /// The incident.
    pub incident: String,
    /// Their State.
    pub state: String,
    /// Items released to it, whose caveats allow it to be read.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
}

/// Everything released to the liaison officer's State.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReleasedAll {
    /// Their State.
    pub state: String,
    /// Incidents with items released to it.
    pub incidents: Vec<Released>,
}

/// The items one liaison officer may read in one case file.
fn released_items(
    f: &CaseFile,
    u: &CurrentUser,
    state: &str,
    now: Timestamp,
) -> (Vec<serde_json::Value>, Vec<caveat::Decision>) {
    let mut items = Vec::new();
    let mut decisions = Vec::new();
    for i in &f.items {
        let d = f.read_item(
            i,
            &caveat::Request {
                user: u.name.clone(),
                state: state.to_owned(),
                liaison: true,
                purpose: caveat::Purpose::Investigation(f.incident.clone()),
                action: caveat::Action::Read,
            },
            now,
        );
        if d.allowed() {
            items.push(serde_json::json!({
                "id": i.id, "content": i.content, "originator": i.caveat.originator,
                "originator_ref": i.caveat.originator_ref, "evidential": i.evidential,
                "no_further_dissemination": i.caveat.no_further_dissemination,
            }));
        }
        decisions.push(d);
    }
    (items, decisions)
}

/// Everything released to the liaison officer's State, across incidents (R52); each read
/// is logged.
#[utoipa::path(get, path = "/api/released", tag = "cases", security(("session" = [])),
    responses(
        (status = 200, description = "Items released to the user's State, by incident", body = ReleasedAll),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Not a partner's liaison officer", body = ErrorBody),
        (status = 409, description = "No State recorded for this liaison officer", body = ErrorBody),
    ))]
pub async fn released_all(State(c): State<AppState>, u: CurrentUser) -> ApiResult<ReleasedAll> {
    require_read(&c, &u, Permission::ViewReleased, None, "released")?;
    let Some(state) = c.store().user_state(&u.name)? else {
        return Err(ApiError::conflict(
            "no State is recorded for this liaison officer (tidewatch user add … --state XX)",
        ));
    };
    let ids: Vec<String> = c
        .picture()
        .incidents()
        .iter()
        .map(|i| i.id.clone())
        .collect();
    let now = Timestamp::now();
    let mut incidents = Vec::new();
    for id in ids {
        let f = c.store().case_file(&id, c.reference())?;
        let (items, decisions) = released_items(&f, &u, &state, now);
        // A listing is not an attempt on each item: the reads are logged, not the others.
        let read: Vec<caveat::Decision> = decisions.into_iter().filter(|d| d.allowed()).collect();
        audit_decisions(&c, &u, &id, &read);
        if !items.is_empty() {
            incidents.push(Released {
                incident: id,
                state: state.clone(),
                items,
            });
        }
    }
    Ok(Json(ReleasedAll { state, incidents }))
}

/// What was released to the liaison officer's State in an incident (R52): nothing else of
/// the incident is visible to them; every decision is logged.
#[utoipa::path(get, path = "/api/incidents/{id}/released", tag = "cases",
    params(("id" = String, Path, description = "Incident id")), security(("session" = [])),
    responses(
        (status = 200, description = "The items released to the user's State (none, for an incident that does not exist)", body = Released),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Not a partner's liaison officer", body = ErrorBody),
        (status = 409, description = "No State recorded for this liaison officer", body = ErrorBody),
    ))]
pub async fn released(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Released> {
    require_read(&c, &u, Permission::ViewReleased, Some(&id), "released")?;
    // No 404: whether an incident exists is not the liaison's to learn; one with nothing
    // released to their State answers the same as none.
    let Some(state) = c.store().user_state(&u.name)? else {
        return Err(ApiError::conflict(
            "no State is recorded for this liaison officer (tidewatch user add … --state XX)",
        ));
    };
    let f = c.store().case_file(&id, c.reference())?;
    let (items, decisions) = released_items(&f, &u, &state, Timestamp::now());
    audit_decisions(&c, &u, &id, &decisions);
    Ok(Json(Released {
        incident: id,
        state,
        items,
    }))
}

/// The purposes a read of personal data may give (R58).
const PURPOSES: [&str; 4] = ["sar", "law_enforcement", "protection", "oversight"];

/// The purpose a read gives, checked: one of [`PURPOSES`] (no free text an audit could not
/// sort), or without one the role's own.
pub(super) fn purpose_of(u: &CurrentUser, purpose: Option<String>) -> Result<String, ApiError> {
    match purpose {
        Some(p) if PURPOSES.contains(&p.as_str()) => Ok(p),
        Some(p) => Err(ApiError::bad_request(format!(
            "purpose {p:?}: one of {}",
            PURPOSES.join(", ")
        ))),
        None => Ok(match u.role {
            Role::Investigator => "law_enforcement",
            Role::ProtectionOfficer => "protection",
            Role::Auditor => "oversight",
            _ => "sar",
        }
        .to_owned()),
    }
}

/// R58: every read of personal data leaves a trace with its purpose: `action` names what was
/// read (`case_file_read`: its persons and evidence; `interception_log_read`: the log).
/// A read whose trace cannot be written is refused (the error): nothing personal is shown
/// without it. An auditor's read unmasked names the approved request that allowed it
/// (`unmasked_by`).
pub(super) fn read_audit(
    c: &super::Console,
    u: &CurrentUser,
    id: &str,
    action: &str,
    purpose: &str,
    unmasked_by: Option<i64>,
) -> Result<(), ApiError> {
    let fields: &[&str] = if action == "interception_log_read" {
        &["log"]
    } else {
        &["persons", "evidence"]
    };
    c.store()
        .audit(NewAudit {
            user: Some(&u.name),
            role: Some(u.role),
            action,
            target: Some(id),
            detail: &match unmasked_by {
                Some(request) => serde_json::json!({"purpose": purpose, "fields": fields,
                    "unmasked_by_request": request}),
                None => serde_json::json!({"purpose": purpose, "fields": fields}),
            },
        })
        .map_err(|e| {
            tracing::error!(error = %e, action, "console: audit of a read failed; the read is refused");
            ApiError::from(e)
        })?;
    Ok(())
}

/// An incident's case file, as the reader's role may see it (every read audited, R58).
#[utoipa::path(get, path = "/api/incidents/{id}/case", tag = "cases",
    params(("id" = String, Path, description = "Incident id"), CaseQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The case file", body = CaseView),
        (status = 400, description = "A purpose not among those allowed", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not see it", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
    ))]
pub async fn case_file(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<CaseQuery>,
) -> ApiResult<CaseView> {
    require_read(&c, &u, Permission::ViewCase, Some(&id), "case_file")?;
    let purpose = purpose_of(&u, q.purpose)?;
    incident_exists(&c, &id)?;
    let f = c.store().case_file(&id, c.reference())?;
    let reader = super::unmask::reader_for(&c, &u, &id)?;
    read_audit(&c, &u, &id, "case_file_read", &purpose, reader.unmasked_by)?;
    Ok(Json(view(&f, reader, c.reference())))
}

/// R47: a mismatch found when an export re-verifies the evidence is reported as an
/// integrity incident in the log, as a refused hand-over's is — once: the same mismatch
/// found by the next export is already there.
fn integrity_incident_on_export(
    c: &super::Console,
    id: &str,
    u: &CurrentUser,
    f: &CaseFile,
    exhibit: String,
    refusal: &tidewatch_cases::Refused,
) {
    if f.register.incidents.contains(&refusal.problem) {
        return;
    }
    let action = Action::IntegrityIncident {
        exhibit,
        problem: refusal.problem.clone(),
        rule: refusal.rule.to_owned(),
    };
    let now = Timestamp::now();
    let entry = u.entry(
        now,
        action.event(),
        format!(
            "integrity incident found when the export was refused ({}): {}",
            refusal.rule, refusal.problem
        ),
        serde_json::Value::Null,
    );
    let who = Who {
        user: u.name.clone(),
        role: u.role,
    };
    match c
        .store()
        .found_integrity_incident(id, &who, &action, entry, now, c.reference())
    {
        Ok(Ok((_, f))) => c.case_changed(id, &f, &[]),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "console: an export's integrity incident was refused")
        }
        Err(e) => {
            tracing::error!(error = %e, "console: an export's integrity incident could not be kept")
        }
    }
}

/// An action on an incident's case file.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseRequest {
    /// The action: `type` names it (`open_art8`, `notify_flag_state`, `registry_reply`,
    /// `request_authorization`, `record_authorization`, `record_refusal`, `stateless_determination`,
    /// `acknowledge_condition`, `board`, `search`, `search_outcome`, `finalise_boarding`,
    /// `measure`, `condition_compliance`, `report_results`, `decide_compensation`,
    /// `close_art8`, `withdraw_art8`, `imminent_danger`, `rescue`, `headcount`,
    /// `vulnerability`, `asylum`, `transfer_out`, `transfer_received`, `medevac`,
    /// `person_missing`, `person_found`, `person_died`, `place_of_safety`,
    /// `protection_override`, `disembark`, `family`, `age`, `nationality`, `suspect`, `seize`,
    /// `custody_transfer`, `custody_receive`, `mla_request`, `interview`, …), the other fields
    /// its parameters.
    #[schema(schema_with = action_schema)]
    pub action: Action,
    /// Why, in words (required).
    #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
    pub why: String,
    /// Recorded after the fact: how long ago and why only now (R57).
    pub late: Option<LateEntry>,
    /// When it happened, as read on a clock: ISO 8601 with its UTC offset
    /// (`2026-11-23T08:15:00+01:00`); stored in UTC with the original kept (R62). Instead
    /// of `late`.
    #[schema(max_length = 64)]
    pub occurred_at: Option<String>,
    /// Why it is recorded only now, with `occurred_at` more than 30 minutes ago (R57).
    #[schema(max_length = 2000)]
    pub late_reason: Option<String>,
    /// Where it happened (required for actions at sea, R18).
    pub position: Option<Position>,
    /// The unit the user acts from.
    #[schema(max_length = 100)]
    pub unit: Option<String>,
    /// Logged on behalf of (an order from the commander).
    #[schema(max_length = 200)]
    pub on_behalf_of: Option<String>,
}

/// [`Action`]'s schema, each variant closed to unknown fields as the server is (serde's
/// `deny_unknown_fields` on an internally tagged enum is not carried into the schema).
fn action_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::PartialSchema;
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{AdditionalProperties, Schema};
    let mut s = Action::schema();
    if let RefOr::T(Schema::OneOf(o)) = &mut s {
        for item in &mut o.items {
            if let RefOr::T(Schema::Object(obj)) = item {
                obj.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
        }
    }
    s
}

/// Act on an incident's case file: one interception-log entry, or a refusal naming the
/// rule (409, `refused`) that changes nothing.
#[utoipa::path(post, path = "/api/incidents/{id}/case", tag = "cases",
    params(("id" = String, Path, description = "Incident id")), request_body = CaseRequest,
    security(("session" = [])),
    responses(
        (status = 201, description = "Done and logged; the case file as it now stands", body = CaseView),
        (status = 400, description = "Malformed", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not act on cases, or no anti-CSRF token", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 409, description = "Refused by a rule (the message names it)", body = ErrorBody),
    ))]
pub async fn case_action(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CaseRequest>,
) -> Result<(StatusCode, Json<CaseView>), ApiError> {
    u.require(Permission::RecordInterception)?;
    check_action(u.role, &req.action)?;
    incident_exists(&c, &id)?;
    check_why(&req.why)?;
    check_late_and_position(req.late.as_ref(), req.position.as_ref())?;
    // R62: a time given on a unit's local clock carries its offset; it is converted to UTC
    // and the original kept.
    let given = match &req.occurred_at {
        None => None,
        Some(_) if req.late.is_some() => {
            return Err(ApiError::bad_request(
                "give occurred_at (with late_reason if needed) or late, not both",
            ));
        }
        Some(t) => Some((
            t.trim().to_owned(),
            t.trim().parse::<Timestamp>().map_err(|e| {
                ApiError::bad_request(format!(
                    "occurred_at {t:?}: an ISO 8601 time with its UTC offset, e.g. 2026-11-23T08:15:00+01:00 (R62): {e}"
                ))
            })?,
        )),
    };
    if req.late_reason.is_some() && given.is_none() {
        return Err(ApiError::bad_request(
            "late_reason goes with occurred_at (or use late)",
        ));
    }
    let now = Timestamp::now();
    let (occurred_at, time_source) = match &given {
        Some((_, t)) => (*t, TimeSource::Manual),
        None => occurred(now, req.late.as_ref()),
    };
    let mut entry = u.entry(
        now,
        req.action.event(),
        req.why.trim().to_owned(),
        serde_json::Value::Null,
    );
    entry.actor.unit = req.unit.clone().filter(|s| !s.trim().is_empty());
    entry.actor.on_behalf_of = req.on_behalf_of.clone().filter(|s| !s.trim().is_empty());
    let entry = NewEntry {
        occurred_at,
        time_source,
        position: req.position.map(log_position),
        late_reason: req
            .late
            .map(|l| l.reason.trim().to_owned())
            .or(req.late_reason.map(|r| r.trim().to_owned()))
            .filter(|r| !r.is_empty()),
        occurred_at_given: given.map(|g| g.0),
        ..entry
    };
    let who = Who {
        user: u.name.clone(),
        role: u.role,
    };
    match c
        .store()
        .case_action(&id, &who, &req.action, entry, now, c.reference())?
    {
        Ok((_, f)) => {
            // The units at sea on this incident see it change.
            c.case_changed(&id, &f, &[]);
            Ok((
                StatusCode::CREATED,
                Json(view(&f, u.reader(), c.reference())),
            ))
        }
        Err(CaseRefusal::Rule(r)) => {
            // A refusal is audited (the action's type and the rule, not its words, which may
            // quote what the user may not see): refusals tried one after another to learn
            // what they would say leave a trace.
            if let Err(e) = c.store().audit(NewAudit {
                user: Some(&u.name),
                role: Some(u.role),
                action: "case_action_refused",
                target: Some(&id),
                detail: &serde_json::json!({"type": req.action.kind().as_str(), "rule": r.rule}),
            }) {
                tracing::error!(error = %e, "console: audit of a refused case action failed");
            }
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "refused",
                r.to_string(),
            ))
        }
        Err(CaseRefusal::Log(e)) => Err(ApiError::bad_request(e.to_string())),
    }
}

/// What an action must be before any rule is applied, wherever it comes from (the API, or a
/// record signed at sea): never a restricted record named by a client (R40), never what
/// only the console records (R46), and one the role may take (R60).
pub(crate) fn check_action(role: Role, action: &Action) -> Result<(), ApiError> {
    if action.names_restricted_record() {
        return Err(ApiError::bad_request(
            "asylum_restricted and an info_item's content_sha256 are how the log keeps what is restricted: record `asylum`, or `info_item` with its content",
        ));
    }
    if !action.kind().taken_by_users() {
        return Err(ApiError::bad_request(format!(
            "{} is recorded by the console when a check finds one (RULES.md, R46)",
            tidewatch_cases::casefile::action_name(action)
        )));
    }
    if !role.may_take(action.kind()) {
        return Err(ApiError::forbidden(
            "forbidden",
            format!(
                "a {} may not {} (RULES.md{})",
                role.as_str().replace('_', " "),
                tidewatch_cases::casefile::action_name(action),
                match role {
                    Role::WatchOfficer | Role::SarCoordinator | Role::Investigator => ", R60",
                    _ => "",
                }
            ),
        ));
    }
    Ok(())
}

/// A case action's `why`: 1 to 4000 characters.
pub(crate) fn check_why(why: &str) -> Result<(), ApiError> {
    if why.trim().is_empty() || why.chars().count() > 4000 {
        return Err(ApiError::bad_request("why: 1 to 4000 characters"));
    }
    Ok(())
}

/// A file kept as evidence.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredFile {
    /// Its SHA-256, hex: name it in a `seize` action.
    pub sha256: String,
    /// Size, bytes.
    pub size: u64,
}

/// The largest evidence file accepted through the API, bytes.
pub const MAX_EVIDENCE_FILE: usize = 64 << 20;

/// Keep a captured file (photo, video, device image) before seizing it as evidence: it is
/// hashed now and kept as received (R48).
#[utoipa::path(post, path = "/api/incidents/{id}/evidence-files", tag = "cases",
    params(("id" = String, Path, description = "Incident id")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    security(("session" = [])),
    responses(
        (status = 201, description = "Kept", body = StoredFile),
        (status = 400, description = "Empty", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role does not seize evidence (R60)", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
    ))]
pub async fn evidence_file(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<StoredFile>), ApiError> {
    if !matches!(u.role, Role::BoardingOfficer | Role::Investigator) {
        return Err(ApiError::forbidden(
            "forbidden",
            "R60: only the boarding officer and the investigator handle evidence",
        ));
    }
    incident_exists(&c, &id)?;
    if body.is_empty() {
        return Err(ApiError::bad_request("an empty file"));
    }
    let sha256 = c.store().put_evidence_file(&body)?;
    Ok((
        StatusCode::CREATED,
        Json(StoredFile {
            sha256,
            size: body.len() as u64,
        }),
    ))
}

/// An export written.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportDone {
    /// Where, relative to the console's data directory (`exports/INC-…`; check it offline:
    /// `tidewatch verify DATA/console/exports/INC-…`). The server's own paths are not shown.
    pub dir: String,
    /// Of the log entries, those withheld from the exporter's role (R40): linked in the
    /// exported chain, their content not exported.
    pub log_withheld: usize,
    /// Log entries.
    pub log_entries: usize,
    /// The log's head hash.
    pub log_head: String,
    /// Evidence manifests, signed and chained.
    pub manifests: usize,
    /// Evidence files, re-verified against their capture hashes (R47).
    pub files: usize,
}

/// The tracks of an incident's alerts (AIS targets and sensor contacts), from six hours
/// before the first alert began to now, as the picture holds them.
fn tracks(c: &super::Console, id: &str) -> Vec<export::Track> {
    let p = c.picture();
    let Some(inc) = p.incidents().iter().find(|i| i.id == id) else {
        return Vec::new();
    };
    let alerts: Vec<_> = p
        .alerts_at(None, false)
        .into_iter()
        .filter(|a| inc.alerts.contains(&a.id))
        .collect();
    let mut ids: Vec<String> = alerts
        .iter()
        .flat_map(|a| {
            a.mmsi
                .iter()
                .map(|m| format!("ais:{m}"))
                .chain(a.contacts.iter().cloned())
        })
        .collect();
    ids.sort();
    ids.dedup();
    let from = alerts
        .iter()
        .map(|a| a.start)
        .min()
        .map_or(Timestamp::MIN, |t| t - jiff::SignedDuration::from_hours(6));
    let to = p.clock();
    ids.into_iter()
        .filter_map(|id| {
            let points: Vec<(Timestamp, f64, f64)> = p
                .trail(&id, from, to)?
                .into_iter()
                .map(|t| (t.time, t.lat, t.lon))
                .collect();
            (!points.is_empty()).then_some(export::Track { id, points })
        })
        .collect()
}

/// An incident as a report or an export holds it for `by` in `role`: the log goes through the
/// one filter of what each role may see (`disclosure`), as every rendering does.
/// An incident as a court export holds it (the export and the printable reports alike): the
/// log as the exporter may read it, less what the items it leaves out say (R49, R50), and
/// the items whose caveats allow a prosecution export, with every caveat decision made.
fn bundle(
    c: &super::Console,
    id: &str,
    u: &CurrentUser,
) -> Result<(Bundle, CaseFile, Vec<caveat::Decision>), ApiError> {
    let (by, role) = (u.name.as_str(), u.role);
    let log = c.store().interception_log(id)?;
    let f = c.store().case_file(id, c.reference())?;
    let v = tidewatch_cases::log::verify(&log, None);
    if !f.problems.is_empty() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "refused",
            format!(
                "the case file does not replay cleanly: {}",
                f.problems.join("; ")
            ),
        ));
    }
    if let Some((n, why)) = v.first_break {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "refused",
            format!("R56: the interception log is broken at entry {n}: {why}"),
        ));
    }
    let exported_at = Timestamp::now();
    // R49, R50: only items whose caveats allow a prosecution export go in.
    let (items, decisions) = caveat::export(
        &f.items,
        &caveat::Request {
            user: by.to_owned(),
            state: c.reference().own_state.clone(),
            liaison: false,
            purpose: caveat::Purpose::Prosecution(id.to_owned()),
            action: caveat::Action::Export,
        },
        exported_at,
    );
    // R51: an exculpatory item is never left out of a court's bundle quietly: the export
    // waits until the originating State has been notified (or why it could not be before is
    // recorded).
    if let Some(d) = decisions
        .iter()
        .find(|d| d.denied.as_ref().is_some_and(|(rule, _)| *rule == "R51"))
    {
        let why = d
            .denied
            .as_ref()
            .map(|(_, w)| w.as_str())
            .unwrap_or_default();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "refused",
            format!("R51: {why} (case action `disclosure_notice`)"),
        ));
    }
    let items: Vec<caveat::Item> = items.into_iter().cloned().collect();
    let exported: std::collections::BTreeSet<&str> = items.iter().map(|i| i.id.as_str()).collect();
    let reader = Reader {
        role,
        user: by,
        unmasked_by: None,
    };
    let log = disclosure::for_court(&disclosure::log(&log, reader), &exported);
    Ok((
        Bundle {
            format: FORMAT.to_owned(),
            incident: id.to_owned(),
            exported_at,
            exported_by: by.to_owned(),
            log_head: v.head,
            log,
            art8: f.art8.iter().map(|(_, c)| c.clone()).collect(),
            evidence: f.register.clone(),
            tracks: tracks(c, id),
            items,
            signed_at_sea: Vec::new(),
        },
        f,
        decisions,
    ))
}

/// Export an incident for a court: the interception log, the article-8 cases, the evidence
/// register with its signed manifests and every evidence file (each re-verified, R47), and
/// the printable report, into a new directory under the data directory's `exports/`.
#[utoipa::path(post, path = "/api/incidents/{id}/export", tag = "cases",
    params(("id" = String, Path, description = "Incident id")), security(("session" = [])),
    responses(
        (status = 201, description = "Written and verified", body = ExportDone),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Only the investigator exports", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 409, description = "Refused: an evidence file or the log does not verify", body = ErrorBody),
    ))]
pub async fn export(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ExportDone>), ApiError> {
    require_read(&c, &u, Permission::ExportCase, Some(&id), "export")?;
    incident_exists(&c, &id)?;
    let Some(data) = c.data_dir() else {
        return Err(ApiError::conflict(
            "this console keeps no data directory to export into",
        ));
    };
    let (mut b, f, decisions) = bundle(&c, &id, &u)?;
    // Every caveat decision is kept in the audit log.
    audit_decisions(&c, &u, &id, &decisions);
    // The records signed at sea behind the entries the exporter sees (a withheld entry's
    // record stays out: it says what the entry's content says).
    let shown: std::collections::BTreeSet<&str> = b
        .log
        .entries
        .iter()
        .filter(|e| e.withheld.is_none())
        .filter_map(|e| e.entry.details["at_sea"]["record_id"].as_str())
        .collect();
    let signed: Vec<export::SignedAtSea> = c
        .store()
        .sea_records(&id)?
        .into_iter()
        .filter(|(rid, ..)| shown.contains(rid.as_str()))
        // R40: a record of what a person said asking for protection never goes in.
        .filter(|(_, record, ..)| {
            serde_json::from_str::<ingest::wire::sea::SeaRecord>(record)
                .is_ok_and(|r| r.action["type"] != "asylum")
        })
        .map(|(id, record, key, signature)| export::SignedAtSea {
            id,
            record,
            key,
            signature,
        })
        .collect();
    b.signed_at_sea = signed;
    let mut files: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for number in f.register.exhibits.keys() {
        let mut named = BTreeMap::new();
        for file in &f.register.exhibits[number].files {
            if let Some(bytes) = c.store().evidence_file(&file.sha256)? {
                named.insert(file.name.clone(), bytes);
            }
        }
        files.insert(number.clone(), named);
    }
    let mut register = f.register.clone();
    if let Err((exhibit, r)) = register.verify_for_export(&files) {
        integrity_incident_on_export(&c, &id, &u, &f, exhibit, &r);
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "refused",
            r.to_string(),
        ));
    }
    // Milliseconds: two exports in one second go to two directories.
    let stamp = b
        .exported_at
        .strftime("%Y%m%dT%H%M%S%.3fZ")
        .to_string()
        .replace('.', "");
    let safe: String = id
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ch == '-' {
                ch
            } else {
                '_'
            }
        })
        .collect();
    let name = format!("exports/{safe}-{stamp}");
    let dir = data.join(&name);
    std::fs::create_dir_all(data.join("exports"))
        .and_then(|()| export::write(&dir, &b, &files))
        .map_err(|e| {
            tracing::error!(error = %e, "console: export failed");
            ApiError::conflict(format!("the export could not be written: {e}"))
        })?;
    let r = export::verify(&dir).map_err(ApiError::conflict)?;
    if !r.problems.is_empty() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "refused",
            format!(
                "the export was written to {name} but does not verify: {}",
                r.problems.join("; ")
            ),
        ));
    }
    if let Err(e) = c.store().audit(NewAudit {
        user: Some(&u.name),
        role: Some(u.role),
        action: "case_export",
        target: Some(&id),
        detail: &serde_json::json!({"dir": name, "log_head": r.log_head}),
    }) {
        tracing::error!(error = %e, "console: audit of an export failed");
    }
    Ok((
        StatusCode::CREATED,
        Json(ExportDone {
            dir: name,
            log_entries: r.log_entries,
            log_withheld: r.log_withheld,
            log_head: r.log_head,
            manifests: r.manifests,
            files: r.files,
        }),
    ))
}

/// The printable report of an incident (HTML: print it to PDF from the browser), as an
/// export would hold it.
#[utoipa::path(get, path = "/api/incidents/{id}/report", tag = "cases",
    params(("id" = String, Path, description = "Incident id")), security(("session" = [])),
    responses(
        (status = 200, description = "The report", content_type = "text/html", body = String),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Only the investigator", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
    ))]
pub async fn report(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    printed(&c, &u, &id, "text/html; charset=utf-8", |b| {
        crate::console::report::html::html(b).into_bytes()
    })
}

/// The report of an incident as `render` prints it, for the investigator; the read is
/// audited (R58).
fn printed(
    c: &super::Console,
    u: &CurrentUser,
    id: &str,
    content_type: &'static str,
    render: impl FnOnce(&Bundle) -> Vec<u8>,
) -> Result<Response, ApiError> {
    require_read(c, u, Permission::ExportCase, Some(id), "report")?;
    incident_exists(c, id)?;
    let (b, ..) = bundle(c, id, u)?;
    read_audit(c, u, id, "case_file_read", "law_enforcement", None)?;
    Ok(([(header::CONTENT_TYPE, content_type)], render(&b)).into_response())
}

/// The printable report of an incident as PDF, as an export would hold it.
#[utoipa::path(get, path = "/api/incidents/{id}/report.pdf", tag = "cases",
    params(("id" = String, Path, description = "Incident id")), security(("session" = [])),
    responses(
        (status = 200, description = "The report", content_type = "application/pdf", body = Vec<u8>),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Only the investigator", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
    ))]
pub async fn report_pdf(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    printed(
        &c,
        &u,
        &id,
        "application/pdf",
        crate::console::report::pdf::pdf,
    )
}
