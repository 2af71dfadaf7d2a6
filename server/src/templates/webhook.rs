//! A subscription's webhook as it is sent: every template (URL, header values, payload)
//! parsed and translated once, then rendered per event into the request's URL, headers and
//! body. Used by the sender, the preview and the test send alike.

use app::model::{RenderProblem, Webhook};

use super::render::{Compiled, Data, Landing};
use super::{parse, TemplateError};

/// The template fields of a webhook with their field names.
pub fn webhook_templates(webhook: &Webhook) -> Vec<(String, &str)> {
    let mut fields = vec![("webhook.url".to_string(), webhook.url.as_str())];
    for (index, header) in webhook.headers.iter().enumerate() {
        fields.push((
            format!("webhook.headers[{index}].value"),
            header.value.as_str(),
        ));
    }
    fields.push(("webhook.payload".to_string(), webhook.payload.as_str()));
    fields
}

/// A webhook with its templates translated (once per subscription version).
pub struct CompiledWebhook {
    pub method: reqwest::Method,
    url: Compiled,
    headers: Vec<(String, Compiled)>,
    payload: Option<Compiled>,
    /// The Content-Type to add when the webhook sets none.
    default_content_type: Option<&'static str>,
    secret_refs: Vec<(String, String)>,
    pub proxy: Option<String>,
}

/// Translates every template of `webhook`.
pub fn compile(webhook: &Webhook) -> Result<CompiledWebhook, String> {
    let fail = |field: &str, e: TemplateError| format!("{field}: {e}");
    let url = parse(&webhook.url).map_err(|e| fail("url", e))?;
    let mut secret_refs = url.secret_refs();
    let mut headers = Vec::new();
    for header in &webhook.headers {
        let template = parse(&header.value).map_err(|e| fail(&header.key, e))?;
        secret_refs.extend(template.secret_refs());
        headers.push((
            header.key.clone(),
            Compiled::from_template(&template, Landing::Header),
        ));
    }
    let content_type = webhook
        .headers
        .iter()
        .find(|h| h.key.eq_ignore_ascii_case("content-type"))
        .map(|h| h.value.to_ascii_lowercase());
    let is_json = match &content_type {
        Some(value) => value.contains("json"),
        None => {
            let start = webhook.payload.trim_start();
            start.starts_with('{') || start.starts_with('[')
        }
    };
    let payload = if webhook.payload.is_empty() {
        None
    } else {
        let template = parse(&webhook.payload).map_err(|e| fail("payload", e))?;
        secret_refs.extend(template.secret_refs());
        let landing = if is_json {
            Landing::Json
        } else {
            Landing::Text
        };
        Some(Compiled::from_template(&template, landing))
    };
    let default_content_type = match (&content_type, &payload, is_json) {
        (Some(_), _, _) | (None, None, _) => None,
        (None, Some(_), true) => Some("application/json"),
        (None, Some(_), false) => Some("text/plain; charset=utf-8"),
    };
    secret_refs.sort();
    secret_refs.dedup();
    Ok(CompiledWebhook {
        method: reqwest::Method::from_bytes(webhook.method.as_bytes())
            .map_err(|_| format!("unsupported method {}", webhook.method))?,
        url: Compiled::from_template(&url, Landing::Url),
        headers,
        payload,
        default_content_type,
        secret_refs,
        proxy: webhook.proxy.clone().filter(|p| !p.is_empty()),
    })
}

/// The rendered URL, headers (with the default Content-Type added) and body.
pub type RenderedParts = (String, Vec<(String, String)>, Option<String>);

/// Renders every part of `compiled` with `data`; the error names the part.
pub fn render_parts(compiled: &CompiledWebhook, data: &Data<'_>) -> Result<RenderedParts, String> {
    let scope = data.scope();
    let url = compiled
        .url
        .render_in(&scope)
        .map_err(|e| format!("url: {e}"))?;
    let mut headers = Vec::new();
    for (key, value) in &compiled.headers {
        let rendered = value
            .render_in(&scope)
            .map_err(|e| format!("header {key}: {e}"))?;
        headers.push((key.clone(), rendered));
    }
    if let Some(content_type) = compiled.default_content_type {
        headers.push(("Content-Type".to_string(), content_type.to_string()));
    }
    let body = match &compiled.payload {
        Some(payload) => Some(
            payload
                .render_in(&scope)
                .map_err(|e| format!("payload: {e}"))?,
        ),
        None => None,
    };
    Ok((url, headers, body))
}

impl CompiledWebhook {
    /// The method the request uses.
    pub fn method(&self) -> &str {
        self.method.as_str()
    }

    /// The `(secret, key)` pairs the templates reference.
    pub fn secret_refs(&self) -> &[(String, String)] {
        &self.secret_refs
    }
}

/// Parses every template field so a syntax error names its field, line and column.
pub fn check(webhook: &Webhook) -> Result<(), RenderProblem> {
    for (field, source) in webhook_templates(webhook) {
        parse(source).map_err(|e| RenderProblem {
            field,
            line: Some(e.pos.line),
            column: Some(e.pos.column),
            message: e.message,
        })?;
    }
    Ok(())
}

pub fn problem(field: &str, message: impl Into<String>) -> RenderProblem {
    RenderProblem {
        field: field.to_string(),
        line: None,
        column: None,
        message: message.into(),
    }
}
