//! Keptn's webhook template idioms (a subset of Go's text/template), parsed once so that
//! subscriptions can be validated with a line and column, their secret references listed,
//! and (later) rendered.
//!
//! Supported, as Keptn users write them: `{{.data.stage}}` (path; segments may contain `-`,
//! as in `{{.secret.slack-secret.webhook-identifier}}`), `{{index .data "incident-tool" "url"}}`,
//! `{{if .path}}…{{else if .other}}…{{else}}…{{end}}`, `{{/* comments */}}` and spaces inside
//! the braces. Anything else inside `{{ }}` is an error naming what was found.
//!
//! Native handlebars is accepted in the subset the README documents, and nothing more:
//! printing a path (`{{data.stage}}`, `{{this}}`, `{{@key}}` / `{{@index}}` / `{{@first}}` /
//! `{{@last}}` inside `{{#each}}`) and the blocks `{{#if path}}…{{else}}…{{/if}}` and
//! `{{#each path}}…{{else}}…{{/each}}`. Other helpers (`log`, `lookup`, `with`, partials,
//! decorators, subexpressions, `../` or `@root` paths) are refused with a line and column, so
//! no user-written handlebars ever reaches the engine: rendering emits its own program.

pub mod render;
pub mod webhook;

use std::fmt;

/// Where something is in the template source: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// A template that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {}, column {}: {message}", pos.line, pos.column)]
pub struct TemplateError {
    pub pos: Pos,
    pub message: String,
}

/// A value reference: a path from the root, then optional `index` keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Path segments after the leading dot (`.data.stage` → `["data", "stage"]`).
    pub path: Vec<String>,
    /// Extra keys of `index` (`index .data "a" "b"` → `["a", "b"]`).
    pub keys: Vec<String>,
    /// As the user wrote it, for error messages (e.g. `.data.evaluation.score`).
    pub written: String,
}

impl Reference {
    /// Every segment: the path, then the index keys.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.path.iter().chain(self.keys.iter()).map(String::as_str)
    }
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Literal text, output as written.
    Text(String),
    /// `{{.path}}` or `{{index …}}`: print a value.
    Print(Reference, Pos),
    /// `{{if}}` with its branches; `else if` chains nest in `otherwise`.
    If {
        condition: Reference,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
    /// Native handlebars: print a path of the current scope (`{{data.stage}}`, `{{@key}}`).
    NativePrint(NativePath, Pos),
    /// Native handlebars block: `{{#if path}}` or `{{#each path}}`, then `{{else}}`.
    NativeBlock {
        helper: NativeHelper,
        path: NativePath,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

/// The native block helpers Uniform documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NativeHelper {
    If,
    Each,
}

/// A native handlebars path, relative to the current scope: the event at the top, the item
/// inside `{{#each}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativePath {
    /// `key`, `index`, `first` or `last`: a variable of the enclosing `{{#each}}`.
    pub local: Option<String>,
    /// Segments below the scope (`this` → none; `this.a.b` and `a.b` → `["a", "b"]`).
    pub segments: Vec<String>,
}

/// Variables `{{#each}}` sets.
const EACH_VARIABLES: [&str; 4] = ["key", "index", "first", "last"];

/// Helpers handlebars has built in; as bare words they would run, so they are refused
/// (`{{this.log}}` prints a field named `log`).
const HANDLEBARS_HELPERS: [&str; 18] = [
    "if", "unless", "each", "with", "lookup", "raw", "log", "eq", "ne", "gt", "gte", "lt", "lte",
    "and", "or", "not", "len", "else",
];

/// What native handlebars may use, for error messages.
const NATIVE_SUPPORTED: &str =
    "native handlebars may print paths and use {{#if path}} and {{#each path}}";

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub nodes: Vec<Node>,
}

impl Template {
    /// Every `{{.secret.<name>.<key>}}` reference as (name, key), in order, without repeats.
    pub fn secret_refs(&self) -> Vec<(String, String)> {
        let mut refs = Vec::new();
        visit(&self.nodes, &mut |reference| {
            let segments: Vec<&str> = reference.segments().collect();
            if let ["secret", name, key, ..] = segments.as_slice() {
                let pair = (name.to_string(), key.to_string());
                if !refs.contains(&pair) {
                    refs.push(pair);
                }
            }
        });
        refs
    }

    /// Every reference in the template (printed or tested).
    pub fn references(&self) -> Vec<&Reference> {
        let mut all = Vec::new();
        collect(&self.nodes, &mut all);
        all
    }
}

