//! The live stream (server-sent events) of picture, alert and incident changes.

use super::*;

/// Live updates (Server-Sent Events): `hello`, `tracks`, `alert`, `incident`, `clock`,
/// `resync`. The stream ends as soon as its session does (logout, password change, expiry).
#[utoipa::path(get, path = "/api/live", tag = "picture", security(("session" = [])),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream", body = String),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not see the picture", body = ErrorBody),
    ))]
pub(super) async fn live_stream(
    State(c): State<AppState>,
    u: CurrentUser,
) -> Result<Response, ApiError> {
    u.require(Permission::ViewPicture)?;
    let rx = c.subscribe();
    let hello = serde_json::json!({"time": c.picture().clock()}).to_string();
    let guard = live::ClientGuard::new(c.stats().live_clients.clone());
    // The stream ends with its session, whatever ends it.
    let session_end = c.session_end(u.session, u.name, u.role);
    Ok(live::stream(rx, hello, guard, session_end).into_response())
}
