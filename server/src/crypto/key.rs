//! [`MasterKey`] (the 32-byte AES-256 key secrets are sealed under), its public
//! fingerprint [`KeyId`], and [`KeyError`] for keys that cannot be parsed or loaded.

use std::fmt;
use std::io;
use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of a master key in bytes (AES-256).
pub const MASTER_KEY_LEN: usize = 32;

/// Length of a [`KeyId`] in bytes.
pub const KEY_ID_LEN: usize = 8;

/// Domain-separation prefix hashed in front of the key bytes to derive a [`KeyId`].
const KEY_ID_DOMAIN: &[u8] = b"uniform-key-id";

/// Public fingerprint of a [`MasterKey`]: the first 8 bytes of
/// SHA-256(`"uniform-key-id"` || key bytes).
///
/// It is stored in every sealed value so the right key can be picked (and a missing key
/// reported) without trying to decrypt. It reveals nothing usable about the key.
/// `Display` prints 16 lower-case hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; KEY_ID_LEN]);

impl KeyId {
    /// A key id from its raw bytes (as stored in a sealed value).
    pub const fn from_bytes(bytes: [u8; KEY_ID_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; KEY_ID_LEN] {
        &self.0
    }

    /// The id of the key with these bytes.
    fn derive(key: &[u8; MASTER_KEY_LEN]) -> Self {
        let digest = Sha256::new()
            .chain_update(KEY_ID_DOMAIN)
            .chain_update(key)
            .finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Self(id)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// The 32-byte AES-256-GCM key that secret values are sealed under.
///
/// The bytes are overwritten with zeros on drop and never printed: `Debug` shows
/// `MasterKey(<key id>)`. Equality is constant-time.
#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; MASTER_KEY_LEN],
    id: KeyId,
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl ZeroizeOnDrop for MasterKey {}

impl MasterKey {
    /// A fresh random key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut key = Self {
            bytes: [0u8; MASTER_KEY_LEN],
            id: KeyId([0u8; KEY_ID_LEN]),
        };
        OsRng.fill_bytes(&mut key.bytes);
        key.id = KeyId::derive(&key.bytes);
        key
    }

    /// A key from its raw bytes. The caller should zeroize its own copy.
    pub fn from_bytes(bytes: [u8; MASTER_KEY_LEN]) -> Self {
        let id = KeyId::derive(&bytes);
        Self { bytes, id }
    }

    /// Parses standard (padded) base64 that decodes to exactly 32 bytes.
    ///
    /// Errors name the origin generically ("master key"); callers that know where the text
    /// came from re-label it with [`KeyError::with_origin`].
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let origin = KeyOrigin::Value;
        let decoded = Zeroizing::new(STANDARD.decode(text).map_err(|_| KeyError::NotBase64 {
            origin: origin.clone(),
        })?);
        if decoded.len() != MASTER_KEY_LEN {
            return Err(KeyError::WrongLength {
                origin,
                got: decoded.len(),
            });
        }
        let mut key = Self {
            bytes: [0u8; MASTER_KEY_LEN],
            id: KeyId([0u8; KEY_ID_LEN]),
        };
        key.bytes.copy_from_slice(&decoded);
        key.id = KeyId::derive(&key.bytes);
        Ok(key)
    }

    /// The key as standard (padded) base64, 44 characters; this is what the key file and
    /// `UNIFORM_MASTER_KEY` hold. Treat the result as secret.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    /// The key's public fingerprint.
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// The raw key bytes, for the cipher.
    pub(crate) fn bytes(&self) -> &[u8; MASTER_KEY_LEN] {
        &self.bytes
    }
}

impl PartialEq for MasterKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes.ct_eq(&other.bytes).into()
    }
}

impl Eq for MasterKey {}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

/// Where key text that failed to parse came from; the prefix of a [`KeyError`] message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// A value of unknown origin (what [`MasterKey::from_base64`] reports): "master key".
    Value,
    /// The `UNIFORM_MASTER_KEY` environment variable.
    Env,
    /// A key file.
    File(PathBuf),
}

impl fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Value => f.write_str("master key"),
            Self::Env => f.write_str(super::MASTER_KEY_ENV),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Why a master key could not be parsed, read or written.
