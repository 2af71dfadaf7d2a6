//! Keyset paging of a filtered, newest-first list (the delivery log, the events): the page
//! keys taken so far for the filters they were taken with — a change of filters starts again
//! at page 1 — and the "Previous page" / "Next page" bar below the table.

use leptos::prelude::*;

/// Where a list stands: the key of the page shown (`None` for the first) and its number,
/// with the callbacks the [`Pager`] calls.
#[derive(Clone, Copy)]
pub struct Paging {
    pub key: Memo<Option<String>>,
    pub number: Memo<usize>,
    pub next: Callback<String>,
    pub previous: Callback<()>,
}

/// Paging for a list filtered by `filters`.
pub fn paging<F>(filters: Memo<F>) -> Paging
where
    F: Clone + Default + PartialEq + Send + Sync + 'static,
{
    // The keys of the pages before the current one, for the filters they were taken with.
    let keys = RwSignal::new((F::default(), Vec::<String>::new()));
    let current = move || {
        filters.with(|now| {
            keys.with(|(taken_with, keys)| {
                if taken_with == now {
                    keys.clone()
                } else {
                    Vec::new()
                }
            })
        })
    };
    Paging {
        key: Memo::new(move |_| current().last().cloned()),
        number: Memo::new(move |_| current().len() + 1),
        next: Callback::new(move |key: String| {
            let now = filters.get_untracked();
            keys.update(|(taken_with, keys)| {
                if *taken_with != now {
                    *taken_with = now;
                    keys.clear();
                }
                keys.push(key);
            });
        }),
        previous: Callback::new(move |()| {
            keys.update(|(_, keys)| {
                keys.pop();
            });
        }),
    }
}

impl Paging {
    /// The sentence for an empty list: `filtered` while `any_filter()` holds, else `none`.
    /// Only on page 1: a later page that came back empty still shows its table and pager.
    pub fn empty_text(
        self,
        any_filter: impl Fn() -> bool + Send + Sync + 'static,
        filtered: &'static str,
        none: &'static str,
    ) -> Signal<Option<String>> {
        Signal::derive(move || {
            (self.number.get() == 1).then(|| if any_filter() { filtered } else { none }.to_string())
        })
    }
}

/// "Previous page" / "Next page" below the table; `next_key` is the answer's key of the page
/// after this one (`None` on the last page).
#[component]
pub fn Pager(paging: Paging, next_key: Option<String>) -> impl IntoView {
    let has_next = next_key.is_some();
    let page = paging.number;
    view! {
        <nav class="pager" aria-label="Pages">
            <button
                type="button"
                class="secondary"
                disabled=move || page.get() <= 1
                on:click=move |_| paging.previous.run(())
            >
                "Previous page"
            </button>
            <span class="page-number">{move || format!("Page {}", page.get())}</span>
            <button
                type="button"
                class="secondary"
                disabled=!has_next
                on:click=move |_| {
                    if let Some(key) = next_key.clone() {
                        paging.next.run(key);
                    }
                }
            >
                "Next page"
            </button>
        </nav>
    }
}
