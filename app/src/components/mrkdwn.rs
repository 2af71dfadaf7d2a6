//! A small renderer of Slack's mrkdwn, for the preview pane's "Slack message": `*bold*`,
//! `_italic_`, `~strike~`, `` `code` ``, ```` ```code blocks``` ````, links `<url|label>` and
//! `<url>` (only http, https and mailto become links) and line breaks; everything else is
//! literal text. The text is parsed into [`Span`]s and rendered as Leptos views — never as
//! HTML markup.

use leptos::prelude::*;

/// A piece of a Slack message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Span {
    Text(String),
    Bold(Vec<Span>),
    Italic(Vec<Span>),
    Strike(Vec<Span>),
    Code(String),
    CodeBlock(String),
    /// A link to an http, https or mailto address.
    Link {
        url: String,
        label: String,
    },
    LineBreak,
}

/// Parses Slack mrkdwn.
pub fn parse(text: &str) -> Vec<Span> {
    let chars: Vec<char> = text.chars().collect();
    parse_chars(&chars)
}

/// The characters that mark bold, italic and strike-through.
fn is_marker(c: char) -> bool {
    matches!(c, '*' | '_' | '~')
}

fn parse_chars(chars: &[char]) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut text = String::new();
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        if starts_with(chars, at, "```") {
            if let Some(end) = find_from(chars, at + 3, "```") {
                let mut code: String = chars[at + 3..end].iter().collect();
                if code.starts_with('\n') {
                    code.remove(0);
                }
                push_text(&mut spans, &mut text);
                spans.push(Span::CodeBlock(code));
                at = end + 3;
                continue;
            }
        }
        match c {
            '\n' => {
                push_text(&mut spans, &mut text);
                spans.push(Span::LineBreak);
                at += 1;
                continue;
            }
            '`' => {
                if let Some(end) = find_on_line(chars, at + 1, |c| c == '`') {
                    if end > at + 1 {
                        push_text(&mut spans, &mut text);
                        spans.push(Span::Code(chars[at + 1..end].iter().collect()));
                        at = end + 1;
                        continue;
                    }
                }
            }
            '<' => {
                if let Some(end) = find_on_line(chars, at + 1, |c| c == '>' || c == '<') {
                    if chars[end] == '>' && end > at + 1 {
                        push_text(&mut spans, &mut text);
                        let inner: String = chars[at + 1..end].iter().collect();
                        spans.push(angle(&inner));
                        at = end + 1;
                        continue;
                    }
                }
            }
            c if is_marker(c) && opens(chars, at) => {
                if let Some(end) = closing(chars, at) {
                    push_text(&mut spans, &mut text);
                    let inner = parse_chars(&chars[at + 1..end]);
                    spans.push(match c {
                        '*' => Span::Bold(inner),
                        '_' => Span::Italic(inner),
                        _ => Span::Strike(inner),
                    });
                    at = end + 1;
                    continue;
                }
            }
            _ => {}
        }
        text.push(c);
        at += 1;
    }
    push_text(&mut spans, &mut text);
    merge_texts(spans)
}

/// Joins neighbouring text spans.
fn merge_texts(spans: Vec<Span>) -> Vec<Span> {
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match (merged.last_mut(), span) {
            (Some(Span::Text(previous)), Span::Text(next)) => previous.push_str(&next),
            (_, span) => merged.push(span),
        }
    }
    merged
}

/// Ends the text collected so far (Slack's `&amp;`, `&lt;` and `&gt;` decoded).
fn push_text(spans: &mut Vec<Span>, text: &mut String) {
    if !text.is_empty() {
        spans.push(Span::Text(unescape(text)));
        text.clear();
    }
}

/// Slack's three escapes.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn starts_with(chars: &[char], at: usize, pattern: &str) -> bool {
    (at..)
        .zip(pattern.chars())
        .all(|(index, p)| chars.get(index) == Some(&p))
}

/// Where `pattern` next starts at or after `from`.
fn find_from(chars: &[char], from: usize, pattern: &str) -> Option<usize> {
    (from..chars.len()).find(|&at| starts_with(chars, at, pattern))
}

/// Where the next character matching `wanted` is, at or after `from`, before the line ends.
fn find_on_line(chars: &[char], from: usize, wanted: impl Fn(char) -> bool) -> Option<usize> {
    for (index, &c) in chars.iter().enumerate().skip(from) {
        if c == '\n' {
            return None;
        }
        if wanted(c) {
            return Some(index);
        }
    }
    None
}

/// A marker opens when it does not follow a letter or digit and a non-space follows it.
fn opens(chars: &[char], at: usize) -> bool {
    let before_ok = at == 0 || !chars[at - 1].is_alphanumeric();
    let after_ok = chars
        .get(at + 1)
        .is_some_and(|c| !c.is_whitespace() && *c != chars[at]);
    before_ok && after_ok
}

/// The marker closing the one at `at` on the same line: preceded by a non-space and not
/// followed by a letter or digit.
fn closing(chars: &[char], at: usize) -> Option<usize> {
    let marker = chars[at];
    let mut index = at + 2;
    while index < chars.len() {
        let c = chars[index];
        if c == '\n' {
            return None;
        }
        if c == marker
            && !chars[index - 1].is_whitespace()
            && chars
                .get(index + 1)
                .is_none_or(|next| !next.is_alphanumeric())
        {
            return Some(index);
        }
        index += 1;
    }
    None
}

