//! Concurrency limits for the requests whose memory lives as long as they do (CSV streams,
//! report downloads, call ingestions): a total per instance and a per-tenant (per brand)
//! share of it, so one tenant cannot take every slot. A [`Permit`] is held for the life of
//! the request (moved into a response stream, it is released when the stream ends or the
//! client goes away). A limiter may also bound how many of its transfers use the database
//! at once ([`Permit::fetch_slot`]): CSV streams fetch their chunks through the shared
//! connection pool, and 200 streams queueing for it would make every other request wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::AppError;

/// Seconds a refused client is told to wait: slots free up as other transfers end, which
/// the service cannot predict; a few seconds keeps retries from hammering it.
pub const RETRY_AFTER_SECONDS: u64 = 5;

#[derive(Debug)]
pub struct Limiter {
    /// What is limited, for the 429 message ("CSV streams and report downloads").
    what: &'static str,
    total: usize,
    per_tenant: usize,
    in_use: Mutex<(usize, HashMap<String, usize>)>,
    /// Database fetches its transfers may run at once (none: not bounded).
    fetches: Option<Arc<tokio::sync::Semaphore>>,
}

/// One slot of a [`Limiter`], given back on drop.
#[derive(Debug)]
pub struct Permit {
    limiter: Arc<Limiter>,
    tenant: String,
}

impl Limiter {
    /// `fetches`: how many of its transfers may hold a database connection at once (0: no
    /// bound of its own).
    pub fn new(
        what: &'static str,
        total: usize,
        per_tenant: usize,
        fetches: usize,
    ) -> Arc<Limiter> {
        Arc::new(Limiter {
            what,
            total,
            per_tenant: per_tenant.min(total),
            in_use: Mutex::new((0, HashMap::new())),
            fetches: (fetches > 0).then(|| Arc::new(tokio::sync::Semaphore::new(fetches))),
        })
    }

    /// A slot for `tenant` (a brand id; platform-wide work uses its own key), or a 429
    /// `too_many_requests` (answer it with `AppError::response_retry_after`).
    pub fn acquire(self: &Arc<Self>, tenant: &str) -> Result<Permit, AppError> {
        let mut guard = self.lock();
        let (total, tenants) = &mut *guard;
        let mine = tenants.get(tenant).copied().unwrap_or(0);
        if *total >= self.total {
            return Err(AppError::too_many_requests(format!(
                "too many {} in progress ({} at most); retry later",
                self.what, self.total
            )));
        }
        if mine >= self.per_tenant {
            return Err(AppError::too_many_requests(format!(
                "too many {} in progress for this brand ({} at most); retry later",
                self.what, self.per_tenant
            )));
        }
        *total += 1;
        tenants.insert(tenant.to_string(), mine + 1);
        Ok(Permit {
            limiter: self.clone(),
            tenant: tenant.to_string(),
        })
    }

    /// Slots in use (total), for tests and metrics.
    pub fn in_use(&self) -> usize {
        self.lock().0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, HashMap<String, usize>)> {
        self.in_use
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Permit {
    /// Waits for one of the limiter's fetch slots (at once when it has no bound): take it
    /// before taking a pooled connection for a piece of the transfer, drop it with the
    /// connection, so the transfers together never hold more than their share of the pool.
    pub async fn fetch_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let fetches = self.limiter.fetches.clone()?;
        // The semaphore is never closed.
        fetches.acquire_owned().await.ok()
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut guard = self.limiter.lock();
        let (total, tenants) = &mut *guard;
        *total = total.saturating_sub(1);
        if let Some(n) = tenants.get_mut(&self.tenant) {
            *n -= 1;
            if *n == 0 {
                tenants.remove(&self.tenant);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_and_per_tenant_slots() {
        let limiter = Limiter::new("streams", 3, 2, 0);
        let a1 = limiter.acquire("a").unwrap();
        let _a2 = limiter.acquire("a").unwrap();
        let err = limiter.acquire("a").unwrap_err();
        assert_eq!(err.status.as_u16(), 429);
        assert!(err.message.contains("for this brand"), "{}", err.message);
        let _b1 = limiter.acquire("b").unwrap();
        assert!(limiter.acquire("c").is_err(), "total reached");
        drop(a1);
        assert_eq!(limiter.in_use(), 2);
        let _c1 = limiter.acquire("c").unwrap();
    }

    #[tokio::test]
    async fn fetch_slots_are_bounded_apart_from_transfers() {
        let limiter = Limiter::new("streams", 3, 3, 1);
        let a = limiter.acquire("a").unwrap();
        let b = limiter.acquire("a").unwrap();
        let slot = a.fetch_slot().await;
        assert!(slot.is_some());
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), b.fetch_slot());
        assert!(
            waiting.await.is_err(),
            "the second fetch waits for the first"
        );
        drop(slot);
        assert!(b.fetch_slot().await.is_some());
        // Without a bound, no waiting.
        let free = Limiter::new("ingestions", 1, 1, 0).acquire("a").unwrap();
        assert!(free.fetch_slot().await.is_none());
    }
}
