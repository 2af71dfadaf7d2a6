//! Rendering parsed templates with handlebars underneath. A template is translated once
//! into a handlebars program of four helpers — `t` (literal text), `v` (print a Keptn-form
//! value), `n` (print a native path) and `x` (truth of a value, for `{{#if}}`) — plus the
//! built-in `{{#if}}` and `{{#each}}` for native blocks; nothing the user wrote reaches
//! handlebars as source. Every printed value, native or Keptn form, is escaped for where it
//! lands: percent-encoded in a URL, without line breaks in a header, JSON-escaped inside a
//! JSON string literal, a JSON value outside one. A rendered URL whose path has a `.` or
//! `..` segment is refused, so no value can walk the receiver's path upward.
//!
//! The handlebars context is `{"event": <event>, "secret": {…}}`: native paths are
//! translated to start at `event` (or at the `{{#each}}` item), so they cannot reach the
//! secrets; only the Keptn form `{{.secret.<name>.<key>}}` reads them.

use std::collections::HashMap;
use std::sync::Arc;

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason, ScopedJson,
};
use serde_json::Value;

use super::{parse, NativeHelper, NativePath, Node, Reference, Template, TemplateError};
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

/// What templates see (`event`, `secret`), built from [`Data`] once and shared by every
/// part of a webhook: building it copies the event, which cost more than the rendering
/// when each part made its own (twice: `json!` and handlebars' `Context::wraps`).
pub struct Scope(Context);

impl Data<'_> {
    /// The render scope of this data (secret values in memory only, dropped with it).
    pub fn scope(&self) -> Scope {
        let mut secrets = serde_json::Map::new();
        for ((name, key), value) in self.secrets {
            let entry = secrets
                .entry(name.clone())
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Value::Object(keys) = entry {
                keys.insert(key.clone(), Value::String(value.expose().to_string()));
            }
        }
        // Native paths are translated to start at `event`; only `v` reads `secret`.
        let mut root = serde_json::Map::new();
        root.insert("event".to_string(), self.event.clone());
        root.insert("secret".to_string(), Value::Object(secrets));
        Scope(Context::from(Value::Object(root)))
    }
}

const NAME: &str = "t";

