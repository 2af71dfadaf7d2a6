//! API tokens: generated with 32 random bytes, stored as SHA-256 only, checked in constant
//! time. The operations here serve both the REST API and the API tokens page.

use crate::db::Store;
use subtle::ConstantTimeEq as _;

use crate::db;
use crate::error::DomainError;
use crate::util;

/// Longest token name accepted.
pub const MAX_NAME_LEN: usize = 100;

/// A new random token: `uni_` + 32 random bytes, URL-safe base64.
pub fn generate() -> String {
    format!("uni_{}", util::random_url_safe(32))
}

/// Stores `token` (its hash) under `name`; returns (id, created at).
pub async fn insert_token(db: &Store, name: &str, token: &str) -> sqlx::Result<(String, String)> {
    let id = uuid::Uuid::new_v4().to_string();
    let created_at = util::now_rfc3339();
    db::tokens::insert(db, &id, name, &util::sha256(token), &created_at).await?;
    Ok((id, created_at))
}

/// Whether `token` is a stored token.
pub async fn exists(db: &Store, token: &str) -> sqlx::Result<bool> {
    Ok(db::tokens::find_by_hash(db, &util::sha256(token))
        .await?
        .is_some())
}

/// The id of the token `presented`, recording its use, or `None` when it is not valid.
pub async fn authenticate(db: &Store, presented: &str) -> sqlx::Result<Option<String>> {
    let hash = util::sha256(presented);
    let Some((id, stored, last_used_at)) = db::tokens::find_by_hash(db, &hash).await? else {
        return Ok(None);
    };
    if !bool::from(stored.ct_eq(&hash)) {
        return Ok(None);
    }
    // "Last used" to the minute: a write per API call would double the writes of ingest.
    let now = time::OffsetDateTime::now_utc();
    let fresh = last_used_at
        .and_then(|at| util::parse_rfc3339(&at))
        .is_some_and(|at| now - at < time::Duration::minutes(1));
    if !fresh {
        db::tokens::touch(db, &id, &util::rfc3339(now)).await?;
    }
    Ok(Some(id))
}

/// Creates a token named `name`; the answer carries the plaintext, the only time it exists.
pub async fn create(db: &Store, name: &str) -> Result<app::model::NewToken, DomainError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DomainError::invalid("name", "Must not be empty"));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(DomainError::invalid(
            "name",
            format!("Name must not have more than {MAX_NAME_LEN} characters"),
        ));
    }
    let token = generate();
    let (id, created_at) = insert_token(db, name, &token).await?;
    tracing::info!(token_id = %id, name, "API token created");
    Ok(app::model::NewToken {
        id,
        name: name.to_string(),
        token,
        created_at,
    })
}

/// Every token, oldest first.
pub async fn list(db: &Store) -> Result<Vec<app::model::TokenInfo>, DomainError> {
    Ok(db::tokens::list(db)
        .await?
        .into_iter()
        .map(|row| app::model::TokenInfo {
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        })
        .collect())
}

/// Revokes token `id`; it stops working at once.
pub async fn revoke(db: &Store, id: &str) -> Result<(), DomainError> {
    if db::tokens::delete(db, id).await? {
        tracing::info!(token_id = %id, "API token revoked");
        Ok(())
    } else {
        Err(DomainError::NotFound(format!("no API token with id {id}")))
    }
}
