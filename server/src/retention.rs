//! Retention: a background task that deletes finished deliveries (and their attempts) older
//! than `--delivery-retention`, and events no delivery refers to any more, in small batches
//! so the sender and ingress never wait long for the write lock.

use std::time::Duration;

use crate::db::Store;

/// Rows deleted per transaction.
const BATCH: i64 = 500;

/// The PostgreSQL advisory lock a replica holds while it prunes ("uniform retention").
const RETENTION_LOCK: i64 = 0x756e_6966_7265_7431;

/// How often the pruner looks: a tenth of the retention, between 1 s and 1 h.
pub fn interval(retention: Duration) -> Duration {
    (retention / 10).clamp(Duration::from_secs(1), Duration::from_secs(3600))
}

/// Deletes everything older than `retention` now; returns (deliveries, events) deleted.
pub async fn prune(db: &Store, retention: Duration) -> sqlx::Result<(u64, u64)> {
    // A retention beyond the calendar prunes nothing.
    let cutoff = time::Duration::try_from(retention)
        .ok()
        .and_then(|age| time::OffsetDateTime::now_utc().checked_sub(age))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let cutoff = crate::util::rfc3339(cutoff);
    let mut total = (0, 0);
    loop {
        let (deliveries, events) = crate::db::events::prune(db, &cutoff, BATCH).await?;
        total = (total.0 + deliveries, total.1 + events);
        if deliveries < BATCH as u64 && events < BATCH as u64 {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}

/// Prunes at start and then every [`interval`] until `shutdown` completes.
pub async fn run(db: Store, retention: Duration, shutdown: impl std::future::Future<Output = ()>) {
    crate::util::every(interval(retention), shutdown, || async {
        // Slack-lane state an hour past use holds nothing back any more.
        let hour_ago = crate::util::now_millis() - 3_600_000;
        if let Err(error) = crate::db::lanes::prune(&db, hour_ago).await {
            tracing::warn!(%error, "retention: cannot prune Slack-lane state");
        }
        // Replicas take turns (pruning twice at once would be correct, only wasted work).
        match db
            .exclusively(RETENTION_LOCK, prune(&db, retention))
            .await
            .and_then(|pruned| pruned.unwrap_or(Ok((0, 0))))
        {
            Ok((0, 0)) => {}
            Ok((deliveries, events)) => {
                tracing::info!(
                    deliveries,
                    events,
                    "retention: pruned old deliveries and events"
                );
            }
            Err(error) => tracing::error!(%error, "retention: pruning failed"),
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_is_a_tenth_of_the_retention_within_bounds() {
        assert_eq!(interval(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(interval(Duration::from_secs(600)), Duration::from_secs(60));
        assert_eq!(
            interval(Duration::from_secs(30 * 24 * 3600)),
            Duration::from_secs(3600)
        );
    }
}