struct Program {
    texts: Vec<String>,
    refs: Vec<(Reference, Mode)>,
    /// How each native print (`n`) is written.
    natives: Vec<Mode>,
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
            natives: Vec::new(),
        };
        let mut source = String::new();
        let mut in_string = JsonState::default();
        translate(
            &template.nodes,
            landing,
            &mut program,
            &mut source,
            &mut in_string,
            false,
        );
        let program = Arc::new(program);
        let mut registry = Handlebars::new();
        registry.register_escape_fn(handlebars::no_escape);
        registry.register_helper("t", Box::new(TextHelper(program.clone())));
        registry.register_helper("v", Box::new(ValueHelper(program.clone())));
        registry.register_helper("n", Box::new(NativePrintHelper(program.clone())));
        registry.register_helper("x", Box::new(TruthHelper(program)));
        // The program is ours and always compiles; should it not, every render says why.
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

    /// Why the template cannot render at all (a translated program that does not compile).
    pub fn problem(&self) -> Option<&str> {
        self.invalid.as_deref()
    }

    /// Renders with `scope` ([`Data::scope`], made once for every part of a webhook).
    /// Errors name the missing path or the invalid JSON.
    pub fn render_in(&self, scope: &Scope) -> Result<String, String> {
        if let Some(invalid) = &self.invalid {
            return Err(invalid.clone());
        }
        let context = &scope.0;
        let rendered = self
            .registry
            .render_with_context(NAME, context)
            .map_err(|e| match e.reason() {
                RenderErrorReason::Other(message) => message.clone(),
                other => other.to_string(),
            })?;
        if self.landing == Landing::Url && has_dot_segment(&rendered) {
            return Err(
                "the URL path has a \".\" or \"..\" segment (values may not climb the path)"
                    .to_string(),
            );
        }
        if self.landing == Landing::Json {
            if let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(&rendered) {
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

/// Whether the path of `url` has a `.` or `..` segment, also written with `%2E` (WHATWG URL
/// parsers, reqwest's included, read `%2e` as a dot and `\` as `/` and then remove such
/// segments, so encoding them is no protection).
pub fn has_dot_segment(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let Some(start) = rest.find(['/', '\\', '?', '#']) else {
        return false;
    };
    let path = rest[start..].split(['?', '#']).next().unwrap_or_default();
    path.split(['/', '\\']).any(|segment| {
        let segment = segment.to_ascii_lowercase().replace("%2e", ".");
        segment == "." || segment == ".."
    })
}

/// How a value printed at this point of `landing` is written.
fn mode_of(landing: Landing, state: &JsonState) -> Mode {
    match landing {
        Landing::Url => Mode::Url,
        Landing::Header => Mode::Header,
        Landing::Text => Mode::Text,
        Landing::Json if state.in_string => Mode::JsonString,
        Landing::Json => Mode::JsonValue,
    }
}

/// The handlebars path of a native path: below `event` at the top, below the item inside
/// `{{#each}}`; segments bracketed so none reads as a literal or keyword.
fn native_source(path: &NativePath, in_each: bool) -> String {
    if let Some(variable) = &path.local {
        return format!("@{variable}");
    }
    let mut source = if in_each { "this" } else { "[event]" }.to_string();
    for segment in &path.segments {
        source.push_str(&format!(".[{segment}]"));
    }
    source
}

fn translate(
    nodes: &[Node],
    landing: Landing,
    program: &mut Program,
    out: &mut String,
    state: &mut JsonState,
    in_each: bool,
) {
    for node in nodes {
        match node {
            Node::Text(text) => {
                state.feed(text);
                out.push_str(&format!("{{{{t {}}}}}", program.texts.len()));
                program.texts.push(text.clone());
            }
            Node::Print(reference, _) => {
                out.push_str(&format!("{{{{v {}}}}}", program.refs.len()));
                program
                    .refs
                    .push((reference.clone(), mode_of(landing, state)));
            }
            Node::If {
                condition,
                then,
                otherwise,
            } => {
                out.push_str(&format!("{{{{#if (x {})}}}}", program.refs.len()));
                program.refs.push((condition.clone(), Mode::Text));
                let before = *state;
                translate(then, landing, program, out, state, in_each);
                let mut other_state = before;
                if !otherwise.is_empty() {
                    out.push_str("{{else}}");
                    translate(otherwise, landing, program, out, &mut other_state, in_each);
                }
                out.push_str("{{/if}}");
            }
            Node::NativePrint(path, _) => {
                out.push_str(&format!(
                    "{{{{n {} {}}}}}",
                    program.natives.len(),
                    native_source(path, in_each)
                ));
                program.natives.push(mode_of(landing, state));
            }
            Node::NativeBlock {
                helper,
                path,
                then,
                otherwise,
            } => {
                let name = match helper {
                    NativeHelper::If => "if",
                    NativeHelper::Each => "each",
                };
                out.push_str(&format!("{{{{#{name} {}}}}}", native_source(path, in_each)));
                let before = *state;
                let inner = in_each || *helper == NativeHelper::Each;
                translate(then, landing, program, out, state, inner);
                if !otherwise.is_empty() {
                    out.push_str("{{else}}");
                    let mut other_state = before;
                    translate(otherwise, landing, program, out, &mut other_state, in_each);
                }
                out.push_str(&format!("{{{{/{name}}}}}"));
            }
        }
    }
}

/// The entry of `items` that helper call `h` names by its first parameter (an index into
/// the program's table of `what`): an internal error when there is no such index.
fn indexed<'a, T>(items: &'a [T], h: &Helper<'_>, what: &str) -> Result<&'a T, RenderError> {
    let index = h
        .param(0)
        .and_then(|p| p.value().as_u64())
        .map(|n| n as usize)
        .ok_or_else(|| {
            RenderError::from(RenderErrorReason::Other(
                "internal: helper without index".to_string(),
            ))
        })?;
    items.get(index).ok_or_else(|| {
        RenderError::from(RenderErrorReason::Other(format!(
            "internal: unknown {what}"
        )))
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
        let text = indexed(&self.0.texts, h, "text")?;
        out.write(text)?;
        Ok(())
    }
}

/// What `.path` refers to: `None` when missing. `.secret.<name>.<key>` comes from the
/// secrets, everything else (`.` included) from the event.
fn resolve<'a>(root: &'a Value, reference: &Reference) -> Option<(&'a Value, bool)> {
    let segments: Vec<&str> = reference.segments().collect();
    if let ["secret", name, key] = segments.as_slice() {
        return root["secret"].get(*name)?.get(*key).map(|v| (v, true));
    }
    let mut current = &root["event"];
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
        let (reference, mode) = indexed(&self.0.refs, h, "value")?;
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

/// `{{n <index> <path>}}`: a native path's value (null when missing), escaped like any other.
struct NativePrintHelper(Arc<Program>);

impl HelperDef for NativePrintHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let mode = indexed(&self.0.natives, h, "native value")?;
        let value = h.param(1).map_or(&Value::Null, |p| p.value());
        out.write(&format_value(value, *mode, false))?;
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
        let (reference, _) = indexed(&self.0.refs, h, "value")?;
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
        let data = Data {
            event: &event,
            secrets: &secrets,
        };
        Compiled::new(source, landing)
            .unwrap()
            .render_in(&data.scope())
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
                event.clone()
            )
            .unwrap(),
            "a=b;"
        );
        assert_eq!(
            render(
                "{{#each data.list}}{{@index}}:{{this.n}}{{#if @last}}.{{else}},{{/if}}{{/each}}{{#each data.none}}x{{else}} none{{/each}}",
                Landing::Text,
                json!({"data": {"list": [{"n": "a"}, {"n": "b"}]}})
            )
            .unwrap(),
            "0:a,1:b. none"
        );
        assert_eq!(
            render("[{{data.missing}}]", Landing::Text, event).unwrap(),
            "[]"
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
    fn native_values_are_escaped_like_keptn_ones() {
        let hostile = json!({"data": {"message": "done\",\"channel\":\"#general",
            "labels": {"k\"": "v\"\n"}, "stage": "a/b?c", "crlf": "a\r\nX-Evil: 1"}});
        let json_string = render(
            "{\"text\": \"{{data.message}}\"}",
            Landing::Json,
            hostile.clone(),
        )
        .unwrap();
        assert_eq!(
            json_string,
            r##"{"text": "done\",\"channel\":\"#general"}"##
        );
        assert_eq!(
            serde_json::from_str::<Value>(&json_string).unwrap(),
            json!({"text": "done\",\"channel\":\"#general"})
        );
        let json_value = render(
            "{\"m\": {{data.message}}, \"l\": {{data.labels}}, \"each\": \"{{#each data.labels}}{{@key}}={{this}}{{/each}}\"}",
            Landing::Json,
            hostile.clone(),
        )
        .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&json_value).unwrap(),
            json!({"m": "done\",\"channel\":\"#general", "l": {"k\"": "v\"\n"},
                   "each": "k\"=v\"\n"})
        );
        assert_eq!(
            render("http://h/x/{{data.stage}}", Landing::Url, hostile.clone()).unwrap(),
            "http://h/x/a%2Fb%3Fc"
        );
        assert_eq!(
            render("Bearer {{data.crlf}}", Landing::Header, hostile).unwrap(),
            "Bearer a  X-Evil: 1"
        );
    }

    #[test]
    fn native_paths_and_the_whole_event_never_show_secrets() {
        let event = evaluation("dev", json!(1));
        for source in [
            "{{.secret.slack-secret.webhook-identifier}} {{this}}",
            "{{.secret.slack-secret.webhook-identifier}} {{.}}",
            "{{.secret.slack-secret.webhook-identifier}} {{#each this}}{{@key}}={{this}};{{/each}}",
        ] {
            let out = render(source, Landing::Text, event.clone()).unwrap();
            let (secret, rest) = out.split_once(' ').unwrap();
            assert_eq!(secret, "XXXX/\"yy", "{source}");
            assert!(!rest.contains("XXXX"), "{source}: {rest}");
            assert!(rest.contains("evaluation"), "{source}: {rest}");
        }
    }

    #[test]
    fn url_paths_never_get_dot_segments() {
        let url = "http://h/a/{{.data.stage}}/b?q={{.data.stage}}";
        for stage in ["..", ".", "%2E%2E"] {
            let out = render(url, Landing::Url, evaluation(stage, json!(1)));
            if stage == "%2E%2E" {
                // Percent signs of values are encoded: `%252E%252E` is no dot segment.
                assert_eq!(out.unwrap(), "http://h/a/%252E%252E/b?q=%252E%252E");
            } else {
                assert_eq!(
                    out,
                    Err("the URL path has a \".\" or \"..\" segment (values may not climb the path)".to_string()),
                    "{stage}"
                );
            }
        }
        // Native form, two values forming one segment, and a secret holding one.
        for (source, stage) in [
            ("http://h/{{data.stage}}/x", ".."),
            ("http://h/{{.data.stage}}{{.data.stage}}/x", "."),
            ("http://h/.{{.data.stage}}/x", "."),
        ] {
            assert!(
                render(source, Landing::Url, evaluation(stage, json!(1))).is_err(),
                "{source}"
            );
        }
        for fine in ["...", "a..", "..a", "v1.2"] {
            assert!(
                render(url, Landing::Url, evaluation(fine, json!(1))).is_ok(),
                "{fine}"
            );
        }
        // Dots in the query are not path segments.
        assert_eq!(
            render(
                "http://h/a?q={{.data.stage}}",
                Landing::Url,
                evaluation("..", json!(1))
            )
            .unwrap(),
            "http://h/a?q=.."
        );
    }

    #[test]
    fn dot_segments_are_found_in_every_spelling() {
        for bad in [
            "http://h/..",
            "http://h/a/../b",
            "http://h/./b",
            "http://h/a/%2e%2E/b",
            "http://h/a/.%2e/b",
            "http://h/a\\..\\b",
            "https://h:1/a/%2E?x",
            "/../x",
        ] {
            assert!(has_dot_segment(bad), "{bad}");
        }
        for fine in [
            "http://h/a/b",
            "http://h/a/...",
            "http://h/a?x=/../",
            "http://h/a#/../",
            "http://h?x=..",
            "http://h",
            "http://h/a%2e.b",
        ] {
            assert!(!has_dot_segment(fine), "{fine}");
        }
        // Why encoding is no protection: the URL parser reqwest uses removes `%2E%2E`.
        assert_eq!(url::Url::parse("http://h/a/%2E%2E/b").unwrap().path(), "/b");
    }

    #[test]
    fn url_encoding_keeps_only_unreserved_characters() {
        assert_eq!(
            percent_encode("aZ09-._~/&?= ü"),
            "aZ09-._~%2F%26%3F%3D%20%C3%BC"
        );
    }
}
