//! Sealing and opening secret values with AES-256-GCM under a [`Keyring`], the stored
//! (self-describing) byte format, and [`secret_aad`], which binds a sealed value to its place.
//!
//! Stored format, version 1:
//!
//! ```text
//! version (1 byte, = 1) | key id (8 bytes) | nonce (12 bytes) | ciphertext + GCM tag (>= 16 bytes)
//! ```
//!
//! The nonce is fresh from the OS CSPRNG for every seal. The associated data given to
//! AES-GCM is exactly the caller's `aad`; the header is not part of it, but any change to the
//! version or key id makes opening fail anyway (unsupported version, unknown key, or a
//! different key that cannot authenticate the ciphertext).

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, Key, KeyInit, Nonce, Tag};
use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroize;

use super::key::{KeyId, MasterKey, KEY_ID_LEN};
use super::value::SecretValue;

/// The only stored-format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// Length of an AES-GCM nonce in bytes.
pub const NONCE_LEN: usize = 12;

/// Length of an AES-GCM authentication tag in bytes.
pub const TAG_LEN: usize = 16;

/// Length of the header in front of the ciphertext: version, key id, nonce.
pub const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

/// Length of the shortest valid sealed value (an empty secret): header plus tag.
pub const MIN_SEALED_LEN: usize = HEADER_LEN + TAG_LEN;

/// Prefix of [`secret_aad`], naming the purpose and its encoding version.
const SECRET_AAD_DOMAIN: &[u8] = b"uniform/secret/v1\0";

/// Why a sealed value could not be read. Messages never contain plaintext or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Too short to hold a header and an authentication tag.
    #[error("sealed value is truncated (shorter than {MIN_SEALED_LEN} bytes)")]
    Truncated,
    /// Written in a format version this build does not know.
    #[error("sealed value has unsupported format version {0} (this build reads version {FORMAT_VERSION})")]
    UnsupportedVersion(u8),
    /// Sealed under a key that is not in the keyring.
    #[error("sealed value needs master key {0}, which is not available (neither the current nor a previous key)")]
    UnknownKey(KeyId),
    /// Authentication failed: wrong key, wrong associated data, or the bytes were altered.
    #[error("sealed value could not be decrypted (wrong key, sealed for another place, or tampered with)")]
    Decrypt,
    /// Decrypted, but the plaintext is not UTF-8 text.
    #[error("decrypted value is not valid UTF-8")]
    InvalidUtf8,
}

/// The associated data binding a sealed secret to its place: secret `secret_name`, field
/// `key`.
///
/// Encoding: `"uniform/secret/v1\0"`, then for each of `secret_name` and `key` its byte
/// length as a big-endian u64 followed by its bytes. The length prefixes make the encoding
/// unambiguous for any strings (NUL bytes included), so a sealed value copied to another
/// secret or field fails to open.
pub fn secret_aad(secret_name: &str, key: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(SECRET_AAD_DOMAIN.len() + 16 + secret_name.len() + key.len());
    aad.extend_from_slice(SECRET_AAD_DOMAIN);
    for part in [secret_name, key] {
        aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

/// The parsed fixed-size header of a sealed value, and the rest.
struct Parsed<'a> {
    key_id: KeyId,
    nonce: &'a [u8],
    ciphertext: &'a [u8],
    tag: &'a [u8],
}

/// Splits `blob` into its parts, checking every length; never panics.
fn parse(blob: &[u8]) -> Result<Parsed<'_>, CryptoError> {
    let (&version, rest) = blob.split_first().ok_or(CryptoError::Truncated)?;
    if version != FORMAT_VERSION {
        return Err(CryptoError::UnsupportedVersion(version));
    }
    if blob.len() < MIN_SEALED_LEN {
        return Err(CryptoError::Truncated);
    }
    let (id_bytes, rest) = rest
        .split_at_checked(KEY_ID_LEN)
        .ok_or(CryptoError::Truncated)?;
    let (nonce, rest) = rest
        .split_at_checked(NONCE_LEN)
        .ok_or(CryptoError::Truncated)?;
    let tag_start = rest
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(CryptoError::Truncated)?;
    let (ciphertext, tag) = rest
        .split_at_checked(tag_start)
        .ok_or(CryptoError::Truncated)?;
    let id: [u8; KEY_ID_LEN] = id_bytes.try_into().map_err(|_| CryptoError::Truncated)?;
    Ok(Parsed {
        key_id: KeyId::from_bytes(id),
        nonce,
        ciphertext,
        tag,
    })
}

