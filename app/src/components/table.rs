//! The table every list on the pages is drawn with: its column headers (a column of row
//! buttons named for screen readers only) and the rows the page gives. Wide tables sit in a
//! box that scrolls sideways and turn into one card per row on narrow screens (`stack`,
//! each cell led by its `data-label`). [`RowButton`] is a row's button, named for what it acts on.

use leptos::prelude::*;

/// A column header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// Shown as written.
    Shown(&'static str),
    /// Read by screen readers only: the column of a row's buttons or links.
    Hidden(&'static str),
}

/// The hidden header of a column of row buttons.
pub const ACTIONS: Column = Column::Hidden("Actions");

/// A table: headers from `columns`, rows from `children`.
#[component]
pub fn Table(
    columns: &'static [Column],
    /// CSS classes of the `<table>`.
    #[prop(optional)]
    class: &'static str,
    /// The table's name for assistive technology (`aria-label`).
    #[prop(optional)]
    label: Option<&'static str>,
    /// The id of the heading that names the table (`aria-labelledby`).
    #[prop(optional)]
    labelled_by: Option<&'static str>,
    /// A wide table: in a sideways-scrolling box, and as cards on narrow screens.
    #[prop(optional)]
    wide: bool,
    children: Children,
) -> impl IntoView {
    let class = match (wide, class.is_empty()) {
        (true, true) => "stack".to_string(),
        (true, false) => format!("{class} stack"),
        (false, _) => class.to_string(),
    };
    let class = (!class.is_empty()).then_some(class);
    let headers = columns
        .iter()
        .map(|column| match *column {
            Column::Shown(name) => view! { <th>{name}</th> }.into_any(),
            Column::Hidden(name) => view! {
                <th>
                    <span class="visually-hidden">{name}</span>
                </th>
            }
            .into_any(),
        })
        .collect_view();
    let table = view! {
        <table class=class aria-label=label aria-labelledby=labelled_by>
            <thead>
                <tr>{headers}</tr>
            </thead>
            <tbody>{children()}</tbody>
        </table>
    };
    if wide {
        view! { <div class="table-scroll">{table}</div> }.into_any()
    } else {
        table.into_any()
    }
}

/// A row's button: `text` for everyone, and `object` after it for screen readers only, so
/// that "Delete" reads "Delete secret" (or "Redeliver the delivery at …").
#[component]
pub fn RowButton(
    text: &'static str,
    /// What the button acts on, with its leading space: " secret".
    #[prop(into)]
    object: String,
    /// True while the button must not be pressed (its action runs).
    #[prop(optional, into)]
    disabled: MaybeProp<bool>,
    on_click: Callback<()>,
) -> impl IntoView {
    view! {
        <button
            type="button"
            class="icon"
            disabled=move || disabled.get().unwrap_or(false)
            on:click=move |_| on_click.run(())
        >
            {text}
            <span class="visually-hidden">{object}</span>
        </button>
    }
}
