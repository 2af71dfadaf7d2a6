//! Group commit: callers hand their rows to one writer task, which writes everything that
//! queued up meanwhile in a single transaction and then answers each caller. Under load this
//! turns hundreds of write transactions into a few, so one SQLite writer keeps up. Used for
//! ingested events (`domain::events::Ingestor`) and attempt records
//! (`dispatcher::recorder`).

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

/// How one kind of row is written: all of `items` in one transaction, one answer per item
/// in order, or an error for the whole batch.
pub trait BatchWrite: Send + Sync + 'static {
    type Item: Clone + Send + 'static;
    type Answer: Send + 'static;
    fn write(
        &self,
        items: Vec<Self::Item>,
    ) -> impl Future<Output = Result<Vec<Self::Answer>, String>> + Send;
}

type Job<W> = (
    <W as BatchWrite>::Item,
    oneshot::Sender<Result<<W as BatchWrite>::Answer, String>>,
);

/// The handle callers write through; the writer task ends with the last handle.
pub struct GroupWriter<W: BatchWrite> {
    jobs: mpsc::UnboundedSender<Job<W>>,
}

impl<W: BatchWrite> GroupWriter<W> {
    /// Starts the writer task (needs a tokio runtime); at most `batch` items per transaction.
    pub fn start(writer: W, batch: usize) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(writer, batch, queue));
        Self { jobs }
    }

    /// Writes `item` durably; returns its answer once its transaction committed.
    pub async fn write(&self, item: W::Item) -> Result<W::Answer, String> {
        let stopped = || "the database writer has stopped".to_string();
        let (done, answer) = oneshot::channel();
        self.jobs.send((item, done)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn write_batches<W: BatchWrite>(
    writer: W,
    batch: usize,
    mut queue: mpsc::UnboundedReceiver<Job<W>>,
) {
    let mut jobs = Vec::with_capacity(batch);
    while queue.recv_many(&mut jobs, batch).await > 0 {
        let items: Vec<W::Item> = jobs.iter().map(|(item, _)| item.clone()).collect();
        match writer.write(items).await {
            Ok(answers) if answers.len() == jobs.len() => {
                for ((_, done), answer) in jobs.drain(..).zip(answers) {
                    let _ = done.send(Ok(answer));
                }
            }
            // One bad item must not fail the others: write them one by one.
            _ => {
                for (item, done) in jobs.drain(..) {
                    let answer = writer
                        .write(vec![item])
                        .await
                        .and_then(|mut one| one.pop().ok_or_else(|| "nothing written".into()));
                    let _ = done.send(answer);
                }
            }
        }
    }
}
