//! The sender: a tokio task that leases due deliveries, renders each request just in time
//! (event data + secrets opened at that moment), sends it through the one hardened client,
//! and records the attempt with every secret value masked. Woken at once by ingress; also
//! looks every second, so deliveries left by a previous process are picked up.

pub mod attempt;
pub mod lanes;
pub mod pacing;
pub mod retry;
pub mod test_send;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::db::Store;
use tracing::Instrument as _;

use crate::config::Config;
use crate::crypto::Keyring;
use crate::outbound::clients::{self, build_client, check_proxy, ClientCache, ProxyProblem};
use crate::outbound::guard::TargetPolicy;

/// Ingests an event the sender emits; `Ok(Some(type))` when it was new. Ingest belongs to
/// the domain, which the sender does not import: start-up hands it in.
pub type Emit = Arc<
    dyn Fn(
            serde_json::Value,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Option<String>, String>> + Send>,
        > + Send
        + Sync,
>;

/// A subscription's translated templates and the webhook they were translated from.
pub type Compiled = (
    app::model::Webhook,
    Arc<crate::templates::webhook::CompiledWebhook>,
);

/// What the sender needs; shared with every attempt.
pub struct Dispatcher {
    pub db: Store,
    pub keyring: Arc<Keyring>,
    pub policy: Arc<TargetPolicy>,
    /// The one shared client (no proxy); clients for proxies are made per proxy URL.
    pub client: reqwest::Client,
    proxied: ClientCache,
    timeout: Duration,
    connect_timeout: Duration,
    /// Hosts whose webhook URLs are paced (the Slack lane).
    pub slack_hosts: Vec<String>,
    /// The Slack lane's pacer and its per-lane order.
    pub pacer: pacing::Pacer,
    pub tickets: pacing::Tickets,
    /// The Slack lane shared with other replicas (PostgreSQL).
    pub lanes: lanes::SharedLanes,
    /// Waits between attempts (from the configuration).
    pub schedule: Vec<Duration>,
    /// Translated templates by subscription id, with the webhook they were translated
    /// from (an edited webhook is translated again): translated once, compared per attempt.
    pub compiled: Mutex<HashMap<String, Compiled>>,
    /// Ingests the task events the sender emits (`started`/`finished`), like any event.
    pub emit: Emit,
    /// Writes attempt records in groups.
    pub recorder: crate::db::group::GroupWriter<crate::db::events::AttemptRecords>,
    /// What `/metrics` shows; moved by ingress and by every attempt.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// How many deliveries are sent at the same time, in all.
    concurrency: usize,
    /// How many of them may go to one destination (subscription) at the same time.
    per_destination: usize,
    /// How long a claim is leased; renewed every third of it while its delivery is held.
    pub lease: Duration,
}

impl Dispatcher {
    /// A dispatcher for `config`, sharing the store (and its wake-up signal) and the keys.
    pub fn new(
        config: &Config,
        db: Store,
        keyring: Arc<Keyring>,
        emit: Emit,
    ) -> Result<Self, reqwest::Error> {
        let policy = Arc::new(TargetPolicy::new(config.webhook_allow_cidrs.clone()));
        let client = build_client(
            &policy,
            config.webhook_timeout,
            config.webhook_connect_timeout,
            None,
        )?;
        Ok(Self {
            recorder: crate::db::group::GroupWriter::start(
                crate::db::events::AttemptRecords(db.clone()),
                crate::db::events::ATTEMPT_BATCH,
                crate::db::events::ATTEMPT_QUEUE,
            ),
            emit,
            db,
            keyring,
            policy,
            client,
            proxied: ClientCache::new(clients::PROXY_CLIENTS_MAX, clients::PROXY_CLIENT_IDLE),
            timeout: config.webhook_timeout,
            connect_timeout: config.webhook_connect_timeout,
            schedule: config.retry_schedule.0.clone(),
            slack_hosts: config.slack_hosts.clone(),
            pacer: pacing::Pacer::new(config.slack_burst, config.slack_interval),
            tickets: pacing::Tickets::default(),
            lanes: lanes::SharedLanes::new(config.slack_burst, config.slack_interval),
            compiled: Mutex::new(HashMap::new()),
            metrics: Arc::default(),
            concurrency: config.delivery_concurrency,
            per_destination: config.destination_concurrency,
            lease: config.delivery_lease.max(Duration::from_millis(30)),
        })
    }

    /// The client for `proxy` (the shared one without). A proxy written as an IP address is
    /// checked against the policy here, on every use (reqwest dials it without resolving);
    /// a named one by the client's guarded resolver when it is dialled.
    pub fn client_for(&self, proxy: Option<&str>) -> Result<reqwest::Client, ProxyProblem> {
        let Some(proxy) = proxy.filter(|p| !p.is_empty()) else {
            return Ok(self.client.clone());
        };
        check_proxy(&self.policy, proxy)?;
        self.proxied
            .get_or_make(proxy, std::time::Instant::now(), || {
                build_client(
                    &self.policy,
                    self.timeout,
                    self.connect_timeout,
                    Some(proxy),
                )
                .map_err(|e| ProxyProblem::Invalid(format!("invalid proxy: {e}")))
            })
    }

    /// Runs until `shutdown` completes: claims due deliveries and sends them.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        tracing::info!(replica = %self.lanes.holder(), backend = ?self.db.backend(), "sender started");
        // Leases held by a previous process (crash, kill -9) are void on SQLite: this
        // process is the only sender of the database, so what was in flight is due again
        // now. On PostgreSQL other replicas hold leases: theirs run out on their own.
        if self.db.backend() == crate::db::Backend::Sqlite {
            if let Err(error) = crate::db::events::release_leases(&self.db).await {
                tracing::error!(%error, "cannot release old leases");
            }
        }
        let permits = Arc::new(tokio::sync::Semaphore::new(self.concurrency));
        let mut in_flight = tokio::task::JoinSet::new();
        let mut destinations = Destinations::default();
        // Whether a claim may find something: set by a wake-up, the tick, and a finished
        // delivery that frees what held deliveries back (all permits were taken, or its
        // destination was full). A claim that leaves permits free found everything due, so
        // the next one waits for one of those (an idle claim per finished delivery cost more
        // CPU than the deliveries at moderate load).
        let mut may_find = true;
        let mut claim_was_full = false;
        loop {
            while let Some(done) = in_flight.try_join_next_with_id() {
                may_find |= destinations.finished(done.map(|(id, ())| id), self.per_destination)
                    || claim_was_full;
            }
            if may_find {
                may_find = false;
                let now = crate::util::now_millis();
                let lease_until = self.lease_until(now);
                let free = i64::try_from(permits.available_permits()).unwrap_or(0);
                let mut saturated = destinations.saturated(self.per_destination);
                // Lanes another replica holds are its to send (in event order); they are let
                // go at any moment, so the next turn looks again.
                if self.db.backend() == crate::db::Backend::Postgres {
                    let lanes = attempt::lane_subscriptions(&self).await;
                    let elsewhere = self
                        .lanes
                        .held_elsewhere(&self.db, &lanes, self.lease)
                        .await;
                    may_find |= !elsewhere.is_empty();
                    saturated.extend(elsewhere);
                }
                let claimed = if free == 0 {
                    Vec::new()
                } else {
                    let rooms = destinations.rooms(self.per_destination);
                    match crate::db::events::claim_due(
                        &self.db,
                        now,
                        lease_until,
                        free,
                        &saturated,
                        &rooms,
                    )
                    .await
                    {
                        Ok(claimed) => claimed,
                        Err(error) => {
                            tracing::error!(%error, "cannot claim deliveries");
                            Vec::new()
                        }
                    }
                };
                claim_was_full = free == 0 || i64::try_from(claimed.len()).unwrap_or(0) >= free;
                // One batch may hold more for a destination than it has room for: those go
                // back (unleased) and wait for that destination, without holding a permit.
                let mut back = Vec::new();
                for claim in claimed {
                    if destinations.count(&claim.subscription_id) >= self.per_destination {
                        back.push(claim);
                        continue;
                    }
                    let Ok(permit) = permits.clone().try_acquire_owned() else {
                        back.push(claim);
                        continue;
                    };
                    let this = self.clone();
                    // Slack-lane deliveries queue per lane in claim (= event) order.
                    let ticket = attempt::lane_of(&this, &claim.subscription_id)
                        .await
                        .map(|lane| this.tickets.take(&lane));
                    let span = tracing::info_span!("delivery", delivery_id = %claim.id);
                    let destination = claim.subscription_id.clone();
                    let task = in_flight.spawn(
                        async move {
                            attempt::run(&this, claim, ticket).await;
                            drop(permit);
                        }
                        .instrument(span),
                    );
                    destinations.started(task.id(), destination);
                }
                if !back.is_empty() {
                    may_find = true;
                    if let Err(error) = crate::db::events::release(&self.db, &back).await {
                        tracing::error!(%error, "cannot release deliveries");
                    }
                }
            }
            // Then wait for the next event (lanes held elsewhere and
            // deliveries given back are looked at again then, not in a busy loop).
            tokio::select! {
                () = &mut shutdown => break,
                () = self.db.wake().notified() => may_find = true,
                Some(done) = in_flight.join_next_with_id(), if !in_flight.is_empty() => {
                    may_find |= destinations
                        .finished(done.map(|(id, ())| id), self.per_destination)
                        || claim_was_full;
                },
                () = tokio::time::sleep(Duration::from_secs(1)) => may_find = true,
            }
        }
        // Stop claiming; let what is in flight finish within the grace period. Anything
        // cut off stays leased to no one and is sent again at the next start.
        let grace = self.timeout + Duration::from_secs(1);
        if tokio::time::timeout(grace, async {
            while in_flight.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            tracing::warn!(
                "shutdown: deliveries still in flight after {grace:?} are left for the next start"
            );
            in_flight.abort_all();
        }
        // Another replica may take this one's lanes at once.
        self.lanes.release(&self.db).await;
    }
}

impl Dispatcher {
    /// When a lease taken or renewed at `now` (unix ms) runs out.
    pub fn lease_until(&self, now: i64) -> i64 {
        now.saturating_add(i64::try_from(self.lease.as_millis()).unwrap_or(60_000))
    }
}

/// In-flight deliveries per destination (subscription), and which task sends to which.
#[derive(Default)]
struct Destinations {
    busy: HashMap<String, usize>,
    of_task: HashMap<tokio::task::Id, String>,
}

impl Destinations {
    fn count(&self, destination: &str) -> usize {
        self.busy.get(destination).copied().unwrap_or(0)
    }

    /// The destinations with `limit` or more deliveries in flight.
    fn saturated(&self, limit: usize) -> Vec<String> {
        self.busy
            .iter()
            .filter(|(_, count)| **count >= limit)
            .map(|(destination, _)| destination.clone())
            .collect()
    }

    /// The room of each destination with deliveries in flight under `limit`, and `limit`
    /// for every other one.
    fn rooms(&self, limit: usize) -> crate::db::events::Rooms {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        crate::db::events::Rooms {
            busy: self
                .busy
                .iter()
                .map(|(destination, count)| {
                    let count = i64::try_from(*count).unwrap_or(i64::MAX);
                    (destination.clone(), limit.saturating_sub(count).max(0))
                })
                .collect(),
            default: limit,
        }
    }

    fn started(&mut self, task: tokio::task::Id, destination: String) {
        *self.busy.entry(destination.clone()).or_default() += 1;
        self.of_task.insert(task, destination);
    }

    /// A task ended (normally or not): its destination has room again. True when that
    /// destination was full (`limit` in flight), so deliveries held back for it may be due.
    fn finished(
        &mut self,
        done: Result<tokio::task::Id, tokio::task::JoinError>,
        limit: usize,
    ) -> bool {
        let task = match done {
            Ok(task) => task,
            Err(error) => error.id(),
        };
        let Some(destination) = self.of_task.remove(&task) else {
            return false;
        };
        let Some(count) = self.busy.get_mut(&destination) else {
            return false;
        };
        let was_full = *count >= limit;
        *count = count.saturating_sub(1);
        if *count == 0 {
            self.busy.remove(&destination);
        }
        was_full
    }
}
