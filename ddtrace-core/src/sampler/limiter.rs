//! The rate limiter of rule-based sampling (`DD_TRACE_RATE_LIMIT`).
//!
//! Consulted once per new trace that a rule keeps, on the application thread, so it takes no
//! lock: it is a token bucket written as GCRA (the "generic cell rate algorithm"), whose whole
//! state is one atomic "theoretical arrival time" advanced by compare-and-swap. The bucket holds
//! `max(rate, 1)` tokens and refills continuously at `rate` per second; a trace takes one.
//!
//! Its effective rate (`_dd.limit_psr`) is the share of traces allowed in the current one-second
//! window, averaged with the previous window's (as the reference computes it). The window
//! counters are atomics too; at a window boundary, traces racing the reset may be counted in
//! either window, which only nudges a reported rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Monotonic nanoseconds since an arbitrary origin; injectable for deterministic tests.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The process's monotonic clock, in nanoseconds since this call: the clock spans are timed
/// on (the time-stamp counter where it is invariant, about 10 ns a read against 20-25 for
/// `std::time::Instant`; the limiter reads it once per trace a rule keeps).
pub fn monotonic_clock() -> Clock {
    let origin = crate::clock::Instant::now();
    Arc::new(move || crate::clock::Instant::now().nanos_since(origin))
}

const WINDOW_NS: u64 = 1_000_000_000;
/// `previous_rate` before a window has ended.
const NO_RATE: u64 = u64::MAX;

/// A rate limiter allowing `rate` traces per second, with bursts up to `max(rate, 1)`.
pub struct RateLimiter {
    rate: f64,
    clock: Clock,
    /// Nanoseconds between two allowed traces at the sustained rate (0 when `rate` is 0).
    interval_ns: u64,
    /// How far the theoretical arrival time may run ahead of now: the bucket's capacity.
    tolerance_ns: u64,
    /// The theoretical arrival time of the next trace, in `clock` nanoseconds.
    tat: AtomicU64,
    /// The current one-second window's index plus one (0: no trace seen yet).
    window: AtomicU64,
    /// Allowed traces (high 32 bits) and all traces (low 32 bits) in the current window.
    counts: AtomicU64,
    /// The previous window's allowed share, as `f64` bits, or [`NO_RATE`].
    previous_rate: AtomicU64,
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
        let interval_ns = if rate > 0.0 {
            (WINDOW_NS as f64 / rate)
                .round()
                .clamp(1.0, u64::MAX as f64 / 4.0) as u64
        } else {
            0
        };
        let capacity = rate.max(1.0);
        let tolerance_ns = (interval_ns as f64 * capacity).min(u64::MAX as f64 / 4.0) as u64;
        let now = clock();
        RateLimiter {
            rate,
            clock,
            interval_ns,
            tolerance_ns,
            tat: AtomicU64::new(now), // a full bucket
            window: AtomicU64::new(0),
            counts: AtomicU64::new(0),
            previous_rate: AtomicU64::new(NO_RATE),
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
        let allowed = self.take_token(now);
        (allowed, self.count(now, allowed))
    }

    fn take_token(&self, now: u64) -> bool {
        if self.interval_ns == 0 {
            return false;
        }
        let mut tat = self.tat.load(Ordering::Acquire);
        loop {
            let next = tat.max(now).saturating_add(self.interval_ns);
            if next - now > self.tolerance_ns {
                return false;
            }
            match self
                .tat
                .compare_exchange_weak(tat, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(current) => tat = current,
            }
        }
    }

    /// Counts the decision in its window; returns the effective rate.
    fn count(&self, now: u64, allowed: bool) -> f64 {
        let window = now / WINDOW_NS + 1;
        let seen = self.window.load(Ordering::Acquire);
        // Forward only: a thread that read the clock just before a window ended, and comes
        // here after another thread moved the window on, counts into the new window rather
        // than moving it back (which would wipe its counts and the previous rate).
        if window > seen
            && self
                .window
                .compare_exchange(seen, window, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            let ended = self.counts.swap(0, Ordering::AcqRel);
            if seen != 0 {
                let rate = window_rate(ended >> 32, ended & 0xFFFF_FFFF);
                self.previous_rate.store(rate.to_bits(), Ordering::Release);
            }
        }
        let add = (u64::from(allowed) << 32) | 1;
        let counts = self
            .counts
            .fetch_add(add, Ordering::AcqRel)
            .wrapping_add(add);
        let current = window_rate(counts >> 32, counts & 0xFFFF_FFFF);
        match self.previous_rate.load(Ordering::Acquire) {
            NO_RATE => current,
            bits => (current + f64::from_bits(bits)) / 2.0,
        }
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
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn the_process_clock_counts_nanoseconds_forward() {
        let clock = monotonic_clock();
        let (before, started) = (clock(), std::time::Instant::now());
        // Until it has counted 20 ms, within a deadline: then the OS clock has seen about as
        // much time go by (nanoseconds, not ticks or microseconds).
        let deadline = started + std::time::Duration::from_secs(30);
        while clock() - before < 20_000_000 {
            assert!(
                std::time::Instant::now() < deadline,
                "the clock does not advance"
            );
            std::thread::yield_now();
        }
        let seen = started.elapsed();
        assert!(
            seen >= std::time::Duration::from_millis(10),
            "20 ms counted in {seen:?}"
        );
    }

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
    fn a_late_caller_never_moves_the_window_back() {
        let (now, clock) = manual_clock();
        let limiter = RateLimiter::new(1.0, clock);
        assert!(limiter.allow().0);
        assert!(!limiter.allow().0); // first window: 1 of 2 allowed
        now.store(1_500_000_000, Ordering::SeqCst);
        let (ok, eff) = limiter.allow(); // second window: 1 of 1, the first's 0.5 before it
        assert!(ok);
        assert!((eff - 0.75).abs() < 1e-9, "{eff}");
        // A thread that read the clock in the first window counts only now: into the
        // second window, which keeps its counts and the first window's rate.
        limiter.count(900_000_000, false);
        now.store(1_600_000_000, Ordering::SeqCst);
        let (ok, eff) = limiter.allow();
        assert!(!ok);
        assert!((eff - (1.0 / 3.0 + 0.5) / 2.0).abs() < 1e-9, "{eff}");
    }

    #[test]
    fn a_rate_below_one_per_second_still_allows_one_at_a_time() {
        let (now, clock) = manual_clock();
        let limiter = RateLimiter::new(0.5, clock);
        assert!(limiter.allow().0);
        assert!(!limiter.allow().0);
        now.store(1_000_000_000, Ordering::SeqCst);
        assert!(!limiter.allow().0, "one every two seconds");
        now.store(2_000_000_000, Ordering::SeqCst);
        assert!(limiter.allow().0);
    }

    #[test]
    fn concurrent_callers_never_exceed_the_bucket() {
        let (_, clock) = manual_clock(); // time stands still: only the initial bucket
        let limiter = Arc::new(RateLimiter::new(100.0, clock));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let l = Arc::clone(&limiter);
                std::thread::spawn(move || (0..1000).filter(|_| l.allow().0).count())
            })
            .collect();
        let allowed: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(allowed, 100);
    }

    #[test]
    fn zero_rate_allows_nothing() {
        let (_, clock) = manual_clock();
        let limiter = RateLimiter::new(0.0, clock);
        assert_eq!(limiter.allow(), (false, 0.0));
    }
}
