//! The Slack lane: sends to one webhook URL on a Slack host are paced by a token bucket
//! (default: a burst of 3, then one per second), before Slack has to answer 429, and leave
//! in the order they were claimed: the sender hands out tickets per lane as it claims, and
//! each attempt waits for its ticket's turn (one request of a lane in flight at a time).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One bucket per webhook URL (keyed by a hash: the URL may hold a secret).
#[derive(Debug)]
pub struct Pacer {
    burst: f64,
    interval: Duration,
    buckets: Mutex<HashMap<Vec<u8>, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens available at `at` (negative: already promised to waiting requests).
    tokens: f64,
    at: Instant,
}

impl Pacer {
    /// A pacer allowing `burst` requests at once, then one per `interval`.
    pub fn new(burst: u32, interval: Duration) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            interval,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// How long a request to `key` must wait from `now`; reserves its token.
    pub fn reserve(&self, key: &[u8], now: Instant) -> Duration {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(key.to_vec()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let per_second = 1.0 / self.interval.as_secs_f64().max(f64::EPSILON);
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(self.burst);
        bucket.at = now;
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / per_second)
        }
    }

    /// Waits for `key`'s turn.
    pub async fn acquire(&self, key: &[u8]) {
        let wait = self.reserve(key, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Per-lane tickets: strict claim order for the requests of one lane.
#[derive(Debug, Default)]
pub struct Tickets {
    lanes: Mutex<HashMap<Vec<u8>, Lane>>,
}

#[derive(Debug)]
struct Lane {
    next: u64,
    serving: tokio::sync::watch::Sender<u64>,
}

/// A place in a lane's queue; the lane moves on when it is dropped (sent or not).
#[derive(Debug)]
pub struct Ticket {
    number: u64,
    serving: tokio::sync::watch::Sender<u64>,
}

impl Tickets {
    /// The next ticket of lane `key` (called in claim order).
    pub fn take(&self, key: &[u8]) -> Ticket {
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        let lane = lanes.entry(key.to_vec()).or_insert_with(|| Lane {
            next: 0,
            serving: tokio::sync::watch::channel(0).0,
        });
        let number = lane.next;
        lane.next += 1;
        Ticket {
            number,
            serving: lane.serving.clone(),
        }
    }
}

impl Ticket {
    /// Waits until every earlier ticket of the lane is done.
    pub async fn turn(&self) {
        let mut serving = self.serving.subscribe();
        let _ = serving.wait_for(|now| *now >= self.number).await;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let number = self.number;
        self.serving.send_if_modified(|now| {
            if *now == number {
                *now += 1;
                true
            } else {
                false
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_interval() {
        let pacer = Pacer::new(3, Duration::from_secs(1));
        let t0 = Instant::now();
        let waits: Vec<Duration> = (0..6).map(|_| pacer.reserve(b"a", t0)).collect();
        assert_eq!(waits, [0, 0, 0, 1, 2, 3].map(Duration::from_secs).to_vec());
        // Another URL has its own bucket.
        assert_eq!(pacer.reserve(b"b", t0), Duration::ZERO);
        // Tokens come back with time, up to the burst.
        let later = t0 + Duration::from_secs(60);
        let waits: Vec<Duration> = (0..4).map(|_| pacer.reserve(b"b", later)).collect();
        assert_eq!(waits, [0, 0, 0, 1].map(Duration::from_secs).to_vec());
    }

    #[tokio::test]
    async fn tickets_are_served_in_order() {
        let tickets = Tickets::default();
        let first = tickets.take(b"lane");
        let second = tickets.take(b"lane");
        let other = tickets.take(b"other");
        other.turn().await;
        first.turn().await;
        let waiting = tokio::spawn(async move {
            second.turn().await;
        });
        assert!(!waiting.is_finished());
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .unwrap()
            .unwrap();
    }
}
