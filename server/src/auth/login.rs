//! `POST /login` and `POST /logout`: plain form posts, so they work before the wasm loads.
//! Failed logins are limited per client address.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, State};
use axum::http::header::{HeaderMap, HeaderValue, LOCATION, SET_COOKIE};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use crate::auth::{passwords, sessions};
use crate::state::AppState;

/// Failed attempts allowed per client address within [`WINDOW`].
pub const MAX_FAILURES: usize = 5;
/// The window failed attempts are counted in.
pub const WINDOW: Duration = Duration::from_secs(60);
/// What a client over the limit is told.
pub const TOO_MANY: &str = "Too many failed login attempts. Please wait a minute and try again.";

/// Remembers recent failed logins per client address.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl LoginLimiter {
    /// Whether `ip` has used up its failed attempts for now.
    fn is_blocked(&self, ip: IpAddr) -> bool {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let entry = failures.entry(ip).or_default();
        while entry
            .front()
            .is_some_and(|t| now.duration_since(*t) > WINDOW)
        {
            entry.pop_front();
        }
        let blocked = entry.len() >= MAX_FAILURES;
        if entry.is_empty() {
            failures.remove(&ip);
        }
        blocked
    }

    fn record_failure(&self, ip: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.entry(ip).or_default().push_back(Instant::now());
    }

    fn clear(&self, ip: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&ip);
    }
}

/// The login form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Checks the credentials; on success starts a session and returns to `next`.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Response {
    let ip = peer.ip();
    let next = safe_next(&form.next);
    if state.login_limiter.is_blocked(ip) {
        tracing::warn!(%ip, "login refused: too many failed attempts");
        return (StatusCode::TOO_MANY_REQUESTS, Html(too_many_page())).into_response();
    }
    let user = match crate::db::users::find(&state.db, &form.username).await {
        Ok(user) => user,
        Err(error) => {
            tracing::error!(%error, "user lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    // Unknown users are checked against a dummy hash so both failures take as long.
    let (user_id, hash) = user.unwrap_or((-1, DUMMY_HASH.to_string()));
    let valid = passwords::verify(form.password, hash).await && user_id >= 0;
    if !valid {
        state.login_limiter.record_failure(ip);
        tracing::info!(%ip, "failed login");
        let location = format!(
            "/login?error=invalid&next={}",
            crate::auth::middleware::urlencode(&next)
        );
        return see_other(&location, None);
    }
    state.login_limiter.clear(ip);
    match sessions::start(&state.db, user_id).await {
        Ok(value) => {
            tracing::info!(user = %form.username, "logged in");
            see_other(
                &next,
                Some(sessions::set_cookie(&value, state.config.is_https())),
            )
        }
        Err(error) => {
            tracing::error!(%error, "cannot start a session");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Ends the session server-side and clears the cookie.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(error) = sessions::end(&state.db, &headers).await {
        tracing::error!(%error, "cannot end the session");
    }
    see_other(
        "/login",
        Some(sessions::set_cookie("", state.config.is_https())),
    )
}

fn see_other(location: &str, cookie: Option<String>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    if let Some(value) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

/// `next` when it is a path on this site, else the Integrations page.
fn safe_next(next: &str) -> String {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    if local && next != "/login" && !next.starts_with("/login?") {
        next.to_string()
    } else {
        "/uniform/integrations".to_string()
    }
}

fn too_many_page() -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Log in · Uniform</title>\
         <link rel=\"stylesheet\" href=\"/pkg/uniform.css\"></head><body><div class=\"login-card\">\
         <h1>Log in to Uniform</h1><p class=\"field-error\" role=\"alert\">{TOO_MANY}</p>\
         <p><a href=\"/login\">Back to the login page</a></p></div></body></html>"
    )
}

/// An argon2id hash of a random string nobody knows; verifying against it costs as much as
/// verifying a real password.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2iG3u3Tqz8WyWmZZm4z+q4m3mB0m1mT6gYxQw0u0d8k";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_stay_on_this_site() {
        assert_eq!(safe_next("/uniform/secrets"), "/uniform/secrets");
        assert_eq!(safe_next("/uniform/secrets?x=1"), "/uniform/secrets?x=1");
        assert_eq!(safe_next("https://evil.example/"), "/uniform/integrations");
        assert_eq!(safe_next("//evil.example/"), "/uniform/integrations");
        assert_eq!(safe_next("/\\evil.example"), "/uniform/integrations");
        assert_eq!(safe_next(""), "/uniform/integrations");
        assert_eq!(safe_next("/login"), "/uniform/integrations");
    }

    #[test]
    fn limiter_blocks_after_five_failures_per_address() {
        let limiter = LoginLimiter::default();
        let ip: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..MAX_FAILURES {
            assert!(!limiter.is_blocked(ip));
            limiter.record_failure(ip);
        }
        assert!(limiter.is_blocked(ip));
        assert!(!limiter.is_blocked(other));
        limiter.clear(ip);
        assert!(!limiter.is_blocked(ip));
    }
}
