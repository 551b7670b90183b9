//! Response bodies produced at the pace the client reads them. The next chunk is fetched
//! and encoded (off the async threads, with a pooled connection taken for that chunk only)
//! only when the previous one has been handed to the socket, so a slow reader holds one
//! encoded chunk and no thread: memory per stream is a chunk (a few hundred kB), whatever
//! the reader's speed and the number of rows. A fast reader waits one query per chunk.
//! Fetches wait for a slot of the stream limiter first ([`Permit::fetch_slot`]): the
//! streams never hold more than their share of the pool, so other requests do not queue
//! behind hundreds of chunk fetches.

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
            let fetched = tokio::task::spawn_blocking(move || {
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
