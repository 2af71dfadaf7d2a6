//! Short confirmations ("Secret deleted successfully!") in a polite live region at the bottom
//! right. A [`Toaster`] is provided by a section that outlives its pages, so a page can show a
//! toast and then navigate away.

use std::time::Duration;

use leptos::prelude::*;

/// How long a toast stays.
const TOAST_DURATION: Duration = Duration::from_secs(6);

/// Shows toasts in the nearest [`ToastRegion`].
#[derive(Clone, Copy)]
pub struct Toaster {
    /// The toast shown, with a sequence number so an old timer does not hide a newer toast.
    current: RwSignal<Option<(u64, String)>>,
}

impl Toaster {
    /// Shows `message` for a few seconds (browser only: called from event handlers).
    pub fn show(&self, message: impl Into<String>) {
        let current = self.current;
        let sequence = current
            .try_with_untracked(|shown| shown.as_ref().map_or(0, |(n, _)| n + 1))
            .unwrap_or(0);
        current.try_set(Some((sequence, message.into())));
        #[cfg(feature = "hydrate")]
        set_timeout(
            move || {
                current.try_update(|shown| {
                    if shown.as_ref().is_some_and(|(n, _)| *n == sequence) {
                        *shown = None;
                    }
                });
            },
            TOAST_DURATION,
        );
        #[cfg(not(feature = "hydrate"))]
        let _ = TOAST_DURATION;
    }

    /// Hides the toast now.
    pub fn dismiss(&self) {
        self.current.try_set(None);
    }
}

/// Creates a [`Toaster`] and provides it to the components below.
pub fn provide_toaster() -> Toaster {
    let toaster = Toaster {
        current: RwSignal::new(None),
    };
    provide_context(toaster);
    toaster
}

/// The [`Toaster`] provided above, if any.
pub fn use_toaster() -> Option<Toaster> {
    use_context::<Toaster>()
}

/// Where toasts appear: a `role="status"` region (present even when empty, so screen readers
/// announce what is put into it).
#[component]
pub fn ToastRegion(toaster: Toaster) -> impl IntoView {
    let message = move || toaster.current.get().map(|(_, message)| message);
    view! {
        <div class="toast-region" role="status">
            {move || message().map(|message| view! { <p class="toast">{message}</p> })}
        </div>
    }
}
