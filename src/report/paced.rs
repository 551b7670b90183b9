//! Response bodies produced at the pace the client reads them. The next chunk is fetched
//! and encoded (off the async threads, with a pooled connection taken for that chunk only)
//! only when the previous one has been handed to the socket, so a slow reader holds one
//! encoded chunk and no thread: memory per stream is a chunk (a few hundred kB), whatever
//! the reader's speed and the number of rows. A fast reader waits one query per chunk.
//! Fetches wait for a slot of the stream limiter first ([`Permit::fetch_slot`]): the
//! streams never hold more than their share of the pool, so other requests do not queue
//! behind hundreds of chunk fetches. The fetches run on a few threads of their own at a
//! lower CPU priority ([`Background`]): a stream is bulk work, and when the cores are busy
//! the requests people wait on go first.

use std::io;

use bytes::Bytes;
use futures_util::Stream;

use crate::db::{DbConnection, DbPool};
use crate::error::AppResult;
use crate::limits::Permit;

/// Largest piece handed to the HTTP layer at once: its write buffer takes pieces until it
/// holds 32 KiB, so this keeps it near 64 KiB per connection.
pub const PIECE_BYTES: usize = 32 * 1024;

/// What a paced body asks for: the next encoded chunk (`None` at the end), given a
/// connection and its own cursor.
pub trait Chunks: Send + 'static {
    fn next_chunk(&mut self, conn: &mut DbConnection) -> AppResult<Option<Vec<u8>>>;
}

struct Walk<C> {
    pool: DbPool,
    chunks: Option<C>,
    pending: Bytes,
    /// Held until the body is dropped (finished, failed or abandoned by the client); its
    /// limiter bounds the fetches.
    permit: Option<Permit>,
}

/// The body: `chunks` one at a time, in pieces of at most [`PIECE_BYTES`]. A failure after
/// the first byte can only cut the response short (the status is sent): it is logged and
/// the body ends with an error, so the client sees an incomplete transfer.
pub fn body<C: Chunks>(
    pool: DbPool,
    chunks: C,
    permit: Option<Permit>,
) -> impl Stream<Item = Result<Bytes, io::Error>> + 'static {
    let walk = Walk {
        pool,
        chunks: Some(chunks),
        pending: Bytes::new(),
        permit,
    };
    futures_util::stream::unfold(walk, |mut walk| async move {
        loop {
            if !walk.pending.is_empty() {
                let n = walk.pending.len().min(PIECE_BYTES);
                let piece = walk.pending.split_to(n);
                return Some((Ok(piece), walk));
            }
            let mut chunks = walk.chunks.take()?;
            let pool = walk.pool.clone();
            let slot = match &walk.permit {
                Some(permit) => permit.fetch_slot().await,
                None => None,
            };
            let fetched = background()
                .run(move || {
                    let next = pool
                        .get()
                        .map_err(crate::error::AppError::from)
                        .and_then(|mut conn| chunks.next_chunk(&mut conn));
                    drop(slot);
                    (chunks, next)
                })
                .await;
            match fetched {
                Ok((chunks, Ok(Some(bytes)))) => {
                    walk.chunks = Some(chunks);
                    walk.pending = Bytes::from(bytes);
                }
                Ok((_, Ok(None))) => return None,
                Ok((_, Err(e))) => {
                    tracing::error!(error = %e, "CSV stream aborted");
                    return Some((Err(io::Error::other("stream aborted")), walk));
                }
                Err(e) => {
                    tracing::error!(error = %e, "CSV stream task failed");
                    return Some((Err(io::Error::other("stream aborted")), walk));
                }
            }
        }
    })
}

/// Threads for bulk work (stream chunk fetches), run at a lower CPU priority (nice
/// [`Background::NICE`]) than the threads serving requests.
pub struct Background {
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
}

type Job = Box<dyn FnOnce() + Send>;

/// The process's background threads, started on first use.
pub fn background() -> &'static Background {
    static POOL: std::sync::OnceLock<Background> = std::sync::OnceLock::new();
    // Half the cores, at least two: bulk work never takes every core of a larger machine,
    // whatever the number of streams, and a small one still overlaps two fetches (on
    // PostgreSQL the chunk queries themselves run in the database's processes, at its
    // usual priority: one fetch at a time starved 200 readers on the loaded 2-core test
    // machine, bench/results.md).
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    POOL.get_or_init(|| Background::start((cores / 2).max(2)))
}

impl Background {
    const NICE: i32 = 10;

    fn start(threads: usize) -> Background {
        let (sender, receiver) = std::sync::mpsc::channel::<Job>();
        let receiver = std::sync::Arc::new(std::sync::Mutex::new(receiver));
        for i in 0..threads {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("callcsv-bulk-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match receiver.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a background thread");
            }
        }
        Background {
            jobs: std::sync::Mutex::new(sender),
        }
    }

    /// Runs `f` on a background thread; resolves to its result (`Err` when it panicked).
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, tokio::sync::oneshot::error::RecvError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        if let Ok(jobs) = self.jobs.lock() {
            // The threads never stop while the process runs; a failed send drops the job,
            // which the receiver below reports as an error.
            let _ = jobs.send(job);
        }
        result.await
    }
}

/// Lowers the calling thread's CPU priority (Linux: nice applies per thread). Failing to
/// is harmless: the work only runs at the usual priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority have no memory-safety preconditions.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, Background::NICE);
    }
}
