//! Failed-login throttling: at most N failed logins a minute per user name and per client
//! address, then 429 until the minute is over. The counts live in this process (each
//! instance counts its own), in maps of bounded size so a flood of made-up names or
//! addresses cannot grow memory without end.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window failures are counted in.
const WINDOW: Duration = Duration::from_secs(60);
/// Most keys each map tracks (about 100 bytes each). When full after dropping expired
/// windows, a new key is not tracked: the other limit (name or address) still applies,
/// and nobody's count can be flushed out by filling the map.
const MAX_KEYS: usize = 50_000;

#[derive(Debug)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Failure counts per user name and per address, each with its own limit.
#[derive(Debug)]
pub struct LoginThrottle {
    per_user: u32,
    per_address: u32,
    users: Mutex<HashMap<String, Window>>,
    addresses: Mutex<HashMap<IpAddr, Window>>,
}

impl LoginThrottle {
    pub fn new(per_user: u32, per_address: u32) -> LoginThrottle {
        LoginThrottle {
            per_user,
            per_address,
            users: Mutex::new(HashMap::new()),
            addresses: Mutex::new(HashMap::new()),
        }
    }

    /// Called before the password is checked, whether the user exists or not: counts the
    /// attempt as a failure (so concurrent guesses cannot all slip in before the first is
    /// counted) and returns `Err(seconds to wait)` when the name or the address has used up
    /// its failures of the current minute.
    pub fn attempt(&self, username: &str, address: Option<IpAddr>) -> Result<(), u64> {
        let now = Instant::now();
        let mut users = lock(&self.users);
        let mut addresses = lock(&self.addresses);
        let user = key(username);
        let wait = wait(&users, &user, self.per_user, now)
            .max(address.and_then(|a| wait(&addresses, &a, self.per_address, now)));
        if let Some(seconds) = wait {
            return Err(seconds);
        }
        count(&mut users, user, now);
        if let Some(a) = address {
            count(&mut addresses, a, now);
        }
        Ok(())
    }

    /// The attempt succeeded: its user name's failures are cleared, and the address gets
    /// back the one [`LoginThrottle::attempt`] took.
    pub fn succeeded(&self, username: &str, address: Option<IpAddr>) {
        lock(&self.users).remove(&key(username));
        if let Some(a) = address {
            if let Some(w) = lock(&self.addresses).get_mut(&a) {
                w.failures = w.failures.saturating_sub(1);
            }
        }
    }
}

/// User names as given, bounded in length so a key never holds a huge string.
fn key(username: &str) -> String {
    username.chars().take(200).collect()
}

fn lock<K, V>(map: &Mutex<HashMap<K, V>>) -> std::sync::MutexGuard<'_, HashMap<K, V>> {
    map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn wait<K: std::hash::Hash + Eq>(
    map: &HashMap<K, Window>,
    key: &K,
    limit: u32,
    now: Instant,
) -> Option<u64> {
    let w = map.get(key)?;
    let left = WINDOW.checked_sub(now.duration_since(w.started))?;
    if left.is_zero() || w.failures < limit {
        return None;
    }
    // Whole seconds, rounded up.
    Some(left.as_secs() + u64::from(left.subsec_nanos() > 0))
}

fn count<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Window>, key: K, now: Instant) {
    if !map.contains_key(&key) && map.len() >= MAX_KEYS {
        map.retain(|_, w| now.duration_since(w.started) < WINDOW);
        if map.len() >= MAX_KEYS {
            tracing::warn!("login throttle full: a failure went uncounted");
            return;
        }
    }
    let w = map.entry(key).or_insert(Window {
        started: now,
        failures: 0,
    });
    if now.duration_since(w.started) >= WINDOW {
        *w = Window {
            started: now,
            failures: 0,
        };
    }
    w.failures += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_per_name_and_per_address() {
        let t = LoginThrottle::new(3, 5);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(t.attempt("alice", Some(a)), Ok(()));
        }
        let wait = t.attempt("alice", None).unwrap_err();
        assert!((59..=60).contains(&wait), "{wait}");
        assert_eq!(t.attempt("bob", Some(a)), Ok(()));
        assert_eq!(t.attempt("carol", Some(a)), Ok(()));
        assert!(
            t.attempt("dave", Some(a)).is_err(),
            "the address is used up"
        );
        assert_eq!(
            t.attempt("dave", Some("192.0.2.2".parse().unwrap())),
            Ok(())
        );
        t.succeeded("bob", Some(a));
        assert_eq!(
            t.attempt("erin", Some(a)),
            Ok(()),
            "a success gives one back"
        );
        assert!(t.attempt("alice", None).is_err());
    }

    #[test]
    fn the_maps_stay_bounded() {
        let t = LoginThrottle::new(1, 1_000_000);
        for i in 0..MAX_KEYS + 10 {
            let _ = t.attempt(&format!("user{i}"), None);
        }
        assert_eq!(lock(&t.users).len(), MAX_KEYS);
    }
}
