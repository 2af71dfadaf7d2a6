//! Rendering parsed templates with handlebars underneath. A template is translated once
//! into a handlebars program of three helpers — `t` (literal text), `v` (print a value) and
//! `x` (truth of a value, for `{{#if}}`) — and each printed value is escaped for where it
//! lands: percent-encoded in a URL, without line breaks in a header, JSON-escaped inside a
//! JSON string literal, a JSON value outside one.

use std::collections::HashMap;
use std::sync::Arc;

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason, ScopedJson,
};
use serde_json::Value;

use super::{parse, Node, Reference, Template, TemplateError};
use crate::crypto::SecretValue;

/// Where a rendered template goes, which decides how values are escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landing {
    /// The request URL: event values percent-encoded, secret values as stored.
    Url,
    /// A header value: line breaks replaced by spaces.
    Header,
    /// A JSON payload: JSON escaping inside string literals, JSON values outside.
    Json,
    /// Any other payload: values as text.
    Text,
}

/// How one printed value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Url,
    Header,
    JsonString,
    JsonValue,
    Text,
}

/// A template translated for one landing, ready to render many times.
pub struct Compiled {
    registry: Handlebars<'static>,
    landing: Landing,
    /// Why the translated program does not compile (native handlebars only).
    invalid: Option<String>,
}

/// Values a render may use: the event and the secrets it references.
pub struct Data<'a> {
    pub event: &'a Value,
    pub secrets: &'a HashMap<(String, String), SecretValue>,
}

const NAME: &str = "t";

struct Program {
    texts: Vec<String>,
    refs: Vec<(Reference, Mode)>,
}

impl Compiled {
    /// Parses and translates `source` for `landing`.
    pub fn new(source: &str, landing: Landing) -> Result<Self, TemplateError> {
        let template = parse(source)?;
        Ok(Self::from_template(&template, landing))
    }

    /// Translates an already parsed template.
    pub fn from_template(template: &Template, landing: Landing) -> Self {
        let mut program = Program {
            texts: Vec::new(),
            refs: Vec::new(),
        };
        let mut source = String::new();
        let mut in_string = JsonState::default();
        translate(
            &template.nodes,
            landing,
            &mut program,
            &mut source,
            &mut in_string,
        );
        let program = Arc::new(program);
        let mut registry = Handlebars::new();
        registry.register_escape_fn(handlebars::no_escape);
        registry.register_helper("t", Box::new(TextHelper(program.clone())));
        registry.register_helper("v", Box::new(ValueHelper(program.clone())));
        registry.register_helper("x", Box::new(TruthHelper(program)));
        // Keptn's idioms always compile; native handlebars passed through may not, and then
        // every render reports why.
        let invalid = registry
            .register_template_string(NAME, source)
            .err()
            .map(|e| format!("invalid handlebars: {e}"));
        Self {
            registry,
            landing,
            invalid,
        }
    }

    /// Why the template cannot render at all (native handlebars that does not compile).
    pub fn problem(&self) -> Option<&str> {
        self.invalid.as_deref()
    }

    /// Renders with `data`. Errors name the missing path or the invalid JSON.
    pub fn render(&self, data: &Data<'_>) -> Result<String, String> {
        if let Some(invalid) = &self.invalid {
            return Err(invalid.clone());
        }
        let mut secrets = serde_json::Map::new();
        for ((name, key), value) in data.secrets {
            let entry = secrets
                .entry(name.clone())
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Value::Object(keys) = entry {
                keys.insert(key.clone(), Value::String(value.expose().to_string()));
            }
        }
        // The root is the event itself (native handlebars paths such as `data.stage` resolve
        // against it), plus `secret` for `.secret.<name>.<key>`.
        let mut root = match data.event {
            Value::Object(map) => Value::Object(map.clone()),
            _ => Value::Object(serde_json::Map::new()),
        };
        root["secret"] = Value::Object(secrets);
        let context = Context::wraps(&root).map_err(|e| e.to_string())?;
        let rendered = self
            .registry
            .render_with_context(NAME, &context)
            .map_err(|e| match e.reason() {
                RenderErrorReason::Other(message) => message.clone(),
                other => other.to_string(),
            })?;
        if self.landing == Landing::Json {
            if let Err(error) = serde_json::from_str::<Value>(&rendered) {
                return Err(format!("the rendered payload is not valid JSON: {error}"));
            }
        }
        Ok(rendered)
    }
}

