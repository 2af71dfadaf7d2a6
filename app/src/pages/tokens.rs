//! `/uniform/tokens`: the REST API tokens — list, create (shown once), revoke (after a
//! confirmation, with a toast like every other destructive action).

use leptos::prelude::*;

use crate::components::dialog::Confirmation;
use crate::components::field::{invalid, FieldError, PageHeader};
use crate::components::loaded::ConfirmedList;
use crate::components::table::{Column::Shown, Table, ACTIONS};
use crate::components::toast::{provide_toaster, ToastRegion};
use crate::format::display_time;
use crate::model::TokenInfo;
use crate::server_fns::tokens::{list_tokens, CreateToken, RevokeToken};

/// The API tokens page.
#[component]
pub fn TokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let name = RwSignal::new(String::new());
    let created = move || create.value().get().and_then(Result::ok);
    let name_error = move || {
        create
            .value()
            .get()
            .and_then(|result| result.err())
            .map(|error| error.for_field("name").unwrap_or_else(|| error.to_string()))
    };
    Effect::new(move |_| {
        if created().is_some() {
            name.set(String::new());
        }
    });
    // The token whose revocation waits for confirmation, and why the last attempt failed.
    let confirm = Confirmation::<TokenInfo>::new();
    let toaster = provide_toaster();
    let ask_revoke = confirm.follow(*revoke, |token| {
        format!("API token {} revoked.", token.name)
    });

    view! {
        <PageHeader
            title="API tokens"
            lead="Tokens authenticate calls to the REST API (header x-token or Authorization: Bearer)."
        />
        <form
            class="inline-form"
            on:submit=move |event| {
                event.prevent_default();
                create.dispatch(CreateToken { name: name.get() });
            }
        >
            <label for="token-name">"Token name"</label>
            <input
                id="token-name"
                name="name"
                placeholder="e.g. ci-pipeline"
                prop:value=move || name.get()
                on:input=move |event| name.set(event_target_value(&event))
                aria-invalid=invalid(name_error)
            />
            <FieldError message=Signal::derive(name_error) />
            <div class="form-actions">
                <button type="submit" disabled=move || create.pending().get()>
                    "Create token"
                </button>
            </div>
        </form>
        {move || created().map(|token| view! { <NewTokenNotice token=token.token /> })}
        <ConfirmedList
            resource=tokens
            loading="Loading tokens…"
            empty="No API tokens. Create one to use the REST API."
            confirm
            label="Revoke API token confirmation"
            confirm_label="Revoke"
            pending=revoke.pending()
            question=|token: &TokenInfo| {
                format!("Revoke the API token {}? Scripts using it get 401 from then on.", token.name)
            }
            on_confirm=Callback::new(move |token: TokenInfo| {
                revoke.dispatch(RevokeToken { id: token.id });
            })
            let:list
        >
            <TokenTable list ask_revoke />
        </ConfirmedList>
        <ToastRegion toaster />
    }
}

/// The table of tokens with a revoke button per row.
#[component]
fn TokenTable(list: Vec<TokenInfo>, ask_revoke: Callback<TokenInfo>) -> impl IntoView {
    view! {
        <Table columns=&[Shown("Name"), Shown("Created (UTC)"), Shown("Last used (UTC)"), ACTIONS]>
            {list
                .into_iter()
                .map(|token| {
                    let revoke_name = format!(" the token {}", token.name);
                    let created = display_time(&token.created_at);
                    let last_used = token
                        .last_used_at
                        .as_deref()
                        .map_or_else(|| "never".to_string(), display_time);
                    let name = token.name.clone();
                    view! {
                        <tr>
                            <td>{name}</td>
                            <td>{created}</td>
                            <td>{last_used}</td>
                            <td>
                                <button
                                    class="secondary"
                                    on:click=move |_| ask_revoke.run(token.clone())
                                >
                                    "Revoke"
                                    <span class="visually-hidden">{revoke_name}</span>
                                </button>
                            </td>
                        </tr>
                    }
                })
                .collect_view()}
        </Table>
    }
}

/// The plaintext of a token just created, shown once, with a copy button.
#[component]
fn NewTokenNotice(token: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let value = token.clone();
    view! {
        <div class="notice" role="status">
            <label for="new-token">"New API token"</label>
            <input id="new-token" readonly prop:value=token />
            <p>"Copy this token now: it will not be shown again."</p>
            <button
                class="secondary"
                on:click=move |_| {
                    copy_to_clipboard(&value);
                    copied.set(true);
                }
            >
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
        </div>
    }
}

/// Puts `text` on the clipboard (browser only; a no-op during SSR).
fn copy_to_clipboard(text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _promise = window.navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}
