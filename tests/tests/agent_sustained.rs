//! 2,000,000 spans from 2 threads, each trace wrapping 50 µs of the application's own work
//! (about 250,000 spans a second on 2 cores in a debug build): delivered in full, with the
//! process's peak RSS under 300 MB, using the writer's default settings.
//!
//! The receiver is the in-process [`CountingReceiver`](integration_tests::CountingReceiver)
//! rather than the Python test agent, which keeps every decoded span as Python objects and cannot
//! ingest millions of spans in reasonable time and memory; the real agent is exercised in
//! `agent_writer.rs`. One test per file, so that `VmHWM` measures only this run.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::time::Duration;

use ddtrace_core::DropCounts;
use integration_tests::burst::{
    THREADS, TOTAL_SPANS, TRACES_PER_THREAD, assert_books_balance, burst, report,
};

#[test]
fn two_million_spans_from_two_threads_arrive_in_full_within_300_mb() {
    let (s, receiver, produced, delivered) = burst(Duration::from_micros(50));
    let peak = report("sustained", &s, produced, delivered);
    assert_books_balance(&s, &receiver);
    assert_eq!(s.spans_dropped, DropCounts::default(), "{s:?}");
    assert_eq!(s.spans_sent, TOTAL_SPANS);
    assert_eq!(s.traces_sent, (THREADS * TRACES_PER_THREAD) as u64);
    assert!(peak < 300_000_000, "peak RSS {} MB", peak / 1_000_000);
}
