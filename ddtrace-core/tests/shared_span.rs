//! SharedSpan: a span activated by reference (the OpenTracing bridge's need) is the active span
//! for ddtrace-core code, and handles on any thread reach the same span.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

mod common;

use common::{by_name, meta, tracer_for};

#[test]
fn an_activated_shared_span_is_the_current_span() {
    let (tracer, collector) = tracer_for("svc");
    let shared = tracer.span("ot.request").start().into_shared();
    {
        let _scope = shared.activate();
        // ddtrace-core code sees it as the active span...
        let current = ddtrace_core::current_span().unwrap();
        assert_eq!(current.span_id(), shared.span_id());
        current.set_tag("via.current_span", "yes");
        // ...and its spans become children of it.
        let _child = tracer.trace("core.child");
        assert_eq!(
            ddtrace_core::current_root_span().unwrap().span_id(),
            shared.span_id()
        );
    }
    assert!(ddtrace_core::current_span().is_none(), "scope restored");
    shared.set_tag("after.scope", 1);
    shared.finish();
    shared.finish(); // harmless
    let spans = collector.spans();
    assert_eq!(spans.len(), 2);
    let root = by_name(&spans, "ot.request");
    assert_eq!(meta(root, "via.current_span"), Some("yes"));
    assert_eq!(root.metrics.get("after.scope"), Some(&1.0));
    assert_eq!(by_name(&spans, "core.child").parent_id, root.span_id);
}

#[test]
fn handles_on_other_threads_reach_the_same_span() {
    let (tracer, collector) = tracer_for("svc");
    let shared = tracer.span("shared").start().into_shared();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let s = shared.clone();
            std::thread::spawn(move || {
                let _scope = s.activate();
                ddtrace_core::current_span()
                    .unwrap()
                    .set_tag(format!("thread.{i}"), i);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(collector.spans().is_empty(), "still open: a handle remains");
    drop(shared); // the last handle finishes the span
    let spans = collector.spans();
    assert_eq!(spans.len(), 1);
    for i in 0..4 {
        assert_eq!(
            spans[0].metrics.get(&format!("thread.{i}")),
            Some(&f64::from(i))
        );
    }
}

#[test]
fn a_finished_shared_span_still_parents_new_spans() {
    let (tracer, collector) = tracer_for("svc");
    let shared = tracer.span("parent").start().into_shared();
    let parent_id = shared.span_id();
    shared.finish();
    assert!(!shared.is_recording());
    {
        let _scope = shared.activate();
        // Tags on a finished span are ignored, but its context still parents children.
        ddtrace_core::current_span().unwrap().set_tag("late", 1);
        let _child = tracer.trace("late.child");
    }
    let spans = collector.spans();
    assert_eq!(by_name(&spans, "late.child").parent_id, parent_id);
    assert_eq!(by_name(&spans, "parent").metrics.get("late"), None);
}

#[test]
fn scopes_of_the_same_span_may_close_in_any_order() {
    let (tracer, collector) = tracer_for("svc");
    let shared = tracer.span("twice").start().into_shared();
    let other = tracer.span("other").start().into_shared();
    let first = shared.activate();
    let middle = other.activate();
    let second = shared.activate();
    // The first activation closes before the second: the second stays the active span.
    drop(first);
    assert_eq!(
        ddtrace_core::current_span().unwrap().span_id(),
        shared.span_id()
    );
    drop(second);
    assert_eq!(
        ddtrace_core::current_span().unwrap().span_id(),
        other.span_id(),
        "the scope in between is what remains"
    );
    drop(middle);
    assert!(ddtrace_core::current_span().is_none());
    shared.finish();
    other.finish();
    assert_eq!(collector.spans().len(), 2);
}

#[test]
fn a_panic_caught_inside_an_activation_marks_the_shared_span() {
    let (tracer, collector) = tracer_for("svc");
    let shared = tracer.span("shared.caught").start().into_shared();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _scope = shared.activate();
        panic!("shared boom");
    }));
    assert!(caught.is_err());
    shared.finish();
    let s = collector.span("shared.caught").unwrap();
    assert!(s.error);
    assert_eq!(meta(&s, "error.message"), Some("shared boom"));
}
