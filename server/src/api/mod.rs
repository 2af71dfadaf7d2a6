//! The REST API under `/api/`: one router per resource, every route documented in the
//! OpenAPI document served (without a token) at `/api/openapi.json`. The whole router,
//! its 404 fallback included, sits behind the token check; every error answer is JSON
//! ([`error::json_errors`]), and request bodies are bounded ([`MAX_BODY_BYTES`]).

pub mod deliveries;
pub mod error;
pub mod events;
pub mod insight;
pub mod preview;
pub mod secrets;
pub mod tokens;
pub mod uniform;

use axum::extract::{DefaultBodyLimit, OriginalUri, Request, State};
use axum::http::header;
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse as _, Response};
use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa::{Modify, OpenApi as _};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;
use error::ApiError;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Uniform REST API", description = "Keptn-compatible secrets, uniform and event APIs, plus Uniform's own."),
    modifiers(&TokenSecurity),
    security(("x-token" = []), ("bearer" = []))
)]
struct ApiDoc;

struct TokenSecurity;

impl Modify for TokenSecurity {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "x-token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-token"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Answers every operation can give besides its own, documented once here: 401 (no or a
/// wrong token) everywhere; 400 where a query parameter can be malformed (`pageSize=x`);
/// for operations with a JSON body also 400 (malformed JSON or a wrong shape), 413 (body
/// too large) and 415 (not `Content-Type: application/json`).
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let mut common = vec![("401", "No or an invalid API token")];
                let has_query = operation.parameters.iter().flatten().any(|parameter| {
                    parameter.parameter_in == utoipa::openapi::path::ParameterIn::Query
                });
                if has_query {
                    common.push(("400", "A query parameter is malformed"));
                }
                if operation.request_body.is_some() {
                    common.extend([
                        ("400", "Malformed JSON, or a body of the wrong shape"),
                        ("413", "The body is larger than the endpoint accepts"),
                        (
                            "415",
                            "The body is not sent as Content-Type: application/json",
                        ),
                    ]);
                }
                for (status, description) in common {
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| error(description).into());
                }
            }
        }
    }
}

/// The largest request body any API route accepts (413 beyond it).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The API router (paths relative to `/api`) and its OpenAPI document (paths absolute).
pub fn router(state: &AppState) -> (Router<AppState>, OpenApi) {
    let (router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(tokens::router())
        .merge(secrets::router())
        .merge(uniform::router())
        .merge(events::router())
        .merge(insight::router())
        .merge(deliveries::router())
        .merge(preview::router())
        .split_for_parts();
    openapi.paths.paths = std::mem::take(&mut openapi.paths.paths)
        .into_iter()
        .map(|(path, item)| (format!("/api{path}"), item))
        .collect();
    // After the merge: `ApiDoc`'s own modifiers run before any route is in the document.
    CommonResponses.modify(&mut openapi);
    let router = router
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(from_fn_with_state(state.clone(), require_token))
        .layer(from_fn(error::json_errors));
    (router, openapi)
}

/// Lets a request through only with a valid API token in `x-token` or `Authorization: Bearer`:
/// the layer of the whole `/api/` router, and of `/metrics`.
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let presented = headers
        .get("x-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(|v| v.trim().to_string())
        });
    let Some(token) = presented.filter(|t| !t.is_empty()) else {
        return ApiError::unauthorized(
            "missing API token: send it in the x-token header or as Authorization: Bearer <token>",
        )
        .into_response();
    };
    match crate::auth::tokens::authenticate(&state.db, &token).await {
        Ok(Some(_)) => next.run(request).await,
        Ok(None) => ApiError::unauthorized("invalid API token").into_response(),
        Err(error) => ApiError::internal(error).into_response(),
    }
}

/// (`OriginalUri`: inside the nested router the path lost its `/api` prefix.)
async fn not_found(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::not_found(format!("no API endpoint at {}", uri.path()))
}