///
/// Each message is one line naming where the key came from, e.g.
/// `UNIFORM_MASTER_KEY: must be base64 of exactly 32 bytes (got 31 bytes)`, ready to be
/// printed as `uniform: {error}`. Messages never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The text is not standard base64.
    #[error("{origin}: is not valid base64 (expected the 44-character standard base64 of a 32-byte key)")]
    NotBase64 {
        /// Where the text came from.
        origin: KeyOrigin,
    },
    /// The text is base64 but does not decode to exactly 32 bytes.
    #[error("{origin}: must be base64 of exactly 32 bytes (got {got} bytes)")]
    WrongLength {
        /// Where the text came from.
        origin: KeyOrigin,
        /// How many bytes it decoded to.
        got: usize,
    },
    /// The key file can be accessed by its group or by others.
    #[error(
        "{}: must be readable only by its owner (its mode is {mode:04o}); run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file exists but is not a regular file.
    #[error("{}: is not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// Reading or creating the key file failed.
    #[error("{}: cannot {action} the master key file: {source}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// What was being done: "read", "create", ...
        action: &'static str,
        /// The underlying error.
        source: io::Error,
    },
}

impl KeyError {
    /// The same parse error attributed to `origin` (other variants are returned unchanged).
    pub fn with_origin(self, origin: KeyOrigin) -> Self {
        match self {
            Self::NotBase64 { .. } => Self::NotBase64 { origin },
            Self::WrongLength { got, .. } => Self::WrongLength { origin, got },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64_of_len(n: usize) -> String {
        STANDARD.encode(vec![7u8; n])
    }

    #[test]
    fn base64_round_trip() {
        let key = MasterKey::generate();
        let text = key.to_base64();
        assert_eq!(text.len(), 44);
        let parsed = MasterKey::from_base64(&text).unwrap();
        assert_eq!(parsed, key);
        assert_eq!(parsed.key_id(), key.key_id());
    }

    #[test]
    fn generate_gives_different_keys() {
        let a = MasterKey::generate();
        let b = MasterKey::generate();
        assert_ne!(a, b);
        assert_ne!(a.key_id(), b.key_id());
    }

    #[test]
    fn from_base64_rejects_31_and_33_bytes() {
        for n in [0, 31, 33, 64] {
            let err = MasterKey::from_base64(&b64_of_len(n)).unwrap_err();
            assert!(
                matches!(err, KeyError::WrongLength { got, .. } if got == n),
                "{err}"
            );
            assert_eq!(
                err.to_string(),
                format!("master key: must be base64 of exactly 32 bytes (got {n} bytes)")
            );
        }
        assert!(MasterKey::from_base64(&b64_of_len(32)).is_ok());
    }

    #[test]
    fn from_base64_rejects_garbage() {
        let good = b64_of_len(32);
        let cases = [
            "not base64 at all!".to_owned(),
            good.trim_end_matches('=').to_owned(), // unpadded
            good.replace('B', "-"),                // URL-safe alphabet is not accepted
            format!(" {good}"),
            "é".repeat(44),
        ];
        for case in &cases {
            let err = MasterKey::from_base64(case).unwrap_err();
            assert!(matches!(err, KeyError::NotBase64 { .. }), "{case:?}: {err}");
            assert!(err
                .to_string()
                .starts_with("master key: is not valid base64"));
        }
    }

    #[test]
    fn debug_shows_key_id_not_key_material() {
        let key = MasterKey::from_bytes([0x42; MASTER_KEY_LEN]);
        let debug = format!("{key:?}");
        assert_eq!(debug, format!("MasterKey({})", key.key_id()));
        assert!(!debug.contains(&key.to_base64()));
        assert!(!debug.contains("4242"));
    }

    #[test]
    fn key_id_is_truncated_domain_separated_sha256() {
        let bytes = [0x11u8; MASTER_KEY_LEN];
        let key = MasterKey::from_bytes(bytes);
        let digest = Sha256::digest([KEY_ID_DOMAIN, &bytes[..]].concat());
        assert_eq!(key.key_id().as_bytes()[..], digest[..8]);
        let hex = key.key_id().to_string();
        assert_eq!(hex.len(), 16);
        assert!(hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        assert_eq!(format!("{:?}", key.key_id()), format!("KeyId({hex})"));
    }

    #[test]
    fn key_id_display_is_lower_hex() {
        let id = KeyId::from_bytes([0x00, 0x01, 0xab, 0xcd, 0xef, 0x10, 0xff, 0x7f]);
        assert_eq!(id.to_string(), "0001abcdef10ff7f");
    }

    #[test]
    fn with_origin_relabels_parse_errors() {
        let err = MasterKey::from_base64("AAAA")
            .unwrap_err()
            .with_origin(KeyOrigin::Env);
        assert_eq!(
            err.to_string(),
            "UNIFORM_MASTER_KEY: must be base64 of exactly 32 bytes (got 3 bytes)"
        );
    }
}
