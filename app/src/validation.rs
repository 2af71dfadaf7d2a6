//! The rules a webhook's fields must follow, written once: the subscription form shows them
//! next to the field as the user types, and the server applies the very same functions before
//! saving (REST API and UI alike). Rules that need more than the text itself (a URL's host,
//! a proxy address against the SSRF policy, templates and secrets) are the server's alone.

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
}
