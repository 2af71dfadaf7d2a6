//! A modal confirmation dialog (`role="dialog"`): a message, an error if the action failed,
//! and a confirm and a "Cancel" button (the confirm button is disabled while an error is
//! shown). Escape cancels; "Cancel" has the focus while it is
//! open, and the focus returns to where it was when it closes. [`Confirmation`] is the state
//! a list page keeps for it: what waits for the user's word, and why the action last failed;
//! [`Confirmation::follow`] ties it to the action it guards and [`ConfirmationDialog`] draws
//! the dialog while an item waits.

use leptos::html::Button;
use leptos::prelude::*;

use crate::components::field::Alert;
use crate::components::modal::Modal;
use crate::components::toast::use_toaster;
use crate::error::AppError;

/// What a page's confirmation dialog is about: the item waiting for the user's word (`None`
/// while no dialog is open) and why the confirmed action last failed.
pub struct Confirmation<T: Send + Sync + 'static> {
    pub item: RwSignal<Option<T>>,
    pub error: RwSignal<Option<String>>,
}

impl<T: Send + Sync + 'static> Clone for Confirmation<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Confirmation<T> {}

impl<T: Clone + Send + Sync + 'static> Confirmation<T> {
    /// No dialog open.
    pub fn new() -> Self {
        Self {
            item: RwSignal::new(None),
            error: RwSignal::new(None),
        }
    }

    /// Opens the dialog about `item`, without an earlier failure.
    pub fn ask(self, item: T) {
        self.error.set(None);
        self.item.set(Some(item));
    }

    /// Closes the dialog.
    pub fn cancel(self) {
        self.item.set(None);
    }

    /// Follows the confirmed action's `answer`: on success the dialog closes and `done` gets
    /// the item (for a toast); a failure stays in the dialog, whose confirm button it disables.
    fn settle<E: ToString>(self, answer: Option<Result<(), E>>, done: impl FnOnce(T)) {
        match answer {
            Some(Ok(())) => {
                if let Some(item) = self.item.get_untracked() {
                    self.item.set(None);
                    done(item);
                }
            }
            Some(Err(error)) => self.error.set(Some(error.to_string())),
            None => {}
        }
    }
}

impl<T: Clone + Send + Sync + 'static> Confirmation<T> {
    /// Ties the dialog to the `action` it guards: the answer settles the dialog, and a success
    /// shows the toast `toast(item)` (in the [`Toaster`](crate::components::toast::Toaster) the page or its section provides).
    /// Returns what a row's button calls to ask: it forgets the action's last answer and opens
    /// the dialog.
    pub fn follow<I: 'static>(
        self,
        action: Action<I, Result<(), AppError>>,
        toast: impl Fn(&T) -> String + 'static,
    ) -> Callback<T> {
        let toaster = use_toaster();
        Effect::new(move |_| {
            self.settle(action.value().get(), |item| {
                if let Some(toaster) = toaster {
                    toaster.show(toast(&item));
                }
            })
        });
        Callback::new(move |item: T| {
            action.clear();
            self.ask(item);
        })
    }
}

impl<T: Clone + Send + Sync + 'static> Default for Confirmation<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A modal asking to confirm a (usually destructive) action.
#[component]
pub fn ConfirmDialog(
    /// The dialog's accessible name, e.g. "Delete secret confirmation".
    #[prop(into)]
    label: String,
    /// The confirm button's text, e.g. "Delete".
    #[prop(into)]
    confirm_label: String,
    /// True while the confirmed action runs (both buttons are disabled).
    #[prop(into)]
    pending: Signal<bool>,
    /// Why the confirmed action failed, shown in the dialog.
    #[prop(into)]
    error: Signal<Option<String>>,
    /// Runs when the user confirms.
    on_confirm: Callback<()>,
    /// Whether the action destroys something (a red confirm button); false for a harmless
    /// one such as sending again.
    #[prop(default = true)]
    destructive: bool,
    /// Runs on "Cancel" or Escape.
    on_cancel: Callback<()>,
    /// The question.
    children: Children,
) -> impl IntoView {
    let cancel_button = NodeRef::<Button>::new();
    // "Cancel" takes the focus; it returns to where it was when the dialog closes.
    crate::components::focus::focus_on_mount(cancel_button).restore_on_cleanup();
    // Escape cancels, but not while the action runs.
    let on_escape = Callback::new(move |()| {
        if !pending.get_untracked() {
            on_cancel.run(());
        }
    });
    view! {
        <Modal label on_escape>
            <div class="dialog-body">{children()}</div>
            <Alert message=error />
            <div class="form-actions">
                // After a refusal (e.g. "in use") confirming again would only repeat it.
                <button
                    type="button"
                    class=if destructive { "danger" } else { "" }
                    disabled=move || pending.get() || error.with(Option::is_some)
                    on:click=move |_| on_confirm.run(())
                >
                    {confirm_label}
                </button>
                <button
                    type="button"
                    class="secondary"
                    node_ref=cancel_button
                    disabled=move || pending.get()
                    on:click=move |_| on_cancel.run(())
                >
                    "Cancel"
                </button>
            </div>
        </Modal>
    }
}

/// The confirmation dialog of a list page, open while `confirm` holds an item: asks
/// `question(item)` and, on the user's word, runs `on_confirm(item)`.
#[component]
pub fn ConfirmationDialog<T>(
    /// What waits for the user's word.
    confirm: Confirmation<T>,
    /// The dialog's accessible name, e.g. "Delete secret confirmation".
    label: &'static str,
    /// The confirm button's text, e.g. "Delete".
    confirm_label: &'static str,
    /// True while the confirmed action runs.
    #[prop(into)]
    pending: Signal<bool>,
    /// The question about the item.
    question: fn(&T) -> String,
    /// Runs the action on the item.
    on_confirm: Callback<T>,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    move || {
        confirm.item.get().map(|item| {
            let asked = question(&item);
            view! {
                <ConfirmDialog
                    label
                    confirm_label
                    pending
                    error=confirm.error
                    on_confirm=Callback::new(move |()| {
                        confirm.error.set(None);
                        on_confirm.run(item.clone());
                    })
                    on_cancel=Callback::new(move |()| confirm.cancel())
                >
                    <p>{asked}</p>
                </ConfirmDialog>
            }
        })
    }
}
