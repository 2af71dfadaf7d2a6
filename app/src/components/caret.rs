//! Text put in at the caret of a text field, as the secret and payload-variable pickers do:
//! the field's selection is remembered when a picker opens and replaced by what is picked.

use leptos::html::{Input, Textarea};
use leptos::prelude::*;

/// A text field whose caret a picker reads and moves (browser only; inert during SSR).
#[derive(Clone, Copy)]
pub enum CaretField {
    Textarea(NodeRef<Textarea>),
    Input(NodeRef<Input>),
}

impl CaretField {
    /// The field's selection as `(start, end)` in UTF-16 code units (the unit of
    /// `selectionStart`), when the field is in the page.
    pub fn selection(self) -> Option<(u32, u32)> {
        match self {
            CaretField::Textarea(node) => node.try_get_untracked().flatten().and_then(|element| {
                Some((
                    element.selection_start().ok()??,
                    element.selection_end().ok()??,
                ))
            }),
            CaretField::Input(node) => node.try_get_untracked().flatten().and_then(|element| {
                Some((
                    element.selection_start().ok()??,
                    element.selection_end().ok()??,
                ))
            }),
        }
    }

    /// Focuses the field and puts the caret at `position` (UTF-16 code units).
    pub fn focus_at(self, position: u32) {
        match self {
            CaretField::Textarea(node) => {
                if let Some(element) = node.try_get_untracked().flatten() {
                    let _ = element.focus();
                    let _ = element.set_selection_range(position, position);
                }
            }
            CaretField::Input(node) => {
                if let Some(element) = node.try_get_untracked().flatten() {
                    let _ = element.focus();
                    let _ = element.set_selection_range(position, position);
                }
            }
        }
    }
}

/// `value` with `text` in place of the selection `start..end` (UTF-16 code units, clamped to
/// the value; at the end when the selection is unknown), and the caret position just after
/// the inserted text.
pub fn insert_at(value: &str, selection: Option<(u32, u32)>, text: &str) -> (String, u32) {
    let total = utf16_len(value);
    let (start, end) = match selection {
        Some((start, end)) => {
            let start = start.min(total);
            (start, end.clamp(start, total))
        }
        None => (total, total),
    };
    let (start_byte, end_byte) = (byte_index(value, start), byte_index(value, end));
    let mut result = String::with_capacity(value.len() + text.len());
    result.push_str(&value[..start_byte]);
    result.push_str(text);
    result.push_str(&value[end_byte..]);
    (result, start + utf16_len(text))
}

fn utf16_len(text: &str) -> u32 {
    u32::try_from(text.encode_utf16().count()).unwrap_or(u32::MAX)
}

/// The byte index of the character boundary at (or just after) UTF-16 offset `offset`.
fn byte_index(value: &str, offset: u32) -> usize {
    let mut units = 0_u32;
    for (index, character) in value.char_indices() {
        if units >= offset {
            return index;
        }
        units += u32::try_from(character.len_utf16()).unwrap_or(2);
    }
    value.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_at_the_caret_not_at_the_end() {
        assert_eq!(
            insert_at("Bearer XY", Some((7, 7)), "{{.secret.a.b}}"),
            ("Bearer {{.secret.a.b}}XY".to_string(), 22)
        );
    }

    #[test]
    fn replaces_the_selection() {
        assert_eq!(
            insert_at("https://x/TOKEN/", Some((10, 15)), "{{.data.project}}"),
            ("https://x/{{.data.project}}/".to_string(), 27)
        );
    }

    #[test]
    fn appends_when_the_caret_is_unknown_or_beyond_the_end() {
        assert_eq!(insert_at("ab", None, "c"), ("abc".to_string(), 3));
        assert_eq!(insert_at("ab", Some((9, 12)), "c"), ("abc".to_string(), 3));
        assert_eq!(insert_at("", Some((0, 0)), "c"), ("c".to_string(), 1));
    }

    #[test]
    fn counts_utf16_units_like_the_browser() {
        // "é" is one UTF-16 unit (two bytes), "😀" two units (four bytes).
        assert_eq!(
            insert_at("é😀x", Some((3, 3)), "|"),
            ("é😀|x".to_string(), 4)
        );
        assert_eq!(
            insert_at("é😀x", Some((1, 1)), "|"),
            ("é|😀x".to_string(), 2)
        );
    }
}
