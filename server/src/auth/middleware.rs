//! Request guards, outermost first: security headers (with the per-request CSP nonce),
//! CSRF (same-origin check on state-changing UI requests), and the session check for pages
//! and server functions. The API token check guards the `/api/` router on its own
//! ([`crate::api::require_token`]).

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::state::AppState;
use crate::util;

/// The nonce of this request's Content-Security-Policy; the Leptos render puts it on its
/// inline hydration script.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Adds the security headers to every response; `Cache-Control: no-store` to all but the
/// static assets, and `no-cache` to those: a browser keeps them but asks each time whether
/// they changed (a 304 when not). Their names carry no content hash, so after an upgrade a
/// cached chunk of the old build must never meet the new main module.
pub async fn security_headers(mut request: Request, next: Next) -> Response {
    let nonce = util::random_url_safe(16);
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let cacheable = is_static_asset(request.uri().path());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    let cache = if cacheable { "no-cache" } else { "no-store" };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// Refuses state-changing requests from other sites with 403. The REST API is exempt: it
/// authenticates with tokens, which a browser never adds on its own.
pub async fn csrf(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe || request.uri().path().starts_with("/api/") || is_same_origin(&state, &request) {
        return next.run(request).await;
    }
    tracing::warn!(path = %request.uri().path(), "refused a cross-site request");
    (
        StatusCode::FORBIDDEN,
        "Cross-site request refused: this form must be submitted from Uniform itself.",
    )
        .into_response()
}

/// Same-origin when the `Origin` header names this host (or the public URL); without
/// `Origin`, unless `Sec-Fetch-Site` says the request came from elsewhere.
fn is_same_origin(state: &AppState, request: &Request) -> bool {
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if origin == "null" {
            return false;
        }
        let public = state
            .config
            .public_url
            .as_ref()
            .map(|url| url.origin().ascii_serialization());
        if public.as_deref() == Some(origin) {
            return true;
        }
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        return authority.is_some() && authority == host;
    }
    !matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("cross-site" | "same-site")
    )
}

/// Lets a request through only with a live session, attaching the [`app::model::SessionUser`]
/// for server functions. Without one: pages redirect to `/login?next=<path>`, server
/// functions answer 401. Public paths (login, health, assets, the token-guarded API) pass.
pub async fn require_session(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if is_public(path) {
        return next.run(request).await;
    }
    let idle = i64::try_from(state.config.session_idle_timeout.as_secs()).unwrap_or(i64::MAX);
    match crate::auth::sessions::resolve(&state.db, request.headers(), idle).await {
        Ok(Some(user)) => {
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        Ok(None) if path.starts_with("/rpc/") => (
            StatusCode::UNAUTHORIZED,
            "Your session has ended. Please log in again.",
        )
            .into_response(),
        Ok(None) => {
            let target = request
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str().to_string())
                .unwrap_or_else(|| "/".to_string());
            let location = format!("/login?next={}", util::urlencode(&target));
            Redirect::to(&location).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "session lookup failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// Paths anyone may fetch: `/` (only a redirect), the login page, health checks, the site's static files, and the
/// API and `/metrics` (which check tokens themselves).
fn is_public(path: &str) -> bool {
    path == "/"
        || path == "/login"
        || path == "/healthz"
        || path == "/readyz"
        || path == "/metrics"
        || path == "/api"
        || path.starts_with("/api/")
        || is_static_asset(path)
}

fn is_static_asset(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.svg"
}
