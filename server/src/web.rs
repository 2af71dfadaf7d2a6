//! The HTTP router: health checks, login/logout, the REST API, the Leptos pages and server
//! functions, static assets; wrapped in the security, CSRF and session middleware and
//! compression.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::{HeaderMap, HeaderName};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::{login, middleware};
use crate::state::AppState;

/// Builds the complete router for `state`.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let shell_options = (*state.leptos_options).clone();
    let context = crate::ui::context(state.clone());
    let (api, openapi) = crate::api::router(&state);
    let openapi = std::sync::Arc::new(openapi);
    // The wasm, JS and CSS: as the `.br`/`.gz` beside each file when the build made them
    // (.ci/precompress, brotli's best level) and the browser takes them; otherwise the
    // compression layer below compresses each answer at its fast default level.
    let options = &state.leptos_options;
    let pkg = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let pkg_route = format!("/{}", options.site_pkg_dir);
    Router::new()
        .nest_service(
            &pkg_route,
            ServeDir::new(pkg).precompressed_br().precompressed_gzip(),
        )
        .route("/", get(|| async { Redirect::to("/uniform") }))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route(
            "/login",
            post(login::login).layer(Extension(Arc::new(login::LoginLimiter::default()))),
        )
        .route("/logout", post(login::logout))
        .route(
            "/api/openapi.json",
            get(move || {
                let openapi = openapi.clone();
                async move { Json(openapi.as_ref().clone()) }
            })
            .layer(from_fn(crate::api::error::json_errors)),
        )
        .nest("/api", api)
        .route(
            "/metrics",
            get(metrics).layer(from_fn_with_state(state.clone(), crate::api::require_token)),
        )
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            app::shell(shell_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, app::shell))
        .layer(from_fn(limit_rpc_body))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::require_session,
        ))
        .layer(from_fn_with_state(state.clone(), middleware::csrf))
        .layer(from_fn(middleware::security_headers))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
        .with_state(state)
}

/// The header carrying each request's id (kept when the client sends one, else a UUID),
/// echoed in the answer and present on every log line of the request.
static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The span of one HTTP request: method, path (never the query or headers, which may carry
/// tokens) and request id.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

/// The router of `--metrics-bind`: only `GET /metrics`, no token.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// The metrics exposition (token required, like the API): OpenMetrics when `Accept` asks
/// for it, as Prometheus does, else the Prometheus text format 0.0.4.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> axum::response::Response {
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let format = crate::metrics::Format::negotiate(accept);
    match state.dispatcher.metrics.render(&state.db, format).await {
        Ok(text) => (
            [
                (axum::http::header::CONTENT_TYPE, format.content_type()),
                (axum::http::header::VARY, "accept"),
            ],
            text,
        )
            .into_response(),
        Err(error) => crate::api::error::ApiError::internal(error).into_response(),
    }
}

/// The largest request body a server function (`/rpc/`) accepts.
pub const RPC_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Bounds server-function request bodies to [`RPC_BODY_LIMIT`] (413 beyond it; the server
/// functions themselves read bodies without a limit). A body is read whole here, within the
/// limit, and handed on as is.
async fn limit_rpc_body(request: Request, next: Next) -> axum::response::Response {
    if !request.uri().path().starts_with("/rpc/") {
        return next.run(request).await;
    }
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The request is too large (at most {} MiB).",
                RPC_BODY_LIMIT / (1024 * 1024)
            ),
        )
            .into_response()
    };
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > RPC_BODY_LIMIT as u64) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    let limited = http_body_util::Limited::new(body, RPC_BODY_LIMIT);
    match http_body_util::BodyExt::collect(limited).await {
        Ok(collected) => {
            let body = axum::body::Body::from(collected.to_bytes());
            next.run(Request::from_parts(parts, body)).await
        }
        Err(error) if error.is::<http_body_util::LengthLimitError>() => too_large(),
        Err(error) => {
            tracing::debug!(%error, "reading a server-function body failed");
            (
                StatusCode::BAD_REQUEST,
                "The request body could not be read.",
            )
                .into_response()
        }
    }
}

/// Liveness: the process runs and answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers a query.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
