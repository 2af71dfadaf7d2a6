//! Sealing secret values at rest with AES-256-GCM, and the master key they are sealed under.
//!
//! - [`value`]: [`SecretValue`], plaintext held in memory (printed as `***`, wiped on drop).
//! - [`key`]: [`MasterKey`] and its public fingerprint [`KeyId`]; [`KeyError`].
//! - [`keyfile`]: [`load_or_create_master_key`] (`UNIFORM_MASTER_KEY`, else
//!   `<data-dir>/master.key`, created with mode 0600) and [`write_key_file`].
//! - [`seal`]: [`Keyring`] (current key seals; current and previous keys open), the stored
//!   format `version | key id | nonce | ciphertext+tag`, [`secret_aad`] and [`CryptoError`].
//!
//! Typical use:
//!
//! ```no_run
//! # fn demo(data_dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
//! use server::crypto::{load_or_create_master_key, secret_aad, Keyring, SecretValue};
//!
//! let env = std::env::var("UNIFORM_MASTER_KEY").ok();
//! let loaded = load_or_create_master_key(env.as_deref(), data_dir)?;
//! let keyring = Keyring::new(loaded.key);
//!
//! let aad = secret_aad("deploys", "webhook_url");
//! let blob = keyring.seal(&aad, &SecretValue::new("https://hooks.slack.com/...".into()));
//! let value = keyring.open(&aad, &blob)?;
//! assert_eq!(value.expose(), "https://hooks.slack.com/...");
//! # Ok(())
//! # }
//! ```

pub mod key;
pub mod keyfile;
pub mod seal;
pub mod value;

pub use key::{KeyError, KeyId, KeyOrigin, MasterKey, KEY_ID_LEN, MASTER_KEY_LEN};
pub use keyfile::{
    load_or_create_master_key, read_key_file, write_key_file, KeySource, LoadedKey, KEY_FILE_NAME,
    MASTER_KEY_ENV,
};
pub use seal::{key_id_of, secret_aad, CryptoError, Keyring, FORMAT_VERSION, MIN_SEALED_LEN};
pub use value::SecretValue;