fn collect<'a>(nodes: &'a [Node], out: &mut Vec<&'a Reference>) {
    for node in nodes {
        match node {
            Node::Text(_) | Node::NativePrint(..) => {}
            Node::NativeBlock {
                then, otherwise, ..
            } => {
                collect(then, out);
                collect(otherwise, out);
            }
            Node::Print(reference, _) => out.push(reference),
            Node::If {
                condition,
                then,
                otherwise,
            } => {
                out.push(condition);
                collect(then, out);
                collect(otherwise, out);
            }
        }
    }
}

fn visit(nodes: &[Node], f: &mut impl FnMut(&Reference)) {
    let mut all = Vec::new();
    collect(nodes, &mut all);
    for reference in all {
        f(reference);
    }
}

/// Parses `source`.
pub fn parse(source: &str) -> Result<Template, TemplateError> {
    let tokens = lex(source)?;
    let mut parser = Parser {
        tokens: tokens.into_iter().peekable(),
        in_each: false,
    };
    let (nodes, end) = parser.block()?;
    match end {
        None => Ok(Template { nodes }),
        Some((Terminator::End, pos)) => Err(error(pos, "unexpected {{end}}")),
        Some((Terminator::Else(_), pos)) => Err(error(pos, "unexpected {{else}}")),
        Some((Terminator::Close(name), pos)) => {
            Err(error(pos, format!("unexpected {{{{/{name}}}}}")))
        }
    }
}

fn error(pos: Pos, message: impl Into<String>) -> TemplateError {
    TemplateError {
        pos,
        message: message.into(),
    }
}

#[derive(Debug)]
enum Token {
    Text(String),
    /// The inside of `{{ }}`, trimmed, with the position of its first character.
    Action(String, Pos),
}

/// Splits the source into text and actions, tracking lines and columns.
fn lex(source: &str) -> Result<Vec<Token>, TemplateError> {
    let mut tokens = Vec::new();
    let mut rest = source;
    let mut cursor = Pos { line: 1, column: 1 };
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            tokens.push(Token::Text(rest[..start].to_string()));
        }
        advance(&mut cursor, &rest[..start]);
        let open = cursor;
        let inner_start = start + 2;
        let Some(close) = find_close(&rest[inner_start..]) else {
            return Err(error(open, "unclosed action: missing }}"));
        };
        let inner = &rest[inner_start..inner_start + close];
        let leading = inner.len() - inner.trim_start().len();
        let mut inner_pos = open;
        advance(&mut inner_pos, &rest[start..inner_start + leading]);
        tokens.push(Token::Action(inner.trim().to_string(), inner_pos));
        advance(&mut cursor, &rest[start..inner_start + close + 2]);
        rest = &rest[inner_start + close + 2..];
    }
    if !rest.is_empty() {
        tokens.push(Token::Text(rest.to_string()));
    }
    Ok(tokens)
}

