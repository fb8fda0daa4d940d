//! Span timestamps with one monotonic clock read per span event.
//!
//! The monotonic clock is [`quanta`]'s: on x86-64 with an invariant time-stamp counter it reads
//! the counter (scaled to nanoseconds by a calibration against the OS clock, done once, when the
//! first tracer is built), which costs about two thirds of the vDSO `clock_gettime` behind
//! `std::time::Instant`; elsewhere it is the OS monotonic clock.
//!
//! A span's start is wall-clock time (unix ns) and its duration is measured on the monotonic
//! clock. Reading both clocks costs two system-clock reads; instead each thread keeps an anchor
//! (a wall-clock reading and the monotonic instant it was taken at), refreshed when older than
//! [`ANCHOR_MAX_AGE`], and derives wall-clock time from the monotonic clock. The derived time can
//! differ from the system clock only by the drift accumulated over one anchor period (NTP slews
//! at most 0.5 ms per second), far below span-timing resolution that matters.

use std::cell::Cell;
use std::time::{Duration, SystemTime};

/// A monotonic instant, as spans are timed.
pub(crate) use quanta::Instant;

/// Calibrates the clock now rather than at the first span (a tracer calls it when built).
pub(crate) fn calibrate() {
    let _ = Instant::now();
}

/// How old a thread's anchor may get before the wall clock is read again.
pub(crate) const ANCHOR_MAX_AGE: Duration = Duration::from_secs(1);

thread_local! {
    static ANCHOR: Cell<Option<(i64, Instant)>> = const { Cell::new(None) };
}

/// Unix epoch nanoseconds of `now` (a monotonic instant just read).
pub(crate) fn wall_ns(now: Instant) -> i64 {
    ANCHOR
        .try_with(|a| {
            if let Some((wall, at)) = a.get()
                && let Some(age) = now.checked_duration_since(at)
                && age < ANCHOR_MAX_AGE
            {
                return wall.saturating_add(age.as_nanos() as i64);
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
        let later = now + Duration::from_millis(10);
        assert_eq!(wall_ns(later) - derived, 10_000_000);
    }
}
