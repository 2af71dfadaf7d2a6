//! The content of the "Select payload variable" popup: the fields of an example event of the
//! chosen task and suffix (shaped like Keptn's events) as a tree; picking a leaf yields
//! `{{.data.project}}` etc. The same example event, as JSON, is what the preview pane
//! renders the form against ([`example_event_json`]).

use leptos::prelude::*;

use crate::components::tree::{Tree, TreeNode};

/// A field of the example event: a leaf (no children) can be inserted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableNode {
    pub name: String,
    /// `.data.project`
    pub path: String,
    pub children: Vec<VariableNode>,
}

/// The template that prints `path`.
pub fn variable_reference(path: &str) -> String {
    format!("{{{{{path}}}}}")
}

/// A field of the example event and its value. One list of these drives both the variable
/// tree and the example event's JSON, so every variable offered exists in the example.
#[derive(Clone, Debug, PartialEq)]
struct ExampleField {
    name: &'static str,
    value: ExampleValue,
}

/// The value of an example field.
#[derive(Clone, Debug, PartialEq)]
enum ExampleValue {
    Text(String),
    Number(i64),
    /// A string map (Keptn's `labels`): a branch whose keys are the variables.
    Labels(Vec<(&'static str, &'static str)>),
    /// Nested fields (a branch of the tree).
    Fields(Vec<ExampleField>),
}

fn text(name: &'static str, value: impl Into<String>) -> ExampleField {
    ExampleField {
        name,
        value: ExampleValue::Text(value.into()),
    }
}

/// The service that typically sends `sh.keptn.event.<task>.<suffix>`.
fn example_source(task: &str, suffix: &str) -> &'static str {
    if matches!(suffix, "triggered" | ">") {
        return "shipyard-controller";
    }
    match task {
        "evaluation" => "lighthouse-service",
        "deployment" | "release" | "rollback" => "helm-service",
        "test" => "jmeter-service",
        "get-sli" => "prometheus-service",
        "approval" => "approval-service",
        "remediation" | "action" => "remediation-service",
        _ => "webhook-service",
    }
}

/// The example `sh.keptn.event.<task>.<suffix>` event (`>` as triggered), shaped like Keptn's.
fn example_event(task: &str, suffix: &str) -> Vec<ExampleField> {
    let suffix = if suffix == ">" { "triggered" } else { suffix };
    let mut data = vec![
        text("project", "sockshop"),
        text("stage", "dev"),
        text("service", "carts"),
        text("result", "pass"),
        text("status", "succeeded"),
        text(
            "message",
            if suffix == "finished" {
                format!("{task} finished successfully")
            } else {
                String::new()
            },
        ),
        ExampleField {
            name: "labels",
            value: ExampleValue::Labels(vec![("buildId", "1.0.0")]),
        },
    ];
    let evaluation = match (task, suffix) {
        ("evaluation", "finished") => Some(vec![
            text("result", "pass"),
            ExampleField {
                name: "score",
                value: ExampleValue::Number(100),
            },
            text("timeStart", "2026-01-01T09:55:00.000Z"),
            text("timeEnd", "2026-01-01T10:00:00.000Z"),
        ]),
        ("evaluation", "triggered") => Some(vec![
            text("start", "2026-01-01T09:55:00.000Z"),
            text("end", "2026-01-01T10:00:00.000Z"),
            text("timeframe", "5m"),
        ]),
        _ => None,
    };
    if let Some(fields) = evaluation {
        data.push(ExampleField {
            name: "evaluation",
            value: ExampleValue::Fields(fields),
        });
    }
    vec![
        ExampleField {
            name: "data",
            value: ExampleValue::Fields(data),
        },
        text("id", "f2b878d3-03c0-4e8f-bc3f-454bc1b3d79d"),
        text("shkeptncontext", "a3e5f16d-8888-4720-82c7-6995062905c1"),
        text("source", example_source(task, suffix)),
        text("time", "2026-01-01T10:00:00.000Z"),
        text("type", format!("sh.keptn.event.{task}.{suffix}")),
    ]
}

