//! Queries on `lane_holders` and `lane_pacing`: the Slack lane shared by replicas on
//! PostgreSQL (who sends a lane's deliveries, and the GCRA pacing state per webhook URL).
//! The arithmetic is plain SQL on integers (unix ms); the policy (burst, interval, which
//! subscriptions are lanes) is the caller's.

use super::Store;

/// Takes or keeps lane `lane` for `holder` until `until` (unix ms): granted when nobody
/// holds it, when `holder` already does, or when the holder's lease ran out and none of
/// the lane's deliveries is still leased (so the old holder's last request has ended or its
/// lease has run out too, and the lane's order is kept). True when `holder` holds it now.
pub async fn hold(
    db: &Store,
    lane: &str,
    holder: &str,
    now: i64,
    until: i64,
) -> sqlx::Result<bool> {
    let held: Option<String> = on!(db, |c| {
        sqlx::query_scalar(
        "INSERT INTO lane_holders (lane, holder, lease_until) VALUES ($1, $2, $4)
         ON CONFLICT (lane) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until
         WHERE lane_holders.holder = excluded.holder
            OR (lane_holders.lease_until < $3
                AND NOT EXISTS (SELECT 1 FROM deliveries d
                                WHERE d.subscription_id = $1
                                  AND d.status IN ('pending', 'retrying')
                                  AND d.lease_until >= $3))
         RETURNING holder",
    )
    .bind(lane)
    .bind(holder)
    .bind(now)
    .bind(until)
    .fetch_optional(c)
    .await
    })?;
    Ok(held.as_deref() == Some(holder))
}

/// Gives up every lane `holder` holds (at a clean stop), so another replica takes them at
/// once.
pub async fn release_all(db: &Store, holder: &str) -> sqlx::Result<u64> {
    on!(db, |c| sqlx::query(
        "DELETE FROM lane_holders WHERE holder = $1"
    )
    .bind(holder)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// Reserves the next request to the URL hashed `url_hash` at `now` (unix ms) with GCRA:
/// `interval_ms` apart, `burst` at once. Returns when it may leave (unix ms; at or before
/// `now` means at once).
pub async fn reserve(
    db: &Store,
    url_hash: &str,
    now: i64,
    interval_ms: i64,
    burst: i64,
) -> sqlx::Result<i64> {
    let tat: i64 = on!(db, |c| sqlx::query_scalar(
        "INSERT INTO lane_pacing (url_hash, tat) VALUES ($1, $2 + $3)
         ON CONFLICT (url_hash) DO UPDATE
             SET tat = CASE WHEN lane_pacing.tat > $2 THEN lane_pacing.tat ELSE $2 END + $3
         RETURNING tat",
    )
    .bind(url_hash)
    .bind(now)
    .bind(interval_ms)
    .fetch_one(c)
    .await)?;
    Ok(tat - burst * interval_ms)
}

/// Holds back every request to the URL hashed `url_hash` until `until` (unix ms; a 429's
/// `Retry-After`): the next reservation leaves at `until` at the earliest, whichever
/// replica makes it.
pub async fn block(
    db: &Store,
    url_hash: &str,
    until: i64,
    interval_ms: i64,
    burst: i64,
) -> sqlx::Result<()> {
    // The next reservation adds one interval and leaves burst intervals before the tat.
    let tat = until + (burst - 1) * interval_ms;
    on!(db, |c| sqlx::query(
        "INSERT INTO lane_pacing (url_hash, tat) VALUES ($1, $2)
         ON CONFLICT (url_hash) DO UPDATE
             SET tat = CASE WHEN lane_pacing.tat > $2 THEN lane_pacing.tat ELSE $2 END",
    )
    .bind(url_hash)
    .bind(tat)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Forgets pacing state that no longer holds anything back (its tat is in the past by more
/// than the burst), and lanes whose holder's lease ran out long ago.
pub async fn prune(db: &Store, before: i64) -> sqlx::Result<()> {
    on!(db, |c| sqlx::query(
        "DELETE FROM lane_pacing WHERE tat < $1"
    )
    .bind(before)
    .execute(c)
    .await
    .map(|_| ()))?;
    on!(db, |c| sqlx::query(
        "DELETE FROM lane_holders WHERE lease_until < $1"
    )
    .bind(before)
    .execute(c)
    .await
    .map(|_| ()))
}
