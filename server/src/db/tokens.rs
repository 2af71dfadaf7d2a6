//! Queries on `api_tokens`. Tokens are looked up by their SHA-256 hash only.

use sqlx::SqlitePool;

/// A token as listed (never the token itself).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// Adds a token.
pub async fn insert(
    db: &SqlitePool,
    id: &str,
    name: &str,
    token_hash: &[u8],
    created_at: &str,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO api_tokens (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)")
        .bind(id)
        .bind(name)
        .bind(token_hash)
        .bind(created_at)
        .execute(db)
        .await?;
    Ok(())
}

/// All tokens, oldest first.
pub async fn list(db: &SqlitePool) -> sqlx::Result<Vec<TokenRow>> {
    sqlx::query_as(
        "SELECT id, name, created_at, last_used_at FROM api_tokens ORDER BY created_at, id",
    )
    .fetch_all(db)
    .await
}

/// How many tokens exist.
pub async fn count(db: &SqlitePool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens")
        .fetch_one(db)
        .await
}

/// The id and stored hash of the token whose hash is `token_hash`.
pub async fn find_by_hash(
    db: &SqlitePool,
    token_hash: &[u8],
) -> sqlx::Result<Option<(String, Vec<u8>, Option<String>)>> {
    sqlx::query_as("SELECT id, token_hash, last_used_at FROM api_tokens WHERE token_hash = ?")
        .bind(token_hash)
        .fetch_optional(db)
        .await
}

/// Records a use of token `id`.
pub async fn touch(db: &SqlitePool, id: &str, at: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?")
        .bind(at)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes token `id`; false when there was none.
pub async fn delete(db: &SqlitePool, id: &str) -> sqlx::Result<bool> {
    let result = sqlx::query("DELETE FROM api_tokens WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(result.rows_affected() > 0)
}
