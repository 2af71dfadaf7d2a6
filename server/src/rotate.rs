//! `uniform rotate-key`: re-seal every secret value under a new master key in one
//! transaction. It refuses to run while a server holds the data directory's lock.
//!
//! With a key file, the order makes every failure recoverable: the old key is copied to
//! `master.key.old`, the new key written to `master.key`, the re-seal committed, and only
//! then `master.key.old` removed (start-up uses a leftover `master.key.old` to open values
//! still sealed under it). A run that finds a `master.key.old` still needed by a sealed
//! value finishes that interrupted rotation instead: it re-seals under the key in
//! `master.key` and writes no key file, so the only key that opens those values is never
//! overwritten, however many runs fail.
//!
//! With `UNIFORM_MASTER_KEY`, the new key is written to the given output (stdout) before
//! the re-seal commits; when it cannot be written, nothing is committed.

use std::io::Write;

use crate::config::Config;
use crate::crypto::{self, secret_aad, KeySource, Keyring, MasterKey};
use crate::error::StartupError;
use crate::startup::{load_keyring, DataDirLock, LockHolder, OLD_KEY_FILE};

/// What a rotation did.
pub struct Rotation {
    /// How many values were re-sealed.
    pub resealed: usize,
    /// The key every value is now sealed under.
    pub key: MasterKey,
    /// Where that key is, or `None` when the key comes from `UNIFORM_MASTER_KEY` (it was
    /// then written to the output).
    pub written_to: Option<std::path::PathBuf>,
    /// Whether this run finished an interrupted rotation (re-sealing under the key already
    /// in `master.key`) rather than making a new key.
    pub finished_interrupted: bool,
}

/// Rotates the master key of the installation `config` describes; with
/// `UNIFORM_MASTER_KEY`, the new key is printed on stdout (see [`rotate_key_with_output`]).
pub async fn rotate_key(config: &Config) -> Result<Rotation, StartupError> {
    rotate_key_with_output(config, &mut std::io::stdout()).await
}

/// Rotates the master key; with `UNIFORM_MASTER_KEY`, the new key (base64 and a newline)
/// is written and flushed to `out` before the re-seal commits, and a failure to write it
/// aborts the rotation with nothing changed.
pub async fn rotate_key_with_output(
    config: &Config,
    out: &mut impl Write,
) -> Result<Rotation, StartupError> {
    let _lock = DataDirLock::acquire(&config.data_dir, LockHolder::RotateKey)?;
    let old = load_keyring(config).await?;
    let source = crypto::load_or_create_master_key(config.master_key.as_deref(), &config.data_dir)
        .map_err(|e| StartupError::other(e.to_string()))?
        .source;
    let db = crate::db::open(&config.database_url()).await?;
    let result = rotate_in(config, &db, &old, source, out).await;
    db.close().await;
    result
}

async fn rotate_in(
    config: &Config,
    db: &crate::db::Store,
    old: &Keyring,
    source: KeySource,
    out: &mut impl Write,
) -> Result<Rotation, StartupError> {
    let db_error = |e: sqlx::Error| StartupError::new("--database-url", e.to_string());
    let mut tx = db.write_tx().await.map_err(db_error)?;
    let sealed = crate::db::secrets::all_sealed(&mut *tx)
        .await
        .map_err(db_error)?;

    // A previous key still needed by a stored value means an earlier run did not commit:
    // finish it under the key already in `master.key` and touch no key file.
    let still_needed = old.previous().iter().any(|previous| {
        sealed
            .iter()
            .any(|(_, _, blob)| crypto::key_id_of(blob).ok() == Some(previous.key_id()))
    });
    let finishing = matches!(source, KeySource::File(_)) && still_needed;
    let new_key = if finishing {
        old.current().clone()
    } else {
        MasterKey::generate()
    };
    let new = Keyring::new(new_key.clone());

    let mut resealed = 0;
    for (name, key, blob) in &sealed {
        if finishing && crypto::key_id_of(blob).ok() == Some(new_key.key_id()) {
            continue;
        }
        let aad = secret_aad(name, key);
        let value = old.open(&aad, blob).map_err(|e| {
            StartupError::other(format!("cannot open secret {name} key {key}: {e}"))
        })?;
        crate::db::secrets::set_value(&mut tx, name, key, &new.seal(&aad, &value))
            .await
            .map_err(db_error)?;
        resealed += 1;
    }

    let io = |what: String, e: std::io::Error| StartupError::other(format!("{what}: {e}"));
    let old_path = config.data_dir.join(OLD_KEY_FILE);
    let written_to = match source {
        KeySource::File(path) => {
            if !finishing {
                // Any `master.key.old` here opens no stored value (else we would be
                // finishing), so replacing it loses nothing.
                crypto::write_key_file(&old_path, old.current())
                    .map_err(|e| io(format!("cannot write {}", old_path.display()), e))?;
                crypto::write_key_file(&path, &new_key)
                    .map_err(|e| io(format!("cannot write {}", path.display()), e))?;
            }
            tx.commit().await.map_err(|e| {
                StartupError::new(
                    "--database-url",
                    format!(
                        "cannot commit the re-sealed values: {e}; nothing is lost: {} holds the new key and {} the old one, so Uniform starts as before; run rotate-key again to finish",
                        path.display(),
                        old_path.display()
                    ),
                )
            })?;
            if old_path.exists() {
                std::fs::remove_file(&old_path)
                    .map_err(|e| io(format!("cannot remove {}", old_path.display()), e))?;
            }
            Some(path)
        }
        KeySource::Env => {
            // The operator must have the new key before the values depend on it.
            writeln!(out, "{}", new_key.to_base64())
                .and_then(|()| out.flush())
                .map_err(|e| {
                    io(
                        "cannot write the new key to stdout, so nothing was changed (keep the current UNIFORM_MASTER_KEY)".to_string(),
                        e,
                    )
                })?;
            tx.commit().await.map_err(|e| {
                StartupError::new(
                    "--database-url",
                    format!("cannot commit the re-sealed values: {e}; nothing was changed: keep the current UNIFORM_MASTER_KEY and ignore the key printed"),
                )
            })?;
            None
        }
    };
    Ok(Rotation {
        resealed,
        key: new_key,
        written_to,
        finished_interrupted: finishing,
    })
}
