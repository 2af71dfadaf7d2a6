//! Access control: API tokens for `/api/`, the `admin` login and sessions for the UI, the
//! CSRF and security-header middleware, and the bootstrap of the first token and password.

pub mod login;
pub mod middleware;
pub mod passwords;
pub mod sessions;
pub mod tokens;

use std::path::Path;

use crate::db::Store;

use crate::config::Config;
use crate::error::StartupError;
use crate::util;

/// The bootstrap user of the UI.
pub const ADMIN: &str = "admin";

/// Makes sure someone can get in: the initial API token and the `admin` password.
///
/// - `UNIFORM_API_TOKEN` set: that token is added unless it exists. Else, when no token
///   exists at all, one is generated into `<data-dir>/api-token` (0600).
/// - `UNIFORM_ADMIN_PASSWORD` set: `admin`'s password is set to it. Else, when `admin` does
///   not exist, a password is generated into `<data-dir>/admin-password` (0600).
///
/// The log says where a generated credential is, never the credential.
pub async fn bootstrap(db: &Store, config: &Config) -> Result<(), StartupError> {
    let db_error = |e: sqlx::Error| StartupError::new("--database-url", e.to_string());
    match &config.api_token {
        Some(token) if token.len() < 16 => {
            return Err(StartupError::new(
                "UNIFORM_API_TOKEN",
                "must be at least 16 characters long",
            ))
        }
        Some(token) => {
            if !tokens::exists(db, token).await.map_err(db_error)? {
                tokens::insert_token(db, "bootstrap", token)
                    .await
                    .map_err(db_error)?;
                tracing::info!("added the API token from UNIFORM_API_TOKEN (named \"bootstrap\")");
            }
        }
        None => {
            if crate::db::tokens::count(db).await.map_err(db_error)? == 0 {
                let path = config.data_dir.join("api-token");
                let token = tokens::generate();
                write_credential(&path, &token, "--data-dir")?;
                tokens::insert_token(db, "bootstrap", &token)
                    .await
                    .map_err(db_error)?;
                tracing::info!(path = %path.display(), "generated the first API token; it is in this file");
            }
        }
    }

    match &config.admin_password {
        Some(password) if password.is_empty() => {
            return Err(StartupError::new(
                "UNIFORM_ADMIN_PASSWORD",
                "must not be empty",
            ))
        }
        Some(password) => {
            let current = crate::db::users::find(db, ADMIN).await.map_err(db_error)?;
            let unchanged = match current {
                Some((_, hash)) => passwords::verify(password.clone(), hash).await,
                None => false,
            };
            if !unchanged {
                set_admin_password(db, password).await?;
                tracing::info!("set the admin password from UNIFORM_ADMIN_PASSWORD");
            }
        }
        None => {
            if crate::db::users::find(db, ADMIN)
                .await
                .map_err(db_error)?
                .is_none()
            {
                let path = config.data_dir.join("admin-password");
                let password = util::random_url_safe(18);
                write_credential(&path, &password, "--data-dir")?;
                set_admin_password(db, &password).await?;
                tracing::info!(path = %path.display(), "generated the admin password; it is in this file");
            }
        }
    }
    Ok(())
}

/// Sets `admin`'s password and ends every session opened with the previous one. Sessions
/// go first: if the password write then fails, the next start retries both.
async fn set_admin_password(db: &Store, password: &str) -> Result<(), StartupError> {
    let db_error = |e: sqlx::Error| StartupError::new("--database-url", e.to_string());
    let hash = passwords::hash(password.to_string())
        .await
        .map_err(|e| StartupError::new("UNIFORM_ADMIN_PASSWORD", e))?;
    let ended = crate::db::sessions::delete_for_username(db, ADMIN)
        .await
        .map_err(db_error)?;
    if ended > 0 {
        tracing::info!(
            sessions = ended,
            "the admin password changed: ended its sessions"
        );
    }
    crate::db::users::upsert(db, ADMIN, &hash, &util::now_rfc3339())
        .await
        .map_err(db_error)
}

fn write_credential(path: &Path, value: &str, option: &'static str) -> Result<(), StartupError> {
    util::write_private_file(path, &format!("{value}\n"))
        .map_err(|e| StartupError::new(option, format!("cannot write {}: {e}", path.display())))
}
