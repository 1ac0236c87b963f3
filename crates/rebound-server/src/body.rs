//! Reading request bodies: bounded in size, JSON parsed strictly, and every way a
//! body can be wrong mapped to a 4xx with a stable code: `body_too_large` (413),
//! `unsupported_media_type` (415), `malformed_json` (400, not JSON at all or cut
//! short) and `invalid_request` (422, JSON of the wrong shape: a missing or unknown
//! field, a wrong type).

use crate::error::{ApiError, ApiResult};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

/// The whole body, or `body_too_large` past `limit` bytes.
pub async fn read(body: Body, limit: usize) -> ApiResult<Bytes> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // The only other failure is a client that hung up mid-body: also its fault.
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the request body is larger than {limit} bytes"),
            )
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_body", e.to_string())
        }
    })
}

/// Refuses a body that says it is something other than JSON (none said is fine).
pub fn require_json(headers: &HeaderMap) -> ApiResult<()> {
    match headers.get(header::CONTENT_TYPE).map(|v| v.to_str()) {
        None => Ok(()),
        Some(Ok(v)) => {
            let mime = v
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if mime == "application/json" || mime.ends_with("+json") {
                Ok(())
            } else {
                Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    format!("send JSON (Content-Type: application/json), not {mime}"),
                ))
            }
        }
        Some(Err(_)) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the Content-Type header is not text",
        )),
    }
}

/// Parses JSON into `T`, refusing what `T` refuses.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(bytes).map_err(json_error)
}

pub fn json_error(e: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => ApiError::invalid(e.to_string()),
        Category::Syntax | Category::Eof | Category::Io => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {e}"),
        ),
    }
}

/// `Query<T>` whose rejection is an [`ApiError`] (`invalid_request`, JSON).
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> axum::extract::FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError::invalid(e.body_text()))
    }
}

/// `Path<T>` whose rejection is an [`ApiError`].
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> axum::extract::FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| ApiError::invalid(e.body_text()))
    }
}
