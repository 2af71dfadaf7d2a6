//! `/uniform/integrations/<id>/subscriptions/add` and `…/subscriptions/<subscriptionId>/edit`:
//! Keptn's subscription form — task, task suffix, the stage/service filter and, for the
//! webhook-service, the webhook (method, URL, headers, payload, proxy, started/finished
//! events) with the secret and payload-variable pickers, and the "Preview" pane (preview and
//! test send of the unsaved webhook). Checked as the user types with Keptn's messages; the
//! server's field errors show next to their field. Leaving with pending changes asks first.

use leptos::html::{Input, Textarea};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::components::caret::CaretField;
use crate::components::form::LoadFailed;
use crate::components::pickers::{PickerButtons, PickerData};
use crate::components::preview_pane::PreviewPane;
use crate::components::secret_picker::webhook_secrets;
use crate::components::tag_input::{
    filter_from_tags, tags_from_filter, Category, FilterTag, TagInput,
};
use crate::components::toast::use_toaster;
use crate::components::variable_picker::{example_event_json, example_event_tree};
use crate::error::AppError;
use crate::model::{
    Header, Integration, PreviewOutcome, SeenValues, Subscription, Webhook, WEBHOOK_SERVICE,
};
use crate::paths::integration_path;
use crate::server_fns::deliveries::preview_webhook as render_preview;
use crate::server_fns::secrets::list_secrets;
use crate::server_fns::uniform::{
    get_integration, load_seen_values, CreateSubscription, UpdateSubscription,
};
use crate::validation::{
    header_error, proxy_error, task_error, url_error, HeaderPart, EMPTY_MESSAGE, METHODS,
    METHOD_EMPTY_MESSAGE,
};

/// The tasks offered besides those seen in events.
pub const STANDARD_TASKS: [&str; 9] = [
    "evaluation",
    "deployment",
    "test",
    "release",
    "approval",
    "get-sli",
    "remediation",
    "rollback",
    "action",
];
/// Task suffixes: (value in the event, label).
const SUFFIXES: [(&str, &str); 4] = [
    (">", "*"),
    ("triggered", "triggered"),
    ("started", "started"),
    ("finished", "finished"),
];

pub const SERVICE_WITHOUT_STAGE_MESSAGE: &str = "If you add a service you must add a stage";
pub const PENDING_CHANGES_MESSAGE: &str =
    "You have pending changes. Are you sure you want to leave this page?";
const SEND_EVENTS_INFO: &str = "If you subscribe your webhook to a task event of type triggered, the corresponding started and finished events are sent automatically. To move the responsibility of sending the started/finished event to the webhook receiver, select the option 'by webhook receiver'.";

/// `sh.keptn.event.<task>.<suffix>` → (task, suffix); empty parts when it is not one.
pub fn split_event(event: &str) -> (String, String) {
    match event
        .strip_prefix("sh.keptn.event.")
        .map(|rest| rest.rsplit_once('.').unwrap_or((rest, "")))
    {
        Some((task, suffix)) => (task.to_string(), suffix.to_string()),
        None => (String::new(), String::new()),
    }
}

/// The event type for a task and suffix; empty while either is missing.
pub fn event_type(task: &str, suffix: &str) -> String {
    let task = task.trim();
    if task.is_empty() || suffix.is_empty() {
        String::new()
    } else {
        format!("sh.keptn.event.{task}.{suffix}")
    }
}

/// Whether the started/finished choice applies (Keptn: only for triggered and `*`).
fn sends_apply(suffix: &str) -> bool {
    matches!(suffix, "triggered" | ">")
}

/// Create or edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Create,
    Edit,
}

/// `/uniform/integrations/<id>/subscriptions/add`
#[component]
pub fn CreateSubscriptionPage() -> impl IntoView {
    view! { <SubscriptionLoader mode=Mode::Create /> }
}

/// `/uniform/integrations/<id>/subscriptions/<subscriptionId>/edit`
#[component]
pub fn EditSubscriptionPage() -> impl IntoView {
    view! { <SubscriptionLoader mode=Mode::Edit /> }
}

/// The page's title and heading; then, once the integration is loaded (and, on edit, the
/// subscription found in it), the form.
#[component]
fn SubscriptionLoader(mode: Mode) -> impl IntoView {
    let title = match mode {
        Mode::Create => "Create subscription",
        Mode::Edit => "Edit subscription",
    };
    let params = use_params_map();
    let integration = Resource::new(
        move || params.with(|params| params.get("id").unwrap_or_default()),
        get_integration,
    );
    // Suggestions; the form works without them.
    let seen = Resource::new(|| (), |_| load_seen_values());
    let subscription_id = move || params.with_untracked(|params| params.get("sid"));
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <Transition fallback=|| view! { <p>"Loading ..."</p> }>
            {move || {
                let seen = seen.get();
                integration
                    .get()
                    .zip(seen)
                    .map(|(result, seen)| {
                        let seen = seen.unwrap_or_default();
                        let found = result
                            .and_then(|integration| match mode {
                                Mode::Create => Ok((integration, None)),
                                Mode::Edit => {
                                    let id = subscription_id().unwrap_or_default();
                                    let subscription = integration
                                        .subscriptions
                                        .iter()
                                        .find(|s| s.id == id)
                                        .cloned()
                                        .ok_or_else(|| {
                                            AppError::NotFound(
                                                format!("Subscription {id} not found."),
                                            )
                                        })?;
                                    Ok((integration, Some(subscription)))
                                }
                            });
                        match found {
                            Ok((integration, subscription)) => {
                                view! { <SubscriptionEditor mode integration subscription seen /> }
                                    .into_any()
                            }
                            Err(error) => {
                                view! {
                                    <LoadFailed
                                        message=error.to_string()
                                        back_path="/uniform/integrations"
                                        back_label="Back to the integrations"
                                    />
                                }
                                    .into_any()
                            }
                        }
                    })
            }}
        </Transition>
    }
}

mod editor;
mod leave_guard;
mod webhook;

use editor::{HeaderRow, SubscriptionEditor};
use leave_guard::{guard_links, guard_unload, PendingChangesDialog};
use webhook::WebhookFields;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_and_join() {
        assert_eq!(
            split_event("sh.keptn.event.evaluation.finished"),
            ("evaluation".to_string(), "finished".to_string())
        );
        assert_eq!(
            split_event("sh.keptn.event.get-sli.>"),
            ("get-sli".to_string(), ">".to_string())
        );
        assert_eq!(split_event(""), (String::new(), String::new()));
        assert_eq!(
            event_type("evaluation", "finished"),
            "sh.keptn.event.evaluation.finished"
        );
        assert_eq!(event_type("test", ">"), "sh.keptn.event.test.>");
        assert_eq!(event_type("", "finished"), "");
        assert_eq!(event_type("test", ""), "");
    }
}
