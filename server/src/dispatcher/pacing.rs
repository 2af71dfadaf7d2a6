//! The Slack lane: sends to one webhook URL on a Slack host are paced by a token bucket
//! (default: a burst of 3, then one per second), before Slack has to answer 429, and leave
//! in the order they were claimed: the sender hands out tickets per lane as it claims, and
//! each attempt waits for its ticket's turn (one request of a lane in flight at a time).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the pacer forgets idle URLs (their bucket is full again: same as a new one).
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// One bucket per webhook URL (keyed by a hash: the URL may hold a secret). Buckets that
/// have filled up again are dropped, so URLs seen once do not stay in memory.
#[derive(Debug)]
pub struct Pacer {
    burst: f64,
    interval: Duration,
    state: Mutex<PacerState>,
}

#[derive(Debug, Default)]
struct PacerState {
    buckets: HashMap<Vec<u8>, Bucket>,
    swept_at: Option<Instant>,
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
            state: Mutex::default(),
        }
    }

    fn per_second(&self) -> f64 {
        1.0 / self.interval.as_secs_f64().max(f64::EPSILON)
    }

    /// The tokens `bucket` holds at `now` (refilled, at most the burst).
    fn refilled(&self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second()).min(self.burst)
    }

    /// How long a request to `key` must wait from `now`; reserves its token.
    pub fn reserve(&self, key: &[u8], now: Instant) -> Duration {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let due = state
            .swept_at
            .is_none_or(|at| now.saturating_duration_since(at) >= SWEEP_EVERY);
        if due {
            state
                .buckets
                .retain(|_, bucket| self.refilled(bucket, now) < self.burst);
            state.swept_at = Some(now);
        }
        let burst = self.burst;
        let bucket = state.buckets.entry(key.to_vec()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        bucket.tokens = self.refilled(bucket, now);
        bucket.at = now;
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / self.per_second())
        }
    }

    /// Holds back every request to `key` for `wait` from now (a 429's `Retry-After`):
    /// the next one leaves after it at the earliest.
    pub fn block(&self, key: &[u8], wait: Duration) {
        self.block_at(key, wait, Instant::now());
    }

    fn block_at(&self, key: &[u8], wait: Duration, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let burst = self.burst;
        let bucket = state.buckets.entry(key.to_vec()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        // The next reservation takes a token and waits -tokens / rate: with at most
        // 1 - wait * rate tokens now, that is at least `wait`.
        let ceiling = 1.0 - wait.as_secs_f64() * self.per_second();
        bucket.tokens = self.refilled(bucket, now).min(ceiling);
        bucket.at = now;
    }

    /// Waits for `key`'s turn.
    pub async fn acquire(&self, key: &[u8]) {
        let wait = self.reserve(key, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// How many URLs the pacer remembers.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .buckets
            .len()
    }
}

/// Per-lane tickets: strict claim order for the requests of one lane. A lane with no
/// ticket out is forgotten.
#[derive(Debug, Default)]
pub struct Tickets {
    lanes: Arc<Mutex<HashMap<Vec<u8>, Lane>>>,
}

#[derive(Debug)]
struct Lane {
    /// The number the next ticket gets.
    next: u64,
    /// Every ticket below this number is done.
    serving: u64,
    /// Done tickets above `serving` (dropped before their turn).
    done: BTreeSet<u64>,
    turn: tokio::sync::watch::Sender<u64>,
}

/// A place in a lane's queue; the lane moves on when it is dropped (sent or not, even
/// before its turn).
#[derive(Debug)]
pub struct Ticket {
    number: u64,
    key: Vec<u8>,
    lanes: Arc<Mutex<HashMap<Vec<u8>, Lane>>>,
    turn: tokio::sync::watch::Receiver<u64>,
}

impl Tickets {
    /// The next ticket of lane `key` (called in claim order).
    pub fn take(&self, key: &[u8]) -> Ticket {
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        let lane = lanes.entry(key.to_vec()).or_insert_with(|| Lane {
            next: 0,
            serving: 0,
            done: BTreeSet::new(),
            turn: tokio::sync::watch::channel(0).0,
        });
        let number = lane.next;
        lane.next += 1;
        Ticket {
            number,
            key: key.to_vec(),
            lanes: self.lanes.clone(),
            turn: lane.turn.subscribe(),
        }
    }

    /// How many lanes have tickets out.
    #[cfg(test)]
    fn lanes(&self) -> usize {
        self.lanes.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Ticket {
    /// Waits until every earlier ticket of the lane is done.
    pub async fn turn(&self) {
        let mut turn = self.turn.clone();
        let _ = turn.wait_for(|serving| *serving >= self.number).await;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        let Some(lane) = lanes.get_mut(&self.key) else {
            return;
        };
        lane.done.insert(self.number);
        let before = lane.serving;
        while lane.done.remove(&lane.serving) {
            lane.serving += 1;
        }
        if lane.serving != before {
            lane.turn.send_replace(lane.serving);
        }
        if lane.serving == lane.next {
            lanes.remove(&self.key);
        }
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

    #[test]
    fn a_retry_after_holds_the_url_back_then_the_pace_resumes() {
        let pacer = Pacer::new(3, Duration::from_secs(1));
        let t0 = Instant::now();
        pacer.block_at(b"a", Duration::from_secs(30), t0);
        assert_eq!(pacer.reserve(b"a", t0), Duration::from_secs(30));
        assert_eq!(pacer.reserve(b"a", t0), Duration::from_secs(31));
        // Other URLs are not held back.
        assert_eq!(pacer.reserve(b"b", t0), Duration::ZERO);
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
        drop(other);
        assert_eq!(tickets.lanes(), 0, "idle lanes are forgotten");
    }

    #[tokio::test]
    async fn a_ticket_dropped_before_its_turn_does_not_stall_its_lane() {
        let tickets = Tickets::default();
        let first = tickets.take(b"lane");
        let second = tickets.take(b"lane");
        let third = tickets.take(b"lane");
        // The second gives up while waiting (its delivery was lost to another claim).
        drop(second);
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), third.turn())
            .await
            .expect("the third ticket never got its turn");
        assert_eq!(tickets.lanes(), 1);
        drop(third);
        assert_eq!(tickets.lanes(), 0);
        // A forgotten lane starts afresh.
        let again = tickets.take(b"lane");
        tokio::time::timeout(Duration::from_secs(1), again.turn())
            .await
            .unwrap();
    }

    #[test]
    fn idle_urls_are_forgotten() {
        let pacer = Pacer::new(3, Duration::from_secs(1));
        let t0 = Instant::now();
        for n in 0..100u32 {
            pacer.reserve(&n.to_be_bytes(), t0);
        }
        // A busy URL (bucket not full again yet) is kept.
        for _ in 0..20 {
            pacer.reserve(b"busy", t0);
        }
        assert_eq!(pacer.remembered(), 101);
        // 11 s later the 100 one-off URLs have full buckets again; "busy" still owes 6 s.
        let later = t0 + Duration::from_secs(11);
        pacer.reserve(b"new", later);
        assert_eq!(pacer.remembered(), 2, "busy and new");
        // Forgetting changed nothing: a forgotten URL starts with a full burst.
        assert_eq!(pacer.reserve(&0u32.to_be_bytes(), later), Duration::ZERO);
    }
}
