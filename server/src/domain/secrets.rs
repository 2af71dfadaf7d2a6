//! Secrets: validation (Keptn's rules and messages), sealing every value under the master
//! key with its place as associated data, and the create / update / delete / list rules.
//! Values are never returned; plaintext exists only in [`SecretValue`]s while being sealed.

use crate::db::Store;

use crate::crypto::{secret_aad, Keyring, SecretValue};
use crate::db;
use crate::error::DomainError;
use crate::util;

/// The scopes a secret can have, sorted.
pub const SCOPES: [&str; 4] = [
    "dynatrace-service",
    "keptn-default",
    "keptn-prometheus-service",
    "keptn-webhook-service",
];
/// The scope of a secret created without one.
pub const DEFAULT_SCOPE: &str = "keptn-default";
/// Largest value, in bytes.
pub const MAX_VALUE_LEN: usize = 64 * 1024;

use app::validation::EMPTY_MESSAGE;

/// One key of a secret as submitted, with the names of the fields it came from so errors
/// land next to the right input (UI: `key-<i>` / `value-<i>`; API: `data`).
pub struct Entry {
    pub key: String,
    /// `None` on update means "keep the stored value".
    pub value: Option<SecretValue>,
    pub key_field: String,
    pub value_field: String,
}

/// A secret as submitted to create or update.
pub struct Submission {
    pub name: String,
    /// `None` or empty: the default scope on create, the current scope on update.
    pub scope: Option<String>,
    pub entries: Vec<Entry>,
}

/// A secret as listed.
pub type SecretInfo = app::model::SecretInfo;

/// Checks a secret's name (the rule the secret form applies as the user types).
pub fn validate_name(name: &str) -> Result<(), DomainError> {
    match app::validation::secret_name_error(name) {
        Some(message) => Err(DomainError::invalid("name", message)),
        None => Ok(()),
    }
}

fn validate_scope(scope: &str) -> Result<(), DomainError> {
    if SCOPES.contains(&scope) {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "scope",
            format!(
                "Unknown scope {scope:?}; it must be one of {}",
                SCOPES.join(", ")
            ),
        ))
    }
}

