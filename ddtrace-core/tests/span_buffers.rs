//! Span buffer sizing, measured with a counting allocator (this file's only test, so that no
//! other test's allocations count).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly
#![allow(unsafe_code)] // the counting allocator: `GlobalAlloc` is an unsafe trait

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ddtrace_core::{Collector, Config, SpanData, Tracer};

/// The system allocator, noting the largest request made while `TRACKING` is on.
struct Largest;

static TRACKING: AtomicBool = AtomicBool::new(false);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

fn note(size: usize) {
    if TRACKING.load(Ordering::Relaxed) {
        LARGEST.fetch_max(size, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed to `System` unchanged; only sizes are read.
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: the caller's contract for `realloc`, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

/// A trace with many spans open at once (the futures of one request, say) does not reserve
/// room for all of them each time its finished spans are sent early: a chunk holds at most
/// the partial-flush threshold.
#[test]
fn many_open_spans_do_not_size_each_partial_chunk_for_all_of_them() {
    let collector = Collector::new();
    let config = Config::builder()
        .partial_flush_min_spans(10)
        .build_from(&HashMap::<&str, &str>::new());
    let tracer = Tracer::with_exporter(config, collector.clone());
    let mut root = tracer.span("root").start();
    let parent = root.context().unwrap();
    let mut children: Vec<_> = (0..1000)
        .map(|_| tracer.span("child").child_of(&parent).start())
        .collect();
    TRACKING.store(true, Ordering::SeqCst);
    for child in &mut children {
        child.finish();
    }
    TRACKING.store(false, Ordering::SeqCst);
    root.finish();
    assert_eq!(collector.spans().len(), 1001);
    assert!(collector.chunks().len() >= 100, "partial chunks of 10");
    let largest = LARGEST.load(Ordering::SeqCst);
    let span = std::mem::size_of::<SpanData>();
    assert!(
        largest < 100 * span,
        "an allocation of {largest} bytes: {} spans' worth",
        largest / span
    );
}
