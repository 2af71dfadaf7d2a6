//! Keptn's uniform API through the real server: the built-in webhook-service, registration
//! of other integrations, subscriptions with webhooks (the walkthrough's seed round trip),
//! validation messages, and secrets that subscriptions use.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{call, webhook_service_id, TestServer, REGISTRATION as BASE};
use reqwest::Method;
use serde_json::{json, Value};

async fn slack_secret(server: &TestServer) {
    let (status, _) = call(
        server,
        Method::POST,
        "/api/secrets/v1/secret",
        Some(
            json!({"name": "slack-secret", "scope": "keptn-webhook-service",
                    "data": {"webhook-identifier": "XXXXXXXXXXXXXXXXXXXXXXXX"}}),
        ),
    )
    .await;
    assert_eq!(status, 201);
}

const SEED_PAYLOAD: &str = "{\n  \"text\": \"Evaluation in {{.data.stage}} finished with result {{.data.evaluation.result}} and score {{.data.evaluation.score}}.\"\n}";

fn seed() -> Value {
    json!({
        "event": "sh.keptn.event.evaluation.finished",
        "filter": {"projects": [], "stages": ["dev", "staging"], "services": []},
        "webhook": {
            "method": "POST",
            "url": "https://hooks.slack.com/services/T00000000/B00000000/{{.secret.slack-secret.webhook-identifier}}",
            "headers": [{"key": "Content-Type", "value": "application/json"}],
            "payload": SEED_PAYLOAD,
            "proxy": null,
            "sendStarted": true,
            "sendFinished": true
        }
    })
}