fn tree_nodes(parent: &str, fields: &[ExampleField]) -> Vec<VariableNode> {
    fields
        .iter()
        .map(|field| {
            let path = format!("{parent}.{}", field.name);
            let children = match &field.value {
                ExampleValue::Fields(children) => tree_nodes(&path, children),
                // A map is no value to print: its keys are (`.data.labels.buildId`).
                ExampleValue::Labels(labels) => labels
                    .iter()
                    .map(|(key, _)| VariableNode {
                        name: (*key).to_string(),
                        path: format!("{path}.{key}"),
                        children: Vec::new(),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            VariableNode {
                name: field.name.to_string(),
                path,
                children,
            }
        })
        .collect()
}

/// The fields of an example `sh.keptn.event.<task>.<suffix>` event (`>` as triggered).
pub fn example_event_tree(task: &str, suffix: &str) -> Vec<VariableNode> {
    tree_nodes("", &example_event(task, suffix))
}

/// The example `sh.keptn.event.<task>.<suffix>` event (`>` as triggered) as pretty-printed
/// JSON: exactly the fields of [`example_event_tree`].
pub fn example_event_json(task: &str, suffix: &str) -> String {
    let mut out = String::new();
    write_fields(&mut out, &example_event(task, suffix), 0);
    out.push('\n');
    out
}

/// A JSON object of `fields`, indented by `indent` levels of two spaces.
fn write_fields(out: &mut String, fields: &[ExampleField], indent: usize) {
    if fields.is_empty() {
        out.push_str("{}");
        return;
    }
    let pad = "  ".repeat(indent + 1);
    out.push_str("{\n");
    for (index, field) in fields.iter().enumerate() {
        out.push_str(&pad);
        write_string(out, field.name);
        out.push_str(": ");
        match &field.value {
            ExampleValue::Text(value) => write_string(out, value),
            ExampleValue::Number(number) => out.push_str(&number.to_string()),
            ExampleValue::Labels(labels) => {
                let labels: Vec<ExampleField> = labels
                    .iter()
                    .map(|(key, value)| text(key, *value))
                    .collect();
                write_fields(out, &labels, indent + 1);
            }
            ExampleValue::Fields(children) => write_fields(out, children, indent + 1),
        }
        if index + 1 < fields.len() {
            out.push(',');
        }
        out.push('\n');
    }
    out.push_str(&"  ".repeat(indent));
    out.push('}');
}

/// A JSON string literal.
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The tree of variables.
#[component]
pub fn VariableTree(
    nodes: Vec<VariableNode>,
    /// Receives the reference to insert.
    on_pick: Callback<String>,
) -> impl IntoView {
    view! {
        <p class="picker-note">"Fields of an example event of the chosen task."</p>
        <Tree nodes=nodes.into_iter().map(tree_node).collect() on_pick />
    }
}

/// A field as an entry of the tree: a leaf inserts its variable and shows its path, since two
/// fields may share a name (`result` of data and of data.evaluation).
fn tree_node(node: VariableNode) -> TreeNode {
    let VariableNode {
        name,
        path,
        children,
    } = node;
    if children.is_empty() {
        TreeNode::Leaf {
            label: name,
            reference: variable_reference(&path),
            detail: Some(path),
        }
    } else {
        TreeNode::Branch {
            label: name,
            children: children.into_iter().map(tree_node).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(nodes: &[VariableNode]) -> Vec<String> {
        nodes
            .iter()
            .flat_map(|node| {
                if node.children.is_empty() {
                    vec![variable_reference(&node.path)]
                } else {
                    leaves(&node.children)
                }
            })
            .collect()
    }

    #[test]
    fn evaluation_finished_has_the_score() {
        let all = leaves(&example_event_tree("evaluation", "finished"));
        for expected in [
            "{{.data.project}}",
            "{{.data.stage}}",
            "{{.data.service}}",
            "{{.data.result}}",
            "{{.data.status}}",
            "{{.data.message}}",
            "{{.data.labels.buildId}}",
            "{{.data.evaluation.result}}",
            "{{.data.evaluation.score}}",
            "{{.data.evaluation.timeStart}}",
            "{{.data.evaluation.timeEnd}}",
            "{{.id}}",
            "{{.shkeptncontext}}",
            "{{.type}}",
            "{{.source}}",
            "{{.time}}",
        ] {
            assert!(all.contains(&expected.to_string()), "{expected}");
        }
        // A map is a branch, never a value to print.
        assert!(!all.contains(&"{{.data.labels}}".to_string()));
    }

    #[test]
    fn other_tasks_have_the_common_fields_only() {
        let all = leaves(&example_event_tree("deployment", "finished"));
        assert!(all.contains(&"{{.data.stage}}".to_string()));
        assert!(!all.iter().any(|leaf| leaf.contains("evaluation")));
    }

    /// A JSON value, as far as the tests need one.
    #[derive(Debug, PartialEq)]
    enum Json {
        Text(String),
        Number(String),
        Object(Vec<(String, Json)>),
    }

    /// A strict little parser for what `example_event_json` writes (objects, strings,
    /// integers); `None` on anything else, including trailing text.
    fn parse_json(text: &str) -> Option<Json> {
        let chars: Vec<char> = text.chars().collect();
        let mut at = 0;
        let value = parse_value(&chars, &mut at)?;
        skip_space(&chars, &mut at);
        (at == chars.len()).then_some(value)
    }

    fn skip_space(chars: &[char], at: &mut usize) {
        while chars.get(*at).is_some_and(|c| c.is_whitespace()) {
            *at += 1;
        }
    }

    fn parse_value(chars: &[char], at: &mut usize) -> Option<Json> {
        skip_space(chars, at);
        match chars.get(*at)? {
            '"' => parse_string(chars, at).map(Json::Text),
            '{' => {
                *at += 1;
                let mut entries = Vec::new();
                skip_space(chars, at);
                if chars.get(*at) == Some(&'}') {
                    *at += 1;
                    return Some(Json::Object(entries));
                }
                loop {
                    skip_space(chars, at);
                    let key = parse_string(chars, at)?;
                    skip_space(chars, at);
                    (chars.get(*at) == Some(&':')).then_some(())?;
                    *at += 1;
                    entries.push((key, parse_value(chars, at)?));
                    skip_space(chars, at);
                    match chars.get(*at)? {
                        ',' => *at += 1,
                        '}' => {
                            *at += 1;
                            return Some(Json::Object(entries));
                        }
                        _ => return None,
                    }
                }
            }
            c if c.is_ascii_digit() || *c == '-' => {
                let start = *at;
                while chars
                    .get(*at)
                    .is_some_and(|c| c.is_ascii_digit() || *c == '-')
                {
                    *at += 1;
                }
                Some(Json::Number(chars[start..*at].iter().collect()))
            }
            _ => None,
        }
    }

    fn parse_string(chars: &[char], at: &mut usize) -> Option<String> {
        (chars.get(*at) == Some(&'"')).then_some(())?;
        *at += 1;
        let mut out = String::new();
        loop {
            let c = *chars.get(*at)?;
            *at += 1;
            match c {
                '"' => return Some(out),
                '\\' => {
                    let escaped = *chars.get(*at)?;
                    *at += 1;
                    out.push(match escaped {
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        '"' | '\\' | '/' => escaped,
                        _ => return None,
                    });
                }
                c if u32::from(c) < 0x20 => return None,
                c => out.push(c),
            }
        }
    }

    /// The value at `.a.b` in `json`.
    fn lookup<'a>(json: &'a Json, path: &str) -> Option<&'a Json> {
        path.trim_start_matches('.')
            .split('.')
            .try_fold(json, |current, segment| match current {
                Json::Object(entries) => entries
                    .iter()
                    .find(|(key, _)| key == segment)
                    .map(|(_, value)| value),
                _ => None,
            })
    }

    /// Replaces every `{{.path}}` with the example's value, as a template without
    /// conditions would.
    fn fill(template: &str, json: &Json) -> Option<String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}")? + start;
            match lookup(json, rest[start + 2..end].trim())? {
                Json::Text(text) | Json::Number(text) => out.push_str(text),
                Json::Object(_) => return None,
            }
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        Some(out)
    }

    fn paths(nodes: &[VariableNode]) -> Vec<(String, bool)> {
        nodes
            .iter()
            .flat_map(|node| {
                let mut all = vec![(node.path.clone(), node.children.is_empty())];
                all.extend(paths(&node.children));
                all
            })
            .collect()
    }

    /// Every field of an object, as `.a.b` paths.
    fn json_paths(json: &Json, parent: &str, out: &mut Vec<String>) {
        if let Json::Object(entries) = json {
            for (key, value) in entries {
                let path = format!("{parent}.{key}");
                out.push(path.clone());
                json_paths(value, &path, out);
            }
        }
    }

    #[test]
    fn the_example_event_has_exactly_the_fields_of_the_tree() {
        for task in ["evaluation", "deployment", "test", "get-sli", "my_task"] {
            for suffix in [">", "triggered", "started", "finished"] {
                let text = example_event_json(task, suffix);
                let json = parse_json(&text).unwrap_or_else(|| panic!("not JSON: {text}"));
                let tree = paths(&example_event_tree(task, suffix));
                for (path, leaf) in &tree {
                    let value = lookup(&json, path).unwrap_or_else(|| panic!("{path} missing"));
                    assert_eq!(
                        leaf,
                        &!matches!(value, Json::Object(_)),
                        "{task}.{suffix} {path}"
                    );
                }
                let mut in_json = Vec::new();
                json_paths(&json, "", &mut in_json);
                let in_tree: Vec<String> = tree.into_iter().map(|(path, _)| path).collect();
                assert_eq!(in_json, in_tree, "{task}.{suffix}");
            }
        }
    }

    #[test]
    fn the_example_event_is_typed_and_pretty() {
        let text = example_event_json("evaluation", "finished");
        assert!(text.starts_with("{\n  \"data\": {\n    \"project\": \"sockshop\",\n"));
        assert!(text.contains("\n      \"score\": 100,\n"), "{text}");
        assert!(text.ends_with("}\n"));
        let json = parse_json(&text).unwrap_or_else(|| panic!("not JSON: {text}"));
        let at = |path: &str| lookup(&json, path);
        let text_at = |value: &str| Json::Text(value.to_string());
        assert_eq!(at(".data.project"), Some(&text_at("sockshop")));
        assert_eq!(at(".data.stage"), Some(&text_at("dev")));
        assert_eq!(at(".data.service"), Some(&text_at("carts")));
        assert_eq!(at(".data.result"), Some(&text_at("pass")));
        assert_eq!(at(".data.status"), Some(&text_at("succeeded")));
        assert_eq!(at(".data.evaluation.result"), Some(&text_at("pass")));
        assert_eq!(
            at(".data.evaluation.score"),
            Some(&Json::Number("100".to_string()))
        );
        assert_eq!(
            at(".type"),
            Some(&text_at("sh.keptn.event.evaluation.finished"))
        );
        assert_eq!(at(".source"), Some(&text_at("lighthouse-service")));
        let triggered = parse_json(&example_event_json("evaluation", ">"));
        assert_eq!(
            triggered.as_ref().and_then(|json| lookup(json, ".type")),
            Some(&text_at("sh.keptn.event.evaluation.triggered"))
        );
        assert_eq!(
            triggered
                .as_ref()
                .and_then(|json| lookup(json, ".data.evaluation.timeframe")),
            Some(&text_at("5m"))
        );
    }

    #[test]
    fn the_walkthrough_payload_reads_well_with_the_example() {
        let json = parse_json(&example_event_json("evaluation", "finished"));
        let filled = json.and_then(|json| {
            fill(
                "Evaluation in {{.data.stage}} finished with result {{.data.evaluation.result}} and score {{.data.evaluation.score}}.",
                &json,
            )
        });
        assert_eq!(
            filled.as_deref(),
            Some("Evaluation in dev finished with result pass and score 100.")
        );
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut out = String::new();
        write_string(&mut out, "a\"b\\c\nd\u{1}");
        assert_eq!(out, "\"a\\\"b\\\\c\\nd\\u0001\"");
        let mut out = String::new();
        write_string(&mut out, "a\"b\\c\nd");
        assert_eq!(parse_json(&out), Some(Json::Text("a\"b\\c\nd".to_string())));
    }
}
