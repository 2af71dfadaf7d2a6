//! Queries on `users` (UI accounts; passwords as argon2id PHC strings).

use super::Store;

/// The id and password hash of `username`.
pub async fn find(db: &Store, username: &str) -> sqlx::Result<Option<(i64, String)>> {
    on!(db, |c| sqlx::query_as(
        "SELECT id, password_hash FROM users WHERE username = $1"
    )
    .bind(username)
    .fetch_optional(c)
    .await)
}

/// Creates `username`, or replaces its password hash when it exists.
pub async fn upsert(
    db: &Store,
    username: &str,
    password_hash: &str,
    created_at: &str,
) -> sqlx::Result<()> {
    on!(db, |c| sqlx::query(
        "INSERT INTO users (username, password_hash, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
    )
    .bind(username)
    .bind(password_hash)
    .bind(created_at)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