/// The offset of the `}}` closing an action, skipping string literals.
fn find_close(inner: &str) -> Option<usize> {
    let bytes = inner.as_bytes();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'}' if !in_string && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn advance(pos: &mut Pos, text: &str) {
    for c in text.chars() {
        if c == '\n' {
            pos.line += 1;
            pos.column = 1;
        } else {
            pos.column += 1;
        }
    }
}

/// Nodes of a block and what ended it (`None`: the end of the template).
type Block = (Vec<Node>, Option<(Terminator, Pos)>);

enum Terminator {
    End,
    /// `{{/name}}`, closing a native handlebars block.
    Close(String),
    /// `{{else}}` or `{{else if X}}` (the condition).
    Else(Option<Reference>),
}

struct Parser {
    tokens: std::iter::Peekable<std::vec::IntoIter<Token>>,
    /// Whether the nodes being read are inside a `{{#each}}` (the scope is an item, not the
    /// event).
    in_each: bool,
}

impl Parser {
    /// Nodes up to the end of input or an `{{end}}`/`{{else}}` (returned, with position).
    fn block(&mut self) -> Result<Block, TemplateError> {
        let mut nodes = Vec::new();
        while let Some(token) = self.tokens.next() {
            let (action, pos) = match token {
                Token::Text(text) => {
                    nodes.push(Node::Text(text));
                    continue;
                }
                Token::Action(action, pos) => (action, pos),
            };
            if action.starts_with("/*") {
                if !action.ends_with("*/") {
                    return Err(error(pos, "unclosed comment"));
                }
                continue;
            }
            if let Some(open) = action.strip_prefix('#') {
                nodes.push(self.native_block(open, pos)?);
                continue;
            }
            if let Some(name) = action.strip_prefix('/') {
                return Ok((
                    nodes,
                    Some((Terminator::Close(name.trim().to_string()), pos)),
                ));
            }
            let words = split_words(&action, pos)?;
            match words.first().map(|(w, _)| w.as_str()) {
                None => return Err(error(pos, "empty action")),
                Some("end") if words.len() == 1 => {
                    return Ok((nodes, Some((Terminator::End, pos))))
                }
                Some("else") if words.len() == 1 => {
                    return Ok((nodes, Some((Terminator::Else(None), pos))))
                }
                Some("else") if words.get(1).is_some_and(|(w, _)| w == "if") => {
                    let condition = reference(&words[2..], pos)?;
                    return Ok((nodes, Some((Terminator::Else(Some(condition)), pos))));
                }
                Some("if") => {
                    let condition = reference(&words[1..], pos)?;
                    nodes.push(self.if_chain(condition, pos)?);
                }
                Some(word) if words.len() == 1 && is_native_path(word) => nodes.push(
                    Node::NativePrint(native_path(word, pos, self.in_each)?, pos),
                ),
                Some(_) => nodes.push(Node::Print(reference(&words, pos)?, pos)),
            }
        }
        Ok((nodes, None))
    }

    /// `{{#if path}}` or `{{#each path}}`, then `…[{{else}}…]{{/if}}` / `{{/each}}`.
    fn native_block(&mut self, open: &str, pos: Pos) -> Result<Node, TemplateError> {
        let after_hash = Pos {
            line: pos.line,
            column: pos.column + 1,
        };
        let words = split_words(open, after_hash)?;
        let Some((name, name_pos)) = words.first() else {
            return Err(error(pos, "empty block"));
        };
        let helper = match name.as_str() {
            "if" => NativeHelper::If,
            "each" => NativeHelper::Each,
            other => {
                return Err(error(
                    *name_pos,
                    format!("helper {other:?} is not supported: {NATIVE_SUPPORTED}"),
                ))
            }
        };
        let name = name.clone();
        let Some((word, word_pos)) = words.get(1) else {
            return Err(error(*name_pos, format!("{{{{#{name}}}}} needs a path")));
        };
        let path = native_path(word, *word_pos, self.in_each)?;
        if let Some((extra, extra_pos)) = words.get(2) {
            return Err(error(
                *extra_pos,
                format!("unexpected {extra:?} after #{name} {word}: {NATIVE_SUPPORTED}"),
            ));
        }
        let missing = || error(pos, format!("missing {{{{/{name}}}}} for {{{{#{name}}}}}"));
        let closes = |end: Option<(Terminator, Pos)>| match end {
            Some((Terminator::Close(closed), _)) if closed == name => Ok(()),
            Some((Terminator::Close(closed), p)) => Err(error(
                p,
                format!("unexpected {{{{/{closed}}}}}: {{{{#{name}}}}} is open"),
            )),
            _ => Err(missing()),
        };
        let outer = self.in_each;
        self.in_each = outer || helper == NativeHelper::Each;
        let then = self.block();
        self.in_each = outer;
        let (then, end) = then?;
        let otherwise = match end {
            Some((Terminator::Else(None), _)) => {
                let (otherwise, end) = self.block()?;
                closes(end)?;
                otherwise
            }
            other => {
                closes(other)?;
                Vec::new()
            }
        };
        Ok(Node::NativeBlock {
            helper,
            path,
            then,
            otherwise,
        })
    }

    fn if_chain(&mut self, condition: Reference, pos: Pos) -> Result<Node, TemplateError> {
        let (then, end) = self.block()?;
        let otherwise = match end {
            None => return Err(error(pos, "missing {{end}} for {{if}}")),
            Some((Terminator::End, _)) => Vec::new(),
            Some((Terminator::Else(None), else_pos)) => {
                let (otherwise, end) = self.block()?;
                match end {
                    Some((Terminator::End, _)) => otherwise,
                    Some((Terminator::Else(_), p)) => {
                        return Err(error(p, "unexpected {{else}} after {{else}}"))
                    }
                    Some((Terminator::Close(name), p)) => {
                        return Err(error(
                            p,
                            format!("unexpected {{{{/{name}}}}} inside {{{{if}}}}"),
                        ))
                    }
                    None => return Err(error(else_pos, "missing {{end}} for {{if}}")),
                }
            }
            Some((Terminator::Else(Some(next)), else_pos)) => vec![self.if_chain(next, else_pos)?],
            Some((Terminator::Close(name), p)) => {
                return Err(error(
                    p,
                    format!("unexpected {{{{/{name}}}}} inside {{{{if}}}}"),
                ))
            }
        };
        Ok(Node::If {
            condition,
            then,
            otherwise,
        })
    }
}

/// Words of an action with their positions; string literals are one word, quotes kept.
fn split_words(action: &str, start: Pos) -> Result<Vec<(String, Pos)>, TemplateError> {
    let mut words = Vec::new();
    let mut pos = start;
    let mut chars = action.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            advance(&mut pos, &c.to_string());
            chars.next();
            continue;
        }
        let word_pos = pos;
        let mut word = String::new();
        if c == '"' {
            word.push(c);
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                word.push(c);
                if c == '\\' {
                    if let Some(escaped) = chars.next() {
                        word.push(escaped);
                    }
                } else if c == '"' {
                    closed = true;
                    break;
                }
            }
            if !closed {
                return Err(error(word_pos, "unterminated quoted string"));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        advance(&mut pos, &word);
        words.push((word, word_pos));
    }
    Ok(words)
}

