//! Queries on `users` (UI accounts; passwords as argon2id PHC strings).

use sqlx::SqlitePool;

/// The id and password hash of `username`.
pub async fn find(db: &SqlitePool, username: &str) -> sqlx::Result<Option<(i64, String)>> {
    sqlx::query_as("SELECT id, password_hash FROM users WHERE username = ?")
        .bind(username)
        .fetch_optional(db)
        .await
}

/// Creates `username`, or replaces its password hash when it exists.
pub async fn upsert(
    db: &SqlitePool,
    username: &str,
    password_hash: &str,
    created_at: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?)
         ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
    )
    .bind(username)
    .bind(password_hash)
    .bind(created_at)
    .execute(db)
    .await?;
    Ok(())
}
