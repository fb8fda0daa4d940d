//! The token-bucket rate limiter of rule-based sampling (`DD_TRACE_RATE_LIMIT`).
//!
//! Consulted once per trace (for traces a rule keeps), so a tiny mutex is plenty. The bucket
//! holds at most `rate` tokens and refills continuously at `rate` per second; a trace takes one.
//! Its effective rate (`_dd.limit_psr`) is the share of traces allowed in the current one-second
//! window, averaged with the previous window's (as the reference computes it).

use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Monotonic nanoseconds since an arbitrary origin; injectable for deterministic tests.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The process's monotonic clock, in nanoseconds since the first call.
pub fn monotonic_clock() -> Clock {
    let origin = Instant::now();
    Arc::new(move || u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
}

const WINDOW_NS: u64 = 1_000_000_000;

#[derive(Debug)]
struct State {
    tokens: f64,
    last_ns: u64,
    window_start_ns: Option<u64>,
    allowed: u64,
    total: u64,
    previous_rate: Option<f64>,
}

/// A token bucket allowing `rate` traces per second.
pub struct RateLimiter {
    rate: f64,
    clock: Clock,
    state: Mutex<State>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A limiter of `rate` per second (0 allows nothing) on `clock`.
    pub fn new(rate: f64, clock: Clock) -> Self {
        let rate = if rate.is_finite() { rate.max(0.0) } else { 0.0 };
        let now = clock();
        RateLimiter {
            rate,
            clock,
            state: Mutex::new(State {
                tokens: rate,
                last_ns: now,
                window_start_ns: None,
                allowed: 0,
                total: 0,
                previous_rate: None,
            }),
        }
    }

    /// The configured rate per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Takes a token if one is available; returns whether the trace is allowed and the
    /// effective rate after this decision.
    pub fn allow(&self) -> (bool, f64) {
        let now = (self.clock)();
        let Ok(mut s) = self.state.lock() else {
            // A panic while holding this lock cannot happen (no user code runs under it); keep
            // sampling working regardless.
            return (true, 1.0);
        };
        // Refill.
        let elapsed = now.saturating_sub(s.last_ns) as f64 / WINDOW_NS as f64;
        s.last_ns = now.max(s.last_ns);
        s.tokens = (s.tokens + elapsed * self.rate).min(self.rate);
        let allowed = self.rate > 0.0 && s.tokens >= 1.0;
        if allowed {
            s.tokens -= 1.0;
        }
        // Effective-rate windows.
        match s.window_start_ns {
            None => s.window_start_ns = Some(now),
            Some(start) if now.saturating_sub(start) >= WINDOW_NS => {
                s.previous_rate = Some(window_rate(s.allowed, s.total));
                s.allowed = 0;
                s.total = 0;
                s.window_start_ns = Some(now);
            }
            Some(_) => {}
        }
        s.total += 1;
        if allowed {
            s.allowed += 1;
        }
        let current = window_rate(s.allowed, s.total);
        let effective = match s.previous_rate {
            Some(prev) => (current + prev) / 2.0,
            None => current,
        };
        (allowed, effective)
    }
}

fn window_rate(allowed: u64, total: u64) -> f64 {
    if total == 0 {
        1.0
    } else {
        allowed as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    pub(crate) fn manual_clock() -> (Arc<AtomicU64>, Clock) {
        let now = Arc::new(AtomicU64::new(0));
        let shared = Arc::clone(&now);
        (now, Arc::new(move || shared.load(Ordering::SeqCst)))
    }

    #[test]
    fn bucket_refills_at_the_rate() {
        let (now, clock) = manual_clock();
        let limiter = RateLimiter::new(2.0, clock);
        assert_eq!(limiter.allow(), (true, 1.0));
        assert_eq!(limiter.allow(), (true, 1.0));
        let (ok, eff) = limiter.allow();
        assert!(!ok);
        assert!((eff - 2.0 / 3.0).abs() < 1e-9);
        // Half a second later one token is back.
        now.store(500_000_000, Ordering::SeqCst);
        assert!(limiter.allow().0);
        assert!(!limiter.allow().0);
        // A new window averages with the previous one (3 of 5 allowed).
        now.store(1_600_000_000, Ordering::SeqCst);
        let (ok, eff) = limiter.allow();
        assert!(ok);
        assert!((eff - (1.0 + 0.6) / 2.0).abs() < 1e-9, "{eff}");
        // The bucket never holds more than `rate` tokens.
        now.store(100_000_000_000, Ordering::SeqCst);
        assert!(limiter.allow().0);
        assert!(limiter.allow().0);
        assert!(!limiter.allow().0);
    }

    #[test]
    fn zero_rate_allows_nothing() {
        let (_, clock) = manual_clock();
        let limiter = RateLimiter::new(0.0, clock);
        assert_eq!(limiter.allow(), (false, 0.0));
    }
}
