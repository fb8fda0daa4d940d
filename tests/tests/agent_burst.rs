//! 2,000,000 spans from 2 threads as fast as they can be made (nothing else to do): on 2 cores
//! the single writer thread cannot encode as fast as two threads create spans, so the bounded
//! buffer overflows. What must hold: the application never waits, the process's peak RSS stays
//! under 300 MB, and every span is accounted for exactly (delivered or counted as `queue_full`).
//! One test per file, so that `VmHWM` measures only this run.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::time::Duration;

use integration_tests::burst::{assert_books_balance, burst, report};

#[test]
fn a_flat_out_burst_stays_within_300_mb_and_is_accounted_for() {
    let (s, receiver, produced, delivered) = burst(Duration::ZERO);
    let peak = report("flat-out", &s, produced, delivered);
    assert_books_balance(&s, &receiver);
    assert_eq!(s.spans_dropped.total(), s.spans_dropped.queue_full, "{s:?}");
    assert!(s.spans_sent > 0);
    assert!(peak < 300_000_000, "peak RSS {} MB", peak / 1_000_000);
}
