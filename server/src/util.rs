//! Small helpers shared across modules: clock, random tokens, hashing, URL encoding, periodic
//! tasks.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

/// Now, as an RFC 3339 UTC timestamp with exactly three fraction digits
/// (`2026-11-27T16:40:54.120Z`), so timestamps also sort as text.
pub fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// `at` in the format of [`now_rfc3339`].
pub fn rfc3339(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// An RFC 3339 timestamp (any offset), or `None` when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// What [`urlencode`] leaves as it is: the unreserved characters and `/`.
const URL_KEEPS: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// Percent-encodes everything but unreserved characters and `/` (a path carried in a query
/// parameter stays readable: `/login?next=/uniform/secrets`).
pub fn urlencode(value: &str) -> String {
    utf8_percent_encode(value, URL_KEEPS).to_string()
}

/// Cuts `text` to at most `max` bytes, at a character boundary.
pub fn truncate_utf8(text: &mut String, max: usize) {
    if text.len() > max {
        let mut at = max;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
    }
}

/// Unix milliseconds as an RFC 3339 timestamp (`None` when out of range).
pub fn millis_to_rfc3339(millis: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()
        .map(rfc3339)
}

/// Now, in unix milliseconds.
pub fn now_millis() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Now, in unix seconds.
pub fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// `bytes` random bytes from the OS, URL-safe base64 without padding.
pub fn random_url_safe(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

/// SHA-256 of `value`.
pub fn sha256(value: &str) -> Vec<u8> {
    Sha256::digest(value.as_bytes()).to_vec()
}

/// Writes `contents` to a new file at `path` readable only by its owner (mode 0600),
/// replacing any file that was there.
pub fn write_private_file(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// Runs `job` at once and then every `period` until `shutdown` completes (a job already
/// running is finished first). The shape of every background task: WAL checkpoints,
/// retention, session pruning.
pub async fn every<F, Fut>(
    period: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()>,
    mut job: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    tokio::pin!(shutdown);
    let mut ticker = tokio::time::interval(period);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = ticker.tick() => {}
        }
        job().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencode_keeps_unreserved_characters_and_slashes() {
        assert_eq!(urlencode("/uniform/secrets"), "/uniform/secrets");
        assert_eq!(urlencode("Az09-._~/"), "Az09-._~/");
        assert_eq!(
            urlencode("/uniform/events?stage=dev&x=a b"),
            "/uniform/events%3Fstage%3Ddev%26x%3Da%20b"
        );
        assert_eq!(urlencode("ädmin"), "%C3%A4dmin");
    }
}
