//! Errors as the API returns them, and the JSON body extractor that turns a bad body into one.

use super::*;

/// An error as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `not_logged_in`, `session_expired`, `forbidden`, `csrf`,
    /// `password_change_required`, `bad_credentials`, `too_many_attempts`, `busy`,
    /// `bad_request`, `not_found`, `conflict`, `internal`.
    pub error: String,
    /// What went wrong, in words.
    pub message: String,
}

/// An API error: a status and a body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    retry_after_s: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, error: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                error: error.into(),
                message: message.into(),
            },
            retry_after_s: None,
        }
    }
    /// What went wrong, in words.
    pub(crate) fn message(&self) -> &str {
        &self.body.message
    }
    pub(crate) fn bad_request(m: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", m)
    }
    pub(crate) fn not_found(m: impl Into<String>) -> ApiError {
        Self::new(StatusCode::NOT_FOUND, "not_found", m)
    }
    pub(crate) fn conflict(m: impl Into<String>) -> ApiError {
        Self::new(StatusCode::CONFLICT, "conflict", m)
    }
    pub(super) fn unauthorized(code: &str, m: impl Into<String>) -> ApiError {
        Self::new(StatusCode::UNAUTHORIZED, code, m)
    }
    pub(crate) fn forbidden(code: &str, m: impl Into<String>) -> ApiError {
        Self::new(StatusCode::FORBIDDEN, code, m)
    }
    /// 429: this name from this address (or this address) tried too often.
    pub(super) fn too_many_attempts(wait_s: u64) -> ApiError {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("too many failed logins; try again in {wait_s} s"),
        );
        e.retry_after_s = Some(wait_s);
        e
    }
    /// 503: too many password checks running and waiting ([`auth::PasswordGate`]).
    pub(super) fn busy(e: auth::GateError) -> ApiError {
        match e {
            auth::GateError::Busy { retry_after_s } => {
                let mut e = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    format!("too many password checks at once; try again in {retry_after_s} s"),
                );
                e.retry_after_s = Some(retry_after_s);
                e
            }
            auth::GateError::Panicked => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the password check failed",
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        // The detail is logged, not sent.
        tracing::error!(error = %e, "console: store error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the console's database failed; the operators' log has the detail",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(self.body)).into_response();
        if let Some(s) = self.retry_after_s
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}

pub(crate) type ApiResult<T> = Result<Json<T>, ApiError>;

/// A JSON body whose rejection is an [`ApiError`] (400 with a JSON body).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(mut v) = Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        // Every body is an object: serde would read a struct from an array of its fields in
        // order too (`[null, null]`), which the API does not describe.
        if !v.is_object() {
            return Err(ApiError::bad_request("the body is a JSON object"));
        }
        integral_numbers(&mut v);
        serde_json::from_value(v).map(ApiJson).map_err(|e| {
            ApiError::bad_request(format!(
                "Failed to deserialize the JSON body into the target type: {e}"
            ))
        })
    }
}

/// JSON has one kind of number: `3.0` is the integer 3 to a client (and to JSON Schema),
/// not only `3`. Every number with no fraction, within the range a double holds exactly, is
/// made an integer before the body is read into its type, so that an integer field takes it;
/// a field of decimals takes an integer as it is.
fn integral_numbers(v: &mut serde_json::Value) {
    use serde_json::Value;
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    match v {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() <= EXACT
            {
                *v = if f < 0.0 {
                    Value::from(f as i64)
                } else {
                    Value::from(f as u64)
                };
            }
        }
        Value::Array(a) => a.iter_mut().for_each(integral_numbers),
        Value::Object(o) => o.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// Query parameters whose rejection is an [`ApiError`].
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded_from(q).map(ApiQuery)
    }
}

pub(super) fn serde_urlencoded_from<T: serde::de::DeserializeOwned>(
    q: &str,
) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{q}")
            .parse()
            .map_err(|_| ApiError::bad_request("bad query string"))?,
    )
    .map(|q| q.0)
    .map_err(|e| ApiError::bad_request(e.body_text()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (Schemathesis ST202): `"corrects": 2821564.0` is schema-valid for an
    /// integer field and was refused with 400.
    #[test]
    fn an_integral_number_written_with_a_fraction_is_an_integer_to_every_body() {
        let mut v = serde_json::json!({"corrects": 2821564.0, "n": [-3.0, 0.5], "lat": 35.0});
        integral_numbers(&mut v);
        #[derive(Debug, serde::Deserialize)]
        struct Body {
            corrects: u64,
            n: (i64, f64),
            lat: f64,
        }
        let b: Body = serde_json::from_value(v).unwrap();
        assert_eq!((b.corrects, b.n, b.lat), (2821564, (-3, 0.5), 35.0));
        let mut big = serde_json::json!(1e300);
        integral_numbers(&mut big);
        assert!(big.is_f64(), "out of exact range: left as it is");
    }
}
