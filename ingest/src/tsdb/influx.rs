//! [`InfluxSink`]: points written to an InfluxDB v2 write API (`POST /api/v2/write`)
//! through `influxdb2`; VictoriaMetrics serves the same API. The only file that names
//! `influxdb2`.
//!
//! Traps handled here: `influxdb2::Client::new` panics on a URL it
//! cannot parse, and it replaces the URL's path, so [`InfluxConfig::new`] accepts only
//! `http(s)://host[:port][/]`; requests have no timeout of their own, so each write is
//! bounded by [`InfluxConfig::timeout`]. VictoriaMetrics ignores `org` and `bucket`, and
//! answers 204 even to lines it drops, so check by reading back.

use std::time::Duration;

use futures_util::stream;
use influxdb2::models::DataPoint;

use super::{FieldValue, Point, SinkError, TimeSeriesSink, WriteFuture};

/// Why an [`InfluxConfig`] could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InfluxConfigError {
    /// The URL does not parse.
    #[error("invalid time-series URL {url:?}: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The bucket is empty.
    #[error("empty bucket")]
    EmptyBucket,
}

/// Where and how to write, validated: building an [`InfluxSink`] from it cannot panic.
#[derive(Debug, Clone, PartialEq)]
pub struct InfluxConfig {
    url: String,
    org: String,
    bucket: String,
    token: String,
    /// The longest one write request may take before it counts as a (retryable) failure.
    pub timeout: Duration,
}

impl InfluxConfig {
    /// A config for the server at `url` (`http://host:port` or `https://…`, no path,
    /// query, fragment or credentials), writing to `bucket` of `org` with `token` (may
    /// be empty: no `Authorization` header). Timeout: 10 s.
    pub fn new(
        url: &str,
        org: impl Into<String>,
        bucket: impl Into<String>,
        token: impl Into<String>,
    ) -> Result<InfluxConfig, InfluxConfigError> {
        let bad = |reason: &str| InfluxConfigError::Url {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https"));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(bad("no host"));
        }
        if !matches!(parsed.path(), "" | "/") {
            return Err(bad(
                "a path is not supported (the client replaces it with /api/v2/write)",
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad("a query or fragment is not supported"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad("credentials belong in the token, not the URL"));
        }
        let bucket = bucket.into();
        if bucket.is_empty() {
            return Err(InfluxConfigError::EmptyBucket);
        }
        Ok(InfluxConfig {
            url: parsed.to_string(),
            org: org.into(),
            bucket,
            token: token.into(),
            timeout: Duration::from_secs(10),
        })
    }

    /// The normalized URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

/// A [`TimeSeriesSink`] writing to an InfluxDB v2 write API.
pub struct InfluxSink {
    /// The HTTP client (holds the connection pool).
    client: influxdb2::Client,
    bucket: String,
    timeout: Duration,
}

impl std::fmt::Debug for InfluxSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InfluxSink")
            .field("url", &self.client.base.as_str())
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl InfluxSink {
    /// A sink for `cfg`; no request is made yet. Fails only when the HTTP client cannot
    /// be built (TLS set-up).
    pub fn new(cfg: &InfluxConfig) -> Result<InfluxSink, SinkError> {
        let client =
            influxdb2::ClientBuilder::new(cfg.url.as_str(), cfg.org.as_str(), cfg.token.as_str())
                .build()
                .map_err(|e| SinkError::permanent(format!("time-series client: {e}")))?;
        Ok(InfluxSink {
            client,
            bucket: cfg.bucket.clone(),
            timeout: cfg.timeout,
        })
    }
}

fn to_data_point(p: &Point) -> Result<DataPoint, SinkError> {
    let mut b = DataPoint::builder(p.measurement());
    for (k, v) in p.tags() {
        b = b.tag(k.as_str(), v.as_str());
    }
    for (k, v) in p.fields() {
        b = match *v {
            FieldValue::F64(x) => b.field(k.as_str(), x),
            FieldValue::I64(x) => b.field(k.as_str(), x),
        };
    }
    b.timestamp(p.time_ns())
        .build()
        .map_err(|e| SinkError::permanent(format!("point {p}: {e}")))
}

fn classify(e: influxdb2::RequestError) -> SinkError {
    match &e {
        influxdb2::RequestError::ReqwestProcessing { .. } => SinkError::transient(e.to_string()),
        influxdb2::RequestError::Http { status, .. } => {
            let code = status.as_u16();
            if code >= 500 || code == 429 || code == 408 {
                SinkError::transient(e.to_string())
            } else {
                SinkError::permanent(e.to_string())
            }
        }
        _ => SinkError::permanent(e.to_string()),
    }
}

impl TimeSeriesSink for InfluxSink {
    fn write<'a>(&'a self, points: &'a [Point]) -> WriteFuture<'a> {
        Box::pin(async move {
            let body = points
                .iter()
                .map(to_data_point)
                .collect::<Result<Vec<_>, _>>()?;
            let write = self.client.write(&self.bucket, stream::iter(body));
            match tokio::time::timeout(self.timeout, write).await {
                Ok(r) => r.map_err(classify),
                Err(_) => Err(SinkError::transient(format!(
                    "time-series write timed out after {:?}",
                    self.timeout
                ))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_validation_rejects_garbage_without_panicking() {
        for bad in [
            "",
            "/3242/23",
            "localhost:8428",
            "ftp://host:21",
            "http://",
            "http://exa mple.org",
            "http://host:99999",
            "http://host:8428/prefix",
            "http://host:8428/?db=x",
            "http://user:pw@host:8428",
            "unix:/var/run/sock",
        ] {
            let r = InfluxConfig::new(bad, "org", "bucket", "");
            assert!(
                matches!(r, Err(InfluxConfigError::Url { .. })),
                "{bad:?}: {r:?}"
            );
        }
        assert_eq!(
            InfluxConfig::new("http://h:1", "o", "", ""),
            Err(InfluxConfigError::EmptyBucket)
        );
    }

    #[test]
    fn good_urls_build_a_sink() {
        for good in [
            "http://127.0.0.1:8428",
            "http://localhost:8086/",
            "https://tsdb.example.org",
            "http://[::1]:8428",
        ] {
            let cfg = InfluxConfig::new(good, "tidewatch", "tracks", "tok").unwrap();
            assert!(cfg.url().starts_with("http"), "{good}");
            InfluxSink::new(&cfg).unwrap();
        }
    }

    #[tokio::test]
    async fn unreachable_server_is_a_retryable_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = InfluxConfig::new(&format!("http://127.0.0.1:{port}"), "o", "b", "").unwrap();
        let sink = InfluxSink::new(&cfg).unwrap();
        let p = Point::new(
            "m",
            [],
            [("f".to_owned(), FieldValue::F64(1.0))],
            jiff::Timestamp::UNIX_EPOCH,
        )
        .unwrap();
        let e = sink.write(&[p]).await.unwrap_err();
        assert!(e.retryable, "{e}");
    }
}
