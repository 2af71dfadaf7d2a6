//! Several real `uniform` binaries (replicas) sharing ONE PostgreSQL database: deliveries are
//! spread over the replicas and survive a replica killed with SIGKILL (its leases run out and
//! another replica takes its deliveries over, with at most its in-flight ones sent twice);
//! sessions, API tokens and subscriptions written through one replica count on the others at
//! once; a new event is sent at once by whichever replica claims it (LISTEN/NOTIFY wake-up,
//! not the one-second poll).
//!
//! These tests need PostgreSQL (`UNIFORM_TEST_DATABASE_URL`); without it (the SQLite run) each
//! prints one line saying so and returns.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::{BinaryServer, MockReceiver, PASSWORD, PG_MASTER_KEY, REGISTRATION, TOKEN};
use reqwest::Method;
use serde_json::{json, Value};

/// The event type every subscription here matches.
const EVENT_TYPE: &str = "sh.keptn.event.evaluation.finished";
/// The payload of every subscription here; for stage `dev` it renders as [`DEV_BODY`].
const PAYLOAD: &str = "{\"stage\": \"{{.data.stage}}\"}";
const DEV_BODY: &str = "{\"stage\": \"dev\"}";

/// A fresh database on the test PostgreSQL server for the replicas of `test` to share, or
/// `None` (after saying so) when the tests run without PostgreSQL.
fn shared_database(test: &str) -> Option<String> {
    match common::postgres_admin_url() {
        Some(admin) => Some(common::fresh_postgres_database(&admin)),
        None => {
            println!("{test}: needs PostgreSQL (UNIFORM_TEST_DATABASE_URL); skipped");
            None
        }
    }
}

/// One replica: the real binary on its own data directory, on the shared database.
struct Replica {
    server: BinaryServer,
    _dir: tempfile::TempDir,
}

/// The environment of a replica on the database at `url`, sending to 127.0.0.1, with
/// `extra_env` last.
fn replica_env<'a>(url: &'a str, extra_env: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("UNIFORM_DATABASE_URL", url),
        ("UNIFORM_MASTER_KEY", PG_MASTER_KEY),
        ("UNIFORM_WEBHOOK_ALLOW_CIDRS", common::LOOPBACK),
        // Info, and the sender's debug lines: one line per attempt (debug everywhere would
        // log every query of thousands).
        ("RUST_LOG", "info,server::dispatcher::attempt=debug"),
    ];
    env.extend_from_slice(extra_env);
    env
}

/// A data directory for a replica on the database at `url`.
fn replica_dir(url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // `BinaryServer::start` gives a data directory the database noted in it (a fresh one
    // when there is no note); note the shared one, so no stray database is made. The
    // explicit `UNIFORM_DATABASE_URL` of [`replica_env`] is set after it anyway and wins.
    std::fs::write(dir.path().join("test-database-url"), url).unwrap();
    dir
}

/// Starts one replica per directory in `dirs`, all at the same time (as an orchestrator
/// would), with `env`; panics naming what a replica logged when it did not come up.
fn start_together(dirs: Vec<tempfile::TempDir>, env: &[(&str, &str)]) -> Vec<Replica> {
    let servers: Vec<BinaryServer> = std::thread::scope(|scope| {
        let starting: Vec<_> = dirs
            .iter()
            .map(|dir| scope.spawn(move || BinaryServer::start(dir.path(), env)))
            .collect();
        starting
            .into_iter()
            .enumerate()
            .map(|(n, s)| {
                s.join()
                    .unwrap_or_else(|_| panic!("replica {n} of {} did not start", dirs.len()))
            })
            .collect()
    });
    servers
        .into_iter()
        .zip(dirs)
        .map(|(server, dir)| Replica { server, _dir: dir })
        .collect()
}

/// Starts `count` replicas on the (empty) database at `url`, each with its own data
/// directory: the first alone (it migrates and bootstraps the database), then the others at
/// the same time.
fn start_replicas(url: &str, count: usize, extra_env: &[(&str, &str)]) -> Vec<Replica> {
    let env = replica_env(url, extra_env);
    let mut replicas = start_together(vec![replica_dir(url)], &env);
    replicas.extend(start_together(
        (1..count).map(|_| replica_dir(url)).collect(),
        &env,
    ));
    replicas
}