/// Reads the key id from a sealed value without decrypting it (checks the version and
/// length too).
pub fn key_id_of(blob: &[u8]) -> Result<KeyId, CryptoError> {
    parse(blob).map(|p| p.key_id)
}

fn cipher(key: &MasterKey) -> Aes256Gcm {
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.bytes()))
}

/// The current master key, which seals, and previous keys, which can still open values
/// sealed before a key rotation.
#[derive(Debug, Clone)]
pub struct Keyring {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl Keyring {
    /// A keyring with only `current`.
    pub fn new(current: MasterKey) -> Self {
        Self {
            current,
            previous: Vec::new(),
        }
    }

    /// A keyring sealing with `current` that can also open values sealed under `previous`.
    pub fn with_previous(
        current: MasterKey,
        previous: impl IntoIterator<Item = MasterKey>,
    ) -> Self {
        let mut ring = Self::new(current);
        for key in previous {
            ring.add_previous(key);
        }
        ring
    }

    /// Adds a key that can open (but not seal); duplicates of held keys are ignored.
    pub fn add_previous(&mut self, key: MasterKey) {
        if !self.has_key(key.key_id()) {
            self.previous.push(key);
        }
    }

    /// The key new values are sealed under.
    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    /// The id of the key new values are sealed under.
    pub fn current_key_id(&self) -> KeyId {
        self.current.key_id()
    }

    /// The keys kept only for opening older values.
    pub fn previous(&self) -> &[MasterKey] {
        &self.previous
    }

    /// Whether the keyring holds the key with this id (current or previous).
    pub fn has_key(&self, id: KeyId) -> bool {
        self.key(id).is_some()
    }

    fn key(&self, id: KeyId) -> Option<&MasterKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.key_id() == id)
    }

    /// Reads the key id from a sealed value without decrypting it; same as the free
    /// function [`key_id_of`].
    pub fn key_id_of(&self, blob: &[u8]) -> Result<KeyId, CryptoError> {
        key_id_of(blob)
    }

    /// Checks, without decrypting, that `blob` is well-formed and sealed under a key this
    /// keyring holds; returns that key's id ([`CryptoError::UnknownKey`] when missing).
    pub fn check_key(&self, blob: &[u8]) -> Result<KeyId, CryptoError> {
        let id = key_id_of(blob)?;
        if self.has_key(id) {
            Ok(id)
        } else {
            Err(CryptoError::UnknownKey(id))
        }
    }

    /// Encrypts `value` under the current key with a fresh random nonce, authenticating
    /// `aad` (see [`secret_aad`]), and returns the stored format.
    ///
    /// # Panics
    ///
    /// Only if `value` or `aad` is longer than AES-GCM allows (64 GiB).
    pub fn seal(&self, aad: &[u8], value: &SecretValue) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);

        // Exact capacity, so the buffer holding the plaintext is never reallocated (which
        // would leave an unzeroized copy behind).
        let mut out = Vec::with_capacity(MIN_SEALED_LEN + value.len());
        out.push(FORMAT_VERSION);
        out.extend_from_slice(self.current.key_id().as_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(value.expose().as_bytes());

        let tag = match cipher(&self.current).encrypt_in_place_detached(
            Nonce::from_slice(&nonce),
            aad,
            &mut out[HEADER_LEN..],
        ) {
            Ok(tag) => tag,
            Err(_) => {
                // Do not leave plaintext in the freed buffer.
                out.zeroize();
                panic!("secret value or associated data too long for AES-GCM");
            }
        };
        out.extend_from_slice(&tag);
        out
    }

    /// Decrypts a sealed value with the key named in it, checking that it was sealed with
    /// the same `aad`. Never panics, whatever `blob` holds.
    pub fn open(&self, aad: &[u8], blob: &[u8]) -> Result<SecretValue, CryptoError> {
        let parsed = parse(blob)?;
        let key = self
            .key(parsed.key_id)
            .ok_or(CryptoError::UnknownKey(parsed.key_id))?;

        let mut plain = zeroize::Zeroizing::new(parsed.ciphertext.to_vec());
        cipher(key)
            .decrypt_in_place_detached(
                Nonce::from_slice(parsed.nonce),
                aad,
                &mut plain,
                Tag::from_slice(parsed.tag),
            )
            .map_err(|_| CryptoError::Decrypt)?;

        match String::from_utf8(std::mem::take(&mut *plain)) {
            Ok(text) => Ok(SecretValue::new(text)),
            Err(e) => {
                e.into_bytes().zeroize();
                Err(CryptoError::InvalidUtf8)
            }
        }
    }
}