/// Tracks whether the JSON text so far ends inside a string literal.
#[derive(Debug, Clone, Copy, Default)]
struct JsonState {
    in_string: bool,
    escaped: bool,
}

impl JsonState {
    fn feed(&mut self, text: &str) {
        for c in text.chars() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if c == '\\' {
                    self.escaped = true;
                } else if c == '"' {
                    self.in_string = false;
                }
            } else if c == '"' {
                self.in_string = true;
            }
        }
    }
}

fn translate(
    nodes: &[Node],
    landing: Landing,
    program: &mut Program,
    out: &mut String,
    state: &mut JsonState,
) {
    for node in nodes {
        match node {
            Node::Text(text) => {
                state.feed(text);
                out.push_str(&format!("{{{{t {}}}}}", program.texts.len()));
                program.texts.push(text.clone());
            }
            Node::Print(reference, _) => {
                let mode = match landing {
                    Landing::Url => Mode::Url,
                    Landing::Header => Mode::Header,
                    Landing::Text => Mode::Text,
                    Landing::Json if state.in_string => Mode::JsonString,
                    Landing::Json => Mode::JsonValue,
                };
                out.push_str(&format!("{{{{v {}}}}}", program.refs.len()));
                program.refs.push((reference.clone(), mode));
            }
            Node::If {
                condition,
                then,
                otherwise,
            } => {
                out.push_str(&format!("{{{{#if (x {})}}}}", program.refs.len()));
                program.refs.push((condition.clone(), Mode::Text));
                let before = *state;
                translate(then, landing, program, out, state);
                let mut other_state = before;
                if !otherwise.is_empty() {
                    out.push_str("{{else}}");
                    translate(otherwise, landing, program, out, &mut other_state);
                }
                out.push_str("{{/if}}");
            }
            Node::NativePrint(path) => {
                out.push_str(&format!("{{{{{path}}}}}"));
            }
            Node::NativeBlock {
                open,
                name,
                then,
                otherwise,
            } => {
                out.push_str(&format!("{{{{#{open}}}}}"));
                let before = *state;
                translate(then, landing, program, out, state);
                if !otherwise.is_empty() {
                    out.push_str("{{else}}");
                    let mut other_state = before;
                    translate(otherwise, landing, program, out, &mut other_state);
                }
                out.push_str(&format!("{{{{/{name}}}}}"));
            }
        }
    }
}

fn index_param(h: &Helper<'_>) -> Result<usize, RenderError> {
    h.param(0)
        .and_then(|p| p.value().as_u64())
        .map(|n| n as usize)
        .ok_or_else(|| {
            RenderError::from(RenderErrorReason::Other(
                "internal: helper without index".to_string(),
            ))
        })
}

struct TextHelper(Arc<Program>);

impl HelperDef for TextHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let text = self.0.texts.get(index_param(h)?).ok_or_else(|| {
            RenderError::from(RenderErrorReason::Other(
                "internal: unknown text".to_string(),
            ))
        })?;
        out.write(text)?;
        Ok(())
    }
}

/// What `.path` refers to: `None` when missing. `.secret.<name>.<key>` comes from the
/// secrets, everything else from the event.
fn resolve<'a>(root: &'a Value, reference: &Reference) -> Option<(&'a Value, bool)> {
    let segments: Vec<&str> = reference.segments().collect();
    if let ["secret", name, key] = segments.as_slice() {
        return root["secret"].get(*name)?.get(*key).map(|v| (v, true));
    }
    let mut current = root;
    for segment in segments {
        current = match current {
            Value::Object(map) => map.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some((current, false))
}

struct ValueHelper(Arc<Program>);

impl HelperDef for ValueHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let (reference, mode) = self.0.refs.get(index_param(h)?).ok_or_else(|| {
            RenderError::from(RenderErrorReason::Other(
                "internal: unknown value".to_string(),
            ))
        })?;
        let Some((value, secret)) = resolve(ctx.data(), reference) else {
            let segments: Vec<&str> = reference.segments().collect();
            let message = match segments.as_slice() {
                ["secret", name, key] => format!(
                    "{}: secret {name} has no key {key} in scope keptn-webhook-service",
                    reference.written
                ),
                _ => format!("{}: the event has no value at this path", reference.written),
            };
            return Err(RenderError::from(RenderErrorReason::Other(message)));
        };
        out.write(&format_value(value, *mode, secret))?;
        Ok(())
    }
}