#[tokio::test]
async fn the_webhook_service_is_built_in() {
    let server = TestServer::start().await;
    let (status, list) = call(&server, Method::GET, BASE, None).await;
    assert_eq!(status, 200);
    let builtin = &list[0];
    assert_eq!(builtin["name"], "webhook-service");
    let id = builtin["id"].as_str().unwrap();
    assert_eq!(id.len(), 40);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(
        builtin["metadata"]["integrationversion"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(builtin["metadata"]["location"], "control-plane");
    assert!(builtin["metadata"]["hostname"]
        .as_str()
        .is_some_and(|h| !h.is_empty()));
    assert!(builtin["metadata"]["lastseen"].is_string());
    assert_eq!(builtin["subscriptions"], json!([]));
    let (status, body) = call(&server, Method::DELETE, &format!("{BASE}/{id}"), None).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn other_integrations_register_ping_and_leave_like_keptns() {
    let server = TestServer::start().await;
    let body = json!({"name": "jira-service",
        "metadata": {"hostname": "node-1", "integrationversion": "1.2.0", "distributorversion": "0.15.0",
                     "location": "remote", "kubernetesmetadata": {"namespace": "keptn"}},
        "subscriptions": [{"event": "sh.keptn.event.deployment.triggered", "filter": {"projects": ["podtato"]}}]});
    let (status, created) = call(&server, Method::POST, BASE, Some(body.clone())).await;
    assert_eq!(status, 201);
    use sha1::Digest as _;
    let expected = hex::encode(sha1::Sha1::digest("jira-service-keptn-node-1"));
    assert_eq!(created, json!({"id": expected}));
    let (status, again) = call(&server, Method::POST, BASE, Some(body)).await;
    assert_eq!((status, again), (200, json!({"id": expected})));

    let (status, list) = call(&server, Method::GET, &format!("{BASE}?id={expected}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["metadata"]["integrationversion"], "1.2.0");
    assert_eq!(
        list[0]["subscriptions"].as_array().unwrap().len(),
        1,
        "not duplicated by re-registering"
    );
    assert_eq!(
        list[0]["subscriptions"][0]["event"],
        "sh.keptn.event.deployment.triggered"
    );

    let (status, pinged) = call(
        &server,
        Method::PUT,
        &format!("{BASE}/{expected}/ping"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(pinged["id"], expected.as_str());
    assert!(pinged["metadata"]["lastseen"].is_string());
    let (status, body) = call(&server, Method::PUT, &format!("{BASE}/nope/ping"), None).await;
    assert_eq!(
        (status, body),
        (
            404,
            json!({"code": 404, "message": "integration nope not found"})
        )
    );

    for (body, message) in [
        (json!({"metadata": {"hostname": "h", "kubernetesmetadata": {"namespace": "n"}}}),
         "name: incomplete integration ID: name, namespace and hostname must be set (missing: name)"),
        (json!({"name": "x", "metadata": {"hostname": "h"}}),
         "metadata.kubernetesmetadata.namespace: incomplete integration ID: name, namespace and hostname must be set (missing: metadata.kubernetesmetadata.namespace)"),
        (json!({"name": "x", "metadata": {"kubernetesmetadata": {"namespace": "n"}}}),
         "metadata.hostname: incomplete integration ID: name, namespace and hostname must be set (missing: metadata.hostname)"),
    ] {
        assert_eq!(
            call(&server, Method::POST, BASE, Some(body)).await,
            (400, json!({"code": 400, "message": message}))
        );
    }

    let (status, body) = call(&server, Method::DELETE, &format!("{BASE}/{expected}"), None).await;
    assert_eq!((status, body), (200, json!({})));
    let (status, _) = call(&server, Method::DELETE, &format!("{BASE}/{expected}"), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_seed_subscription_round_trips_byte_for_byte() {
    let server = TestServer::start().await;
    slack_secret(&server).await;
    let id = webhook_service_id(&server).await;
    let (status, created) = call(
        &server,
        Method::POST,
        &format!("{BASE}/{id}/subscription"),
        Some(seed()),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let sub_id = created["id"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&sub_id).is_ok_and(|u| u.get_version_num() == 4));

    let mut expected = seed();
    expected["id"] = json!(sub_id);
    let response = server
        .api(Method::GET, &format!("{BASE}/{id}/subscription/{sub_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let raw = response.text().await.unwrap();
    // The payload comes back exactly as written: quotes, line breaks and templates.
    assert!(
        raw.contains(&serde_json::to_string(SEED_PAYLOAD).unwrap()),
        "{raw}"
    );
    assert_eq!(serde_json::from_str::<Value>(&raw).unwrap(), expected);

    let (status, list) = call(
        &server,
        Method::GET,
        &format!("{BASE}/{id}/subscription"),
        None,
    )
    .await;
    assert_eq!((status, list), (200, json!([expected.clone()])));
    let (_, integrations) = call(&server, Method::GET, BASE, None).await;
    assert_eq!(integrations[0]["subscriptions"], json!([expected]));

    let mut changed = seed();
    changed["filter"]["stages"] = json!(["dev", "staging", "production"]);
    let (status, body) = call(
        &server,
        Method::PUT,
        &format!("{BASE}/{id}/subscription/{sub_id}"),
        Some(changed),
    )
    .await;
    assert_eq!((status, body), (200, json!({"id": sub_id})));
    let (_, got) = call(
        &server,
        Method::GET,
        &format!("{BASE}/{id}/subscription/{sub_id}"),
        None,
    )
    .await;
    assert_eq!(
        got["filter"]["stages"],
        json!(["dev", "staging", "production"])
    );

    let (status, body) = call(
        &server,
        Method::DELETE,
        &format!("{BASE}/{id}/subscription/{sub_id}"),
        None,
    )
    .await;
    assert_eq!((status, body), (200, json!({})));
    for method in [Method::GET, Method::DELETE] {
        let (status, body) = call(
            &server,
            method,
            &format!("{BASE}/{id}/subscription/{sub_id}"),
            None,
        )
        .await;
        assert_eq!(
            (status, body),
            (
                404,
                json!({"code": 404, "message": format!("subscription {sub_id} not found")})
            )
        );
    }
    let (status, _) = call(
        &server,
        Method::PUT,
        &format!("{BASE}/{id}/subscription/{sub_id}"),
        Some(seed()),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &server,
        Method::POST,
        &format!("{BASE}/nope/subscription"),
        Some(seed()),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn invalid_subscriptions_are_refused_with_a_message_naming_the_problem() {
    let server = TestServer::start().await;
    slack_secret(&server).await;
    let id = webhook_service_id(&server).await;
    let with = |path: &[&str], value: Value| {
        let mut body = seed();
        let mut target = &mut body;
        for key in &path[..path.len() - 1] {
            target = &mut target[*key];
        }
        target[path[path.len() - 1]] = value;
        body
    };
    let cases = vec![
        (with(&["event"], json!("")), "event: the event must be specified when setting up a subscription"),
        (with(&["event"], json!("sh.keptn.event.evaluation")),
         "event: event \"sh.keptn.event.evaluation\" must be sh.keptn.event.<task>.<suffix> with suffix triggered, started, finished or >"),
        (with(&["event"], json!("sh.keptn.event.evaluation.done")),
         "event: event \"sh.keptn.event.evaluation.done\" must be sh.keptn.event.<task>.<suffix> with suffix triggered, started, finished or >"),
        (with(&["filter"], json!({"services": ["carts"]})),
         "filter: at least one stage must be specified when setting up a subscription filter for a service"),
        (with(&["webhook", "method"], json!("DELETE")), "webhook.method: method \"DELETE\" is not supported; use GET, POST or PUT"),
        (with(&["webhook", "method"], json!("")), "webhook.method: Method must not be empty"),
        (with(&["webhook", "url"], json!("")), "webhook.url: URL must not be empty"),
        (with(&["webhook", "url"], json!("https://a b")), "webhook.url: URL must not contain spaces"),
        (with(&["webhook", "url"], json!("ftp://x")),
         "webhook.url: Must either be a URL starting with http(s):// or a reference to a secret. A combination of both is possible too: https://{{.secret.a.b}}"),
        (with(&["webhook", "url"], json!("https://x/{{.secret.slack-secret.nope}}")),
         "webhook.url: secret slack-secret has no key nope"),
        (with(&["webhook", "url"], json!("https://x/{{.secret.missing.k}}")),
         "webhook.url: secret missing does not exist in scope keptn-webhook-service"),
        (with(&["webhook", "headers"], json!([{"key": "", "value": "v"}])),
         "webhook.headers[0]: header key and value must not be empty"),
        (with(&["webhook", "headers"], json!([{"key": "X", "value": "a\r\nInjected: 1"}])),
         "webhook.headers[0]: header key and value must not contain line breaks"),
        (with(&["webhook", "headers"], json!([{"key": "X", "value": "{{.secret.gone.k}}"}])),
         "webhook.headers[0].value: secret gone does not exist in scope keptn-webhook-service"),
        (with(&["webhook", "proxy"], json!("socks5://p")), "webhook.proxy: URL must start with http(s)://"),
        (with(&["webhook", "payload"], json!("{{.secret.slack-secret.other}}")),
         "webhook.payload: secret slack-secret has no key other"),
    ];
    for (body, message) in cases {
        let (status, got) = call(
            &server,
            Method::POST,
            &format!("{BASE}/{id}/subscription"),
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (status, got),
            (400, json!({"code": 400, "message": message})),
            "{body}"
        );
    }

    // A template that does not parse: the message and the body name line and column.
    let (status, got) = call(
        &server,
        Method::POST,
        &format!("{BASE}/{id}/subscription"),
        Some(with(
            &["webhook", "payload"],
            json!("{\n  \"text\": \"{{.data.stage}\"\n}"),
        )),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        got,
        json!({"code": 400, "message": "webhook.payload: line 2, column 12: unclosed action: missing }}", "line": 2, "column": 12})
    );

    // Native handlebars is accepted in its documented form, refused (with a position) else.
    let (status, _) = call(
        &server,
        Method::POST,
        &format!("{BASE}/{id}/subscription"),
        Some(with(
            &["webhook", "payload"],
            json!("{\"t\": \"{{#if data.stage}}{{data.stage}}{{/if}}\"}"),
        )),
    )
    .await;
    assert_eq!(status, 201);
    let (_, list) = call(
        &server,
        Method::GET,
        &format!("{BASE}/{id}/subscription"),
        None,
    )
    .await;
    let native_id = list[0]["id"].as_str().unwrap().to_string();
    call(
        &server,
        Method::DELETE,
        &format!("{BASE}/{id}/subscription/{native_id}"),
        None,
    )
    .await;
    let (status, got) = call(
        &server,
        Method::POST,
        &format!("{BASE}/{id}/subscription"),
        Some(with(
            &["webhook", "payload"],
            json!("{{#if (data.x}}y{{/if}}"),
        )),
    )
    .await;
    assert_eq!(
        (status, got),
        (
            400,
            json!({"code": 400, "line": 1, "column": 7,
                   "message": "webhook.payload: line 1, column 7: bad character U+0028 '('"})
        )
    );

    // No webhook for the webhook-service, a webhook for another integration.
    let mut no_webhook = seed();
    no_webhook.as_object_mut().unwrap().remove("webhook");
    let (status, got) = call(
        &server,
        Method::POST,
        &format!("{BASE}/{id}/subscription"),
        Some(no_webhook),
    )
    .await;
    assert_eq!(
        (status, got["message"].as_str().unwrap()),
        (
            400,
            "webhook: a webhook is required for subscriptions of webhook-service"
        )
    );
    let (_, other) = call(
        &server,
        Method::POST,
        BASE,
        Some(json!({"name": "other",
        "metadata": {"hostname": "h", "kubernetesmetadata": {"namespace": "n"}}})),
    )
    .await;
    let other_id = other["id"].as_str().unwrap();
    let (status, got) = call(
        &server,
        Method::POST,
        &format!("{BASE}/{other_id}/subscription"),
        Some(seed()),
    )
    .await;
    assert_eq!(
        (status, got["message"].as_str().unwrap()),
        (
            400,
            "webhook: a webhook is only allowed for subscriptions of webhook-service"
        )
    );

    let (_, list) = call(
        &server,
        Method::GET,
        &format!("{BASE}/{id}/subscription"),
        None,
    )
    .await;
    assert_eq!(list, json!([]), "nothing was written");

    // Characters Keptn forbade (it ran curl) are fine: Uniform does not.
    let (status, _) = call(
        &server,
        Method::POST,
        &format!("{BASE}/{id}/subscription"),
        Some(with(
            &["webhook", "payload"],
            json!("{\"text\": \"$HOME | a; b > c & `d`\"}"),
        )),
    )
    .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_secret_in_use_cannot_be_deleted_or_moved_out_of_the_webhook_scope() {
    let server = TestServer::start().await;
    slack_secret(&server).await;
    let id = webhook_service_id(&server).await;
    let (_, created) = call(
        &server,
        Method::POST,
        &format!("{BASE}/{id}/subscription"),
        Some(seed()),
    )
    .await;
    let sub_id = created["id"].as_str().unwrap().to_string();

    let (status, body) = call(
        &server,
        Method::DELETE,
        "/api/secrets/v1/secret?name=slack-secret&scope=keptn-webhook-service",
        None,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            409,
            json!({"code": 409, "message": format!("secret slack-secret cannot be deleted: it is used by \"evaluation.finished · stages dev, staging\" ({sub_id})")})
        )
    );
    let (status, body) = call(&server, Method::PUT, "/api/secrets/v1/secret",
        Some(json!({"name": "slack-secret", "scope": "keptn-default", "data": {"webhook-identifier": "x"}}))).await;
    assert_eq!(
        (status, body),
        (
            409,
            json!({"code": 409, "message": format!("secret slack-secret cannot be moved out of scope keptn-webhook-service: it is used by \"evaluation.finished · stages dev, staging\" ({sub_id})")})
        )
    );
    // Updating the value in place is fine.
    let (status, _) = call(&server, Method::PUT, "/api/secrets/v1/secret",
        Some(json!({"name": "slack-secret", "scope": "keptn-webhook-service", "data": {"webhook-identifier": "y"}}))).await;
    assert_eq!(status, 200);

    call(
        &server,
        Method::DELETE,
        &format!("{BASE}/{id}/subscription/{sub_id}"),
        None,
    )
    .await;
    let (status, _) = call(
        &server,
        Method::DELETE,
        "/api/secrets/v1/secret?name=slack-secret&scope=keptn-webhook-service",
        None,
    )
    .await;
    assert_eq!(status, 200);
}

/// One table of task names, fed both to the rule the subscription form applies as the user
/// types (`app::validation::task_error`) and to the subscription API (the task inside
/// `sh.keptn.event.<task>.finished`): both accept and refuse the same ones.
#[tokio::test]
async fn the_form_and_the_api_judge_task_names_by_one_table() {
    let server = TestServer::start().await;
    slack_secret(&server).await;
    let cases = [
        ("evaluation", true),
        ("my-task_2", true),
        ("DEPLOY", true),
        ("", false),
        ("a b", false),
        ("a/b", false),
        ("évaluation", false),
        ("{{x}}", false),
    ];
    for (task, good) in cases {
        assert_eq!(
            app::validation::task_error(task).is_none(),
            good,
            "form, task {task:?}"
        );
        let mut body = seed();
        body["event"] = json!(format!("sh.keptn.event.{task}.finished"));
        let (status, answer) = common::create_subscription(&server, body).await;
        assert_eq!(
            status,
            if good { 201 } else { 400 },
            "API, task {task:?}: {answer}"
        );
    }
    assert_eq!(common::subscription_count(&server).await, 3);
}
