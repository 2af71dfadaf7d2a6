//! When to try a failed delivery again: a pure function of the attempt number, the schedule,
//! a jitter draw and the receiver's `Retry-After`, so it can be tested exhaustively.

use std::time::{Duration, SystemTime};

/// The longest `Retry-After` honoured; a longer one is cut to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 60 * 60);

/// Jitter spreads retries by ±20 % so that failures at one moment do not retry in lockstep.
pub const JITTER: f64 = 0.2;

/// The wait before the next attempt after attempt `attempt` (1-based) failed retryably, or
/// `None` when the schedule is used up. `draw` is uniform in [0, 1); `retry_after` is the
/// receiver's wish, which the result never undercuts.
pub fn delay(
    schedule: &[Duration],
    attempt: usize,
    draw: f64,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    let base = *schedule.get(attempt.checked_sub(1)?)?;
    let factor = 1.0 - JITTER + 2.0 * JITTER * draw.clamp(0.0, 1.0);
    let jittered = base.mul_f64(factor);
    Some(match retry_after {
        Some(wish) => jittered.max(wish.min(MAX_RETRY_AFTER)),
        None => jittered,
    })
}

/// Whether an answer with `status` is worth retrying (408, 429 and 5xx).
pub fn retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

/// A `Retry-After` header value: delay-seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uniform's default schedule (`UNIFORM_RETRY_SCHEDULE`).
    const DEFAULT_SCHEDULE: [Duration; 8] = crate::config::DEFAULT_RETRY_SCHEDULE;

    #[test]
    fn the_schedule_is_followed_then_ends() {
        let s = &DEFAULT_SCHEDULE;
        assert_eq!(delay(s, 1, 0.5, None), Some(Duration::from_secs(1)));
        assert_eq!(delay(s, 2, 0.5, None), Some(Duration::from_secs(5)));
        assert_eq!(delay(s, 8, 0.5, None), Some(Duration::from_secs(3 * 3600)));
        assert_eq!(delay(s, 9, 0.5, None), None);
        assert_eq!(delay(s, 0, 0.5, None), None);
        assert_eq!(delay(&[], 1, 0.5, None), None);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        for attempt in 1..=8 {
            let base = DEFAULT_SCHEDULE[attempt - 1];
            let low = delay(&DEFAULT_SCHEDULE, attempt, 0.0, None).unwrap();
            let high = delay(&DEFAULT_SCHEDULE, attempt, 0.999_999, None).unwrap();
            assert_eq!(low, base.mul_f64(0.8));
            assert!(high <= base.mul_f64(1.2) && high > base.mul_f64(1.19));
            assert_eq!(
                delay(&DEFAULT_SCHEDULE, attempt, 7.0, None).unwrap(),
                base.mul_f64(1.2)
            );
        }
    }

    #[test]
    fn retry_after_is_never_undercut_and_is_clamped() {
        let s = &DEFAULT_SCHEDULE;
        assert_eq!(
            delay(s, 1, 0.0, Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            delay(s, 3, 0.5, Some(Duration::from_secs(2))),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            delay(s, 1, 0.5, Some(Duration::from_secs(999_999))),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn retry_after_parses_both_forms() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 2 ", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:40:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn only_transient_answers_are_retried() {
        for status in [408, 429, 500, 502, 503, 504, 599] {
            assert!(retryable_status(status), "{status}");
        }
        for status in [200, 301, 400, 401, 403, 404, 410, 422] {
            assert!(!retryable_status(status), "{status}");
        }
    }
}
