//! The HTTP router: health checks, login/logout, the REST API, the Leptos pages and server
//! functions, static assets; wrapped in the security, CSRF and session middleware and
//! compression.

use axum::extract::State;
use axum::http::HeaderName;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Json, Router};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::{login, middleware};
use crate::state::AppState;

/// Builds the complete router for `state`.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let shell_options = state.leptos_options.clone();
    let context = crate::ui::context(state.clone());
    let (api, openapi) = crate::api::router(&state);
    let openapi = std::sync::Arc::new(openapi);
    Router::new()
        .route("/", get(|| async { Redirect::to("/uniform/integrations") }))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/login", post(login::login))
        .route("/logout", post(login::logout))
        .route(
            "/api/openapi.json",
            get(move || {
                let openapi = openapi.clone();
                async move { Json(openapi.as_ref().clone()) }
            }),
        )
        .nest("/api", api)
        .route(
            "/metrics",
            get(metrics).layer(from_fn_with_state(state.clone(), middleware::require_token)),
        )
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            app::shell(shell_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, app::shell))
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

/// Prometheus text exposition (token required, like the API).
async fn metrics(State(state): State<AppState>) -> axum::response::Response {
    match state.dispatcher.metrics.render(&state.db).await {
        Ok(text) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => crate::api::error::ApiError::internal(error).into_response(),
    }
}

/// Liveness: the process runs and answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers a query.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(&state.db)
        .await
    {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
