//! [`SecretValue`]: plaintext secret text held in memory, never printed and wiped on drop.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Plaintext secret text (e.g. a Slack webhook URL) held in memory.
///
/// The buffer is overwritten with zeros when the value is dropped, and both `Debug` and
/// `Display` print `***`, so a secret cannot leak through logs or error messages by accident.
/// It deliberately has no `Serialize`: reading the text requires an explicit
/// [`expose`](SecretValue::expose).
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct SecretValue(String);

impl SecretValue {
    /// Takes ownership of `text` (its buffer is moved, not copied).
    pub fn new(text: String) -> Self {
        Self(text)
    }

    /// The plaintext. Keep the borrow short and never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length of the plaintext in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the plaintext is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretValue {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

/// Compares in constant time for equal lengths (the length itself is not hidden).
impl PartialEq for SecretValue {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for SecretValue {}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_print_only_stars() {
        let value = SecretValue::new("https://hooks.slack.com/services/T0/B0/xyz".to_owned());
        assert_eq!(format!("{value:?}"), "***");
        assert_eq!(format!("{value}"), "***");
        assert_eq!(format!("{value:#?}"), "***");
        assert_eq!(format!("{:?}", Some(&value)), "Some(***)");
    }

    #[test]
    fn expose_len_and_equality() {
        let value = SecretValue::new("héllo".to_owned());
        assert_eq!(value.expose(), "héllo");
        assert_eq!(value.len(), 6);
        assert!(!value.is_empty());
        assert!(SecretValue::default().is_empty());
        assert_eq!(value.clone(), value);
        assert_ne!(value, SecretValue::from("hello".to_owned()));
        assert_ne!(value, SecretValue::from("héllo!".to_owned()));
    }

    #[test]
    fn zeroize_clears_the_text() {
        let mut value = SecretValue::new("secret".to_owned());
        value.zeroize();
        assert!(value.is_empty());
    }
}
