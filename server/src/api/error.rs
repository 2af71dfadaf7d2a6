//! The REST API's error answer, `{"code": <status>, "message": "<text>"}`, a JSON body
//! extractor whose rejections use it, and the middleware that makes every other error answer
//! under `/api/` (routing's 405, extractor rejections) take the same shape.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
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

/// Rewrites an error answer that is not JSON yet (axum's 405 for a wrong method, with an
/// empty body; a path or body extractor's plain-text rejection) as an [`ErrorBody`] with the
/// same status, keeping the other headers (`Allow` among them). The message is the answer's
/// text, or says what was wrong when it had none.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    // Inside the nested `/api` router the URI lost its prefix; the original has it.
    let path = request
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map(|uri| uri.path().to_string())
        .unwrap_or_else(|| request.uri().path().to_string());
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
        .unwrap_or_default();
    // (`Allow` is added around this layer, so it is not seen here; it stays on the answer.)
    let message = if status == StatusCode::METHOD_NOT_ALLOWED {
        format!("method {method} is not allowed on {path}")
    } else if !text.is_empty() {
        text
    } else {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase()
    };
    let body = ErrorBody {
        code: status.as_u16(),
        message,
        line: None,
        column: None,
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// `axum::extract::Query`, answering malformed queries with an [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `axum::Json`, answering malformed bodies with an [`ApiError`].
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);
