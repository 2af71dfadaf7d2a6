//! `POST /login` and `POST /logout`: plain form posts, so they work before the wasm loads.
//! Failed logins are limited per client address.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, State};
use axum::http::header::{HeaderMap, HeaderValue, LOCATION, SET_COOKIE};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use crate::auth::{passwords, sessions};
use crate::state::AppState;

/// Failed attempts allowed per client address within [`WINDOW`].
pub const MAX_FAILURES: usize = 5;
/// The window failed attempts are counted in.
pub const WINDOW: Duration = Duration::from_secs(60);
/// What a client over the limit is told.
pub const TOO_MANY: &str = "Too many failed login attempts. Please wait a minute and try again.";

/// Password checks that may run at once, whoever asks: each takes about 19 MiB of argon2
/// memory and a core for tens of milliseconds.
pub const CONCURRENT_CHECKS: usize = 2;
/// Client addresses tracked at most; when that many have failed within [`WINDOW`], further
/// addresses are refused (429) until entries age out, rather than tracked without bound.
pub const MAX_TRACKED: usize = 100_000;

/// Remembers recent login attempts per client address (IPv4 address or IPv6 /64) and bounds
/// the password checks running at once. One per router, handed to [`login`] as an extension
/// of its route.
///
/// An attempt takes its slot *before* the password is checked, so a burst of simultaneous
/// posts cannot all be checked: at most [`MAX_FAILURES`] per address and [`WINDOW`]. A
/// successful login clears the address's slots. Entries idle for a whole window are evicted.
#[derive(Debug)]
pub struct LoginLimiter {
    inner: Mutex<Tracked>,
    checks: std::sync::Arc<tokio::sync::Semaphore>,
}

#[derive(Debug)]
struct Tracked {
    attempts: HashMap<IpAddr, VecDeque<Instant>>,
    last_sweep: Instant,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Tracked {
                attempts: HashMap::new(),
                last_sweep: Instant::now(),
            }),
            checks: std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENT_CHECKS)),
        }
    }
}

/// The address attempts are counted under: IPv4 as is, IPv6 by its /64 (what one client
/// usually holds).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

impl LoginLimiter {
    /// Takes one of `ip`'s attempts; `false` when it has none left for now.
    fn try_acquire(&self, ip: IpAddr) -> bool {
        self.try_acquire_at(ip, Instant::now())
    }

