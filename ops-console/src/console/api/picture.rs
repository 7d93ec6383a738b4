//! The operational picture: tracks, a vessel's card, its trail.

use super::*;

/// `?at=` for a replay.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AtQuery {
    /// Replay time (RFC 3339, UTC); absent for now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub at: Option<Timestamp>,
}

/// The picture: every track and the open alerts, now or as it was at `at`.
#[utoipa::path(get, path = "/api/picture", tag = "picture", params(AtQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The picture", body = PictureView),
        (status = 400, description = "Bad time", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not see the picture", body = ErrorBody),
    ))]
pub(super) async fn picture(
    State(c): State<AppState>,
    u: CurrentUser,
    ApiQuery(q): ApiQuery<AtQuery>,
) -> Result<Response, ApiError> {
    u.require(Permission::ViewPicture)?;
    let body = match q.at {
        None => c.live_picture_json(),
        Some(at) => serde_json::to_vec(&c.picture().snapshot(Some(at)))
            .map_err(|e| ApiError::bad_request(e.to_string()))?
            .into(),
    };
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// A time range.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    /// From (RFC 3339, UTC); default: the history kept.
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<Timestamp>,
    /// To (RFC 3339, UTC); default: now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<Timestamp>,
}

/// A track's trail (history points, at most one per 30 s).
#[utoipa::path(get, path = "/api/tracks/{id}/trail", tag = "picture",
    params(("id" = String, Path, description = "Track id, e.g. `ais:247123456`"), RangeQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The trail, oldest first", body = Vec<TrailPoint>),
        (status = 400, description = "Bad time", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not see the picture", body = ErrorBody),
        (status = 404, description = "No such track", body = ErrorBody),
    ))]
pub(super) async fn trail(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Vec<TrailPoint>> {
    u.require(Permission::ViewPicture)?;
    let p = c.picture();
    let to = q.to.unwrap_or_else(|| p.clock());
    let from = q.from.unwrap_or(Timestamp::MIN);
    p.trail(&id, from, to)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no track {id:?}")))
}

/// A vessel's card: identity and its changes, static data, alerts, risk, nearby tracks.
#[utoipa::path(get, path = "/api/vessels/{mmsi}", tag = "picture",
    params(("mmsi" = u32, Path, description = "MMSI (up to 9 digits)", maximum = 999_999_999)),
    security(("session" = [])),
    responses(
        (status = 200, description = "The vessel card", body = VesselCard),
        (status = 400, description = "Not an MMSI", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not see the picture", body = ErrorBody),
        (status = 404, description = "Nothing heard from it", body = ErrorBody),
    ))]
pub(super) async fn vessel(
    State(c): State<AppState>,
    u: CurrentUser,
    Path(mmsi): Path<String>,
) -> ApiResult<VesselCard> {
    u.require(Permission::ViewPicture)?;
    let m: u32 = mmsi
        .parse()
        .ok()
        .filter(|m| *m <= 999_999_999)
        .ok_or_else(|| ApiError::bad_request(format!("{mmsi:?} is not an MMSI")))?;
    c.picture()
        .vessel(m)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("nothing heard from MMSI {m}")))
}
