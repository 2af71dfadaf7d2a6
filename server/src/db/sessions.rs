//! Queries on `sessions`. A session is found by the SHA-256 of its cookie value.

use super::Store;

/// Starts a session for `user_id`.
pub async fn insert(
    db: &Store,
    id_hash: &[u8],
    user_id: i64,
    created_at: &str,
    now_unix: i64,
) -> sqlx::Result<()> {
    on!(db, |c| sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id_hash)
    .bind(user_id)
    .bind(created_at)
    .bind(now_unix)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A live session: (user id, username, last seen in unix seconds).
pub async fn find(db: &Store, id_hash: &[u8]) -> sqlx::Result<Option<(i64, String, i64)>> {
    on!(db, |c| sqlx::query_as(
        "SELECT u.id, u.username, s.last_seen_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id_hash = $1",
    )
    .bind(id_hash)
    .fetch_optional(c)
    .await)
}

/// Marks the session as used at `now_unix`.
pub async fn touch(db: &Store, id_hash: &[u8], now_unix: i64) -> sqlx::Result<()> {
    on!(db, |c| sqlx::query(
        "UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2"
    )
    .bind(now_unix)
    .bind(id_hash)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Ends the session.
pub async fn delete(db: &Store, id_hash: &[u8]) -> sqlx::Result<()> {
    on!(db, |c| sqlx::query(
        "DELETE FROM sessions WHERE id_hash = $1"
    )
    .bind(id_hash)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Removes every session idle since before `cutoff_unix`.
pub async fn delete_idle(db: &Store, cutoff_unix: i64) -> sqlx::Result<u64> {
    let result = on!(db, |c| sqlx::query(
        "DELETE FROM sessions WHERE last_seen_at < $1"
    )
    .bind(cutoff_unix)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(result)
}

/// Ends every session of `username` (its password changed).
pub async fn delete_for_username(db: &Store, username: &str) -> sqlx::Result<u64> {
    let result = on!(db, |c| sqlx::query(
        "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE username = $1)",
    )
    .bind(username)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(result)
}