    fn try_acquire_at(&self, ip: IpAddr, now: Instant) -> bool {
        let key = client_key(ip);
        let mut tracked = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let full = tracked.attempts.len() >= MAX_TRACKED && !tracked.attempts.contains_key(&key);
        if full || now.saturating_duration_since(tracked.last_sweep) >= WINDOW {
            tracked.attempts.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) <= WINDOW)
            });
            tracked.last_sweep = now;
        }
        if tracked.attempts.len() >= MAX_TRACKED && !tracked.attempts.contains_key(&key) {
            return false;
        }
        let entry = tracked.attempts.entry(key).or_default();
        while entry
            .front()
            .is_some_and(|t| now.duration_since(*t) > WINDOW)
        {
            entry.pop_front();
        }
        if entry.len() >= MAX_FAILURES {
            return false;
        }
        entry.push_back(now);
        true
    }

    /// A successful login: `ip`'s failed attempts are forgotten.
    fn clear(&self, ip: IpAddr) {
        let mut tracked = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        tracked.attempts.remove(&client_key(ip));
    }

    /// How many addresses are tracked now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .attempts
            .len()
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
    Extension(limiter): Extension<Arc<LoginLimiter>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Response {
    let ip = peer.ip();
    let next = safe_next(&form.next);
    // The slot is taken before anything is checked, so simultaneous attempts cannot all pass.
    if !limiter.try_acquire(ip) {
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
    // At most CONCURRENT_CHECKS run at once; the semaphore is never closed.
    let Ok(permit) = limiter.checks.clone().acquire_owned().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let valid = passwords::verify_holding(form.password, hash, permit).await && user_id >= 0;
    if !valid {
        tracing::info!(%ip, "failed login");
        // The form comes back with the username kept (never the password).
        let mut location = format!(
            "/login?error=invalid&next={}",
            crate::util::urlencode(&next)
        );
        let username: String = form.username.chars().take(MAX_KEPT_USERNAME).collect();
        if !username.is_empty() {
            location.push_str("&username=");
            location.push_str(&crate::util::urlencode(&username));
        }
        return see_other(&location, None);
    }
    limiter.clear(ip);
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

/// Where a login with no usable `next` goes.
pub const DEFAULT_NEXT: &str = "/uniform";

/// Most characters of a username a failed login puts back into the form.
const MAX_KEPT_USERNAME: usize = 128;

/// `next` when it is a path on this site, else [`DEFAULT_NEXT`].
///
/// `next` is resolved the way a browser resolves a `Location` (WHATWG URL parsing, which drops
/// tabs and newlines and reads `\` as `/`) against a stand-in origin; only a result on that
/// origin is kept, and what is returned is the re-serialized path and query, so the browser
/// sees exactly what was checked.
fn safe_next(next: &str) -> String {
    const ORIGIN: &str = "http://uniform.invalid";
    let same_origin = || -> Option<String> {
        // Only a path: no scheme, no authority, nothing a browser would strip first.
        if !next.starts_with('/') || next.chars().any(|c| c.is_control()) {
            return None;
        }
        let base = url::Url::parse(ORIGIN).ok()?;
        let resolved = base.join(next).ok()?;
        if resolved.origin() != base.origin() {
            return None;
        }
        let path = resolved.path();
        // `//…` or `/\…` would be read as another host when sent back as a relative URL.
        if !path.starts_with('/') || path.starts_with("//") || path.contains('\\') {
            return None;
        }
        if path == "/login" {
            return None;
        }
        let mut local = path.to_string();
        if let Some(query) = resolved.query() {
            local.push('?');
            local.push_str(query);
        }
        if let Some(fragment) = resolved.fragment() {
            local.push('#');
            local.push_str(fragment);
        }
        Some(local)
    };
    same_origin().unwrap_or_else(|| DEFAULT_NEXT.to_string())
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
        assert_eq!(safe_next("/uniform/events#top"), "/uniform/events#top");
        for hostile in [
            "https://evil.example/",
            "//evil.example/",
            "///evil.example/",
            "/\\evil.example",
            "/\\/evil.example",
            "\\/evil.example",
            "/\t/evil.example/",
            "/\n/evil.example/",
            "/\r\n/evil.example/",
            "\t//evil.example/",
            " //evil.example/",
            "/./\\evil.example",
            "/.//evil.example",
            "/..//evil.example",
            "https:evil.example",
            "javascript:alert(1)",
            "%2F%2Fevil.example",
            "",
            "/login",
            "/login?next=//evil.example",
        ] {
            assert_eq!(safe_next(hostile), DEFAULT_NEXT, "{hostile:?}");
        }
        // Encoded slashes stay encoded: a path on this site, never a host.
        assert_eq!(safe_next("/%2F%2Fevil.example"), "/%2F%2Fevil.example");
        assert_eq!(safe_next("/%09/evil.example/"), "/%09/evil.example/");
    }

    #[test]
    fn limiter_blocks_after_five_attempts_per_address() {
        let limiter = LoginLimiter::default();
        let ip: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..MAX_FAILURES {
            assert!(limiter.try_acquire(ip));
        }
        assert!(!limiter.try_acquire(ip));
        assert!(limiter.try_acquire(other));
        limiter.clear(ip);
        assert!(limiter.try_acquire(ip));
    }

    #[tokio::test]
    async fn at_most_two_password_checks_run_at_once() {
        let limiter = LoginLimiter::default();
        let first = limiter.checks.try_acquire().unwrap();
        let _second = limiter.checks.try_acquire().unwrap();
        assert!(
            limiter.checks.try_acquire().is_err(),
            "a third check must wait"
        );
        drop(first);
        assert!(limiter.checks.try_acquire().is_ok());
    }

    #[test]
    fn limiter_counts_an_ipv6_client_by_its_64() {
        let limiter = LoginLimiter::default();
        for last in 0..MAX_FAILURES as u16 {
            let ip = IpAddr::V6([0x2001, 0xdb8, 1, 2, 0, 0, 0, last].into());
            assert!(limiter.try_acquire(ip));
        }
        let same_64 = IpAddr::V6([0x2001, 0xdb8, 1, 2, 9, 9, 9, 9].into());
        assert!(!limiter.try_acquire(same_64));
        let other_64 = IpAddr::V6([0x2001, 0xdb8, 1, 3, 0, 0, 0, 1].into());
        assert!(limiter.try_acquire(other_64));
    }

    #[test]
    fn limiter_frees_attempts_after_the_window_and_evicts_idle_addresses() {
        let limiter = LoginLimiter::default();
        let start = Instant::now();
        let blocked: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..MAX_FAILURES {
            assert!(limiter.try_acquire_at(blocked, start));
        }
        assert!(!limiter.try_acquire_at(blocked, start + WINDOW / 2));
        for last in 2..=101u8 {
            assert!(limiter.try_acquire_at([10, 0, 1, last].into(), start));
        }
        assert_eq!(limiter.tracked(), 101);
        // A window later every one of them is idle: the next attempt sweeps them all out.
        let later = start + WINDOW + Duration::from_secs(1);
        assert!(limiter.try_acquire_at([10, 0, 2, 1].into(), later));
        assert_eq!(limiter.tracked(), 1);
        assert!(
            limiter.try_acquire_at(blocked, later),
            "its attempts aged out"
        );
    }

    #[test]
    fn limiter_map_is_bounded() {
        let limiter = LoginLimiter::default();
        let now = Instant::now();
        for n in 0..MAX_TRACKED as u32 {
            assert!(limiter.try_acquire_at(IpAddr::V4(n.into()), now));
        }
        assert_eq!(limiter.tracked(), MAX_TRACKED);
        // Full of live entries: a new address is refused, a known one still counted.
        assert!(!limiter.try_acquire_at(IpAddr::V4(u32::MAX.into()), now));
        assert!(limiter.try_acquire_at(IpAddr::V4(7.into()), now));
        assert_eq!(limiter.tracked(), MAX_TRACKED);
        // Once they idle out, there is room again.
        let later = now + WINDOW + Duration::from_secs(1);
        assert!(limiter.try_acquire_at(IpAddr::V4(u32::MAX.into()), later));
        assert_eq!(limiter.tracked(), 1);
    }
}
