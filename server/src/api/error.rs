//! The REST API's error answer, `{"code": <status>, "message": "<text>"}`, and a JSON body
//! extractor whose rejections use it.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::error::DomainError;

/// An error answer of the REST API.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Line and column (1-based) of a template error.
    pub position: Option<(usize, usize)>,
}

/// The JSON shape of every API error.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The HTTP status code, repeated.
    pub code: u16,
    /// What went wrong.
    pub message: String,
    /// For template errors: the line (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// For template errors: the column (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            position: None,
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 500; the detail goes to the log, not to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "API request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.status.as_u16(),
            message: self.message,
            line: self.position.map(|(line, _)| line),
            column: self.position.map(|(_, column)| column),
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Invalid { field, message } => {
                Self::bad_request(format!("{field}: {message}"))
            }
            DomainError::Template {
                field,
                line,
                column,
                message,
            } => Self {
                position: Some((line, column)),
                ..Self::bad_request(format!("{field}: line {line}, column {column}: {message}"))
            },
            DomainError::NotFound(message) => Self::not_found(message),
            DomainError::Conflict(message) => Self::new(StatusCode::CONFLICT, message),
            DomainError::Internal(detail) => Self::internal(detail),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large (at most 1 MiB)",
            );
        }
        if let JsonRejection::MissingJsonContentType(_) = rejection {
            return Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the body must be JSON (Content-Type: application/json)",
            );
        }
        Self::bad_request(format!("malformed JSON body: {}", rejection.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request(format!("malformed query: {}", rejection.body_text()))
    }
}

/// `axum::extract::Query`, answering malformed queries with an [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `axum::Json`, answering malformed bodies with an [`ApiError`].
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);
