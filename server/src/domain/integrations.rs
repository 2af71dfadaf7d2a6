//! Integrations and their subscriptions (Keptn's uniform API): the built-in webhook-service,
//! registration of other integrations, and the validation of subscriptions — event type,
//! filter, and for webhooks the method, URL, headers, proxy, templates and the secrets they
//! reference (which must exist in scope `keptn-webhook-service`).

use app::model::{
    Integration, IntegrationMetadata, KubernetesMetadata, Subscription, SubscriptionFilter,
    Webhook, WEBHOOK_SCOPE, WEBHOOK_SERVICE,
};
use app::validation;
use sha1::{Digest as _, Sha1};
use std::sync::Arc;

use crate::db::Store;

use crate::db;
use crate::db::integrations::SubscriptionRow;
use crate::error::DomainError;
use crate::outbound::clients::check_proxy;
use crate::outbound::guard::TargetPolicy;
use crate::templates;
use crate::templates::webhook::webhook_templates;
use crate::util;

/// Task suffixes a subscription may name (`>` = any, shown as `*`).
pub const SUFFIXES: [&str; 4] = ["triggered", "started", "finished", ">"];

/// Keptn's integration id: sha1 hex of `<name>-<namespace>-<hostname>`.
pub fn integration_id(name: &str, namespace: &str, hostname: &str) -> String {
    hex::encode(Sha1::digest(format!("{name}-{namespace}-{hostname}")))
}

/// This machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Creates the built-in webhook-service at first start and refreshes its metadata.
pub async fn ensure_builtin(db: &Store) -> sqlx::Result<String> {
    let host = hostname();
    let id = match db::integrations::builtin_id(db).await? {
        Some(id) => id,
        None => integration_id(WEBHOOK_SERVICE, "uniform", &host),
    };
    let metadata = IntegrationMetadata {
        hostname: Some(host),
        integrationversion: Some(env!("CARGO_PKG_VERSION").to_string()),
        distributorversion: Some(env!("CARGO_PKG_VERSION").to_string()),
        location: Some("control-plane".to_string()),
        lastseen: None,
        kubernetesmetadata: Some(KubernetesMetadata {
            namespace: Some("uniform".to_string()),
            ..Default::default()
        }),
    };
    db::integrations::upsert(
        db,
        &id,
        WEBHOOK_SERVICE,
        &to_json(&metadata),
        true,
        &util::now_rfc3339(),
    )
    .await?;
    Ok(id)
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_string())
}

/// The filter value a subscription shows when its stored filter cannot be read (see
/// [`db::integrations::UNREADABLE_FILTER`]).
pub const UNREADABLE_FILTER: &str = db::integrations::UNREADABLE_FILTER;

/// Integrations matching the optional filters, with their subscriptions.
pub async fn list(
    db: &Store,
    id: Option<&str>,
    name: Option<&str>,
) -> Result<Vec<Integration>, DomainError> {
    Ok(db::integrations::models(db, id, name).await?)
}

/// Every integration with its subscriptions, from the store's cache while nothing changed
/// (see [`db::integrations::all_cached`]).
pub async fn all_cached(db: &Store) -> Result<Arc<Vec<Integration>>, DomainError> {
    Ok(db::integrations::all_cached(db).await?)
}

/// Integration `id`, or `NotFound`.
pub async fn get(db: &Store, id: &str) -> Result<Integration, DomainError> {
    list(db, Some(id), None)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| DomainError::NotFound(format!("integration {id} not found")))
}

