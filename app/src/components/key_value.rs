//! The rows of a form's key-value list (a secret's key-value pairs, a webhook's custom
//! headers): [`KeyValuePair`], what is typed and whether each input was visited;
//! [`KeyValueItem`], what the row editor needs of a form's own row type; [`RowLook`], what sets
//! one list's rows apart; and [`KeyValueRow`], the row's group with the labelled key input, the
//! value control and the remove button, each input with its error. [`position_in`] and
//! [`entries`] read a list of rows.

use leptos::prelude::*;

use crate::components::form::{Field, TextInput};

/// What a key-value row holds: the key and the value as typed, and whether the user typed in
/// or left each input (its error shows from then on).
#[derive(Clone, Copy)]
pub struct KeyValuePair {
    /// The key as typed.
    pub key: RwSignal<String>,
    /// The value as typed.
    pub value: RwSignal<String>,
    /// Set once the user typed in or left the key input.
    pub key_touched: RwSignal<bool>,
    /// Set once the user typed in or left the value input (or picked into it).
    pub value_touched: RwSignal<bool>,
}

impl KeyValuePair {
    /// A row starting with `key` and `value`, not visited yet.
    pub fn new(key: String, value: String) -> Self {
        Self {
            key: RwSignal::new(key),
            value: RwSignal::new(value),
            key_touched: RwSignal::new(false),
            value_touched: RwSignal::new(false),
        }
    }

    /// Marks both inputs visited (a submit attempt shows every error).
    pub fn touch(self) {
        self.key_touched.set(true);
        self.value_touched.set(true);
    }
}

/// A form's own row type, as [`KeyValueRow`] sees it.
pub trait KeyValueItem: Copy + Send + Sync + 'static {
    /// Unique within the form (element ids, list keys).
    fn id(&self) -> usize;
    /// What is typed in the row.
    fn pair(&self) -> KeyValuePair;
}

/// The place (from 0) of the row `id` in `rows`; 0 once it is gone.
pub fn position_in<T: KeyValueItem>(
    rows: RwSignal<Vec<T>>,
    id: usize,
) -> impl Fn() -> usize + Copy + Send + Sync + 'static {
    move || rows.with(|rows| rows.iter().position(|row| row.id() == id).unwrap_or(0))
}

/// Each row's key and value as they stand, made into a `U` (e.g. a header).
pub fn entries<T: KeyValueItem, U>(
    rows: RwSignal<Vec<T>>,
    make: impl Fn(String, String) -> U,
) -> Vec<U> {
    rows.with(|rows| {
        rows.iter()
            .map(|row| make(row.pair().key.get(), row.pair().value.get()))
            .collect()
    })
}

/// What sets one list's rows apart: their class and names, and their remove button.
#[derive(Clone, Copy)]
pub struct RowLook {
    /// The group's class, e.g. `key-value`.
    pub class: &'static str,
    /// The group's accessible name before its position, e.g. "Key-value pair" (the first row
    /// is "Key-value pair 1").
    pub name: &'static str,
    /// The start of the inputs' ids: `<ids>-key-<id>` and `<ids>-value-<id>` (see
    /// [`RowLook::value_id`]).
    pub ids: &'static str,
    /// The key input's placeholder.
    pub key_placeholder: &'static str,
    /// The remove button.
    pub remove: RemoveButton,
    /// Whether the list keeps its last row (its remove button is then disabled).
    pub keep_one: bool,
}

impl RowLook {
    /// The id of the key input of row `id`.
    pub fn key_id(self, id: usize) -> String {
        format!("{}-key-{id}", self.ids)
    }

    /// The id of the value input of row `id`.
    pub fn value_id(self, id: usize) -> String {
        format!("{}-value-{id}", self.ids)
    }
}

/// The two remove buttons the forms use.
#[derive(Clone, Copy)]
pub enum RemoveButton {
    /// "Remove", then `what` for assistive technology only (e.g. " key-value pair"); disabled
    /// while the list may not lose the row.
    Text(&'static str),
    /// "×", with `name` as its tooltip and accessible name.
    Cross(&'static str),
}

impl RemoveButton {
    fn view(self, disabled: Signal<bool>, on_remove: Callback<()>) -> AnyView {
        match self {
            RemoveButton::Text(what) => view! {
                <button
                    type="button"
                    class="icon remove"
                    disabled=move || disabled.get()
                    on:click=move |_| on_remove.run(())
                >
                    "Remove"
                    <span class="visually-hidden">{what}</span>
                </button>
            }
            .into_any(),
            RemoveButton::Cross(name) => view! {
                <button
                    type="button"
                    class="icon remove"
                    title=name
                    on:click=move |_| on_remove.run(())
                >
                    <span aria-hidden="true">"×"</span>
                    <span class="visually-hidden">{name}</span>
                </button>
            }
            .into_any(),
        }
    }
}

/// One row of `rows` (`role="group"`, named by its position): the "Key" field, the "Value"
/// field (its control is `children`, which binds the value input itself, with the id
/// [`RowLook::value_id`]) and the remove button, which takes the row out of `rows`.
#[component]
pub fn KeyValueRow<T: KeyValueItem>(
    /// What sets the list's rows apart.
    look: RowLook,
    /// The list the row belongs to.
    rows: RwSignal<Vec<T>>,
    /// The row.
    row: T,
    /// The key's and the value's errors, when there are some.
    errors: (Signal<Option<String>>, Signal<Option<String>>),
    /// Runs after each keystroke in the key input and after the row is removed.
    #[prop(optional)]
    on_edit: Option<Callback<()>>,
    /// The value's control: its input (and anything beside it).
    children: Children,
) -> impl IntoView {
    let (key_error, value_error) = errors;
    let (id, pair) = (row.id(), row.pair());
    let key_id = look.key_id(id);
    let position = position_in(rows, id);
    let edited = move || {
        if let Some(on_edit) = on_edit {
            on_edit.run(());
        }
    };
    let last = Signal::derive(move || look.keep_one && rows.with(|rows| rows.len() <= 1));
    let remove = Callback::new(move |()| {
        rows.update(|rows| {
            if !(look.keep_one && rows.len() <= 1) {
                rows.retain(|row| row.id() != id);
            }
        });
        edited();
    });
    view! {
        <div
            class=look.class
            role="group"
            aria-label=move || format!("{} {}", look.name, position() + 1)
        >
            <Field id=key_id.clone() label="Key" error=key_error>
                <TextInput
                    value=pair.key
                    touched=pair.key_touched
                    placeholder=look.key_placeholder
                    on_edit=Callback::new(move |()| edited())
                />
            </Field>
            <Field id=look.value_id(id) label="Value" error=value_error>
                {children()}
            </Field>
            {look.remove.view(last, remove)}
        </div>
    }
}
