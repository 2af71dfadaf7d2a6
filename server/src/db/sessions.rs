//! Queries on `sessions`. A session is found by the SHA-256 of its cookie value.

use sqlx::SqlitePool;

/// Starts a session for `user_id`.
pub async fn insert(
    db: &SqlitePool,
    id_hash: &[u8],
    user_id: i64,
    created_at: &str,
    now_unix: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
    )
    .bind(id_hash)
    .bind(user_id)
    .bind(created_at)
    .bind(now_unix)
    .execute(db)
    .await?;
    Ok(())
}

/// A live session: (user id, username, last seen in unix seconds).
pub async fn find(db: &SqlitePool, id_hash: &[u8]) -> sqlx::Result<Option<(i64, String, i64)>> {
    sqlx::query_as(
        "SELECT u.id, u.username, s.last_seen_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id_hash = ?",
    )
    .bind(id_hash)
    .fetch_optional(db)
    .await
}

/// Marks the session as used at `now_unix`.
pub async fn touch(db: &SqlitePool, id_hash: &[u8], now_unix: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?")
        .bind(now_unix)
        .bind(id_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends the session.
pub async fn delete(db: &SqlitePool, id_hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
        .bind(id_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Removes every session idle since before `cutoff_unix`.
pub async fn delete_idle(db: &SqlitePool, cutoff_unix: i64) -> sqlx::Result<u64> {
    let result = sqlx::query("DELETE FROM sessions WHERE last_seen_at < ?")
        .bind(cutoff_unix)
        .execute(db)
        .await?;
    Ok(result.rows_affected())
}

/// Ends every session of `username` (its password changed).
pub async fn delete_for_username(db: &SqlitePool, username: &str) -> sqlx::Result<u64> {
    let result = sqlx::query(
        "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE username = ?)",
    )
    .bind(username)
    .execute(db)
    .await?;
    Ok(result.rows_affected())
}