/// A path (`.a.b`) or `index .a "k" …` from the words of an action.
fn reference(words: &[(String, Pos)], action_pos: Pos) -> Result<Reference, TemplateError> {
    let Some((first, first_pos)) = words.first() else {
        return Err(error(action_pos, "missing value"));
    };
    if first == "index" {
        let Some((base, base_pos)) = words.get(1) else {
            return Err(error(
                *first_pos,
                "index needs a value and at least one key",
            ));
        };
        let path = path(base, *base_pos)?;
        if words.len() < 3 {
            return Err(error(
                *first_pos,
                "index needs a value and at least one key",
            ));
        }
        let mut keys = Vec::new();
        for (word, pos) in &words[2..] {
            keys.push(string_literal(word, *pos)?);
        }
        let written = words
            .iter()
            .map(|(w, _)| w.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        return Ok(Reference {
            path,
            keys,
            written,
        });
    }
    let path = path(first, *first_pos)?;
    if let Some((extra, pos)) = words.get(1) {
        return Err(error(*pos, format!("unexpected {extra:?} after {first}")));
    }
    Ok(Reference {
        path,
        keys: Vec::new(),
        written: first.clone(),
    })
}

fn path(word: &str, pos: Pos) -> Result<Vec<String>, TemplateError> {
    if word == "." {
        return Ok(Vec::new());
    }
    let Some(rest) = word.strip_prefix('.') else {
        let name: String = word
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        return Err(if name.is_empty() {
            error(pos, bad_character(word.chars().next().unwrap_or(' ')))
        } else {
            error(pos, format!("function {name:?} not defined"))
        });
    };
    let mut segments = Vec::new();
    let mut column = pos.column + 1;
    for segment in rest.split('.') {
        if segment.is_empty() {
            return Err(error(
                Pos {
                    line: pos.line,
                    column,
                },
                "empty path segment",
            ));
        }
        if let Some((offset, bad)) = segment
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '-'))
        {
            return Err(error(
                Pos {
                    line: pos.line,
                    column: column + offset,
                },
                bad_character(bad),
            ));
        }
        column += segment.chars().count() + 1;
        segments.push(segment.to_string());
    }
    Ok(segments)
}

