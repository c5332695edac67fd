//! The one place where errors become HTTP answers.
//!
//! Every error has a status and a code; the body is always
//! `{"error": {"code": "...", "message": "..."}}`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use fenliu_core::{CoreError, InvalidInput};
use fenliu_node::NodeError;
use serde_json::json;

/// An error answered to the client.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 405 `method_not_allowed`: the path exists, the method does not.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this path does not support this method",
        )
    }

    /// 413 `payload_too_large`.
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body is larger than 64 KiB",
        )
    }

    /// 503 `unavailable`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// The error's code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.insert_header((header::RETRY_AFTER, "1"));
        }
        resp.json(json!({"error": {"code": self.code, "message": self.message}}))
    }
}

impl From<InvalidInput> for ApiError {
    fn from(e: InvalidInput) -> Self {
        Self::invalid(e.message())
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Invalid(e) => e.into(),
            CoreError::NotFound(m) => Self::not_found(m),
            CoreError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
        }
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::Core(e) => e.into(),
            NodeError::Forbidden(m) => Self::forbidden(m),
            NodeError::Store(e) => Self::unavailable(e.to_string()),
            NodeError::Unavailable | NodeError::Draining | NodeError::Elsewhere(_) => {
                Self::unavailable(e.to_string())
            }
            NodeError::Internal(m) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("internal error, the shop was reloaded: {m}"),
            ),
        }
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
