//! Service health: ingest, fusion and the broker as the status page shows them.

use super::*;

/// One sample of a metric.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Sample {
    /// Metric name (as in `/metrics`).
    pub name: String,
    /// Labels.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Value.
    pub value: f64,
}

/// Service health, from the same numbers as `/metrics`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Status {
    /// When read (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub time: Timestamp,
    /// The picture's clock (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub picture_time: Timestamp,
    /// Tracks held by the picture.
    pub tracks: u64,
    /// The console's feed is connected to the broker.
    pub feed_connected: bool,
    /// Every metric sample (ingest, fusion, broker, console).
    pub samples: Vec<Sample>,
}

/// Ingest, fusion, broker and console health.
#[utoipa::path(get, path = "/api/status", tag = "status", security(("session" = [])),
    responses(
        (status = 200, description = "Health figures", body = Status),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The role may not see the status", body = ErrorBody),
    ))]
pub(super) async fn status(State(c): State<AppState>, u: CurrentUser) -> ApiResult<Status> {
    u.require(Permission::ViewStatus)?;
    let text = c.metrics().render();
    let (picture_time, tracks) = {
        let p = c.picture();
        (p.clock(), p.track_count() as u64)
    };
    Ok(Json(Status {
        time: Timestamp::now(),
        picture_time,
        tracks,
        feed_connected: c.feed_is_up(),
        samples: parse_prometheus(&text),
    }))
}

/// Samples of Prometheus text (`name{a="b"} 1`), comments skipped.
pub fn parse_prometheus(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (head, value) = l.rsplit_once(' ')?;
            let value: f64 = value.parse().ok()?;
            let (name, labels) = match head.split_once('{') {
                Some((n, rest)) => {
                    let inner = rest.strip_suffix('}')?;
                    let mut m = std::collections::BTreeMap::new();
                    for kv in inner.split("\",").filter(|s| !s.is_empty()) {
                        let (k, v) = kv.split_once("=\"")?;
                        m.insert(k.to_owned(), v.trim_end_matches('"').to_owned());
                    }
                    (n.to_owned(), m)
                }
                None => (head.to_owned(), Default::default()),
            };
            Some(Sample {
                name,
                labels,
                value: if value.is_finite() { value } else { 0.0 },
            })
        })
        .collect()
}
