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
use tidewatch_cases::log::{
    AppendError, EventType, LogActor, LogPosition, NewEntry, TimeSource, verify as verify_log,
};
use tidewatch_cases::sar::{Accounted, Actor, CaseError, Phase, SarCase};

pub(crate) type AppState = Arc<Console>;

mod alerts;
pub mod cases;
mod error;
mod events;
mod log;
mod login;
mod picture;
mod sar;
mod session;
mod status;
mod unmask;
mod users;

pub use alerts::*;
pub use error::*;
pub use events::*;
pub use log::*;
pub use login::*;
pub use picture::*;
pub use sar::*;
pub use session::*;
pub use status::*;
pub use unmask::*;
pub use users::*;

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
        .routes(routes!(cases::evidence_file))
        .layer(axum::extract::DefaultBodyLimit::max(
            cases::MAX_EVIDENCE_FILE,
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
        .routes(routes!(sar_status))
        .routes(routes!(incident_log, record_log))
        .routes(routes!(cases::case_file, cases::case_action))
        .routes(routes!(cases::export))
        .routes(routes!(cases::report))
        .routes(routes!(cases::report_pdf))
        .routes(routes!(cases::released))
        .routes(routes!(cases::released_all))
        .routes(routes!(live_stream))
        .routes(routes!(status))
        .routes(routes!(users, add_user))
        .routes(routes!(approvals))
        .routes(routes!(approve))
        .routes(routes!(audit))
        .routes(routes!(unmask_request))
        .routes(routes!(unmask_approve))
        .split_for_parts()
}
