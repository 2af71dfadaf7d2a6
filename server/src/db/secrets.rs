//! Queries on `secrets` and `secret_values`. Values arrive and leave sealed; nothing here
//! ever sees plaintext.

use sqlx::{Sqlite, SqlitePool, Transaction};

/// A secret with its key names (sorted).
#[derive(Debug, Clone)]
pub struct SecretRow {
    pub name: String,
    pub scope: String,
    pub keys: Vec<String>,
}

/// Secrets matching the optional filters, sorted by name, with their keys.
pub async fn list(
    db: &SqlitePool,
    name: Option<&str>,
    scope: Option<&str>,
) -> sqlx::Result<Vec<SecretRow>> {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT s.name, s.scope, v.key
         FROM secrets s LEFT JOIN secret_values v ON v.secret_name = s.name
         WHERE (?1 IS NULL OR s.name = ?1) AND (?2 IS NULL OR s.scope = ?2)
         ORDER BY s.name, v.key",
    )
    .bind(name)
    .bind(scope)
    .fetch_all(db)
    .await?;
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
pub async fn scope_of(
    tx: &mut Transaction<'_, Sqlite>,
    name: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT scope FROM secrets WHERE name = ?")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await
}

/// The sealed values of secret `name`, by key.
pub async fn sealed_values(
    tx: &mut Transaction<'_, Sqlite>,
    name: &str,
) -> sqlx::Result<Vec<(String, Vec<u8>)>> {
    sqlx::query_as("SELECT key, sealed FROM secret_values WHERE secret_name = ? ORDER BY key")
        .bind(name)
        .fetch_all(&mut **tx)
        .await
}

/// The sealed value of `name`.`key`.
pub async fn sealed_value(db: &SqlitePool, name: &str, key: &str) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT sealed FROM secret_values WHERE secret_name = ? AND key = ?")
        .bind(name)
        .bind(key)
        .fetch_optional(db)
        .await
}

/// Every stored value: (secret name, key, sealed blob); on the pool, a connection or in a
/// transaction.
pub async fn all_sealed<'e>(
    db: impl sqlx::SqliteExecutor<'e>,
) -> sqlx::Result<Vec<(String, String, Vec<u8>)>> {
    sqlx::query_as("SELECT secret_name, key, sealed FROM secret_values ORDER BY secret_name, key")
        .fetch_all(db)
        .await
}

/// Adds secret `name`.
pub async fn insert(
    tx: &mut Transaction<'_, Sqlite>,
    name: &str,
    scope: &str,
    now: &str,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO secrets (name, scope, created_at, updated_at) VALUES (?, ?, ?, ?)")
        .bind(name)
        .bind(scope)
        .bind(now)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Sets the scope and update time of secret `name`.
pub async fn update(
    tx: &mut Transaction<'_, Sqlite>,
    name: &str,
    scope: &str,
    now: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE secrets SET scope = ?, updated_at = ? WHERE name = ?")
        .bind(scope)
        .bind(now)
        .bind(name)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Replaces every value of secret `name` with `values` (key, sealed blob).
pub async fn replace_values(
    tx: &mut Transaction<'_, Sqlite>,
    name: &str,
    values: &[(String, Vec<u8>)],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM secret_values WHERE secret_name = ?")
        .bind(name)
        .execute(&mut **tx)
        .await?;
    for (key, sealed) in values {
        set_value(tx, name, key, sealed).await?;
    }
    Ok(())
}

/// Stores the sealed value of `name`.`key`, replacing any previous one.
pub async fn set_value(
    tx: &mut Transaction<'_, Sqlite>,
    name: &str,
    key: &str,
    sealed: &[u8],
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO secret_values (secret_name, key, sealed) VALUES (?, ?, ?)
         ON CONFLICT (secret_name, key) DO UPDATE SET sealed = excluded.sealed",
    )
    .bind(name)
    .bind(key)
    .bind(sealed)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes secret `name` and its values.
pub async fn delete(tx: &mut Transaction<'_, Sqlite>, name: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM secrets WHERE name = ?")
        .bind(name)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
