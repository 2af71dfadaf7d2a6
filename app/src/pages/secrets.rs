//! `/uniform/secrets`: the encrypted secrets that webhook subscriptions can reference — the
//! list with edit and delete (after a confirmation). The add and edit forms are in
//! [`super::secret_form`]; [`SecretsSection`] holds all three and their toasts.

use leptos::prelude::*;
use leptos_router::components::Outlet;
use leptos_router::hooks::use_navigate;

use crate::components::dialog::Confirmation;
use crate::components::field::PageHeader;
use crate::components::loaded::ConfirmedList;
use crate::components::table::{Column::Shown, RowButton, Table, ACTIONS};
use crate::components::toast::{provide_toaster, ToastRegion};
use crate::model::SecretInfo;
use crate::server_fns::secrets::{list_secrets, DeleteSecret};

/// The frame of the Secrets pages: it outlives them, so a toast shown before navigating from
/// the form back to the list stays visible.
#[component]
pub fn SecretsSection() -> impl IntoView {
    let toaster = provide_toaster();
    view! {
        <Outlet />
        <ToastRegion toaster />
    }
}

/// The Secrets page: the list.
#[component]
pub fn SecretsPage() -> impl IntoView {
    let delete = ServerAction::<DeleteSecret>::new();
    let secrets = Resource::new(move || delete.version().get(), |_| list_secrets());
    // The secret whose deletion waits for confirmation, and why the last attempt failed.
    let confirm = Confirmation::<SecretInfo>::new();
    let ask_delete = confirm.follow(*delete, |_| "Secret deleted successfully!".to_string());

    view! {
        <PageHeader
            title="Secrets"
            lead="Secrets can be used to store sensitive data like credentials or URIs for integrations."
        />
        <div class="toolbar">
            <a class="button" href="/uniform/secrets/add">
                "Add secret"
            </a>
        </div>
        <ConfirmedList
            resource=secrets
            loading="Loading secrets…"
            empty="No secrets available."
            confirm
            label="Delete secret confirmation"
            confirm_label="Delete"
            pending=delete.pending()
            question=|secret: &SecretInfo| format!("Are you sure you want to delete \"{}\"?", secret.name)
            on_confirm=Callback::new(move |secret: SecretInfo| {
                delete.dispatch(DeleteSecret { name: secret.name, scope: secret.scope });
            })
            let:list
        >
            <SecretTable list ask_delete />
        </ConfirmedList>
    }
}

/// The table of secrets with an edit and a delete button per row.
#[component]
fn SecretTable(list: Vec<SecretInfo>, ask_delete: Callback<SecretInfo>) -> impl IntoView {
    let navigate = use_navigate();
    view! {
        <Table columns=&[Shown("Name"), Shown("Scope"), Shown("Keys"), ACTIONS] class="secrets">
            {list
                .into_iter()
                .map(|secret| {
                    let navigate = navigate.clone();
                    let edit_href = format!("/uniform/secrets/edit/{}", secret.name);
                    let keys = secret.keys.join(", ");
                    let row = secret.clone();
                    view! {
                        <tr>
                            <td>{secret.name}</td>
                            <td>{secret.scope}</td>
                            <td>{keys}</td>
                            <td class="row-actions">
                                <RowButton
                                    text="Edit"
                                    object=" secret"
                                    on_click=Callback::new(move |()| {
                                        navigate(&edit_href, Default::default())
                                    })
                                />
                                <RowButton
                                    text="Delete"
                                    object=" secret"
                                    on_click=Callback::new(move |()| ask_delete.run(row.clone()))
                                />
                            </td>
                        </tr>
                    }
                })
                .collect_view()}
        </Table>
    }
}
