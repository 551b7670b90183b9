//! Concurrency limits for the requests whose memory lives as long as they do (CSV streams,
//! report downloads, call ingestions): a total per instance and a per-tenant (per brand)
//! share of it, so one tenant cannot take every slot. A [`Permit`] is held for the life of
//! the request (moved into a response stream, it is released when the stream ends or the
//! client goes away).

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
}

/// One slot of a [`Limiter`], given back on drop.
#[derive(Debug)]
pub struct Permit {
    limiter: Arc<Limiter>,
    tenant: String,
}

impl Limiter {
    pub fn new(what: &'static str, total: usize, per_tenant: usize) -> Arc<Limiter> {
        Arc::new(Limiter {
            what,
            total,
            per_tenant: per_tenant.min(total),
            in_use: Mutex::new((0, HashMap::new())),
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
        let limiter = Limiter::new("streams", 3, 2);
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
}