fn validate_entries(entries: &[Entry], update: bool) -> Result<(), DomainError> {
    if entries.is_empty() {
        return Err(DomainError::invalid(
            "data",
            "At least one key-value pair is required",
        ));
    }
    for (index, entry) in entries.iter().enumerate() {
        let earlier = entries[..index].iter().map(|e| e.key.as_str());
        if let Some(message) = app::validation::secret_key_error(&entry.key, earlier) {
            return Err(DomainError::invalid(entry.key_field.clone(), message));
        }
        match &entry.value {
            None if !update => {
                return Err(DomainError::invalid(
                    entry.value_field.clone(),
                    EMPTY_MESSAGE,
                ))
            }
            Some(value) if value.is_empty() => {
                return Err(DomainError::invalid(
                    entry.value_field.clone(),
                    EMPTY_MESSAGE,
                ))
            }
            Some(value) if value.len() > MAX_VALUE_LEN => {
                return Err(DomainError::invalid(
                    entry.value_field.clone(),
                    "Value must not be larger than 64 KiB",
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Secrets matching the optional filters, sorted by name (keys sorted).
pub async fn list(
    db: &Store,
    name: Option<&str>,
    scope: Option<&str>,
) -> Result<Vec<SecretInfo>, DomainError> {
    Ok(db::secrets::list(db, name, scope)
        .await?
        .into_iter()
        .map(|row| SecretInfo {
            name: row.name,
            scope: row.scope,
            keys: row.keys,
        })
        .collect())
}

/// Secret `name`, or `NotFound`.
pub async fn get(db: &Store, name: &str) -> Result<SecretInfo, DomainError> {
    list(db, Some(name), None)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| DomainError::NotFound(format!("secret {name} not found")))
}

/// Creates a secret; `Conflict("secret already exists")` when the name is taken.
pub async fn create(
    db: &Store,
    keyring: &Keyring,
    submission: Submission,
) -> Result<SecretInfo, DomainError> {
    validate_name(&submission.name)?;
    let scope = submission
        .scope
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_SCOPE.to_string());
    validate_scope(&scope)?;
    validate_entries(&submission.entries, false)?;
    let name = submission.name;
    let sealed = seal_all(keyring, &name, &submission.entries);

    let mut tx = db.write_tx().await?;
    if db::secrets::scope_of(&mut tx, &name).await?.is_some() {
        return Err(DomainError::Conflict("secret already exists".to_string()));
    }
    let now = util::now_rfc3339();
    db::secrets::insert(&mut tx, &name, &scope, &now).await?;
    db::secrets::replace_values(&mut tx, &name, &sealed).await?;
    tx.commit().await?;
    // The sender keeps sealed values in memory (by configuration version).
    db.changed().await?;
    tracing::info!(secret = %name, %scope, keys = sealed.len(), "secret created");
    Ok(info(name, scope, &sealed))
}

/// Replaces the key set of secret `name` (entries without a value keep the stored one);
/// `NotFound` when it does not exist.
pub async fn update(
    db: &Store,
    keyring: &Keyring,
    submission: Submission,
) -> Result<SecretInfo, DomainError> {
    validate_name(&submission.name)?;
    if let Some(scope) = submission.scope.as_deref().filter(|s| !s.is_empty()) {
        validate_scope(scope)?;
    }
    validate_entries(&submission.entries, true)?;
    let name = submission.name;

    let mut tx = db.write_tx().await?;
    let Some(current_scope) = db::secrets::scope_of(&mut tx, &name).await? else {
        return Err(DomainError::NotFound("secret not found".to_string()));
    };
    let stored = db::secrets::sealed_values(&mut tx, &name).await?;
    let mut values = Vec::with_capacity(submission.entries.len());
    for entry in &submission.entries {
        let sealed = match &entry.value {
            Some(value) => keyring.seal(&secret_aad(&name, &entry.key), value),
            None => match stored.iter().find(|(key, _)| *key == entry.key) {
                Some((_, sealed)) => sealed.clone(),
                None => {
                    return Err(DomainError::invalid(
                        entry.value_field.clone(),
                        EMPTY_MESSAGE,
                    ))
                }
            },
        };
        values.push((entry.key.clone(), sealed));
    }
    let scope = submission
        .scope
        .filter(|s| !s.is_empty())
        .unwrap_or(current_scope);
    if scope != app::model::WEBHOOK_SCOPE {
        refuse_if_used(db, &name, "moved out of scope keptn-webhook-service").await?;
    }
    // A key a subscription reads cannot disappear (removed, or renamed: the old key goes).
    for (key, _) in &stored {
        if submission.entries.iter().all(|entry| entry.key != *key) {
            refuse_if_key_used(db, &name, key).await?;
        }
    }
    db::secrets::update(&mut tx, &name, &scope, &util::now_rfc3339()).await?;
    db::secrets::replace_values(&mut tx, &name, &values).await?;
    tx.commit().await?;
    // The sender keeps sealed values in memory (by configuration version).
    db.changed().await?;
    tracing::info!(secret = %name, %scope, keys = values.len(), "secret updated");
    Ok(info(name, scope, &values))
}

/// Deletes secret `name` of `scope`; `NotFound` when there is no such secret in that scope.
pub async fn delete(db: &Store, name: &str, scope: &str) -> Result<(), DomainError> {
    let mut tx = db.write_tx().await?;
    match db::secrets::scope_of(&mut tx, name).await? {
        Some(found) if found == scope => {}
        _ => {
            return Err(DomainError::NotFound(format!(
                "secret {name} not found in scope {scope}"
            )))
        }
    }
    refuse_if_used(db, name, "deleted").await?;
    db::secrets::delete(&mut tx, name).await?;
    tx.commit().await?;
    // The sender keeps sealed values in memory (by configuration version).
    db.changed().await?;
    tracing::info!(secret = %name, %scope, "secret deleted");
    Ok(())
}

/// `Conflict` naming the subscriptions that reference secret `name` (label and id), if any.
async fn refuse_if_used(db: &Store, name: &str, action: &str) -> Result<(), DomainError> {
    let users = crate::domain::integrations::subscriptions_using_secret(db, name).await?;
    if users.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Conflict(format!(
            "secret {name} cannot be {action}: it is used by {}",
            users.join(", ")
        )))
    }
}

/// `Conflict` naming the subscriptions that reference key `key` of secret `name`, if any.
async fn refuse_if_key_used(db: &Store, name: &str, key: &str) -> Result<(), DomainError> {
    let keys = [key.to_string()];
    let users =
        crate::domain::integrations::subscriptions_using_secret_keys(db, name, Some(&keys)).await?;
    if users.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Conflict(format!(
            "key {key} of secret {name} cannot be removed or renamed: it is used by {}",
            users.join(", ")
        )))
    }
}

/// Opens the value of `name`.`key` (for rendering a request, just in time).
pub async fn open_value(
    db: &Store,
    keyring: &Keyring,
    name: &str,
    key: &str,
) -> Result<Option<SecretValue>, DomainError> {
    let Some(sealed) = db::secrets::sealed_value(db, name, key).await? else {
        return Ok(None);
    };
    keyring
        .open(&secret_aad(name, key), &sealed)
        .map(Some)
        .map_err(|e| DomainError::Internal(format!("cannot open secret {name}.{key}: {e}")))
}

fn seal_all(keyring: &Keyring, name: &str, entries: &[Entry]) -> Vec<(String, Vec<u8>)> {
    entries
        .iter()
        .filter_map(|entry| {
            entry.value.as_ref().map(|value| {
                (
                    entry.key.clone(),
                    keyring.seal(&secret_aad(name, &entry.key), value),
                )
            })
        })
        .collect()
}

fn info(name: String, scope: String, values: &[(String, Vec<u8>)]) -> SecretInfo {
    let mut keys: Vec<String> = values.iter().map(|(key, _)| key.clone()).collect();
    keys.sort();
    SecretInfo { name, scope, keys }
}