struct TruthHelper(Arc<Program>);

impl HelperDef for TruthHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let (reference, _) = self.0.refs.get(index_param(h)?).ok_or_else(|| {
            RenderError::from(RenderErrorReason::Other(
                "internal: unknown value".to_string(),
            ))
        })?;
        let truth = match resolve(ctx.data(), reference) {
            None => false,
            Some((value, _)) => truthy(value),
        };
        Ok(ScopedJson::Derived(Value::Bool(truth)))
    }
}

/// Go's template truth: false, 0, "", null, empty arrays and objects are false.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// The text of a value as Keptn prints it: strings as they are, numbers as in the event,
/// null empty, objects and arrays as compact JSON.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn format_value(value: &Value, mode: Mode, secret: bool) -> String {
    match mode {
        Mode::Url if secret => plain(value),
        Mode::Url => percent_encode(&plain(value)),
        Mode::Header => plain(value).replace(['\r', '\n'], " "),
        Mode::Text => plain(value),
        Mode::JsonString => {
            let quoted = Value::String(plain(value)).to_string();
            quoted[1..quoted.len() - 1].to_string()
        }
        Mode::JsonValue => value.to_string(),
    }
}

/// Percent-encodes everything but the unreserved characters `A-Z a-z 0-9 - . _ ~`.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(source: &str, landing: Landing, event: Value) -> Result<String, String> {
        let mut secrets = HashMap::new();
        secrets.insert(
            ("slack-secret".to_string(), "webhook-identifier".to_string()),
            SecretValue::new("XXXX/\"yy".to_string()),
        );
        Compiled::new(source, landing).unwrap().render(&Data {
            event: &event,
            secrets: &secrets,
        })
    }

    fn evaluation(stage: &str, score: Value) -> Value {
        json!({"type": "sh.keptn.event.evaluation.finished", "id": "e1",
               "data": {"project": "p", "stage": stage, "service": "s", "result": "pass",
                        "evaluation": {"result": "pass", "score": score},
                        "labels": {"a": "b"}, "incident-tool": {"url": "https://i"}, "message": null}})
    }

    const SEED: &str = "{\n  \"text\": \"Evaluation in {{.data.stage}} finished with result {{.data.evaluation.result}} and score {{.data.evaluation.score}}.\"\n}";

    #[test]
    fn the_seed_renders_as_in_keptn() {
        assert_eq!(
            render(SEED, Landing::Json, evaluation("dev", json!(100))).unwrap(),
            "{\n  \"text\": \"Evaluation in dev finished with result pass and score 100.\"\n}"
        );
    }

    #[test]
    fn numbers_print_as_in_the_event() {
        for (score, text) in [
            (json!(100), "100"),
            (json!(87.5), "87.5"),
            (json!(1000000), "1000000"),
        ] {
            assert_eq!(
                render(
                    "{{.data.evaluation.score}}",
                    Landing::Text,
                    evaluation("dev", score)
                )
                .unwrap(),
                text
            );
        }
    }

    #[test]
    fn hostile_values_keep_json_valid() {
        for hostile in [
            "dev \"blue\"",
            "back\\slash",
            "new\nline",
            "{{.data.stage}}",
            "ünï€😀",
            "\u{0001}",
        ] {
            let out = render(SEED, Landing::Json, evaluation(hostile, json!(1))).unwrap();
            let parsed: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(
                parsed["text"],
                format!("Evaluation in {hostile} finished with result pass and score 1.")
            );
        }
    }

    #[test]
    fn placeholders_outside_strings_are_json_values() {
        let out = render(
            "{\"score\": {{.data.evaluation.score}}, \"stage\": {{.data.stage}}, \"labels\": {{.data.labels}}, \"m\": {{.data.message}}, \"in\": \"{{.data.labels}}|{{.data.message}}\"}",
            Landing::Json,
            evaluation("dev \"x\"", json!(87.5)),
        )
        .unwrap();
        let parsed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            parsed,
            json!({"score": 87.5, "stage": "dev \"x\"", "labels": {"a": "b"}, "m": null, "in": "{\"a\":\"b\"}|"})
        );
    }

    #[test]
    fn secrets_land_escaped_for_json_and_as_stored_in_urls() {
        let url = render(
            "https://hooks.slack.com/services/T/B/{{.secret.slack-secret.webhook-identifier}}?s={{.data.stage}}",
            Landing::Url,
            evaluation("a/b&c d", json!(1)),
        )
        .unwrap();
        assert_eq!(
            url,
            "https://hooks.slack.com/services/T/B/XXXX/\"yy?s=a%2Fb%26c%20d"
        );
        let json = render(
            "{\"k\": \"{{.secret.slack-secret.webhook-identifier}}\"}",
            Landing::Json,
            evaluation("d", json!(1)),
        )
        .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&json).unwrap()["k"],
            "XXXX/\"yy"
        );
    }

    #[test]
    fn headers_never_carry_line_breaks() {
        assert_eq!(
            render(
                "Bearer {{.data.stage}}",
                Landing::Header,
                evaluation("a\r\nX-Evil: 1", json!(1))
            )
            .unwrap(),
            "Bearer a  X-Evil: 1"
        );
    }

    #[test]
    fn index_if_and_else_work_like_keptn() {
        let event = evaluation("dev", json!(1));
        assert_eq!(
            render(
                r#"{{index .data "incident-tool" "url"}}"#,
                Landing::Text,
                event.clone()
            )
            .unwrap(),
            "https://i"
        );
        assert_eq!(
            render(
                "{{if .data.result}}r={{.data.result}}{{else}}none{{end}}",
                Landing::Text,
                event.clone()
            )
            .unwrap(),
            "r=pass"
        );
        assert_eq!(
            render(
                "{{if .data.nothing}}yes{{else if .data.message}}m{{else}}no{{end}}",
                Landing::Text,
                event.clone()
            )
            .unwrap(),
            "no"
        );
        assert_eq!(
            render("{{.id}} {{.type}}", Landing::Text, event).unwrap(),
            "e1 sh.keptn.event.evaluation.finished"
        );
    }

    #[test]
    fn printing_a_missing_path_names_it() {
        let event = json!({"data": {"evaluation": {}}});
        assert_eq!(
            render(SEED, Landing::Json, event),
            Err(".data.stage: the event has no value at this path".to_string())
        );
        assert_eq!(
            render(
                "{{.data.evaluation.score}}",
                Landing::Text,
                json!({"data": {"evaluation": {}}})
            ),
            Err(".data.evaluation.score: the event has no value at this path".to_string())
        );
        assert_eq!(
            render("{{.secret.other.k}}", Landing::Text, json!({})),
            Err(
                ".secret.other.k: secret other has no key k in scope keptn-webhook-service"
                    .to_string()
            )
        );
    }

    #[test]
    fn a_payload_that_renders_invalid_json_is_an_error() {
        let broken = render(
            "{\"a\": x{{.data.stage}}}",
            Landing::Json,
            evaluation("d", json!(1)),
        )
        .unwrap_err();
        assert!(
            broken.starts_with("the rendered payload is not valid JSON"),
            "{broken}"
        );
    }

    #[test]
    fn native_handlebars_syntax_works_too() {
        let event = evaluation("dev", json!(100));
        assert_eq!(
            render(
                "{{#if data.result}}r={{data.result}}{{else}}none{{/if}} {{data.stage}}",
                Landing::Text,
                event.clone()
            )
            .unwrap(),
            "r=pass dev"
        );
        assert_eq!(
            render(
                "{{#if data.nothing}}x{{else}}{{.data.evaluation.score}}{{/if}}",
                Landing::Text,
                event.clone()
            )
            .unwrap(),
            "100"
        );
        assert_eq!(
            render(
                "{{#each data.labels}}{{@key}}={{this}};{{/each}}",
                Landing::Text,
                event
            )
            .unwrap(),
            "a=b;"
        );
        assert_eq!(
            parse("{{#if data.x}}y{{/each}}").unwrap_err().message,
            "unexpected {{/each}}: {{#if}} is open"
        );
        assert_eq!(
            parse("{{#if data.x}}y").unwrap_err().message,
            "missing {{/if}} for {{#if}}"
        );
    }

    #[test]
    fn url_encoding_keeps_only_unreserved_characters() {
        assert_eq!(
            percent_encode("aZ09-._~/&?= ü"),
            "aZ09-._~%2F%26%3F%3D%20%C3%BC"
        );
    }
}
