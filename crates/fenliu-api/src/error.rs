//! The one place where errors become HTTP answers.
//!
//! Every error has a [`Code`]; the code gives the status, the description the
//! document shows, and the `code` of the body, which is always
//! `{"error": {"code": "...", "message": "..."}}`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use fenliu_core::query::NotAssigned;
use fenliu_core::{CoreError, InvalidInput};
use fenliu_node::NodeError;
use serde::Serialize;
use utoipa::ToSchema;

/// Declares [`Code`] from one table: variant, status, description.
macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $status:ident, $description:literal;)+) => {
        /// What went wrong, as the `code` of the error body.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum Code {
            $($(#[$doc])* $variant),+
        }

        impl Code {
            /// Every code, in the order of the table.
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            /// The status answered with this code.
            pub fn status(self) -> StatusCode {
                match self {
                    $(Code::$variant => StatusCode::$status),+
                }
            }

            /// When this code is answered, as the document says it.
            pub fn description(self) -> &'static str {
                match self {
                    $(Code::$variant => $description),+
                }
            }
        }
    };
}

codes! {
    /// 400.
    InvalidRequest = BAD_REQUEST,
        "malformed JSON, invalid UTF-8, a missing field, an unknown field, `null` for a field, \
         an unknown enum value, a number out of range or of the wrong type, a bad id in the \
         path, body, query or headers";
    /// 401.
    Unauthorized = UNAUTHORIZED, "no token, or a token that does not verify";
    /// 403.
    Forbidden = FORBIDDEN,
        "the role may not do this, the agent does not own the conversation, or the token is \
         for another shop";
    /// 404.
    NotFound = NOT_FOUND, "unknown agent, group, conversation, route or node";
    /// 405.
    MethodNotAllowed = METHOD_NOT_ALLOWED,
        "a known path with a method it does not take (the `Allow` header lists those it takes)";
    /// 409.
    Conflict = CONFLICT, "the request is well-formed but the state forbids it";
    /// 413.
    PayloadTooLarge = PAYLOAD_TOO_LARGE, "a body over 64 KiB";
    /// 500.
    Internal = INTERNAL_SERVER_ERROR, "a bug: the shop was reloaded from the store";
    /// 503.
    Unavailable = SERVICE_UNAVAILABLE,
        "the store does not answer, the node is draining, or the shop is moving between \
         nodes; with `Retry-After`";
}

impl Code {
    /// The code as the body writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidRequest => "invalid_request",
            Code::Unauthorized => "unauthorized",
            Code::Forbidden => "forbidden",
            Code::NotFound => "not_found",
            Code::MethodNotAllowed => "method_not_allowed",
            Code::Conflict => "conflict",
            Code::PayloadTooLarge => "payload_too_large",
            Code::Internal => "internal",
            Code::Unavailable => "unavailable",
        }
    }

    /// The code whose status this is, if any.
    pub fn of_status(status: StatusCode) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.status() == status)
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// What went wrong.
    error: ErrorDetail,
}

/// The `error` of an error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// What went wrong, for programs.
    code: Code,
    /// What went wrong, for people: lowercase, says what was wrong.
    message: String,
}

/// An error answered to the client.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    code: Code,
    message: String,
    /// For 405: the methods the path takes, as the `Allow` header lists them.
    allow: Option<String>,
}

impl ApiError {
    /// An error with this code.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            allow: None,
        }
    }

    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidRequest, message)
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(Code::Unauthorized, message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Code::NotFound, message)
    }

    /// 405 `method_not_allowed`: the path exists and takes `allow` (such as
    /// `GET, PUT`), not this method.
    pub fn method_not_allowed(allow: String) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                Code::MethodNotAllowed,
                "this path does not support this method",
            )
        }
    }

    /// 413 `payload_too_large`.
    pub fn too_large() -> Self {
        Self::new(Code::PayloadTooLarge, "request body is larger than 64 KiB")
    }

    /// 500 `internal`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Code::Internal, message)
    }

    /// 503 `unavailable`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Code::Unavailable, message)
    }

    /// The error's code.
    pub fn code(&self) -> Code {
        self.code
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.code.status());
        if self.code == Code::Unavailable {
            resp.insert_header((header::RETRY_AFTER, "1"));
        }
        if let Some(allow) = &self.allow {
            resp.insert_header((header::ALLOW, allow.as_str()));
        }
        resp.json(ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.clone(),
            },
        })
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
            CoreError::Conflict(m) => Self::new(Code::Conflict, m),
        }
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::Core(e) => e.into(),
            NodeError::Store(e) => Self::unavailable(e.to_string()),
            NodeError::Unavailable | NodeError::Draining | NodeError::Elsewhere(_) => {
                Self::unavailable(e.to_string())
            }
            NodeError::Internal(m) => {
                Self::internal(format!("internal error, the shop was reloaded: {m}"))
            }
        }
    }
}

/// The owner check of a guarded command refused it
/// (see [`crate::access::Access::guard`]).
impl From<NotAssigned> for ApiError {
    fn from(_: NotAssigned) -> Self {
        Self::forbidden("the conversation is not assigned to this agent")
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_serializes_as_it_names_itself_and_has_its_own_status() {
        let mut statuses = std::collections::HashSet::new();
        for code in Code::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert!(statuses.insert(code.status()), "{code:?}");
            assert_eq!(Code::of_status(code.status()), Some(*code));
            assert!(!code.description().is_empty());
        }
    }

    #[test]
    fn an_error_answers_its_code_status_and_body() {
        let resp = ApiError::method_not_allowed("GET, PUT".into()).error_response();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(resp.headers().get(header::ALLOW).unwrap(), "GET, PUT");
        let resp = ApiError::unavailable("store down").error_response();
        assert_eq!(resp.headers().get(header::RETRY_AFTER).unwrap(), "1");
    }
}
