//! API errors: an HTTP status, a stable machine-readable code and a message for
//! people, always sent as `{"error": {"code": ..., "message": ...}}`.
//!
//! The codes are part of the API (documented in `openapi.json`); messages may
//! change. Bad input of any kind is a 4xx: a 5xx means Rebound itself failed.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// Rebound's own failure (the store is unreachable ...): the one 5xx.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl From<rebound_store::Error> for ApiError {
    fn from(e: rebound_store::Error) -> ApiError {
        use rebound_store::Error::*;
        match e {
            UnknownTenant(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_tenant", e.to_string())
            }
            TenantExists(_) => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            Invalid(_) => ApiError::invalid(e.to_string()),
            _ => ApiError::internal(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, axum::Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