/// `<…>`: a link when the address is http, https or mailto; otherwise its label (or the
/// whole text when there is none), literally.
fn angle(inner: &str) -> Span {
    let (url, label) = match inner.split_once('|') {
        Some((url, label)) => (url, Some(label)),
        None => (inner, None),
    };
    let url = unescape(url);
    let label = label.map(unescape);
    if is_safe_url(&url) {
        Span::Link {
            label: label.unwrap_or_else(|| url.strip_prefix("mailto:").unwrap_or(&url).to_string()),
            url,
        }
    } else {
        Span::Text(label.unwrap_or_else(|| format!("<{}>", unescape(inner))))
    }
}

/// Whether `url` may become a real link.
pub fn is_safe_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("http://") && lower.len() > "http://".len())
        || (lower.starts_with("https://") && lower.len() > "https://".len())
        || (lower.starts_with("mailto:") && lower.len() > "mailto:".len())
}

/// The views of `spans`.
pub fn render(spans: Vec<Span>) -> AnyView {
    spans
        .into_iter()
        .map(|span| match span {
            Span::Text(text) => text.into_any(),
            Span::Bold(inner) => view! { <strong>{render(inner)}</strong> }.into_any(),
            Span::Italic(inner) => view! { <em>{render(inner)}</em> }.into_any(),
            Span::Strike(inner) => view! { <del>{render(inner)}</del> }.into_any(),
            Span::Code(code) => view! { <code>{code}</code> }.into_any(),
            Span::CodeBlock(code) => view! {
                <pre>
                    <code>{code}</code>
                </pre>
            }
            .into_any(),
            Span::Link { url, label } => view! {
                <a href=url target="_blank" rel="noopener noreferrer">
                    {label}
                </a>
            }
            .into_any(),
            Span::LineBreak => view! { <br /> }.into_any(),
        })
        .collect_view()
        .into_any()
}

/// `text` as Slack would show it.
#[component]
pub fn Mrkdwn(#[prop(into)] text: String) -> impl IntoView {
    view! { <div class="mrkdwn">{render(parse(&text))}</div> }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Span {
        Span::Text(value.to_string())
    }

    #[test]
    fn plain_text_stays_literal() {
        assert_eq!(parse("Evaluation in dev"), vec![text("Evaluation in dev")]);
        assert_eq!(parse(""), Vec::<Span>::new());
        assert_eq!(
            parse("<b>no html</b> & 2 * 3 = 6"),
            vec![text("<b>no html</b> & 2 * 3 = 6")]
        );
    }

    #[test]
    fn bold_italic_and_strike() {
        assert_eq!(
            parse("result *pass* and _fast_, ~slow~"),
            vec![
                text("result "),
                Span::Bold(vec![text("pass")]),
                text(" and "),
                Span::Italic(vec![text("fast")]),
                text(", "),
                Span::Strike(vec![text("slow")]),
            ]
        );
        assert_eq!(
            parse("*_both_*"),
            vec![Span::Bold(vec![Span::Italic(vec![text("both")])])]
        );
        assert_eq!(
            parse("*score 100*."),
            vec![Span::Bold(vec![text("score 100")]), text(".")]
        );
    }

    #[test]
    fn markers_inside_words_or_next_to_spaces_are_literal() {
        assert_eq!(parse("snake_case_name"), vec![text("snake_case_name")]);
        assert_eq!(parse("a * b * c"), vec![text("a * b * c")]);
        assert_eq!(parse("*open"), vec![text("*open")]);
        assert_eq!(parse("**"), vec![text("**")]);
        assert_eq!(
            parse("*a\nb*"),
            vec![text("*a"), Span::LineBreak, text("b*")]
        );
    }

    #[test]
    fn code_is_not_formatted() {
        assert_eq!(
            parse("run `*x*` now"),
            vec![text("run "), Span::Code("*x*".to_string()), text(" now")]
        );
        assert_eq!(
            parse("```\nfn main() {}\n*x*```"),
            vec![Span::CodeBlock("fn main() {}\n*x*".to_string())]
        );
        assert_eq!(parse("``"), vec![text("``")]);
    }

    #[test]
    fn links() {
        assert_eq!(
            parse("see <https://keptn.sh/docs|the docs>!"),
            vec![
                text("see "),
                Span::Link {
                    url: "https://keptn.sh/docs".to_string(),
                    label: "the docs".to_string(),
                },
                text("!"),
            ]
        );
        assert_eq!(
            parse("<http://x.y>"),
            vec![Span::Link {
                url: "http://x.y".to_string(),
                label: "http://x.y".to_string(),
            }]
        );
        assert_eq!(
            parse("<mailto:a@b.c>"),
            vec![Span::Link {
                url: "mailto:a@b.c".to_string(),
                label: "a@b.c".to_string(),
            }]
        );
    }

    #[test]
    fn other_schemes_are_not_links() {
        assert_eq!(parse("<javascript:alert(1)|click>"), vec![text("click")]);
        assert_eq!(
            parse("<javascript:alert(1)>"),
            vec![text("<javascript:alert(1)>")]
        );
        assert_eq!(parse("<!here>"), vec![text("<!here>")]);
        assert_eq!(parse("a < b"), vec![text("a < b")]);
        assert!(!is_safe_url("JavaScript:x"));
        assert!(!is_safe_url("https://"));
        assert!(is_safe_url("HTTPS://x"));
    }

    #[test]
    fn slack_escapes_and_line_breaks() {
        assert_eq!(
            parse("a &lt;b&gt; &amp;amp;\nnext"),
            vec![text("a <b> &amp;"), Span::LineBreak, text("next")]
        );
    }
}