/// Registers an integration (Keptn's `POST /uniform/registration`): returns its id and
/// whether it is new. An existing one gets the new metadata and keeps its subscriptions.
pub async fn register(
    db: &Store,
    policy: &TargetPolicy,
    body: Integration,
) -> Result<(String, bool), DomainError> {
    let namespace = body
        .metadata
        .kubernetesmetadata
        .as_ref()
        .and_then(|k| k.namespace.clone())
        .unwrap_or_default();
    let hostname = body.metadata.hostname.clone().unwrap_or_default();
    let missing: Vec<&str> = [
        ("name", body.name.is_empty()),
        (
            "metadata.kubernetesmetadata.namespace",
            namespace.is_empty(),
        ),
        ("metadata.hostname", hostname.is_empty()),
    ]
    .into_iter()
    .filter_map(|(field, missing)| missing.then_some(field))
    .collect();
    if !missing.is_empty() {
        return Err(DomainError::invalid(
            missing.join(", "),
            format!(
                "incomplete integration ID: name, namespace and hostname must be set (missing: {})",
                missing.join(", ")
            ),
        ));
    }
    if body.name == WEBHOOK_SERVICE {
        return Err(DomainError::Conflict(
            "webhook-service is built into Uniform and cannot be registered".to_string(),
        ));
    }
    for subscription in &body.subscriptions {
        validate(db, policy, false, subscription).await?;
    }
    let id = integration_id(&body.name, &namespace, &hostname);
    let mut metadata = body.metadata;
    metadata.lastseen = Some(util::now_rfc3339());
    let now = util::now_rfc3339();
    let created =
        db::integrations::upsert(db, &id, &body.name, &to_json(&metadata), false, &now).await?;
    if created {
        for subscription in body.subscriptions {
            insert(db, &id, subscription, &now).await?;
        }
    }
    Ok((id, created))
}

/// Records that integration `id` is alive; returns it.
pub async fn ping(db: &Store, id: &str) -> Result<Integration, DomainError> {
    let current = get(db, id).await?;
    let mut metadata = current.metadata;
    metadata.lastseen = Some(util::now_rfc3339());
    db::integrations::set_metadata(db, id, &to_json(&metadata)).await?;
    get(db, id).await
}

/// Removes integration `id` and its subscriptions (not the built-in one).
pub async fn unregister(db: &Store, id: &str) -> Result<(), DomainError> {
    let current = get(db, id).await?;
    if current.name == WEBHOOK_SERVICE
        && db::integrations::builtin_id(db).await?.as_deref() == Some(id)
    {
        return Err(DomainError::invalid(
            "id",
            "the built-in webhook-service cannot be removed",
        ));
    }
    db::integrations::delete(db, id).await?;
    Ok(())
}

async fn is_webhook_service(db: &Store, integration_id: &str) -> Result<bool, DomainError> {
    Ok(db::integrations::builtin_id(db).await?.as_deref() == Some(integration_id))
}

/// The subscription of `integration_id` with id `id`, or `NotFound`.
pub async fn get_subscription(
    db: &Store,
    integration_id: &str,
    id: &str,
) -> Result<Subscription, DomainError> {
    get(db, integration_id)
        .await?
        .subscriptions
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| DomainError::NotFound(format!("subscription {id} not found")))
}

/// Adds a subscription to `integration_id`; returns its id.
pub async fn create_subscription(
    db: &Store,
    policy: &TargetPolicy,
    integration_id: &str,
    subscription: Subscription,
) -> Result<String, DomainError> {
    get(db, integration_id).await?;
    validate(
        db,
        policy,
        is_webhook_service(db, integration_id).await?,
        &subscription,
    )
    .await?;
    insert(db, integration_id, subscription, &util::now_rfc3339()).await
}

async fn insert(
    db: &Store,
    integration_id: &str,
    subscription: Subscription,
    now: &str,
) -> Result<String, DomainError> {
    let id = uuid::Uuid::new_v4().to_string();
    let row = row(integration_id, &id, subscription);
    db::integrations::insert_subscription(db, &row, now).await?;
    tracing::info!(subscription = %id, integration = %integration_id, event = %row.event, "subscription created");
    Ok(id)
}

fn row(integration_id: &str, id: &str, subscription: Subscription) -> SubscriptionRow {
    SubscriptionRow {
        id: id.to_string(),
        integration_id: integration_id.to_string(),
        event: subscription.event,
        filter: to_json(&subscription.filter),
        webhook: subscription.webhook.as_ref().map(to_json),
    }
}

