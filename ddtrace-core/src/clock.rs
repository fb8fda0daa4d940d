//! Span timestamps with one monotonic clock read per span event.
//!
//! The monotonic clock is a [`quanta::Clock`]: on x86-64 with an invariant time-stamp counter it
//! reads the counter, calibrated once against the OS clock when the first tracer is built;
//! elsewhere it is the OS monotonic clock. An [`Instant`] keeps the raw reading (about 10 ns here,
//! against 15-18 ns for `quanta::Instant::now`, which also scales and checks for a per-thread
//! mock clock, and 23-33 ns for `std::time::Instant`); readings are scaled to nanoseconds only
//! when a duration or a wall-clock time is derived from them.
//!
//! A span's start is wall-clock time (unix ns) and its duration is measured on the monotonic
//! clock. Reading both clocks costs two system-clock reads; instead each thread keeps an anchor
//! (a wall-clock reading and the monotonic instant it was taken at), refreshed when older than
//! [`ANCHOR_MAX_AGE`], and derives wall-clock time from the monotonic clock. The derived time can
//! differ from the system clock only by the drift accumulated over one anchor period (NTP slews
//! at most 0.5 ms per second), far below span-timing resolution that matters.

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();

fn clock() -> &'static quanta::Clock {
    CLOCK.get_or_init(quanta::Clock::new)
}

/// A monotonic instant, as spans are timed: a raw reading of the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant(u64);

impl Instant {
    /// Now.
    #[inline]
    pub(crate) fn now() -> Instant {
        Instant(clock().raw())
    }

    /// The nanoseconds from `earlier` to `self`, zero if `earlier` is later.
    #[inline]
    pub(crate) fn nanos_since(self, earlier: Instant) -> u64 {
        clock().delta_as_nanos(earlier.0, self.0)
    }

    /// `d` before `self`, `None` if that is before the clock's origin.
    pub(crate) fn checked_sub(self, d: Duration) -> Option<Instant> {
        self.0.checked_sub(ticks(d)).map(Instant)
    }

    /// `d` after `self` (saturating).
    #[cfg(test)]
    pub(crate) fn plus(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(ticks(d)))
    }
}

/// `timeout` from now on the OS monotonic clock, for waits: a timeout too long to add (a
/// caller's `Duration::MAX` meaning "wait as long as it takes") is a deadline a century away,
/// where `Instant + Duration` would panic.
pub(crate) fn deadline_after(timeout: Duration) -> std::time::Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    let now = std::time::Instant::now();
    now.checked_add(timeout.min(CENTURY))
        .or_else(|| now.checked_add(Duration::from_secs(24 * 3600)))
        .unwrap_or(now)
}

/// The raw clock ticks in `d` (rarely needed: explicit start times).
fn ticks(d: Duration) -> u64 {
    const PROBE: u64 = 1 << 40;
    let ns_per_probe = clock().delta_as_nanos(0, PROBE).max(1);
    (d.as_nanos() as f64 * PROBE as f64 / ns_per_probe as f64) as u64
}

/// Calibrates the clock now (a few milliseconds, once per process), so the first span does not.
pub(crate) fn calibrate() {
    let _ = clock();
}

/// How long a thread's wall-clock anchor is used before it is refreshed.
pub(crate) const ANCHOR_MAX_AGE: Duration = Duration::from_secs(1);

thread_local! {
    /// This thread's (wall-clock unix ns, monotonic instant) pair.
    static ANCHOR: Cell<Option<(i64, Instant)>> = const { Cell::new(None) };
}

/// The wall-clock time (unix ns) at monotonic instant `now` (a recent one).
#[inline]
pub(crate) fn wall_ns(now: Instant) -> i64 {
    ANCHOR
        .try_with(|a| {
            if let Some((wall, at)) = a.get()
                && now >= at
            {
                let age = now.nanos_since(at);
                if age < ANCHOR_MAX_AGE.as_nanos() as u64 {
                    return wall.saturating_add(age as i64);
                }
            }
            let wall = crate::span::unix_ns(SystemTime::now());
            a.set(Some((wall, now)));
            wall
        })
        .unwrap_or_else(|_| crate::span::unix_ns(SystemTime::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_time_tracks_the_system_clock() {
        let now = Instant::now();
        let derived = wall_ns(now);
        let system = crate::span::unix_ns(SystemTime::now());
        assert!(
            (system - derived).abs() < 50_000_000,
            "{system} vs {derived}"
        );
        // Later reads advance with the monotonic clock.
        let later = now.plus(Duration::from_millis(10));
        let step = wall_ns(later) - derived;
        assert!((step - 10_000_000).abs() <= 1_000, "{step}");
    }
}
