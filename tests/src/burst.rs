//! The 2-thread, 2,000,000-span burst shared by `agent_burst.rs` and `agent_sustained.rs`.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::{CountingReceiver, peak_rss_bytes};
use ddtrace_core::{Config, ExporterStats, Tracer};

/// Producer threads.
pub const THREADS: usize = 2;
/// Traces each thread makes.
pub const TRACES_PER_THREAD: usize = 100_000;
/// Spans per trace.
pub const SPANS_PER_TRACE: usize = 10;
/// Spans in all.
pub const TOTAL_SPANS: u64 = (THREADS * TRACES_PER_THREAD * SPANS_PER_TRACE) as u64;

/// Runs the burst (each thread: 100,000 traces of 10 spans, `work` of busy CPU per trace) with
/// the default writer settings; returns the writer's stats, the receiver and the elapsed times.
pub fn burst(work: Duration) -> (ExporterStats, CountingReceiver, Duration, Duration) {
    let receiver = CountingReceiver::start();
    let config = Config::builder()
        .service("burst-svc")
        .agent_url(receiver.url())
        .build_from(&HashMap::<&str, &str>::new());
    let tracer = Tracer::new(config);
    let start = Instant::now();
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let tracer = tracer.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..TRACES_PER_THREAD {
                    let busy = Instant::now();
                    while busy.elapsed() < work {
                        std::hint::spin_loop(); // the application's own work
                    }
                    let root = tracer.trace("burst.request");
                    root.set_tag("thread", t as i64);
                    root.set_tag("http.url", "/sandwich/make");
                    for _ in 1..SPANS_PER_TRACE {
                        let child = tracer.trace("burst.step");
                        child.set_tag("step", i as i64);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let produced = start.elapsed();
    assert!(tracer.shutdown(Duration::from_secs(120)));
    let delivered = start.elapsed();
    (tracer.stats(), receiver, produced, delivered)
}

/// What the receiver counted is exactly what the writer says it sent, and every span is
/// accounted for.
pub fn assert_books_balance(s: &ExporterStats, receiver: &CountingReceiver) {
    let counts = receiver.counts();
    assert_eq!(s.spans_received, TOTAL_SPANS);
    assert_eq!(
        s.spans_received,
        s.spans_sent + s.spans_dropped.total(),
        "{s:?}"
    );
    assert_eq!(
        s.traces_received,
        s.traces_sent + s.traces_dropped.total(),
        "{s:?}"
    );
    assert_eq!(counts.spans.load(Ordering::Relaxed), s.spans_sent);
    assert_eq!(counts.chunks.load(Ordering::Relaxed), s.traces_sent);
    assert_eq!(counts.requests.load(Ordering::Relaxed), s.payloads_sent);
    assert_eq!(counts.bytes.load(Ordering::Relaxed), s.bytes_sent);
    assert_eq!(counts.bad_count_header.load(Ordering::Relaxed), 0);
}

/// Prints the numbers; returns the peak RSS in bytes.
pub fn report(what: &str, s: &ExporterStats, produced: Duration, delivered: Duration) -> u64 {
    let peak = peak_rss_bytes().unwrap_or(u64::MAX);
    println!(
        "{what}: {TOTAL_SPANS} spans produced in {produced:?}, all handled in {delivered:?}; \
         {} spans delivered in {} payloads ({} MB), {} dropped (queue_full), {} encoded on the \
         application threads; peak RSS {} MB",
        s.spans_sent,
        s.payloads_sent,
        s.bytes_sent / 1_000_000,
        s.spans_dropped.queue_full,
        s.spans_encoded_on_app_threads,
        peak / 1_000_000
    );
    peak
}
