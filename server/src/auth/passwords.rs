//! Password hashing with argon2id, run on the blocking pool (it is deliberately slow).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// The argon2id PHC string of `password`.
pub async fn hash(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| format!("cannot hash the password: {e}"))
    })
    .await
    .map_err(|e| format!("password hashing task failed: {e}"))?
}

/// Whether `password` matches the PHC string `hash` (false on any malformed input).
pub async fn verify(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || check(&password, &hash))
        .await
        .unwrap_or(false)
}

/// [`verify`], holding `permit` until the check itself ends (even when the caller stops
/// waiting for it), so a bound on concurrent checks cannot be escaped by hanging up.
pub async fn verify_holding(
    password: String,
    hash: String,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> bool {
    tokio::task::spawn_blocking(move || {
        let valid = check(&password, &hash);
        drop(permit);
        valid
    })
    .await
    .unwrap_or(false)
}

fn check(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}
