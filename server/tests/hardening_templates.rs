//! Issue 12, templates and input: native handlebars output escaped and limited to the
//! documented helpers, no `.`/`..` URL segments from values, native secret references
//! refused, referenced secret keys kept, empty secret keys named, and event types held to
//! Keptn's grammar. Every receiver is a real HTTP server on 127.0.0.1 (allow-listed).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    call, create_subscription, send_event, subscription_count, webhook_service_id, MockReceiver,
    TestServer, LOOPBACK,
};
use reqwest::Method;
use serde_json::{json, Value};

const SECRET: &str = "/api/secrets/v1/secret";
const NATIVE_ONLY: &str =
    "native handlebars may print paths and use {{#if path}} and {{#each path}}";

async fn start() -> TestServer {
    TestServer::start_allowing(LOOPBACK, |_| {}).await
}

fn subscription(url: &str, payload: &str) -> Value {
    json!({"event": "sh.keptn.event.evaluation.finished",
           "filter": {"projects": [], "stages": [], "services": []},
           "webhook": {"method": "POST", "url": url, "headers": [], "payload": payload,
                       "proxy": null, "sendStarted": true, "sendFinished": true}})
}

/// Creates a subscription through the REST API: (status, answer).
async fn try_subscribe(server: &TestServer, url: &str, payload: &str) -> (u16, Value) {
    create_subscription(server, subscription(url, payload)).await
}

async fn subscribe(server: &TestServer, url: &str, payload: &str) -> String {
    let (status, created) = try_subscribe(server, url, payload).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_string()
}

fn evaluation(id: &str, data: Value) -> Value {
    let mut data = data;
    data["project"] = json!("sockshop");
    json!({"type": "sh.keptn.event.evaluation.finished", "specversion": "1.0",
           "source": "lighthouse-service", "id": id, "data": data})
}

/// Waits (at most 10 s) until every delivery of `event_id` has settled; (status, reason).
async fn settled(server: &TestServer, event_id: &str) -> Vec<(String, Option<String>)> {
    common::settled::<(String, Option<String>)>(
        server,
        "SELECT status, reason FROM deliveries WHERE event_id = ?",
        event_id,
        |row| row.0.as_str(),
    )
    .await
}

