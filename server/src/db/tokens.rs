//! Queries on `api_tokens`. Tokens are looked up by their SHA-256 hash only.

use super::Store;

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
    db: &Store,
    id: &str,
    name: &str,
    token_hash: &[u8],
    created_at: &str,
) -> sqlx::Result<()> {
    on!(db, |c| sqlx::query(
        "INSERT INTO api_tokens (id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)"
    )
    .bind(id)
    .bind(name)
    .bind(token_hash)
    .bind(created_at)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// All tokens, oldest first.
pub async fn list(db: &Store) -> sqlx::Result<Vec<TokenRow>> {
    on!(db, |c| sqlx::query_as(
        "SELECT id, name, created_at, last_used_at FROM api_tokens ORDER BY created_at, id",
    )
    .fetch_all(c)
    .await)
}

/// How many tokens exist.
pub async fn count(db: &Store) -> sqlx::Result<i64> {
    on!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_tokens"
    )
    .fetch_one(c)
    .await)
}

/// The id and stored hash of the token whose hash is `token_hash`.
pub async fn find_by_hash(
    db: &Store,
    token_hash: &[u8],
) -> sqlx::Result<Option<(String, Vec<u8>, Option<String>)>> {
    on!(db, |c| sqlx::query_as(
        "SELECT id, token_hash, last_used_at FROM api_tokens WHERE token_hash = $1"
    )
    .bind(token_hash)
    .fetch_optional(c)
    .await)
}

/// Every token: (id, hash, last used).
pub async fn all_hashes(db: &Store) -> sqlx::Result<Vec<(String, Vec<u8>, Option<String>)>> {
    on!(db, |c| sqlx::query_as(
        "SELECT id, token_hash, last_used_at FROM api_tokens"
    )
    .fetch_all(c)
    .await)
}

/// Records a use of token `id`.
pub async fn touch(db: &Store, id: &str, at: &str) -> sqlx::Result<()> {
    {
        let mut turn = db.write_turn().await?;
        on!(&mut turn, |c| sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2"
        )
        .bind(at)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    }?;
    Ok(())
}

/// Deletes token `id`; false when there was none.
pub async fn delete(db: &Store, id: &str) -> sqlx::Result<bool> {
    let result = on!(db, |c| sqlx::query("DELETE FROM api_tokens WHERE id = $1")
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(result > 0)
}