/// A native path (`data.stage`, `this`, `this.a`, `@key`) of a scope; `in_each` says whether
/// the scope is an `{{#each}}` item. At the top the scope is the event, where `secret` would
/// mean a secret: those are read with the Keptn form only.
fn native_path(word: &str, pos: Pos, in_each: bool) -> Result<NativePath, TemplateError> {
    if let Some(variable) = word.strip_prefix('@') {
        if !EACH_VARIABLES.contains(&variable) {
            return Err(error(
                pos,
                format!("{word} is not supported: {NATIVE_SUPPORTED}, and @key, @index, @first and @last inside {{{{#each}}}}"),
            ));
        }
        if !in_each {
            return Err(error(
                pos,
                format!("{word} is only set inside {{{{#each}}}}"),
            ));
        }
        return Ok(NativePath {
            local: Some(variable.to_string()),
            segments: Vec::new(),
        });
    }
    if HANDLEBARS_HELPERS.contains(&word) {
        return Err(error(
            pos,
            format!("helper {word:?} is not supported: {NATIVE_SUPPORTED}"),
        ));
    }
    let (rest, offset) = match word {
        "this" => ("", 0),
        _ => match word.strip_prefix("this.") {
            Some(rest) => (rest, 5),
            None => (word, 0),
        },
    };
    let mut segments = Vec::new();
    if !rest.is_empty() {
        let mut column = pos.column + offset;
        for segment in rest.split('.') {
            let at = Pos {
                line: pos.line,
                column,
            };
            if segment.is_empty() {
                return Err(error(at, "empty path segment"));
            }
            if let Some((i, bad)) = segment
                .chars()
                .enumerate()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
            {
                return Err(error(
                    Pos {
                        line: pos.line,
                        column: column + i,
                    },
                    bad_character(bad),
                ));
            }
            column += segment.chars().count() + 1;
            segments.push(segment.to_string());
        }
    }
    if !in_each && segments.first().is_some_and(|s| s == "secret") {
        return Err(error(
            pos,
            format!(
                "native handlebars cannot read secrets: use the Keptn form {{{{.secret.<name>.<key>}}}}, here {{{{.{}}}}}",
                segments.join(".")
            ),
        ));
    }
    Ok(NativePath {
        local: None,
        segments,
    })
}

/// A handlebars path written without Keptn's leading dot (`data.stage`, `this`, `@index`).
fn is_native_path(word: &str) -> bool {
    let mut chars = word.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '@')
        && chars.all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '@' | '[' | ']' | '/')
        })
        && !matches!(word, "if" | "else" | "end" | "index")
}