/// A logged-in client calling the UI's server functions with a JSON body: (status, answer).
async fn rpc(
    server: &TestServer,
    client: &reqwest::Client,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let response = client
        .post(server.url(path))
        .header("origin", server.url(""))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn native_handlebars_output_is_escaped_on_the_wire() {
    let receiver = MockReceiver::start().await;
    let server = start().await;
    let url = format!(
        "http://127.0.0.1:{}/hook/{{{{data.stage}}}}",
        receiver.addr.port()
    );
    subscribe(&server, &url, r#"{"text": "{{data.message}}"}"#).await;

    let (status, answer) = send_event(
        &server,
        evaluation(
            "hostile",
            json!({"stage": "a/b", "message": "done\",\"channel\":\"#general"}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let received = receiver.next().await;
    assert_eq!(
        received.body,
        r##"{"text": "done\",\"channel\":\"#general"}"##
    );
    let parsed: Value = serde_json::from_str(&received.body).unwrap();
    assert_eq!(parsed, json!({"text": "done\",\"channel\":\"#general"}));
    assert_eq!(parsed.as_object().unwrap().len(), 1);
    assert_eq!(received.path, "/hook/a%2Fb");
}

#[tokio::test]
async fn undocumented_helpers_are_refused_at_save_with_line_and_column() {
    let server = start().await;
    for (payload, line, column, message) in [
        (
            "{\"text\": \"{{#with data}}{{stage}}{{/with}}\"}",
            1,
            14,
            format!("helper \"with\" is not supported: {NATIVE_ONLY}"),
        ),
        (
            "{\n  \"text\": \"{{log}}\"\n}",
            2,
            14,
            format!("helper \"log\" is not supported: {NATIVE_ONLY}"),
        ),
        (
            "{\"text\": \"{{lookup this 'secret'}}\"}",
            1,
            13,
            "function \"lookup\" not defined".to_string(),
        ),
        (
            "{\"text\": \"{{> partial}}\"}",
            1,
            13,
            "bad character U+003E '>'".to_string(),
        ),
        (
            "{\"text\": \"{{@root.secret}}\"}",
            1,
            13,
            format!("@root.secret is not supported: {NATIVE_ONLY}, and @key, @index, @first and @last inside {{{{#each}}}}"),
        ),
    ] {
        let (status, answer) = try_subscribe(&server, "http://127.0.0.1:9/x", payload).await;
        assert_eq!(
            (status, answer),
            (
                400,
                json!({"code": 400, "line": line, "column": column,
                       "message": format!("webhook.payload: line {line}, column {column}: {message}")})
            ),
            "{payload}"
        );
    }
    assert_eq!(subscription_count(&server).await, 0, "nothing was saved");
    // What the README documents still saves.
    subscribe(
        &server,
        "http://127.0.0.1:9/x",
        "{\"text\": \"{{#if data.message}}{{data.message}}{{else}}-{{/if}} {{#each data.labels}}{{@key}}={{this}} {{/each}}\"}",
    )
    .await;
}

#[tokio::test]
async fn a_native_secret_reference_is_refused_in_the_api_and_the_ui() {
    let server = start().await;
    // A URL that is only a template must use Keptn's form (the rule the form shows as you
    // type, app::validation::url_error).
    let (status, answer) = try_subscribe(&server, "{{secret.keptn.url}}", "").await;
    assert_eq!(
        (status, answer),
        (
            400,
            json!({"code": 400, "message": format!("webhook.url: {}", app::validation::URL_PATTERN_MESSAGE)})
        )
    );
    // Inside a URL, the template check names the Keptn form, with line and column.
    let url = "https://hooks.example/{{secret.keptn.url}}";
    let expected = "webhook.url: line 1, column 25: native handlebars cannot read secrets: use the Keptn form {{.secret.<name>.<key>}}, here {{.secret.keptn.url}}";
    let (status, answer) = try_subscribe(&server, url, "").await;
    assert_eq!(
        (status, answer),
        (
            400,
            json!({"code": 400, "line": 1, "column": 25, "message": expected})
        )
    );

    // The UI's server function runs the same validation.
    let client = server.login().await;
    let integration = webhook_service_id(&server).await;
    let (status, answer) = rpc(
        &server,
        &client,
        "/rpc/uniform/subscription/create",
        json!({"integration_id": integration,
               "subscription": subscription(url, "")}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer,
        json!({"Invalid": {"field": "webhook.url",
            "message": "line 1, column 25: native handlebars cannot read secrets: use the Keptn form {{.secret.<name>.<key>}}, here {{.secret.keptn.url}}"}})
    );
    assert_eq!(subscription_count(&server).await, 0);
}

#[tokio::test]
async fn values_cannot_climb_the_url_path() {
    let receiver = MockReceiver::start().await;
    let server = start().await;
    let base = format!("http://127.0.0.1:{}", receiver.addr.port());
    subscribe(&server, &format!("{base}/hooks/{{{{.data.stage}}}}/x"), "").await;

    for (id, stage) in [("dots", ".."), ("dot", ".")] {
        send_event(&server, evaluation(id, json!({"stage": stage}))).await;
        assert_eq!(
            settled(&server, id).await,
            [(
                "failed".to_string(),
                Some("url: the URL path has a \".\" or \"..\" segment (values may not climb the path)".to_string())
            )],
            "{stage}"
        );
    }
    // Nothing reached the receiver: the first request it sees is the next, harmless one.
    send_event(&server, evaluation("fine", json!({"stage": "v1..2"}))).await;
    assert_eq!(receiver.next().await.path, "/hooks/v1..2/x");
}

async fn put_secret(server: &TestServer, method: Method, data: Value) -> (u16, Value) {
    call(
        server,
        method,
        SECRET,
        Some(json!({"name": "slack-secret", "scope": "keptn-webhook-service", "data": data})),
    )
    .await
}

#[tokio::test]
async fn a_key_a_subscription_uses_cannot_be_renamed_or_removed() {
    let receiver = MockReceiver::start().await;
    let server = start().await;
    let (status, _) = put_secret(
        &server,
        Method::POST,
        json!({"webhook-identifier": "T/B/XXXX", "spare": "s"}),
    )
    .await;
    assert_eq!(status, 201);
    let url = format!(
        "http://127.0.0.1:{}/services/{{{{.secret.slack-secret.webhook-identifier}}}}",
        receiver.addr.port()
    );
    let id = subscribe(&server, &url, "").await;
    let refused = json!({"code": 409, "message": format!(
        "key webhook-identifier of secret slack-secret cannot be removed or renamed: it is used by \"evaluation.finished\" ({id})")});

    // Renamed (the old key goes) and removed: both refused, nothing changes.
    for data in [
        json!({"webhook-id": "T/B/XXXX", "spare": "s"}),
        json!({"spare": "s"}),
    ] {
        assert_eq!(
            put_secret(&server, Method::PUT, data.clone()).await,
            (409, refused.clone()),
            "{data}"
        );
    }
    // The UI's Secrets → Edit goes through the same rule.
    let client = server.login().await;
    let (status, answer) = rpc(
        &server,
        &client,
        "/rpc/secrets/update",
        json!({"form": {"name": "slack-secret", "scope": "keptn-webhook-service",
                        "data": [{"key": "webhook-id", "value": "T/B/XXXX"}, {"key": "spare", "value": ""}]}}),
    )
    .await;
    assert_eq!(
        (status, answer),
        (409, json!({"Conflict": refused["message"]}))
    );
    let (_, listed) = call(
        &server,
        Method::GET,
        &format!("{SECRET}?name=slack-secret"),
        None,
    )
    .await;
    assert_eq!(
        listed["Secrets"][0]["keys"],
        json!(["spare", "webhook-identifier"])
    );

    // Keeping the key (new value) while dropping an unused one is fine.
    let (status, updated) = put_secret(
        &server,
        Method::PUT,
        json!({"webhook-identifier": "T/B/YYYY"}),
    )
    .await;
    assert_eq!(
        (status, &updated["keys"]),
        (200, &json!(["webhook-identifier"]))
    );
    send_event(&server, evaluation("after", json!({"stage": "dev"}))).await;
    assert_eq!(receiver.next().await.path, "/services/T/B/YYYY");
}

#[tokio::test]
async fn an_empty_secret_key_is_named() {
    let server = TestServer::start().await;
    for method in [Method::POST, Method::PUT] {
        let (status, answer) = call(
            &server,
            method.clone(),
            SECRET,
            Some(json!({"name": "s", "data": {"": "v"}})),
        )
        .await;
        assert_eq!(
            (status, answer),
            (
                400,
                json!({"code": 400, "message": "data[\"\"]: Must not be empty"})
            ),
            "{method}"
        );
    }
}

#[tokio::test]
async fn event_types_follow_keptns_grammar() {
    let server = start().await;
    let message = "type: type must be sh.keptn.event. followed by dot-separated segments of letters, digits, '-' and '_'";
    for event_type in [
        "sh.keptn.event.a\nuniform_forged_total 1\n.finished",
        "sh.keptn.event.evaluation finished",
        "sh.keptn.event..finished",
        "sh.keptn.event.",
        "com.example.evaluation.finished",
        "sh.keptn.event.a\"b.finished",
    ] {
        let (status, answer) = send_event(
            &server,
            json!({"type": event_type, "specversion": "1.0", "source": "s", "data": {}}),
        )
        .await;
        assert_eq!(
            (status, answer),
            (400, json!({"code": 400, "message": message})),
            "{event_type:?}"
        );
    }
    let (_, events) = call(&server, Method::GET, "/api/v1/event", None).await;
    assert_eq!(events["events"], json!([]), "nothing was stored");
    let (status, _) = send_event(
        &server,
        json!({"type": "sh.keptn.event.dev.delivery-direct_1.triggered", "specversion": "1.0",
               "source": "s", "data": {}}),
    )
    .await;
    assert_eq!(status, 200);
}
