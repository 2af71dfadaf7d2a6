//! `/uniform/tokens`: the REST API tokens — list, create (shown once), revoke (after a
//! confirmation, with a toast like every other destructive action).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::dialog::{ConfirmDialog, Confirmation};
use crate::components::table::{Column::Shown, Table, ACTIONS};
use crate::components::toast::{provide_toaster, ToastRegion};
use crate::model::TokenInfo;
use crate::pages::deliveries::display_time;
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
    Effect::new(move |_| {
        confirm.settle(revoke.value().get(), |token| {
            toaster.show(format!("API token {} revoked.", token.name));
        });
    });
    let ask_revoke = Callback::new(move |token: TokenInfo| confirm.ask(token));

    view! {
        <Title text="API tokens" />
        <h1>"API tokens"</h1>
        <p class="lead">
            "Tokens authenticate calls to the REST API (header x-token or Authorization: Bearer)."
        </p>
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
                aria-invalid=move || name_error().is_some().to_string()
            />
            {move || name_error().map(|message| view! { <p class="field-error">{message}</p> })}
            <div class="form-actions">
                <button type="submit" disabled=move || create.pending().get()>
                    "Create token"
                </button>
            </div>
        </form>
        {move || created().map(|token| view! { <NewTokenNotice token=token.token /> })}
        <Transition fallback=|| view! { <p>"Loading tokens…"</p> }>
            {move || {
                tokens
                    .get()
                    .map(|result| match result {
                        Ok(list) if list.is_empty() => {
                            view! { <p>"No API tokens. Create one to use the REST API."</p> }
                                .into_any()
                        }
                        Ok(list) => view! { <TokenTable list ask_revoke /> }.into_any(),
                        Err(error) => {
                            view! { <p class="field-error" role="alert">{error.to_string()}</p> }
                                .into_any()
                        }
                    })
            }}
        </Transition>
        {move || {
            confirm
                .item
                .get()
                .map(|token| {
                    let question = format!(
                        "Revoke the API token {}? Scripts using it get 401 from then on.",
                        token.name
                    );
                    let id = token.id.clone();
                    view! {
                        <ConfirmDialog
                            label="Revoke API token confirmation"
                            confirm_label="Revoke"
                            pending=revoke.pending()
                            error=confirm.error
                            on_confirm=Callback::new(move |()| {
                                revoke.dispatch(RevokeToken { id: id.clone() });
                            })
                            on_cancel=Callback::new(move |()| confirm.cancel())
                        >
                            <p>{question}</p>
                        </ConfirmDialog>
                    }
                })
        }}
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