/// A plain client (no redirects followed, no cookie store).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The id of the built-in webhook-service as `server` lists it; there must be exactly one
/// (replicas started together must not each create their own).
async fn webhook_service(server: &BinaryServer) -> String {
    let list = server
        .get_json(&format!("{REGISTRATION}?name=webhook-service"))
        .await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "exactly one webhook-service: {list:?}");
    list[0]["id"].as_str().unwrap().to_string()
}

/// Subscribes the webhook-service (through `server`) to [`EVENT_TYPE`], sending
/// [`PAYLOAD`] to `url`.
async fn subscribe(server: &BinaryServer, service: &str, url: &str) {
    let response = server
        .api(
            Method::POST,
            &format!("{REGISTRATION}/{service}/subscription"),
        )
        .json(&json!({"event": EVENT_TYPE,
                      "webhook": {"method": "POST", "url": url, "payload": PAYLOAD}}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(status, 201, "{}", response.text().await.unwrap());
}

/// An evaluation event for stage `dev` with `id`.
fn event(id: &str) -> Value {
    json!({"id": id, "type": EVENT_TYPE, "specversion": "1.0", "source": "lighthouse-service",
           "shkeptncontext": "3c9ffbbb-6e1d-4789-9fee-6e63b4bcc1fb", "triggeredid": "t-1",
           "data": {"project": "sockshop", "stage": "dev", "service": "carts", "result": "pass",
                    "evaluation": {"result": "pass", "score": 100}}})
}

/// Posts `event` to the event API at `base` (`http://127.0.0.1:<port>`); expects 200.
async fn post_event(client: &reqwest::Client, base: &str, event: &Value) {
    let response = client
        .post(format!("{base}/api/v1/event"))
        .header("x-token", TOKEN)
        .json(event)
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(status, 200, "{}", response.text().await.unwrap());
}

/// A connection pool on the shared database, to look at it from outside.
async fn pool(url: &str) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await
        .unwrap()
}

/// Counts `got`: by its `webhook-id` (when it arrived) and by its path.
fn record(
    got: common::Received,
    arrivals: &mut HashMap<String, Vec<Instant>>,
    per_path: &mut HashMap<String, HashSet<String>>,
) {
    let id = got.header("webhook-id").unwrap().to_string();
    assert_eq!(got.body, DEV_BODY);
    per_path
        .entry(got.path.clone())
        .or_default()
        .insert(id.clone());
    arrivals.entry(id).or_default().push(got.at);
}

const PATHS: usize = 50;
const EVENTS: usize = 200;
/// Every event matches every one of the [`PATHS`] subscriptions.
const DELIVERIES: usize = PATHS * EVENTS;
const LEASE: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_deliver_everything_and_a_killed_one_loses_nothing() {
    let Some(url) =
        shared_database("three_replicas_deliver_everything_and_a_killed_one_loses_nothing")
    else {
        return;
    };
    let receiver = MockReceiver::start().await;
    let started = Instant::now();
    let mut replicas = tokio::task::block_in_place(|| {
        start_replicas(&url, 3, &[("UNIFORM_DELIVERY_LEASE", "2s")])
    });
    let service = webhook_service(&replicas[0].server).await;
    for replica in &replicas[1..] {
        assert_eq!(
            webhook_service(&replica.server).await,
            service,
            "one database"
        );
    }
    // 50 subscriptions, each to its own path, written through the replicas in turn.
    for path in 0..PATHS {
        let url = format!("http://127.0.0.1:{}/p{path}", receiver.addr.port());
        subscribe(&replicas[path % 3].server, &service, &url).await;
    }
    let subscribed = started.elapsed();

    // The events are posted to the three replicas at the same time. A poster whose replica
    // is gone (killed half-way) posts the event again to the next one, as a load balancer
    // would: events are stored once by id, whichever replica gets them how often.
    let bases: Vec<String> = replicas.iter().map(|r| r.server.url("")).collect();
    let mut posting = tokio::task::JoinSet::new();
    for n in 0..bases.len() {
        let bases = bases.clone();
        posting.spawn(async move {
            let client = client();
            let started = Instant::now();
            let mut target = n;
            for e in (n..EVENTS).step_by(bases.len()) {
                let event = event(&format!("replicas-{e}"));
                let mut tries = 0;
                let response = loop {
                    match client
                        .post(format!("{}/api/v1/event", bases[target]))
                        .header("x-token", TOKEN)
                        .json(&event)
                        .send()
                        .await
                    {
                        Ok(response) => break response,
                        Err(error) => {
                            tries += 1;
                            assert!(tries < bases.len(), "no replica takes events: {error}");
                            target = (target + 1) % bases.len();
                        }
                    }
                };
                assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
            }
            (n, target, started.elapsed().as_secs())
        });
    }
    let posting_started = Instant::now();

    let db = pool(&url).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    let mut arrivals: HashMap<String, Vec<Instant>> = HashMap::new();
    let mut per_path: HashMap<String, HashSet<String>> = HashMap::new();
    // (when the replica died, the deliveries leased at that moment)
    let mut kill: Option<(Instant, HashSet<String>)> = None;
    let mut posted = Vec::new();
    while arrivals.len() < DELIVERIES {
        let quiet = tokio::time::Instant::now() + Duration::from_secs(9);
        let got = match tokio::time::timeout_at(deadline.min(quiet), receiver.next()).await {
            Ok(got) => got,
            Err(_) => {
                let state: Vec<(String, bool, i64)> = sqlx::query_as(
                    "SELECT status, lease_until IS NOT NULL, count(*) FROM deliveries
                     GROUP BY 1, 2 ORDER BY 1, 2",
                )
                .fetch_all(&db)
                .await
                .unwrap();
                for replica in &replicas {
                    let log = replica.server.log();
                    let tail: Vec<&str> = log.lines().rev().take(30).collect();
                    println!(
                        "--- {} (last lines first):\n{}",
                        replica.server.url(""),
                        tail.join("\n")
                    );
                }
                panic!(
                    "{} of {DELIVERIES} deliveries arrived after {:?}, none for 9 s; \
                     deliveries by status and leased: {state:?}",
                    arrivals.len(),
                    posting_started.elapsed()
                );
            }
        };
        record(got, &mut arrivals, &mut per_path);
        while let Some(done) = posting.try_join_next() {
            posted.push(done.unwrap());
        }
        if kill.is_none() && arrivals.len() >= 2_000 {
            let victim = replicas.remove(1);
            tokio::task::block_in_place(|| victim.server.kill_hard());
            let killed_at = Instant::now();
            // Every delivery leased right now: the killed replica's in flight among them
            // (its leases stay until they run out), so an upper bound of what it may have
            // sent without recording.
            let leased: Vec<String> = sqlx::query_scalar(
                "SELECT id FROM deliveries
                 WHERE status IN ('pending', 'retrying') AND lease_until IS NOT NULL",
            )
            .fetch_all(&db)
            .await
            .unwrap();
            println!(
                "killed a replica at {:?} after posting started ({} arrived); {} deliveries leased",
                killed_at - posting_started,
                arrivals.len(),
                leased.len()
            );
            kill = Some((killed_at, leased.into_iter().collect()));
        }
    }
    let all_arrived = posting_started.elapsed();
    while let Some(done) = posting.join_next().await {
        posted.push(done.unwrap());
    }
    posted.sort();
    // Every delivery recorded delivered (nothing is sent after that), then whatever the
    // receiver got meanwhile is counted too.
    let settled = common::eventually(
        Duration::from_secs(30),
        Duration::from_millis(100),
        "the deliveries were not all recorded delivered within 30 s",
        || {
            let db = db.clone();
            async move {
                let (delivered, total): (i64, i64) = sqlx::query_as(
                    "SELECT count(*) FILTER (WHERE status = 'delivered'), count(*) FROM deliveries",
                )
                .fetch_one(&db)
                .await
                .unwrap();
                (delivered == total).then_some(total)
            }
        },
    )
    .await;
    assert_eq!(settled, i64::try_from(DELIVERIES).unwrap());
    while let Ok(got) = tokio::time::timeout(Duration::ZERO, receiver.next()).await {
        record(got, &mut arrivals, &mut per_path);
    }

    let (killed_at, leased) = kill.expect("a replica was killed");
    assert_eq!(arrivals.len(), DELIVERIES, "every delivery arrived");
    assert_eq!(per_path.len(), PATHS);
    for (path, ids) in &per_path {
        assert_eq!(ids.len(), EVENTS, "{path}: one delivery per event");
    }
    let duplicated: Vec<(&String, usize)> = arrivals
        .iter()
        .filter(|(_, at)| at.len() > 1)
        .map(|(id, at)| (id, at.len()))
        .collect();
    let duplicates: usize = duplicated.iter().map(|(_, n)| n - 1).sum();
    assert!(
        duplicates <= leased.len(),
        "{duplicates} duplicates, more than the {} deliveries leased at the kill",
        leased.len()
    );
    for (id, _) in &duplicated {
        assert!(
            leased.contains(*id),
            "{id} arrived twice but was not leased when the replica was killed"
        );
    }
    // The killed replica's deliveries are taken over once their leases run out.
    let window = LEASE + Duration::from_secs(2);
    let mut takeover = Duration::ZERO;
    for id in &leased {
        let last = *arrivals[id].iter().max().unwrap();
        let after = last.saturating_duration_since(killed_at);
        takeover = takeover.max(after);
        assert!(
            after <= window,
            "{id}, leased at the kill, last arrived {after:?} after it (more than {window:?})"
        );
    }
    // The fence: one recorded attempt per delivery, whoever sent it how often.
    let (attempts, firsts): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE number = 1) FROM delivery_attempts",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(attempts, settled, "one attempt recorded per delivery");
    assert_eq!(firsts, settled);
    let logs: Vec<usize> = replicas
        .iter()
        .map(|r| r.server.log().matches("delivery attempt").count())
        .collect();
    println!(
        "{DELIVERIES} deliveries to {PATHS} paths: set-up {subscribed:?}, all arrived {all_arrived:?} \
         after posting started; {duplicates} duplicates ({} ids) of {} leased at the kill; \
         last leased-at-kill delivery arrived {takeover:?} after the kill; attempts logged by \
         the surviving replicas: {logs:?}; (poster, replica it ended on, seconds): {posted:?}",
        duplicated.len(),
        leased.len()
    );
}

