//! The OpenAPI document tells the truth about what the API answers (what `make fuzz` checks
//! with schemathesis): query parameters are documented in the query, and every operation
//! lists the error answers it can give besides its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestServer;
use serde_json::Value;

async fn document(server: &TestServer) -> Value {
    let response = server.get("/api/openapi.json").await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn query_parameters_are_documented_in_the_query() {
    let server = TestServer::start().await;
    let doc = document(&server).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                let placeholder = format!("{{{name}}}");
                let expected = if path.contains(&placeholder) {
                    "path"
                } else {
                    "query"
                };
                assert_eq!(parameter["in"], expected, "{method} {path} {name}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "only {checked} parameters documented");
    let page_size = doc["paths"]["/api/v1/event"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "pageSize")
        .unwrap();
    assert_eq!(page_size["in"], "query");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn every_operation_documents_its_error_answers() {
    let server = TestServer::start().await;
    let doc = document(&server).await;
    let mut with_body = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("401"), "{method} {path}: 401");
            if operation.get("requestBody").is_some() {
                with_body += 1;
                for status in ["400", "413", "415"] {
                    assert!(responses.contains_key(status), "{method} {path}: {status}");
                    assert_eq!(
                        responses[status]["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path}: {status}"
                    );
                }
            }
        }
    }
    assert!(with_body >= 9, "only {with_body} operations with a body");

    // And the server answers what the document says: 415 without a JSON content type.
    let response = server
        .client
        .post(server.url("/api/controlPlane/v1/uniform/registration/0/subscription"))
        .header("x-token", common::TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 415);
    server.stop().await.unwrap();
}
