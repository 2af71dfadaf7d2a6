//! UI sessions: a random cookie value whose SHA-256 is the row key in `sessions`; idle
//! expiry enforced on every request.

use axum::http::header::{HeaderMap, COOKIE};
use sqlx::SqlitePool;

use crate::{db, util};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "uniform_session";

/// Starts a session for `user_id`; returns the cookie value.
pub async fn start(db: &SqlitePool, user_id: i64) -> sqlx::Result<String> {
    let value = util::random_url_safe(32);
    db::sessions::insert(
        db,
        &util::sha256(&value),
        user_id,
        &util::now_rfc3339(),
        util::now_unix(),
    )
    .await?;
    Ok(value)
}

/// The user of the session in `headers`' cookie, when it exists and has not idled out.
/// Refreshes the session's last use (at most once a minute, to spare writes).
pub async fn resolve(
    db: &SqlitePool,
    headers: &HeaderMap,
    idle_timeout_secs: i64,
) -> sqlx::Result<Option<app::model::SessionUser>> {
    let Some(value) = cookie_value(headers) else {
        return Ok(None);
    };
    let hash = util::sha256(&value);
    let Some((user_id, username, last_seen)) = db::sessions::find(db, &hash).await? else {
        return Ok(None);
    };
    let now = util::now_unix();
    if now - last_seen > idle_timeout_secs {
        db::sessions::delete(db, &hash).await?;
        return Ok(None);
    }
    if now - last_seen >= 60 {
        db::sessions::touch(db, &hash, now).await?;
    }
    Ok(Some(app::model::SessionUser { user_id, username }))
}

/// Ends the session in `headers`' cookie, if any.
pub async fn end(db: &SqlitePool, headers: &HeaderMap) -> sqlx::Result<()> {
    if let Some(value) = cookie_value(headers) {
        db::sessions::delete(db, &util::sha256(&value)).await?;
    }
    Ok(())
}

/// The `Set-Cookie` value carrying `value` (empty `value` with `Max-Age=0` clears it).
pub fn set_cookie(value: &str, secure: bool) -> String {
    let mut cookie = format!("{COOKIE_NAME}={value}; Path=/; HttpOnly; SameSite=Strict");
    if value.is_empty() {
        cookie.push_str("; Max-Age=0");
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE_NAME && !value.is_empty())
        .map(|(_, value)| value.to_string())
}
