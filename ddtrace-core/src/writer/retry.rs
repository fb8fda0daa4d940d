//! Bounded exponential backoff with jitter for requests to the agent.
//!
//! The schedule follows libdatadog: 5 attempts in all, the first retry after about 100 ms and
//! each later one after twice as long (100, 200, 400, 800 ms), each delay drawn uniformly from
//! its upper half ("equal jitter") so that many tracers restarted together do not retry in step.

use std::time::Duration;

/// How a failed request is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// Attempts in all, the first included (at least 1).
    pub(crate) attempts: u32,
    /// The nominal delay before the first retry.
    pub(crate) initial: Duration,
    /// No delay is longer than this.
    pub(crate) max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempts: 5,
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        }
    }
}

impl Backoff {
    /// The nominal delay after failed attempt `attempt` (1-based), or `None` when no attempt is
    /// left.
    pub(crate) fn nominal(&self, attempt: u32) -> Option<Duration> {
        if attempt >= self.attempts {
            return None;
        }
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        Some(self.initial.saturating_mul(factor).min(self.max))
    }

    /// The delay to wait after failed attempt `attempt`: uniformly in the upper half of the
    /// nominal delay, using `random` (a uniform `u64`).
    pub(crate) fn delay(&self, attempt: u32, random: u64) -> Option<Duration> {
        let nominal = self.nominal(attempt)?;
        let half = nominal / 2;
        let half_ns = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let extra = if half_ns == 0 {
            0
        } else {
            random % (half_ns + 1)
        };
        Some(half + Duration::from_nanos(extra))
    }
}

/// A small non-cryptographic random source for jitter (xorshift64*), seeded from the clock,
/// the process id and a stack address.
#[derive(Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let local = 0u8;
        let addr = &local as *const u8 as u64;
        let seed = nanos ^ (u64::from(std::process::id()) << 32) ^ addr.rotate_left(17);
        Jitter(seed | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_five_attempts_doubling_from_100ms() {
        let b = Backoff::default();
        let nominal: Vec<_> = (1..=5).map(|a| b.nominal(a)).collect();
        assert_eq!(
            nominal,
            [
                Some(Duration::from_millis(100)),
                Some(Duration::from_millis(200)),
                Some(Duration::from_millis(400)),
                Some(Duration::from_millis(800)),
                None,
            ]
        );
    }

    #[test]
    fn delays_are_capped() {
        let b = Backoff {
            attempts: 40,
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        assert_eq!(b.nominal(6), Some(Duration::from_secs(2)));
        assert_eq!(b.nominal(39), Some(Duration::from_secs(2)));
        assert_eq!(b.nominal(40), None);
    }

    #[test]
    fn jitter_stays_in_the_upper_half() {
        let b = Backoff::default();
        assert_eq!(b.delay(1, 0), Some(Duration::from_millis(50)));
        assert_eq!(b.delay(1, 50_000_000), Some(Duration::from_millis(100)));
        assert_eq!(b.delay(5, 0), None);
        let mut j = Jitter::new();
        for attempt in 1..5 {
            let nominal = b.nominal(attempt).unwrap();
            for _ in 0..100 {
                let d = b.delay(attempt, j.next()).unwrap();
                assert!(d >= nominal / 2 && d <= nominal, "{d:?} vs {nominal:?}");
            }
        }
    }
}
