//! 2,000,000 spans from 2 threads as fast as they can be made (nothing else to do). On 2 cores
//! the single writer thread cannot encode as fast as two threads create spans; past the
//! high-water mark the application threads encode their own chunks (overload mode), which keeps
//! the backlog compact. What must hold: every span is delivered (zero loss), the process's peak
//! RSS stays under 300 MB, and the books balance exactly. One test per file, so that `VmHWM`
//! measures only this run.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::time::Duration;

use ddtrace_core::DropCounts;
use integration_tests::burst::{
    THREADS, TOTAL_SPANS, TRACES_PER_THREAD, assert_books_balance, burst, report,
};

#[test]
fn a_flat_out_burst_of_two_million_spans_is_delivered_in_full_within_300_mb() {
    let (s, receiver, produced, delivered) = burst(Duration::ZERO);
    let peak = report("flat-out", &s, produced, delivered);
    assert_books_balance(&s, &receiver);
    assert_eq!(s.spans_dropped, DropCounts::default(), "{s:?}");
    assert_eq!(s.spans_sent, TOTAL_SPANS);
    assert_eq!(s.traces_sent, (THREADS * TRACES_PER_THREAD) as u64);
    assert!(peak < 300_000_000, "peak RSS {} MB", peak / 1_000_000);
}
