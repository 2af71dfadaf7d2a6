//! Group commit for attempt records: attempts hand their record to one writer task, which
//! writes everything that queued up meanwhile in a single transaction and then answers each.
//! Under load this turns hundreds of write transactions into a few, so recording keeps up
//! with ingest instead of queueing behind it for SQLite's one write lock.

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use crate::db::events::{record_attempts, AttemptRow};

/// Most records written in one transaction.
const BATCH: usize = 256;

type Job = (AttemptRow, oneshot::Sender<Result<(), String>>);

/// The handle attempts record through; the writer task lives as long as a handle does.
pub struct Recorder {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Recorder {
    /// Starts the writer task for `db` (needs a tokio runtime).
    pub fn start(db: SqlitePool) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(db, queue));
        Self { jobs }
    }

    /// Records `row` durably; returns once its transaction committed.
    pub async fn record(&self, row: AttemptRow) -> Result<(), String> {
        let (done, result) = oneshot::channel();
        self.jobs
            .send((row, done))
            .map_err(|_| "the attempt recorder has stopped".to_string())?;
        result
            .await
            .map_err(|_| "the attempt recorder has stopped".to_string())?
    }
}

async fn write_batches(db: SqlitePool, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut jobs = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut jobs, BATCH).await > 0 {
        let rows: Vec<AttemptRow> = jobs.iter().map(|(row, _)| row.clone()).collect();
        match record_attempts(&db, &rows).await {
            Ok(()) => {
                for (_, done) in jobs.drain(..) {
                    let _ = done.send(Ok(()));
                }
            }
            // One bad record must not lose the others: write them one by one.
            Err(_) => {
                for (row, done) in jobs.drain(..) {
                    let result = record_attempts(&db, std::slice::from_ref(&row))
                        .await
                        .map_err(|e| e.to_string());
                    let _ = done.send(result);
                }
            }
        }
    }
}
