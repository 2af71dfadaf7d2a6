//! The frame around what a page loads from the server: "Loading …" while the first answer is
//! on its way, the error (`role="alert"`) when loading failed, a sentence when there is
//! nothing to list, and otherwise the page's own view of the answer. The view stays on screen
//! while a refresh runs (a `Transition`). [`ConfirmedList`] is a list page's list with the
//! dialog that confirms deleting (or revoking) one of its items.

use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::components::dialog::{Confirmation, ConfirmationDialog};
use crate::components::field::Alert;
use crate::error::AppError;

/// What a resource loaded, in its frame.
#[component]
pub fn Loaded<T, F, V>(
    /// The server function's answer.
    resource: Resource<Result<T, AppError>>,
    /// Shown until the first answer arrives, e.g. "Loading secrets…".
    loading: &'static str,
    /// Whether an answer holds nothing to show (then `empty` is shown, when it is set).
    #[prop(optional)]
    is_empty: Option<fn(&T) -> bool>,
    /// The sentence for an empty answer; none shows the view even then.
    #[prop(optional, into)]
    empty: MaybeProp<String>,
    /// The page's view of an answer.
    children: F,
) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    F: Fn(T) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=move || view! { <p>{loading}</p> }>
            {move || {
                resource
                    .get()
                    .map(|answer| match answer {
                        Ok(value) => {
                            let nothing = is_empty.is_some_and(|is_empty| is_empty(&value));
                            match empty.get().filter(|_| nothing) {
                                Some(text) => view! { <p class="empty">{text}</p> }.into_any(),
                                None => children(value).into_any(),
                            }
                        }
                        Err(error) => view! { <Alert message=error.to_string() /> }.into_any(),
                    })
            }}
        </Transition>
    }
}

/// A list page's list and the dialog that confirms a (destructive) action on one of its items:
/// the list in its [`Loaded`] frame (the sentence `empty` when there is nothing), and the
/// [`ConfirmationDialog`] while `confirm` holds an item.
#[component]
pub fn ConfirmedList<R, T, F, V>(
    /// The list's server function answer.
    resource: Resource<Result<Vec<R>, AppError>>,
    /// Shown until the first answer arrives.
    loading: &'static str,
    /// Shown when the list is empty.
    empty: &'static str,
    // The dialog's, as [`ConfirmationDialog`] takes them.
    confirm: Confirmation<T>,
    label: &'static str,
    confirm_label: &'static str,
    #[prop(into)] pending: Signal<bool>,
    question: fn(&T) -> String,
    on_confirm: Callback<T>,
    /// The page's view of the list.
    children: F,
) -> impl IntoView
where
    R: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    T: Clone + Send + Sync + 'static,
    F: Fn(Vec<R>) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Loaded resource loading is_empty=Vec::is_empty empty children />
        <ConfirmationDialog confirm label confirm_label pending question on_confirm />
    }
}
