//! The Slack lane's state, wherever it lives: in this process's memory on SQLite (the one
//! sender of its database: [`super::pacing`]), in the database on PostgreSQL, where every
//! replica sees the same pacing and a lane is sent by one replica at a time (its holder),
//! so its requests leave in event order and a 429's `Retry-After` holds back every replica.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::db::{self, Backend, Store};
use crate::util;

/// Which lanes this replica holds (PostgreSQL) and how it paces them.
pub struct SharedLanes {
    /// This process's id as a lane holder (random per start).
    holder: String,
    /// Lanes held, with when their lease runs out (unix ms).
    held: Mutex<HashMap<String, i64>>,
    burst: i64,
    interval_ms: i64,
}

impl SharedLanes {
    /// Lanes paced `burst` at once, then one per `interval`.
    pub fn new(burst: u32, interval: Duration) -> Self {
        Self {
            holder: uuid::Uuid::new_v4().simple().to_string(),
            held: Mutex::default(),
            burst: i64::from(burst.max(1)),
            interval_ms: i64::try_from(interval.as_millis()).unwrap_or(i64::MAX / 4),
        }
    }

    /// This replica's id as a lane holder (in `lane_holders.holder`).
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Of `lanes` (the subscriptions that are Slack lanes), those another replica holds
    /// now: this replica must not claim their deliveries. Takes the free ones and renews
    /// its own when a third of `lease` is gone. Nothing on SQLite.
    pub async fn held_elsewhere(
        &self,
        store: &Store,
        lanes: &[String],
        lease: Duration,
    ) -> Vec<String> {
        if store.backend() == Backend::Sqlite || lanes.is_empty() {
            return Vec::new();
        }
        let now = util::now_millis();
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(60_000);
        let mut elsewhere = Vec::new();
        for lane in lanes {
            let fresh = self
                .held
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(lane)
                .is_some_and(|until| until - now > lease_ms * 2 / 3);
            if fresh {
                continue;
            }
            let until = now + lease_ms;
            match db::lanes::hold(store, lane, &self.holder, now, until).await {
                Ok(true) => {
                    self.held
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(lane.clone(), until);
                }
                Ok(false) => {
                    self.held
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(lane);
                    elsewhere.push(lane.clone());
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot take or renew a Slack lane");
                    elsewhere.push(lane.clone());
                }
            }
        }
        elsewhere
    }

    /// Waits until a request to the URL hashed `url_hash` may leave (shared GCRA pacing).
    /// A database error lets it leave at once rather than hold the lane forever.
    pub async fn pace(&self, store: &Store, url_hash: &str) {
        let now = util::now_millis();
        match db::lanes::reserve(store, url_hash, now, self.interval_ms, self.burst).await {
            Ok(at) if at > now => {
                let wait = u64::try_from(at - now).unwrap_or_default();
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot read the Slack lane's pacing"),
        }
    }

    /// Holds back every replica's requests to the URL hashed `url_hash` for `wait` (a
    /// 429's `Retry-After`).
    pub async fn block(&self, store: &Store, url_hash: &str, wait: Duration) {
        let until = util::now_millis() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 4);
        if let Err(error) =
            db::lanes::block(store, url_hash, until, self.interval_ms, self.burst).await
        {
            tracing::warn!(%error, "cannot record the Slack lane's Retry-After");
        }
    }

    /// Gives up every lane this replica holds (at a clean stop).
    pub async fn release(&self, store: &Store) {
        if store.backend() == Backend::Sqlite {
            return;
        }
        if let Err(error) = db::lanes::release_all(store, &self.holder).await {
            tracing::warn!(%error, "cannot release the Slack lanes");
        }
    }
}