fn string_literal(word: &str, pos: Pos) -> Result<String, TemplateError> {
    let inner = word
        .strip_prefix('"')
        .and_then(|w| w.strip_suffix('"'))
        .ok_or_else(|| {
            error(
                pos,
                format!("index keys must be quoted strings, found {word}"),
            )
        })?;
    Ok(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
}

fn bad_character(c: char) -> String {
    format!("bad character U+{:04X} '{c}'", c as u32)
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(source: &str) -> (usize, usize, String) {
        let e = parse(source).unwrap_err();
        (e.pos.line, e.pos.column, e.message)
    }

    #[test]
    fn the_seed_payload_parses_and_keeps_its_text() {
        let seed = "{\n  \"text\": \"Evaluation in {{.data.stage}} finished with result {{.data.evaluation.result}} and score {{.data.evaluation.score}}.\"\n}";
        let template = parse(seed).unwrap();
        let printed: Vec<String> = template
            .references()
            .iter()
            .map(|r| r.written.clone())
            .collect();
        assert_eq!(
            printed,
            [
                ".data.stage",
                ".data.evaluation.result",
                ".data.evaluation.score"
            ]
        );
        assert!(
            matches!(&template.nodes[0], Node::Text(t) if t == "{\n  \"text\": \"Evaluation in ")
        );
    }

    #[test]
    fn secret_references_are_listed_once() {
        let t = parse("https://hooks.slack.com/services/T/B/{{.secret.slack-secret.webhook-identifier}}{{ .secret.slack-secret.webhook-identifier }}{{.secret.other.k}}").unwrap();
        assert_eq!(
            t.secret_refs(),
            [
                ("slack-secret".to_string(), "webhook-identifier".to_string()),
                ("other".to_string(), "k".to_string())
            ]
        );
    }

    #[test]
    fn if_else_chains_and_index_parse() {
        let t = parse(r#"{{if .data.result}}{{.data.result}}{{else if .x}}x{{else}}none{{end}} {{index .data "incident-tool" "url"}}{{/* note */}}"#).unwrap();
        assert_eq!(t.references().len(), 4);
        let index = t.references()[3];
        assert_eq!(index.path, ["data"]);
        assert_eq!(index.keys, ["incident-tool", "url"]);
    }

    #[test]
    fn errors_name_line_and_column() {
        assert_eq!(err("ok {{.a"), (1, 4, "unclosed action: missing }}".into()));
        assert_eq!(
            err("a\nb {{ .data.sta!ge }}"),
            (2, 15, "bad character U+0021 '!'".into())
        );
        assert_eq!(err("{{}}"), (1, 3, "empty action".into()));
        assert_eq!(err("x\n  {{end}}"), (2, 5, "unexpected {{end}}".into()));
        assert_eq!(
            err("{{if .a}}yes"),
            (1, 3, "missing {{end}} for {{if}}".into())
        );
        assert_eq!(err("{{else}}"), (1, 3, "unexpected {{else}}".into()));
        assert_eq!(
            err("{{foo .a}}"),
            (1, 3, "function \"foo\" not defined".into())
        );
        assert_eq!(
            err("{{.a .b}}"),
            (1, 6, "unexpected \".b\" after .a".into())
        );
        assert_eq!(
            err("{{index .a}}"),
            (1, 3, "index needs a value and at least one key".into())
        );
        assert_eq!(err("{{.a..b}}"), (1, 6, "empty path segment".into()));
    }

    #[test]
    fn only_documented_native_handlebars_parses() {
        for good in [
            "{{data.stage}} {{this}} {{this.data.stage}} {{data.incident-tool.url}}",
            "{{#if data.x}}a{{else}}b{{/if}}",
            "{{#each data.labels}}{{@key}}={{this}} {{@index}}{{@first}}{{@last}} {{this.log}} {{secret.x}}{{/each}}",
            "{{#each data.a}}{{#each this}}{{this}}{{/each}}{{else}}none{{/each}}",
        ] {
            assert!(parse(good).is_ok(), "{good}: {:?}", parse(good));
        }
        let supported = "native handlebars may print paths and use {{#if path}} and {{#each path}}";
        for (source, expected) in [
            ("{{log}}", (1, 3, format!("helper \"log\" is not supported: {supported}"))),
            ("{{lookup}}", (1, 3, format!("helper \"lookup\" is not supported: {supported}"))),
            ("a\n {{ lookup data \"secret\" }}", (2, 5, "function \"lookup\" not defined".into())),
            ("{{log \"x\"}}", (1, 3, "function \"log\" not defined".into())),
            ("x {{#with data}}{{stage}}{{/with}}", (1, 6, format!("helper \"with\" is not supported: {supported}"))),
            ("{{#unless data.x}}y{{/unless}}", (1, 4, format!("helper \"unless\" is not supported: {supported}"))),
            ("{{#lookup data}}y{{/lookup}}", (1, 4, format!("helper \"lookup\" is not supported: {supported}"))),
            ("{{#*inline \"p\"}}y{{/inline}}", (1, 4, format!("helper \"*inline\" is not supported: {supported}"))),
            ("{{> partial}}", (1, 3, "bad character U+003E '>'".into())),
            ("{{#each data.l as |x|}}{{x}}{{/each}}", (1, 16, format!("unexpected \"as\" after #each data.l: {supported}"))),
            ("{{#if (lookup this \"secret\")}}y{{/if}}", (1, 7, "bad character U+0028 '('".into())),
            ("{{#if}}y{{/if}}", (1, 4, "{{#if}} needs a path".into())),
            ("{{@root.secret.a.b}}", (1, 3, format!("@root.secret.a.b is not supported: {supported}, and @key, @index, @first and @last inside {{{{#each}}}}"))),
            ("{{@key}}", (1, 3, "@key is only set inside {{#each}}".into())),
            ("{{../secret}}", (1, 4, "empty path segment".into())),
            ("{{#each data}}{{../x}}{{/each}}", (1, 18, "empty path segment".into())),
            ("{{data/stage}}", (1, 7, "bad character U+002F '/'".into())),
            ("{{data.[a]}}", (1, 8, "bad character U+005B '['".into())),
            ("{{{data.x}}}", (1, 3, "bad character U+007B '{'".into())),
            ("{{!-- c --}}", (1, 3, "bad character U+0021 '!'".into())),
        ] {
            assert_eq!(err(source), expected, "{source}");
        }
    }

    #[test]
    fn native_secret_references_name_the_keptn_form() {
        for (source, column, path) in [
            ("{{secret.keptn.url}}", 3, "secret.keptn.url"),
            ("https://x/{{ this.secret.a.b }}", 14, "secret.a.b"),
            ("{{#if secret.a.b}}y{{/if}}", 7, "secret.a.b"),
            ("{{#each secret}}y{{/each}}", 9, "secret"),
        ] {
            assert_eq!(
                err(source),
                (1, column, format!("native handlebars cannot read secrets: use the Keptn form {{{{.secret.<name>.<key>}}}}, here {{{{.{path}}}}}")),
                "{source}"
            );
        }
    }

    #[test]
    fn text_without_actions_and_lone_braces_are_text() {
        let t = parse("{ \"a\": } }} {").unwrap();
        assert_eq!(t.nodes, [Node::Text("{ \"a\": } }} {".into())]);
    }
}