/// Replaces subscription `id` of `integration_id`.
pub async fn update_subscription(
    db: &Store,
    policy: &TargetPolicy,
    integration_id: &str,
    id: &str,
    subscription: Subscription,
) -> Result<(), DomainError> {
    get_subscription(db, integration_id, id).await?;
    validate(
        db,
        policy,
        is_webhook_service(db, integration_id).await?,
        &subscription,
    )
    .await?;
    db::integrations::update_subscription(db, &row(integration_id, id, subscription)).await?;
    tracing::info!(subscription = %id, integration = %integration_id, "subscription updated");
    Ok(())
}

/// Deletes subscription `id` of `integration_id`.
pub async fn delete_subscription(
    db: &Store,
    integration_id: &str,
    id: &str,
) -> Result<(), DomainError> {
    get(db, integration_id).await?;
    if !db::integrations::delete_subscription(db, integration_id, id).await? {
        return Err(DomainError::NotFound(format!(
            "subscription {id} not found"
        )));
    }
    tracing::info!(subscription = %id, integration = %integration_id, "subscription deleted");
    Ok(())
}

/// Ids of the subscriptions whose webhook references secret `name`.
pub async fn subscriptions_using_secret(
    db: &Store,
    name: &str,
) -> Result<Vec<String>, DomainError> {
    subscriptions_using_secret_keys(db, name, None).await
}

/// The subscriptions whose webhook references secret `name` — only through one of `keys` when
/// given — each as its label (task and filter, as the UI names it) and id:
/// `"evaluation.finished · stages dev" (0193…)`.
pub async fn subscriptions_using_secret_keys(
    db: &Store,
    name: &str,
    keys: Option<&[String]>,
) -> Result<Vec<String>, DomainError> {
    let uses = |secret: &str, key: &str| {
        secret == name && keys.is_none_or(|keys| keys.iter().any(|k| k == key))
    };
    let mut users = Vec::new();
    for row in db::integrations::subscriptions(db, None).await? {
        let subscription = db::integrations::subscription(row);
        let Some(webhook) = &subscription.webhook else {
            continue;
        };
        if webhook_templates(webhook)
            .iter()
            .filter_map(|(_, source)| templates::parse(source).ok())
            .any(|t| {
                t.secret_refs()
                    .iter()
                    .any(|(secret, key)| uses(secret, key))
            })
        {
            // Named only for the ones that use it.
            let label = app::format::subscription_label(&subscription.event, &subscription.filter);
            users.push(format!("\"{label}\" ({})", subscription.id));
        }
    }
    Ok(users)
}

/// Checks a subscription; `webhook_service` says whether it belongs to the built-in
/// webhook-service (which requires a webhook; others must not have one). `policy` is the
/// sender's SSRF guard (a proxy written as an address it refuses is refused here).
pub async fn validate(
    db: &Store,
    policy: &TargetPolicy,
    webhook_service: bool,
    subscription: &Subscription,
) -> Result<(), DomainError> {
    validate_event(&subscription.event)?;
    validate_filter(&subscription.filter)?;
    match (&subscription.webhook, webhook_service) {
        (None, true) => Err(DomainError::invalid(
            "webhook",
            "a webhook is required for subscriptions of webhook-service",
        )),
        (Some(_), false) => Err(DomainError::invalid(
            "webhook",
            "a webhook is only allowed for subscriptions of webhook-service",
        )),
        (None, false) => Ok(()),
        (Some(webhook), true) => validate_webhook(db, policy, webhook).await,
    }
}

/// `sh.keptn.event.<task>.<suffix>`.
pub fn validate_event(event: &str) -> Result<(), DomainError> {
    if event.is_empty() {
        return Err(DomainError::invalid(
            "event",
            "the event must be specified when setting up a subscription",
        ));
    }
    let parts: Vec<&str> = event.split('.').collect();
    // The task follows the subscription form's rule (app::validation::task_error).
    let valid = matches!(parts.as_slice(), ["sh", "keptn", "event", task, suffix]
        if validation::task_error(task).is_none() && SUFFIXES.contains(suffix));
    if valid {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "event",
            format!("event {event:?} must be sh.keptn.event.<task>.<suffix> with suffix triggered, started, finished or >"),
        ))
    }
}