impl From<MasterKey> for Keyring {
    fn from(current: MasterKey) -> Self {
        Self::new(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> SecretValue {
        SecretValue::new(text.to_owned())
    }

    const URL: &str = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX";

    #[test]
    fn seal_open_round_trip() {
        let ring = Keyring::new(MasterKey::generate());
        let aad = secret_aad("deploys", "webhook_url");
        for text in ["", "x", URL, "ünïcødé ✓", &"long".repeat(10_000)] {
            let blob = ring.seal(&aad, &value(text));
            assert_eq!(blob.len(), MIN_SEALED_LEN + text.len());
            assert_eq!(blob[0], FORMAT_VERSION);
            assert_eq!(key_id_of(&blob).unwrap(), ring.current_key_id());
            let opened = ring.open(&aad, &blob).unwrap();
            assert_eq!(opened.expose(), text);
        }
    }

    #[test]
    fn ciphertext_does_not_contain_plaintext() {
        let ring = Keyring::new(MasterKey::generate());
        let blob = ring.seal(b"aad", &value(URL));
        assert!(!blob
            .windows(8)
            .any(|w| URL.as_bytes().windows(8).any(|p| p == w)));
    }

    #[test]
    fn two_seals_of_the_same_value_differ() {
        let ring = Keyring::new(MasterKey::generate());
        let a = ring.seal(b"aad", &value(URL));
        let b = ring.seal(b"aad", &value(URL));
        assert_ne!(a, b);
        // The nonces differ, not just the ciphertexts.
        assert_ne!(a[1 + KEY_ID_LEN..HEADER_LEN], b[1 + KEY_ID_LEN..HEADER_LEN]);
        assert_eq!(
            ring.open(b"aad", &a).unwrap(),
            ring.open(b"aad", &b).unwrap()
        );
    }

    #[test]
    fn flipped_byte_anywhere_is_an_error() {
        let ring = Keyring::new(MasterKey::generate());
        let blob = ring.seal(b"aad", &value(URL));
        for i in 0..blob.len() {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut tampered = blob.clone();
                tampered[i] ^= mask;
                let err = ring.open(b"aad", &tampered).unwrap_err();
                let expected = match i {
                    0 => CryptoError::UnsupportedVersion(FORMAT_VERSION ^ mask),
                    i if i < 1 + KEY_ID_LEN => {
                        CryptoError::UnknownKey(key_id_of(&tampered).unwrap())
                    }
                    _ => CryptoError::Decrypt,
                };
                assert_eq!(err, expected, "byte {i} mask {mask:#04x}");
            }
        }
        // Appending or removing a byte is also caught.
        let mut longer = blob.clone();
        longer.push(0);
        assert_eq!(
            ring.open(b"aad", &longer).unwrap_err(),
            CryptoError::Decrypt
        );
        assert_eq!(
            ring.open(b"aad", &blob[..blob.len() - 1]).unwrap_err(),
            CryptoError::Decrypt
        );
    }

    #[test]
    fn wrong_aad_is_an_error() {
        let ring = Keyring::new(MasterKey::generate());
        let blob = ring.seal(&secret_aad("deploys", "webhook_url"), &value(URL));
        for aad in [
            secret_aad("deploys", "webhook_uri"),
            secret_aad("deploy", "webhook_url"),
            secret_aad("alerts", "webhook_url"),
            secret_aad("webhook_url", "deploys"),
            Vec::new(),
        ] {
            assert_eq!(ring.open(&aad, &blob).unwrap_err(), CryptoError::Decrypt);
        }
        assert!(ring
            .open(&secret_aad("deploys", "webhook_url"), &blob)
            .is_ok());
    }

    #[test]
    fn secret_aad_is_unambiguous() {
        assert_ne!(secret_aad("ab", "c"), secret_aad("a", "bc"));
        assert_ne!(secret_aad("a\0", "b"), secret_aad("a", "\0b"));
        assert_ne!(secret_aad("", "ab"), secret_aad("ab", ""));
        assert_eq!(secret_aad("n", "k"), secret_aad("n", "k"));
        assert!(secret_aad("n", "k").starts_with(b"uniform/secret/v1\0"));
        assert_eq!(
            secret_aad("n", "key"),
            b"uniform/secret/v1\0\0\0\0\0\0\0\0\x01n\0\0\0\0\0\0\0\x03key".to_vec()
        );
    }

    #[test]
    fn keyring_without_the_key_reports_unknown_key() {
        let sealer = Keyring::new(MasterKey::generate());
        let other = Keyring::new(MasterKey::generate());
        let blob = sealer.seal(b"aad", &value(URL));
        let err = other.open(b"aad", &blob).unwrap_err();
        assert_eq!(err, CryptoError::UnknownKey(sealer.current_key_id()));
        assert!(err
            .to_string()
            .contains(&sealer.current_key_id().to_string()));
        assert!(!other.has_key(sealer.current_key_id()));
        assert_eq!(
            other.check_key(&blob),
            Err(CryptoError::UnknownKey(sealer.current_key_id()))
        );
        assert_eq!(sealer.check_key(&blob), Ok(sealer.current_key_id()));
    }

    #[test]
    fn wrong_key_with_forged_key_id_fails_to_decrypt() {
        // A key id that matches but a key that does not (cannot happen with honest ids,
        // but the cipher must still refuse).
        let sealer = Keyring::new(MasterKey::generate());
        let other = Keyring::new(MasterKey::generate());
        let mut blob = sealer.seal(b"aad", &value(URL));
        blob[1..1 + KEY_ID_LEN].copy_from_slice(other.current_key_id().as_bytes());
        assert_eq!(other.open(b"aad", &blob).unwrap_err(), CryptoError::Decrypt);
    }

    #[test]
    fn rotated_keyring_opens_values_sealed_under_previous_key() {
        let old = MasterKey::generate();
        let old_ring = Keyring::new(old.clone());
        let old_blob = old_ring.seal(b"aad", &value(URL));

        let new = MasterKey::generate();
        let ring = Keyring::with_previous(new.clone(), [old.clone(), new.clone(), old.clone()]);
        assert_eq!(ring.previous().len(), 1);
        assert!(ring.has_key(old.key_id()));
        assert!(ring.has_key(new.key_id()));
        assert_eq!(ring.current(), &new);
        assert_eq!(ring.key_id_of(&old_blob), Ok(old.key_id()));
        assert_eq!(ring.open(b"aad", &old_blob).unwrap().expose(), URL);

        // New seals use the new key; the old keyring cannot open them.
        let new_blob = ring.seal(b"aad", &value(URL));
        assert_eq!(key_id_of(&new_blob), Ok(new.key_id()));
        assert_eq!(
            old_ring.open(b"aad", &new_blob).unwrap_err(),
            CryptoError::UnknownKey(new.key_id())
        );
        assert_eq!(ring.open(b"aad", &new_blob).unwrap().expose(), URL);
    }

    #[test]
    fn truncated_blobs_of_every_length_are_errors() {
        let ring = Keyring::new(MasterKey::generate());
        for text in ["", URL] {
            let blob = ring.seal(b"aad", &value(text));
            for len in 0..blob.len() {
                let cut = &blob[..len];
                let err = ring.open(b"aad", cut).unwrap_err();
                if len < MIN_SEALED_LEN {
                    assert_eq!(err, CryptoError::Truncated, "len {len}");
                    assert_eq!(key_id_of(cut), Err(CryptoError::Truncated));
                } else {
                    assert_eq!(err, CryptoError::Decrypt, "len {len}");
                }
            }
        }
    }

    #[test]
    fn unsupported_version_is_an_error() {
        let ring = Keyring::new(MasterKey::generate());
        let mut blob = ring.seal(b"aad", &value(URL));
        for version in [0u8, 2, 0xff] {
            blob[0] = version;
            assert_eq!(
                ring.open(b"aad", &blob).unwrap_err(),
                CryptoError::UnsupportedVersion(version)
            );
            assert_eq!(
                key_id_of(&blob),
                Err(CryptoError::UnsupportedVersion(version))
            );
            // Even a one-byte blob reports the version rather than truncation.
            assert_eq!(
                ring.open(b"aad", &[version]).unwrap_err(),
                CryptoError::UnsupportedVersion(version)
            );
        }
    }

    #[test]
    fn arbitrary_input_never_panics() {
        let ring = Keyring::new(MasterKey::generate());
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..200usize {
            for _ in 0..8 {
                let mut blob: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        state as u8
                    })
                    .collect();
                if let Some(first) = blob.first_mut() {
                    *first = FORMAT_VERSION;
                }
                assert!(ring.open(b"aad", &blob).is_err());
                let _ = key_id_of(&blob);
            }
        }
    }

    #[test]
    fn non_utf8_plaintext_is_invalid_utf8() {
        // Seal raw non-UTF-8 bytes by hand, the way a buggy writer might.
        let key = MasterKey::generate();
        let ring = Keyring::new(key.clone());
        let nonce = [7u8; NONCE_LEN];
        let mut body = vec![0xff, 0xfe, 0x80];
        let tag = cipher(&key)
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), b"aad", &mut body)
            .unwrap();
        let mut blob = vec![FORMAT_VERSION];
        blob.extend_from_slice(key.key_id().as_bytes());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&body);
        blob.extend_from_slice(&tag);
        assert_eq!(
            ring.open(b"aad", &blob).unwrap_err(),
            CryptoError::InvalidUtf8
        );
    }

    #[test]
    fn error_messages_leak_nothing() {
        let key = MasterKey::generate();
        let ring = Keyring::new(key.clone());
        let blob = ring.seal(b"aad", &value(URL));
        let errors = [
            ring.open(b"other", &blob).unwrap_err(),
            ring.open(b"aad", &blob[..5]).unwrap_err(),
            Keyring::new(MasterKey::generate())
                .open(b"aad", &blob)
                .unwrap_err(),
            CryptoError::UnsupportedVersion(9),
            CryptoError::InvalidUtf8,
        ];
        for err in errors {
            let msg = format!("{err} {err:?}");
            assert!(!msg.contains(URL), "{msg}");
            assert!(!msg.contains(&key.to_base64()), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
        assert_eq!(
            format!("{:?}", ring),
            format!(
                "Keyring {{ current: MasterKey({}), previous: [] }}",
                key.key_id()
            )
        );
    }
}
