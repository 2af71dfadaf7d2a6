//! The small pieces every page and form repeats: a page's header ([`PageHeader`]) and its
//! sections ([`Section`]), an error
//! message — for the whole page or form ([`Alert`]) or for one field ([`FieldError`], the id a
//! field's `aria-describedby` names) — and the aria attributes that tie a field to its error
//! ([`invalid`], [`described_by`]).

use leptos::prelude::*;
use leptos_meta::Title;

/// A page's title (the tab's too), `<h1>` and lead paragraph.
#[component]
pub fn PageHeader(
    /// The `<h1>` and the document title.
    title: &'static str,
    /// One sentence on what the page is for.
    lead: &'static str,
) -> impl IntoView {
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <p class="lead">{lead}</p>
    }
}

/// A part of a page under its own `<h2 id=…>`, named by it for assistive technology.
#[component]
pub fn Section(
    /// The heading's id.
    id: &'static str,
    /// The heading.
    title: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <section aria-labelledby=id>
            <h2 id=id>{title}</h2>
            {children()}
        </section>
    }
}

/// An error about the whole page or form (`role="alert"`, read out when it appears); nothing
/// while `message` is `None`.
#[component]
pub fn Alert(
    /// The message, when there is one.
    #[prop(into)]
    message: MaybeProp<String>,
) -> impl IntoView {
    error_text(message, MaybeProp::default(), Some("alert"))
}

/// The error under one field, with the `id` its input's `aria-describedby` names; nothing
/// while `message` is `None`.
#[component]
pub fn FieldError(
    /// The element id (see [`described_by`]); none for an error no input points at.
    #[prop(optional, into)]
    id: MaybeProp<String>,
    /// The message, when there is one.
    #[prop(into)]
    message: MaybeProp<String>,
) -> impl IntoView {
    error_text(message, id, None)
}

/// The error paragraph while there is a `message`.
fn error_text(
    message: MaybeProp<String>,
    id: MaybeProp<String>,
    role: Option<&'static str>,
) -> impl IntoView {
    move || {
        message
            .get()
            .map(|message| view! { <p class="field-error" id=id.get() role=role>{message}</p> })
    }
}

/// `aria-invalid` of a field whose error is `message`: `"true"` while there is one.
pub fn invalid(message: impl Fn() -> Option<String>) -> impl Fn() -> String {
    move || message().is_some().to_string()
}

/// `aria-describedby` of a field: its error's `id` while there is an error, otherwise none.
pub fn described_by(
    message: impl Fn() -> Option<String>,
    id: impl Into<String>,
) -> impl Fn() -> Option<String> {
    let id = id.into();
    move || message().is_some().then(|| id.clone())
}