/// When the URL's text before its first placeholder holds the whole `scheme://authority`
/// (a `/`, `?` or `#` follows it, or there is no placeholder), that host must be present
/// and valid: `http://` alone can never be sent.
fn check_url_host(url: &str) -> Result<(), String> {
    let literal = url.split("{{").next().unwrap_or_default();
    let Some((_, authority)) = literal.split_once("://") else {
        return Ok(());
    };
    if literal.len() < url.len() && !authority.contains(['/', '?', '#']) {
        return Ok(());
    }
    match url::Url::parse(literal) {
        Ok(parsed) if parsed.host_str().is_some_and(|host| !host.is_empty()) => Ok(()),
        Ok(_) | Err(url::ParseError::EmptyHost) => {
            Err("URL must name a host after http(s)://".to_string())
        }
        Err(e) => Err(format!("URL is not valid: {e}")),
    }
}

fn validate_filter(filter: &SubscriptionFilter) -> Result<(), DomainError> {
    if !filter.services.is_empty() && filter.stages.is_empty() {
        return Err(DomainError::invalid(
            "filter",
            "at least one stage must be specified when setting up a subscription filter for a service",
        ));
    }
    for (field, values) in [
        ("filter.projects", &filter.projects),
        ("filter.stages", &filter.stages),
        ("filter.services", &filter.services),
    ] {
        if values.iter().any(|v| v.trim().is_empty()) {
            return Err(DomainError::invalid(
                field,
                "filter values must not be empty",
            ));
        }
    }
    Ok(())
}

async fn validate_webhook(
    db: &Store,
    policy: &TargetPolicy,
    webhook: &Webhook,
) -> Result<(), DomainError> {
    // The form's own rules first (app::validation, shared with the page), then what only
    // the server can check: the URL's host, the proxy against the policy, the templates.
    if let Some(message) = validation::method_error(&webhook.method) {
        return Err(DomainError::invalid("webhook.method", message));
    }
    let url = webhook.url.as_str();
    if let Some(message) = validation::url_error(url) {
        return Err(DomainError::invalid("webhook.url", message));
    }
    check_url_host(url).map_err(|message| DomainError::invalid("webhook.url", message))?;
    for (index, header) in webhook.headers.iter().enumerate() {
        if let Some((part, message)) = validation::header_error(&header.key, &header.value) {
            let field = match part {
                validation::HeaderPart::Key => format!("webhook.headers[{index}]"),
                validation::HeaderPart::Value => format!("webhook.headers[{index}].value"),
            };
            return Err(DomainError::invalid(field, message));
        }
    }
    if let Some(proxy) = webhook.proxy.as_deref().filter(|p| !p.is_empty()) {
        if let Some(message) = validation::proxy_error(proxy) {
            return Err(DomainError::invalid("webhook.proxy", message));
        }
        check_proxy(policy, proxy)
            .map_err(|problem| DomainError::invalid("webhook.proxy", problem.to_string()))?;
    }
    let secrets = db::secrets::list(db, None, Some(WEBHOOK_SCOPE)).await?;
    for (field, source) in webhook_templates(webhook) {
        let template = templates::parse(source).map_err(|e| DomainError::Template {
            field: field.clone(),
            line: e.pos.line,
            column: e.pos.column,
            message: e.message,
        })?;
        let compiled = crate::templates::render::Compiled::from_template(
            &template,
            crate::templates::render::Landing::Text,
        );
        if let Some(problem) = compiled.problem() {
            return Err(DomainError::invalid(field, problem));
        }
        for (name, key) in template.secret_refs() {
            match secrets.iter().find(|s| s.name == name) {
                None => {
                    return Err(DomainError::invalid(
                        field,
                        format!("secret {name} does not exist in scope {WEBHOOK_SCOPE}"),
                    ))
                }
                Some(secret) if !secret.keys.contains(&key) => {
                    return Err(DomainError::invalid(
                        field,
                        format!("secret {name} has no key {key}"),
                    ))
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}
