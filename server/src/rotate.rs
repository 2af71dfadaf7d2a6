//! `uniform rotate-key`: re-seal every secret value under a new master key in one
//! transaction. Run it while the server is stopped.
//!
//! With a key file, the order makes every crash recoverable: the old key is copied to
//! `master.key.old`, the new key written to `master.key`, the re-seal committed, and only
//! then `master.key.old` removed (start-up uses a leftover `master.key.old` to open values
//! still sealed under it). With `UNIFORM_MASTER_KEY`, the new key is printed on stdout for
//! the operator to set once the re-seal has committed.

use crate::config::Config;
use crate::crypto::{self, secret_aad, KeySource, Keyring, MasterKey};
use crate::error::StartupError;
use crate::startup::{ensure_data_dir, load_keyring, OLD_KEY_FILE};

/// What a rotation did.
pub struct Rotation {
    /// How many values were re-sealed.
    pub resealed: usize,
    /// The new key.
    pub key: MasterKey,
    /// Where the new key was written, or `None` when it came from `UNIFORM_MASTER_KEY`
    /// (then the caller prints it).
    pub written_to: Option<std::path::PathBuf>,
}

/// Rotates the master key of the installation `config` describes.
pub async fn rotate_key(config: &Config) -> Result<Rotation, StartupError> {
    ensure_data_dir(&config.data_dir)?;
    let db = crate::db::open(&config.database_url()).await?;
    let old = load_keyring(config, &db).await?;
    let source = crypto::load_or_create_master_key(config.master_key.as_deref(), &config.data_dir)
        .map_err(|e| StartupError::other(e.to_string()))?
        .source;
    let new_key = MasterKey::generate();
    let new = Keyring::new(new_key.clone());
    let db_error = |e: sqlx::Error| StartupError::new("--database-url", e.to_string());

    let mut tx = crate::db::write_tx(&db).await.map_err(db_error)?;
    let sealed = crate::db::secrets::all_sealed(&db)
        .await
        .map_err(db_error)?;
    for (name, key, blob) in &sealed {
        let aad = secret_aad(name, key);
        let value = old.open(&aad, blob).map_err(|e| {
            StartupError::other(format!("cannot open secret {name} key {key}: {e}"))
        })?;
        crate::db::secrets::set_value(&mut tx, name, key, &new.seal(&aad, &value))
            .await
            .map_err(db_error)?;
    }

    let written_to = match source {
        KeySource::File(path) => {
            let old_path = config.data_dir.join(OLD_KEY_FILE);
            let io = |what: &str, e: std::io::Error| StartupError::other(format!("{what}: {e}"));
            crypto::write_key_file(&old_path, old.current())
                .map_err(|e| io(&format!("cannot write {}", old_path.display()), e))?;
            crypto::write_key_file(&path, &new_key)
                .map_err(|e| io(&format!("cannot write {}", path.display()), e))?;
            tx.commit().await.map_err(db_error)?;
            std::fs::remove_file(&old_path)
                .map_err(|e| io(&format!("cannot remove {}", old_path.display()), e))?;
            Some(path)
        }
        KeySource::Env => {
            tx.commit().await.map_err(db_error)?;
            None
        }
    };
    db.close().await;
    Ok(Rotation {
        resealed: sealed.len(),
        key: new_key,
        written_to,
    })
}
