//! The browser UI, served from the binary: `ops-console/ui/` (no bundler), Leaflet
//! 1.9.4 vendored (BSD-2-Clause, its licence beside it) and the offline basemap.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// (path under `/ui/`, content type, bytes)
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../ui/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../ui/style.css"),
    ),
    (
        "vendor/leaflet-1.9.4/leaflet.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../ui/vendor/leaflet-1.9.4/leaflet.js"),
    ),
    (
        "vendor/leaflet-1.9.4/leaflet.css",
        "text/css; charset=utf-8",
        include_bytes!("../../ui/vendor/leaflet-1.9.4/leaflet.css"),
    ),
    (
        "vendor/leaflet-1.9.4/images/layers.png",
        "image/png",
        include_bytes!("../../ui/vendor/leaflet-1.9.4/images/layers.png"),
    ),
    (
        "vendor/leaflet-1.9.4/images/layers-2x.png",
        "image/png",
        include_bytes!("../../ui/vendor/leaflet-1.9.4/images/layers-2x.png"),
    ),
    (
        "basemap/land-50m.geojson",
        "application/geo+json",
        include_bytes!("../../ui/basemap/land-50m.geojson"),
    ),
    (
        "basemap/med-islands-10m.geojson",
        "application/geo+json",
        include_bytes!("../../ui/basemap/med-islands-10m.geojson"),
    ),
];

const INDEX: &[u8] = include_bytes!("../../ui/index.html");

/// The pages' own security policy: nothing from elsewhere, no inline script.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

fn respond(content_type: &'static str, body: &'static [u8], cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

async fn index() -> Response {
    respond("text/html; charset=utf-8", INDEX, "no-cache")
}

async fn file(Path(path): Path<String>) -> Response {
    match FILES.iter().find(|(p, _, _)| *p == path) {
        Some((_, ct, body)) => respond(ct, body, "no-cache"),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

/// `/` and `/ui/...`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/ui/{*path}", get(file))
}
