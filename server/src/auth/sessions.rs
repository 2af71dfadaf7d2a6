//! UI sessions: a random cookie value whose SHA-256 is the row key in `sessions`; idle
//! expiry enforced on every request, and idle sessions pruned in the background.

use crate::db::Store;
use axum::http::header::{HeaderMap, COOKIE};

use crate::{db, util};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "uniform_session";

/// Starts a session for `user_id`; returns the cookie value.
pub async fn start(db: &Store, user_id: i64) -> sqlx::Result<String> {
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
    db: &Store,
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
pub async fn end(db: &Store, headers: &HeaderMap) -> sqlx::Result<()> {
    if let Some(value) = cookie_value(headers) {
        db::sessions::delete(db, &util::sha256(&value)).await?;
    }
    Ok(())
}

/// How often idle sessions are pruned: a tenth of the idle timeout, between 1 s and 1 h.
pub fn prune_interval(idle_timeout: std::time::Duration) -> std::time::Duration {
    (idle_timeout / 10).clamp(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(3600),
    )
}

/// Deletes the sessions idle for longer than `idle_timeout` now; returns how many.
pub async fn prune(db: &Store, idle_timeout: std::time::Duration) -> sqlx::Result<u64> {
    let idle = i64::try_from(idle_timeout.as_secs()).unwrap_or(i64::MAX);
    db::sessions::delete_idle(db, util::now_unix().saturating_sub(idle)).await
}

/// Prunes idle sessions at start and then every [`prune_interval`] until `shutdown`
/// completes.
pub async fn run_pruner(
    db: Store,
    idle_timeout: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    util::every(prune_interval(idle_timeout), shutdown, || async {
        match prune(&db, idle_timeout).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(sessions = pruned, "pruned idle sessions"),
            Err(error) => tracing::error!(%error, "pruning idle sessions failed"),
        }
    })
    .await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_prune_interval_is_a_tenth_of_the_idle_timeout_within_bounds() {
        assert_eq!(
            prune_interval(Duration::from_secs(2)),
            Duration::from_secs(1)
        );
        assert_eq!(
            prune_interval(Duration::from_secs(600)),
            Duration::from_secs(60)
        );
        assert_eq!(
            prune_interval(Duration::from_secs(12 * 3600)),
            Duration::from_secs(3600)
        );
    }
}
