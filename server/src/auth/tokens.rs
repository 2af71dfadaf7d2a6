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
    db.changed().await?;
    Ok((id, created_at))
}

/// Whether `token` is a stored token.
pub async fn exists(db: &Store, token: &str) -> sqlx::Result<bool> {
    Ok(db::tokens::find_by_hash(db, &util::sha256(token))
        .await?
        .is_some())
}

/// The stored tokens by hash, as read at one configuration version (token writes count as
/// changes), with when each was last recorded as used: checking a token reads no row.
struct Known {
    by_hash: std::collections::HashMap<
        Vec<u8>,
        (String, std::sync::Mutex<Option<time::OffsetDateTime>>),
    >,
}

/// The tokens from memory while nothing changed; on PostgreSQL the version is read from the
/// database every time, so a token revoked through another replica stops working at once.
async fn known(db: &Store) -> sqlx::Result<std::sync::Arc<Known>> {
    // Read before loading: a write landing meanwhile leaves a copy marked stale.
    let version = db.version().await?;
    if let Some(cached) = db.derived::<Known>(version) {
        return Ok(cached);
    }
    let fresh = std::sync::Arc::new(Known {
        by_hash: db::tokens::all_hashes(db)
            .await?
            .into_iter()
            .map(|(id, hash, last_used_at)| {
                let last = last_used_at.and_then(|at| util::parse_rfc3339(&at));
                (hash, (id, std::sync::Mutex::new(last)))
            })
            .collect(),
    });
    db.set_derived(version, fresh.clone());
    Ok(fresh)
}

/// The id of the token `presented`, recording its use, or `None` when it is not valid.
pub async fn authenticate(db: &Store, presented: &str) -> sqlx::Result<Option<String>> {
    let hash = util::sha256(presented);
    let known = known(db).await?;
    let Some((stored, (id, last_used))) = known.by_hash.get_key_value(&hash) else {
        return Ok(None);
    };
    if !bool::from(stored.ct_eq(&hash)) {
        return Ok(None);
    }
    // "Last used" to the minute: a write per API call would double the writes of ingest.
    let now = time::OffsetDateTime::now_utc();
    let stale = {
        let mut last = last_used.lock().unwrap_or_else(|e| e.into_inner());
        let stale = !last.is_some_and(|at| now - at < time::Duration::minutes(1));
        if stale {
            *last = Some(now);
        }
        stale
    };
    if stale {
        db::tokens::touch(db, id, &util::rfc3339(now)).await?;
    }
    Ok(Some(id.clone()))
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
        db.changed().await?;
        tracing::info!(token_id = %id, "API token revoked");
        Ok(())
    } else {
        Err(DomainError::NotFound(format!("no API token with id {id}")))
    }
}
