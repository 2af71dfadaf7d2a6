//! Group commit: callers hand their rows to one writer task, which writes everything that
//! queued up meanwhile in a single transaction and then answers each caller. Under load this
//! turns hundreds of write transactions into a few, so one SQLite writer keeps up. Used for
//! ingested events (`domain::events::Ingestor`) and attempt records
//! (`dispatcher::recorder`). Both queues are bounded, so a flood of requests or attempts
//! cannot grow memory without limit.

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

/// The handle callers write through; the writer task ends with the last handle. Its queue
/// is bounded: [`GroupWriter::write`] waits for room (back-pressure), [`GroupWriter::try_write`]
/// refuses at once when the queue is full.
pub struct GroupWriter<W: BatchWrite> {
    jobs: mpsc::Sender<Job<W>>,
}

/// The writer's queue is full: nothing was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl<W: BatchWrite> GroupWriter<W> {
    /// Starts the writer task (needs a tokio runtime); at most `batch` items per transaction,
    /// at most `capacity` items waiting.
    pub fn start(writer: W, batch: usize, capacity: usize) -> Self {
        let (jobs, queue) = mpsc::channel(capacity.max(1));
        tokio::spawn(write_batches(writer, batch.max(1), queue));
        Self { jobs }
    }

    /// Writes `item` durably, waiting for room in the queue; returns its answer once its
    /// transaction committed.
    pub async fn write(&self, item: W::Item) -> Result<W::Answer, String> {
        let (done, answer) = oneshot::channel();
        self.jobs.send((item, done)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Like [`GroupWriter::write`], but `Err(Full)` at once when the queue has no room.
    pub async fn try_write(&self, item: W::Item) -> Result<Result<W::Answer, String>, Full> {
        let (done, answer) = oneshot::channel();
        match self.jobs.try_send((item, done)) {
            Ok(()) => Ok(answer.await.unwrap_or_else(|_| Err(stopped()))),
            Err(mpsc::error::TrySendError::Full(_)) => Err(Full),
            Err(mpsc::error::TrySendError::Closed(_)) => Ok(Err(stopped())),
        }
    }
}

fn stopped() -> String {
    "the database writer has stopped".to_string()
}

async fn write_batches<W: BatchWrite>(writer: W, batch: usize, mut queue: mpsc::Receiver<Job<W>>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::sync::Semaphore;

    /// Answers each item with itself, once `gate` lets a batch through.
    struct Gated(Arc<Semaphore>);

    impl BatchWrite for Gated {
        type Item = u32;
        type Answer = u32;
        async fn write(&self, items: Vec<u32>) -> Result<Vec<u32>, String> {
            let permit = self.0.acquire().await.map_err(|e| e.to_string())?;
            permit.forget();
            Ok(items)
        }
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_loses_nothing_it_took() {
        let gate = Arc::new(Semaphore::new(0));
        let writer = Arc::new(GroupWriter::start(Gated(gate.clone()), 1, 1));
        // The first item is taken by the writer (blocked at the gate), the second waits in
        // the queue; from then on the queue is full.
        let first = tokio::spawn({
            let writer = writer.clone();
            async move { writer.write(1).await }
        });
        let second = tokio::spawn({
            let writer = writer.clone();
            async move { writer.write(2).await }
        });
        tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while writer.jobs.capacity() > 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
        assert_eq!(writer.try_write(3).await, Err(Full));
        gate.add_permits(10);
        assert_eq!(first.await.unwrap(), Ok(1));
        assert_eq!(second.await.unwrap(), Ok(2));
        assert_eq!(writer.try_write(4).await, Ok(Ok(4)));
    }
}
