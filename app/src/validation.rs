//! The rules a secret's and a webhook's fields must follow, written once: the secret and
//! subscription forms show them next to the field as the user types, and the server applies
//! the very same functions before saving (REST API and UI alike). Rules that need more than
//! the text itself (a URL's host, a proxy address against the SSRF policy, templates and
//! secrets) are the server's alone.

/// The request methods a webhook may use.
pub const METHODS: [&str; 3] = ["GET", "POST", "PUT"];

pub const METHOD_EMPTY_MESSAGE: &str = "Method must not be empty";
pub const URL_EMPTY_MESSAGE: &str = "URL must not be empty";
pub const URL_PATTERN_MESSAGE: &str = "Must either be a URL starting with http(s):// or a reference to a secret. A combination of both is possible too: https://{{.secret.a.b}}";
pub const URL_SPACES_MESSAGE: &str = "URL must not contain spaces";
pub const PROXY_PATTERN_MESSAGE: &str = "URL must start with http(s)://";
pub const HEADER_EMPTY_MESSAGE: &str = "header key and value must not be empty";
pub const HEADER_LINE_BREAK_MESSAGE: &str = "header key and value must not contain line breaks";
pub const HEADER_VALUE_CONTROL_MESSAGE: &str = "header value must not contain control characters";

/// Longest secret name or key.
pub const MAX_NAME_LEN: usize = 253;
/// Message for an empty required field.
pub const EMPTY_MESSAGE: &str = "Must not be empty";
/// Message for a secret name that breaks `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`.
pub const NAME_PATTERN_MESSAGE: &str = "Name must consist of lower case alphanumeric characters and '-' and must start and end with an alphanumeric character";
/// Message for a secret name longer than [`MAX_NAME_LEN`] characters.
pub const NAME_LENGTH_MESSAGE: &str = "Name must not have more than 253 characters";
/// Message for a secret key that breaks `^[-._a-zA-Z0-9]+$`.
pub const KEY_PATTERN_MESSAGE: &str =
    "Key must consist of alphanumeric characters, '-', '_' or '.'";
/// Message for a secret key longer than [`MAX_NAME_LEN`] characters.
pub const KEY_LENGTH_MESSAGE: &str = "Key must not have more than 253 characters";
/// Message for a task name with other characters than `[-_a-zA-Z0-9]`.
pub const TASK_PATTERN_MESSAGE: &str = "Task must consist of alphanumeric characters, '-' or '_'";

/// What is wrong with a secret's name, if anything.
pub fn secret_name_error(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
    let alnum = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if name.is_empty() {
        Some(EMPTY_MESSAGE.to_string())
    } else if name.chars().count() > MAX_NAME_LEN {
        Some(NAME_LENGTH_MESSAGE.to_string())
    } else if !bytes.iter().all(allowed) || !alnum(bytes.first()) || !alnum(bytes.last()) {
        Some(NAME_PATTERN_MESSAGE.to_string())
    } else {
        None
    }
}

/// What is wrong with a secret's key, if anything (`earlier`: the keys before it).
pub fn secret_key_error<'a>(
    key: &str,
    mut earlier: impl Iterator<Item = &'a str>,
) -> Option<String> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_');
    if key.is_empty() {
        Some(EMPTY_MESSAGE.to_string())
    } else if key.chars().count() > MAX_NAME_LEN {
        Some(KEY_LENGTH_MESSAGE.to_string())
    } else if !key.bytes().all(allowed) {
        Some(KEY_PATTERN_MESSAGE.to_string())
    } else if earlier.any(|other| other == key) {
        Some(format!("Key {key} is given more than once"))
    } else {
        None
    }
}

/// What is wrong with a task name (`evaluation` of `sh.keptn.event.evaluation.finished`),
/// if anything. The form trims what is typed before it asks.
pub fn task_error(task: &str) -> Option<String> {
    if task.is_empty() {
        Some(EMPTY_MESSAGE.to_string())
    } else if !task
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Some(TASK_PATTERN_MESSAGE.to_string())
    } else {
        None
    }
}

/// What is wrong with a request method, if anything.
pub fn method_error(method: &str) -> Option<String> {
    if method.is_empty() {
        Some(METHOD_EMPTY_MESSAGE.to_string())
    } else if !METHODS.contains(&method) {
        Some(format!(
            "method {method:?} is not supported; use GET, POST or PUT"
        ))
    } else {
        None
    }
}

/// What is wrong with a webhook URL, if anything: it must start with `http(s)://` or be a
/// template (`^\{\{\..+\}\}`, Keptn's rule), and contain no spaces.
pub fn url_error(url: &str) -> Option<String> {
    let template = url.strip_prefix("{{.").is_some_and(|rest| {
        let mut chars = rest.chars();
        chars.next().is_some() && chars.as_str().contains("}}")
    });
    if url.is_empty() {
        Some(URL_EMPTY_MESSAGE.to_string())
    } else if url.chars().any(char::is_whitespace) {
        Some(URL_SPACES_MESSAGE.to_string())
    } else if !(url.starts_with("http://") || url.starts_with("https://") || template) {
        Some(URL_PATTERN_MESSAGE.to_string())
    } else {
        None
    }
}

/// What is wrong with a proxy URL (optional), if anything.
pub fn proxy_error(proxy: &str) -> Option<String> {
    if proxy.is_empty() {
        None
    } else if !(proxy.starts_with("http://") || proxy.starts_with("https://")) {
        Some(PROXY_PATTERN_MESSAGE.to_string())
    } else if proxy.chars().any(char::is_whitespace) {
        Some(URL_SPACES_MESSAGE.to_string())
    } else {
        None
    }
}

/// Which part of a header a problem is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderPart {
    /// The name (or the header as a whole).
    Key,
    /// The value.
    Value,
}

