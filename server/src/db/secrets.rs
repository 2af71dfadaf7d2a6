//! Queries on `secrets` and `secret_values`. Values arrive and leave sealed; nothing here
//! ever sees plaintext.

use super::{Store, Tx};

/// A secret with its key names (sorted).
#[derive(Debug, Clone)]
pub struct SecretRow {
    pub name: String,
    pub scope: String,
    pub keys: Vec<String>,
}

/// Secrets matching the optional filters, sorted by name, with their keys.
pub async fn list(
    db: &Store,
    name: Option<&str>,
    scope: Option<&str>,
) -> sqlx::Result<Vec<SecretRow>> {
    let rows: Vec<(String, String, Option<String>)> = on!(db, |c| sqlx::query_as(
        "SELECT s.name, s.scope, v.key
         FROM secrets s LEFT JOIN secret_values v ON v.secret_name = s.name
         WHERE ($1 IS NULL OR s.name = $1) AND ($2 IS NULL OR s.scope = $2)
         ORDER BY s.name, v.key",
    )
    .bind(name)
    .bind(scope)
    .fetch_all(c)
    .await)?;
    let mut secrets: Vec<SecretRow> = Vec::new();
    for (name, scope, key) in rows {
        match secrets.last_mut() {
            Some(last) if last.name == name => last.keys.extend(key),
            _ => secrets.push(SecretRow {
                name,
                scope,
                keys: key.into_iter().collect(),
            }),
        }
    }
    Ok(secrets)
}

/// The scope of secret `name`, when it exists.
pub async fn scope_of(tx: &mut Tx, name: &str) -> sqlx::Result<Option<String>> {
    on!(&mut *tx, |c| sqlx::query_scalar(
        "SELECT scope FROM secrets WHERE name = $1"
    )
    .bind(name)
    .fetch_optional(c)
    .await)
}

/// The sealed values of secret `name`, by key.
pub async fn sealed_values(tx: &mut Tx, name: &str) -> sqlx::Result<Vec<(String, Vec<u8>)>> {
    on!(&mut *tx, |c| sqlx::query_as(
        "SELECT key, sealed FROM secret_values WHERE secret_name = $1 ORDER BY key"
    )
    .bind(name)
    .fetch_all(c)
    .await)
}

/// The sealed value of `name`.`key`.
pub async fn sealed_value(db: &Store, name: &str, key: &str) -> sqlx::Result<Option<Vec<u8>>> {
    on!(db, |c| sqlx::query_scalar(
        "SELECT sealed FROM secret_values WHERE secret_name = $1 AND key = $2"
    )
    .bind(name)
    .bind(key)
    .fetch_optional(c)
    .await)
}

/// The sealed values of every secret in one scope, by (secret name, key), as read at one
/// configuration version.
pub struct ScopeValues {
    scope: String,
    values: std::collections::HashMap<(String, String), Vec<u8>>,
}

impl ScopeValues {
    /// The sealed value of `name`.`key`, when the secret is in this scope and has the key.
    pub fn get(&self, name: &str, key: &str) -> Option<&[u8]> {
        self.values
            .get(&(name.to_string(), key.to_string()))
            .map(Vec::as_slice)
    }
}

/// The sealed values of scope `scope` from memory while the configuration did not change
/// (secret writes count as changes): the sender reads them for every delivery. Only sealed
/// blobs are kept; each is opened when a request is rendered.
pub async fn scope_values_recent(
    db: &Store,
    scope: &str,
) -> sqlx::Result<std::sync::Arc<ScopeValues>> {
    // Read before loading: a write landing meanwhile leaves a copy marked stale.
    let version = db.recent_version().await?;
    if let Some(cached) = db.derived::<ScopeValues>(version) {
        if cached.scope == scope {
            return Ok(cached);
        }
    }
    let rows: Vec<(String, String, Vec<u8>)> = on!(db, |c| sqlx::query_as(
        "SELECT v.secret_name, v.key, v.sealed FROM secret_values v
         JOIN secrets s ON s.name = v.secret_name WHERE s.scope = $1"
    )
    .bind(scope)
    .fetch_all(c)
    .await)?;
    let fresh = std::sync::Arc::new(ScopeValues {
        scope: scope.to_string(),
        values: rows
            .into_iter()
            .map(|(name, key, sealed)| ((name, key), sealed))
            .collect(),
    });
    db.set_derived(version, fresh.clone());
    Ok(fresh)
}

/// Every stored value: (secret name, key, sealed blob); on the pool, a connection or in a
/// transaction.
pub async fn all_sealed<'a>(
    db: impl Into<super::Target<'a>>,
) -> sqlx::Result<Vec<(String, String, Vec<u8>)>> {
    let db: super::Target<'a> = db.into();
    on!(db, |c| sqlx::query_as(
        "SELECT secret_name, key, sealed FROM secret_values ORDER BY secret_name, key"
    )
    .fetch_all(c)
    .await)
}

/// Adds secret `name`.
pub async fn insert(tx: &mut Tx, name: &str, scope: &str, now: &str) -> sqlx::Result<()> {
    on!(&mut *tx, |c| sqlx::query(
        "INSERT INTO secrets (name, scope, created_at, updated_at) VALUES ($1, $2, $3, $4)"
    )
    .bind(name)
    .bind(scope)
    .bind(now)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Sets the scope and update time of secret `name`.
pub async fn update(tx: &mut Tx, name: &str, scope: &str, now: &str) -> sqlx::Result<()> {
    on!(&mut *tx, |c| sqlx::query(
        "UPDATE secrets SET scope = $1, updated_at = $2 WHERE name = $3"
    )
    .bind(scope)
    .bind(now)
    .bind(name)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Replaces every value of secret `name` with `values` (key, sealed blob).
pub async fn replace_values(
    tx: &mut Tx,
    name: &str,
    values: &[(String, Vec<u8>)],
) -> sqlx::Result<()> {
    on!(&mut *tx, |c| sqlx::query(
        "DELETE FROM secret_values WHERE secret_name = $1"
    )
    .bind(name)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    for (key, sealed) in values {
        set_value(tx, name, key, sealed).await?;
    }
    Ok(())
}

/// Stores the sealed value of `name`.`key`, replacing any previous one.
pub async fn set_value(tx: &mut Tx, name: &str, key: &str, sealed: &[u8]) -> sqlx::Result<()> {
    on!(&mut *tx, |c| sqlx::query(
        "INSERT INTO secret_values (secret_name, key, sealed) VALUES ($1, $2, $3)
         ON CONFLICT (secret_name, key) DO UPDATE SET sealed = excluded.sealed",
    )
    .bind(name)
    .bind(key)
    .bind(sealed)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Deletes secret `name` and its values.
pub async fn delete(tx: &mut Tx, name: &str) -> sqlx::Result<()> {
    on!(&mut *tx, |c| sqlx::query(
        "DELETE FROM secrets WHERE name = $1"
    )
    .bind(name)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
