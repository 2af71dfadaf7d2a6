//! The content of the "Select secret" popup: the secrets of scope keptn-webhook-service as a
//! tree (name → keys); picking a key yields `{{.secret.<name>.<key>}}`.

use leptos::prelude::*;

use crate::components::field::FieldError;
use crate::components::tree::{Tree, TreeNode};
use crate::error::AppError;
use crate::model::{SecretInfo, WEBHOOK_SCOPE};

/// Where the empty state sends the user to create one.
pub const CREATE_SECRET_PATH: &str = "/uniform/secrets/add?scope=keptn-webhook-service";

/// The template that references `key` of secret `name`.
pub fn secret_reference(name: &str, key: &str) -> String {
    format!("{{{{.secret.{name}.{key}}}}}")
}

/// The secrets a webhook may reference, sorted by name, each with its keys sorted.
pub fn webhook_secrets(all: Vec<SecretInfo>) -> Vec<SecretInfo> {
    let mut secrets: Vec<SecretInfo> = all
        .into_iter()
        .filter(|secret| secret.scope == WEBHOOK_SCOPE)
        .map(|mut secret| {
            secret.keys.sort();
            secret
        })
        .collect();
    secrets.sort_by(|a, b| a.name.cmp(&b.name));
    secrets
}

/// The tree of secrets (already filtered with [`webhook_secrets`]); `None` while loading.
#[component]
pub fn SecretTree(
    #[prop(into)] secrets: Signal<Option<Result<Vec<SecretInfo>, AppError>>>,
    /// Receives the reference to insert.
    on_pick: Callback<String>,
) -> impl IntoView {
    move || {
        match secrets.get() {
        None => view! { <p class="picker-note">"Loading secrets…"</p> }.into_any(),
        Some(Err(error)) => view! { <FieldError message=error.to_string() /> }.into_any(),
        Some(Ok(list)) if list.is_empty() => view! {
            <p class="picker-note">"No secrets for the scope keptn-webhook-service are available."</p>
            <p class="picker-note">
                "Configure secrets for the scope keptn-webhook-service under the menu entry "
                <strong>"Secrets"</strong>
                " in the Uniform. "
                <a href=CREATE_SECRET_PATH>"Create secret"</a>
            </p>
        }
        .into_any(),
        Some(Ok(list)) => view! {
            <p class="picker-note">"Only secrets of scope keptn-webhook-service can be referenced."</p>
            <Tree nodes=secret_nodes(list) on_pick />
        }
        .into_any(),
    }
    }
}

/// The tree's entries: each secret a branch, its keys the leaves.
fn secret_nodes(secrets: Vec<SecretInfo>) -> Vec<TreeNode> {
    secrets
        .into_iter()
        .map(|SecretInfo { name, keys, .. }| TreeNode::Branch {
            children: keys
                .into_iter()
                .map(|key| TreeNode::Leaf {
                    reference: secret_reference(&name, &key),
                    label: key,
                    detail: None,
                })
                .collect(),
            label: name,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_look_like_keptns() {
        assert_eq!(
            secret_reference("slack-secret", "webhook-identifier"),
            "{{.secret.slack-secret.webhook-identifier}}"
        );
    }

    #[test]
    fn only_the_webhook_scope_sorted() {
        let secret = |name: &str, scope: &str, keys: &[&str]| SecretInfo {
            name: name.to_string(),
            scope: scope.to_string(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
        };
        let list = webhook_secrets(vec![
            secret("b", WEBHOOK_SCOPE, &["z", "a"]),
            secret("other", "keptn-default", &["k"]),
            secret("a", WEBHOOK_SCOPE, &["k"]),
        ]);
        assert_eq!(
            list,
            vec![
                secret("a", WEBHOOK_SCOPE, &["k"]),
                secret("b", WEBHOOK_SCOPE, &["a", "z"])
            ]
        );
    }
}