/// The name and value of the session cookie in `response`'s `set-cookie`.
fn session_cookie(response: &reqwest::Response) -> String {
    let set = response
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap();
    set.split(';').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_tokens_and_subscriptions_work_across_replicas() {
    let Some(url) = shared_database("sessions_tokens_and_subscriptions_work_across_replicas")
    else {
        return;
    };
    let receiver = MockReceiver::start().await;
    let replicas = tokio::task::block_in_place(|| start_replicas(&url, 2, &[]));
    let (a, b) = (&replicas[0].server, &replicas[1].server);
    let client = client();

    // A session started on A is good on B, and ended on A it is gone on B.
    let page = "/uniform/integrations";
    let anonymous = client.get(b.url(page)).send().await.unwrap();
    assert_eq!(
        anonymous.status(),
        303,
        "B sends a stranger to the login page"
    );
    let login = client
        .post(a.url("/login"))
        .form(&[("username", "admin"), ("password", PASSWORD), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303, "login on A");
    let cookie = session_cookie(&login);
    let on_b = client
        .get(b.url(page))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(on_b.status(), 200, "A's session on B: {:?}", on_b.headers());
    let logout = client
        .post(a.url("/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 303, "logout on A");
    let after = client
        .get(b.url(page))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 303, "the session ended on A is gone on B");

    // An API token made on A works on B; revoked on A, B refuses it at once.
    let created = a
        .api(Method::POST, "/api/v1/tokens")
        .json(&json!({"name": "replica test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let (id, token) = (
        created["id"].as_str().unwrap(),
        created["token"].as_str().unwrap(),
    );
    let with_token = |server: &BinaryServer| {
        client
            .get(server.url("/api/v1/tokens"))
            .header("x-token", token)
            .send()
    };
    assert_eq!(with_token(b).await.unwrap().status(), 200, "A's token on B");
    let revoked = a
        .api(Method::DELETE, &format!("/api/v1/tokens/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200, "revoke on A");
    assert_eq!(
        with_token(b).await.unwrap().status(),
        401,
        "B refuses the token A revoked, at once"
    );

    // A subscription made on B counts for the next event posted to A.
    let service = webhook_service(b).await;
    assert_eq!(webhook_service(a).await, service, "one database");
    let target = format!("http://127.0.0.1:{}/across", receiver.addr.port());
    subscribe(b, &service, &target).await;
    post_event(&client, &a.url(""), &event("across-1")).await;
    let got = receiver.next().await;
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/across");
    assert_eq!(got.body, DEV_BODY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_event_on_one_replica_is_sent_at_once_by_whichever_claims_it() {
    let Some(url) =
        shared_database("a_new_event_on_one_replica_is_sent_at_once_by_whichever_claims_it")
    else {
        return;
    };
    let receiver = MockReceiver::start().await;
    let replicas = tokio::task::block_in_place(|| start_replicas(&url, 2, &[]));
    let (a, b) = (&replicas[0].server, &replicas[1].server);
    let service = webhook_service(a).await;
    let target = format!("http://127.0.0.1:{}/at-once", receiver.addr.port());
    subscribe(b, &service, &target).await;
    let client = client();
    let base = a.url("");

    // At least 20 events, and until B (the replica they are not posted to, so woken only
    // by the database notification) has sent 5 of them: A is woken in-process and wins the
    // claim more often.
    let mut latencies = Vec::new();
    let mut senders = String::new();
    for n in 0..300 {
        if n >= 20 && senders.matches('B').count() >= 5 {
            break;
        }
        let id = format!("at-once-{n}");
        let posted = Instant::now();
        post_event(&client, &base, &event(&id)).await;
        let got = tokio::time::timeout(Duration::from_secs(1), receiver.next())
            .await
            .unwrap_or_else(|_| panic!("event {n} was not delivered within 1 s"));
        assert_eq!(got.path, "/at-once");
        assert_eq!(got.body, DEV_BODY);
        latencies.push(got.at - posted);
        // Who sent it: each replica logs its attempts with the delivery (= webhook) id.
        let field = format!("delivery={}", got.header("webhook-id").unwrap());
        let sender = common::eventually(
            Duration::from_secs(10),
            Duration::from_millis(5),
            "the attempt was not logged within 10 s",
            || {
                let sent = |server: &BinaryServer| {
                    server
                        .log()
                        .lines()
                        .any(|l| l.contains("delivery attempt") && l.contains(&field))
                };
                let sender = match (sent(a), sent(b)) {
                    (true, true) => panic!("{field} was sent by both replicas"),
                    (true, false) => Some('A'),
                    (false, true) => Some('B'),
                    (false, false) => None,
                };
                async move { sender }
            },
        )
        .await;
        senders.push(sender);
    }
    let mut sorted = latencies.clone();
    sorted.sort();
    let median = |sorted: &[Duration]| sorted[sorted.len() / 2];
    let mut by_b: Vec<Duration> = latencies
        .iter()
        .zip(senders.chars())
        .filter(|(_, s)| *s == 'B')
        .map(|(l, _)| *l)
        .collect();
    by_b.sort();
    println!(
        "{} events: post-to-receipt median {:?}, max {:?}; senders {senders}; \
         sent by B: {}, median {:?}, max {:?}",
        latencies.len(),
        median(&sorted),
        sorted[sorted.len() - 1],
        by_b.len(),
        by_b.get(by_b.len() / 2),
        by_b.last()
    );
    assert!(
        by_b.len() >= 5,
        "B sent {} of {} events: {senders}",
        by_b.len(),
        latencies.len()
    );
    assert!(
        median(&by_b) < Duration::from_millis(200),
        "the median of B's {by_b:?}"
    );
    let median = median(&sorted);
    for (n, latency) in latencies.iter().enumerate() {
        assert!(
            *latency < Duration::from_millis(500),
            "event {n} took {latency:?}: the one-second poll, not the wake-up?"
        );
    }
    assert!(median < Duration::from_millis(200), "median {median:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_started_together_on_an_empty_database_all_come_up() {
    if common::postgres_admin_url().is_none() {
        println!("replicas_started_together_on_an_empty_database_all_come_up: needs PostgreSQL (UNIFORM_TEST_DATABASE_URL); skipped");
        return;
    }
    // The race is narrow: several rounds, each three replicas on a fresh, empty database.
    for round in 0..8 {
        let url = shared_database("").unwrap();
        let env = replica_env(&url, &[]);
        let replicas = tokio::task::block_in_place(|| {
            start_together((0..3).map(|_| replica_dir(&url)).collect(), &env)
        });
        let service = webhook_service(&replicas[0].server).await;
        for replica in &replicas[1..] {
            assert_eq!(
                webhook_service(&replica.server).await,
                service,
                "round {round}"
            );
        }
        let db = pool(&url).await;
        let (tokens, admins): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM api_tokens),
                    (SELECT count(*) FROM users WHERE username = 'admin')",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        assert_eq!(
            (tokens, admins),
            (1, 1),
            "round {round}: one bootstrap token, one admin"
        );
        db.close().await;
    }
}

/// A replica on PostgreSQL without `UNIFORM_MASTER_KEY` refuses to start, naming it (a key
/// file made on one host would seal values the other replicas cannot open), and writes
/// nothing: neither a key file nor a row.
#[tokio::test]
async fn a_replica_without_the_master_key_refuses_to_start_and_names_it() {
    let Some(database) = shared_database("a_replica_without_the_master_key_refuses_to_start")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_uniform"))
        .args(["--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("UNIFORM_DATABASE_URL", &database)
        .env_remove("UNIFORM_MASTER_KEY")
        .env("UNIFORM_API_TOKEN", TOKEN)
        .env("UNIFORM_ADMIN_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find(|line| line.starts_with("uniform: "))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    assert!(
        line.starts_with("uniform: UNIFORM_MASTER_KEY: is required with a PostgreSQL database"),
        "{line}"
    );
    assert!(!dir.path().join("master.key").exists());
    let pool = sqlx::PgPool::connect(&database).await.unwrap();
    let tables: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(tables, 0, "nothing was created in the database");
}

/// On PostgreSQL too, a secret's plaintext is nowhere but in memory: not in any table (every
/// table copied out in binary form, so text and bytea appear as stored), not in an answer,
/// not in the log of either replica — also after a delivery opened it on the other replica.
#[tokio::test]
async fn no_plaintext_secret_in_the_shared_database_or_the_logs() {
    let Some(url) = shared_database("no_plaintext_secret_in_the_shared_database_or_the_logs")
    else {
        return;
    };
    const VALUE: &str = "plaintext-7f3c9a-never-stored";
    let receiver = MockReceiver::start().await;
    let replicas = start_replicas(&url, 2, &[("RUST_LOG", "debug")]);
    let (a, b) = (&replicas[0].server, &replicas[1].server);
    let created = a
        .api(Method::POST, "/api/secrets/v1/secret")
        .json(
            &json!({"name": "slack-secret", "scope": "keptn-webhook-service",
                      "data": {"webhook-identifier": VALUE}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let answer = created.text().await.unwrap();
    assert!(!answer.contains(VALUE), "{answer}");
    let service = webhook_service(b).await;
    subscribe(
        b,
        &service,
        &format!(
            "http://127.0.0.1:{}/hook/{{{{.secret.slack-secret.webhook-identifier}}}}",
            receiver.addr.port()
        ),
    )
    .await;
    post_event(&client(), &b.url(""), &event("plaintext-1")).await;
    let got = receiver.next().await;
    assert_eq!(got.path, format!("/hook/{VALUE}"), "the secret was used");
    let raw = common::raw_postgres(&url);
    assert!(raw.len() > 1000, "the dump holds the tables");
    assert!(
        !raw.windows(VALUE.len()).any(|w| w == VALUE.as_bytes()),
        "plaintext in the database"
    );
    let listed = a.get_json("/api/secrets/v1/secret").await.to_string();
    assert!(!listed.contains(VALUE), "{listed}");
    for replica in replicas {
        let log = replica.server.stop();
        assert!(!log.contains(VALUE), "plaintext in a log:\n{log}");
        assert!(log.contains("listening on"), "the log is captured");
    }
}