/// What is wrong with a header, if anything: both parts present, no line breaks, a name
/// HTTP allows (a token: letters, digits and ``!#$%&'*+-.^_`|~``), a value without control
/// characters other than tab.
pub fn header_error(key: &str, value: &str) -> Option<(HeaderPart, String)> {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if key.trim().is_empty() || value.is_empty() {
        Some((HeaderPart::Key, HEADER_EMPTY_MESSAGE.to_string()))
    } else if [key, value]
        .iter()
        .any(|s| s.contains('\r') || s.contains('\n'))
    {
        Some((HeaderPart::Key, HEADER_LINE_BREAK_MESSAGE.to_string()))
    } else if !key.chars().all(is_token_char) {
        Some((
            HeaderPart::Key,
            format!(
                "{key:?} is not a valid HTTP header name (no spaces, colons or other separators)"
            ),
        ))
    } else if value.chars().any(|c| c.is_ascii_control() && c != '\t') {
        Some((HeaderPart::Value, HEADER_VALUE_CONTROL_MESSAGE.to_string()))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_keptns_rules() {
        for good in [
            "https://hooks.slack.com/services/T0/B0/{{.secret.slack-secret.webhook-identifier}}",
            "http://x",
            "{{.secret.a.b}}",
            "{{.secret.a.b}}/path",
        ] {
            assert_eq!(url_error(good), None, "{good}");
        }
        assert_eq!(url_error("").as_deref(), Some(URL_EMPTY_MESSAGE));
        assert_eq!(
            url_error("https://a b").as_deref(),
            Some(URL_SPACES_MESSAGE)
        );
        for bad in ["ftp://x", "hooks.slack.com", "{{.}}", "{{x}}"] {
            assert_eq!(
                url_error(bad).as_deref(),
                Some(URL_PATTERN_MESSAGE),
                "{bad}"
            );
        }
    }

    #[test]
    fn proxies_are_optional_urls() {
        assert_eq!(proxy_error(""), None);
        assert_eq!(proxy_error("http://proxy:3128"), None);
        assert_eq!(
            proxy_error("proxy:3128").as_deref(),
            Some(PROXY_PATTERN_MESSAGE)
        );
        assert_eq!(
            proxy_error("http://a b").as_deref(),
            Some(URL_SPACES_MESSAGE)
        );
    }

    #[test]
    fn methods_are_get_post_or_put() {
        assert_eq!(method_error("POST"), None);
        assert_eq!(method_error("").as_deref(), Some(METHOD_EMPTY_MESSAGE));
        assert_eq!(
            method_error("DELETE").as_deref(),
            Some("method \"DELETE\" is not supported; use GET, POST or PUT")
        );
    }

    #[test]
    fn header_names_are_tokens_and_values_have_no_controls() {
        assert_eq!(header_error("Content-Type", "application/json"), None);
        assert_eq!(header_error("X-Weird_!#$%&'*+.^`|~", "a\tb"), None);
        assert_eq!(
            header_error("Bad Header:", "x"),
            Some((
                HeaderPart::Key,
                "\"Bad Header:\" is not a valid HTTP header name (no spaces, colons or other separators)"
                    .to_string()
            ))
        );
        assert_eq!(
            header_error("X", "a\u{7}b"),
            Some((HeaderPart::Value, HEADER_VALUE_CONTROL_MESSAGE.to_string()))
        );
        assert_eq!(
            header_error("X", "a\nb"),
            Some((HeaderPart::Key, HEADER_LINE_BREAK_MESSAGE.to_string()))
        );
        assert_eq!(
            header_error(" ", "v"),
            Some((HeaderPart::Key, HEADER_EMPTY_MESSAGE.to_string()))
        );
    }

    #[test]
    fn names_follow_keptns_rule() {
        for good in ["slack-secret", "a", "a1", "1-a"] {
            assert_eq!(secret_name_error(good), None, "{good}");
        }
        for bad in ["Slack_Secret", "-a", "a-", "a.b", "a b", "ä"] {
            assert_eq!(
                secret_name_error(bad).as_deref(),
                Some(NAME_PATTERN_MESSAGE),
                "{bad}"
            );
        }
        assert_eq!(secret_name_error("").as_deref(), Some(EMPTY_MESSAGE));
        assert_eq!(secret_name_error(&"a".repeat(253)), None);
        assert_eq!(
            secret_name_error(&"a".repeat(254)).as_deref(),
            Some(NAME_LENGTH_MESSAGE)
        );
    }

    #[test]
    fn keys_follow_keptns_rule() {
        for good in ["token", "webhook-identifier", "A_b.c-1"] {
            assert_eq!(secret_key_error(good, std::iter::empty()), None, "{good}");
        }
        for bad in ["a b", "a/b", "ä", "a:b"] {
            assert_eq!(
                secret_key_error(bad, std::iter::empty()).as_deref(),
                Some(KEY_PATTERN_MESSAGE),
                "{bad}"
            );
        }
        assert_eq!(
            secret_key_error("", std::iter::empty()).as_deref(),
            Some(EMPTY_MESSAGE)
        );
        assert_eq!(
            secret_key_error(&"k".repeat(254), std::iter::empty()).as_deref(),
            Some(KEY_LENGTH_MESSAGE)
        );
        assert_eq!(
            secret_key_error("token", ["user", "token"].into_iter()).as_deref(),
            Some("Key token is given more than once")
        );
    }

    #[test]
    fn tasks_are_names() {
        assert_eq!(task_error("evaluation"), None);
        assert_eq!(task_error("get-sli"), None);
        assert_eq!(task_error("").as_deref(), Some(EMPTY_MESSAGE));
        assert_eq!(task_error("a.b").as_deref(), Some(TASK_PATTERN_MESSAGE));
    }
}
