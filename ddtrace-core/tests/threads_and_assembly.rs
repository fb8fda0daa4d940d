//! Threads, guards dropped out of order, partial flush, and spans that never finish.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

mod common;

use std::sync::{Arc, Barrier};

use common::{by_name, tracer_with};
use ddtrace_core::Config;

/// A tracer (and its collector) whose traces flush partially at `min_spans` finished spans.
fn flushing_at(min_spans: usize) -> (ddtrace_core::Tracer, ddtrace_core::Collector) {
    tracer_with(
        Config::builder()
            .partial_flush(true)
            .partial_flush_min_spans(min_spans),
    )
}

/// A new thread does not inherit the active span; with_current_context carries it.
#[test]
fn threads_inherit_context_only_when_asked() {
    let (tracer, collector) = tracer_with(Config::builder());
    {
        let _parent = tracer.trace("parent");
        let t = tracer.clone();
        std::thread::spawn(move || {
            let _s = t.trace("unrelated");
        })
        .join()
        .unwrap();
        let t = tracer.clone();
        std::thread::spawn(ddtrace_core::with_current_context(move || {
            let _s = t.trace("joined");
        }))
        .join()
        .unwrap();
        let ctx = tracer.current_context().unwrap();
        let t = tracer.clone();
        std::thread::spawn(move || {
            let _s = t.span("explicit").child_of(&ctx).enter();
        })
        .join()
        .unwrap();
    }
    let spans = collector.spans();
    let parent = by_name(&spans, "parent");
    assert_eq!(by_name(&spans, "joined").parent_id, parent.span_id);
    assert_eq!(by_name(&spans, "explicit").parent_id, parent.span_id);
    let unrelated = by_name(&spans, "unrelated");
    assert_eq!(unrelated.parent_id, 0);
    assert_ne!(unrelated.trace_id, parent.trace_id);
}

/// `Duration::MAX` means no limit (it used to overflow the deadline and panic).
#[test]
fn the_collector_waits_without_limit_for_spans_from_another_thread() {
    let (tracer, collector) = tracer_with(Config::builder());
    let (done, waited) = crossbeam_channel::bounded(1);
    let waiter = std::thread::spawn(move || {
        done.send(collector.wait_for_spans(1, std::time::Duration::MAX))
            .unwrap();
    });
    let worker = std::thread::spawn(move || drop(tracer.trace("late")));
    // A watchdog, so that a wait that never ends fails the test instead of hanging it.
    let spans = waited
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the wait did not end");
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "late");
    worker.join().unwrap();
    waiter.join().unwrap();
}

/// Many threads tracing concurrently each build their own, complete trees.
#[test]
fn concurrent_threads_build_separate_traces() {
    let (tracer, collector) = tracer_with(Config::builder());
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let tracer = tracer.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..100 {
                    let root = tracer.trace("root");
                    root.set_tag("thread", i);
                    for _ in 0..3 {
                        let _c = tracer.trace("child");
                        let _g = tracer.trace("grandchild");
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let chunks = collector.chunks();
    assert_eq!(chunks.len(), 800);
    for chunk in chunks {
        assert_eq!(chunk.len(), 7);
        let root = &chunk[0];
        assert_eq!(root.name, "root");
        for s in &chunk {
            assert_eq!(s.trace_id, root.trace_id);
            let parent_name = match &*s.name {
                "root" => None,
                "child" => Some("root"),
                "grandchild" => Some("child"),
                other => panic!("unexpected {other}"),
            };
            if let Some(p) = parent_name {
                let parent = chunk.iter().find(|x| x.span_id == s.parent_id).unwrap();
                assert_eq!(parent.name, p);
            }
        }
    }
}

/// Guards dropped out of order: each span still finishes once, with the right parent, and the
/// active span falls back to what is still open.
#[test]
fn out_of_order_guard_drops() {
    let (tracer, collector) = tracer_with(Config::builder());
    let a = tracer.trace("a");
    let b = tracer.trace("b");
    let a_id = a.span_id();
    drop(a); // not the top of the stack
    assert_eq!(ddtrace_core::current_span().unwrap().span_id(), b.span_id());
    let c = tracer.trace("c");
    drop(b);
    assert_eq!(ddtrace_core::current_span().unwrap().span_id(), c.span_id());
    drop(c);
    assert!(ddtrace_core::current_span().is_none());
    let spans = collector.spans();
    assert_eq!(spans.len(), 3);
    assert_eq!(by_name(&spans, "b").parent_id, a_id);
    assert_eq!(by_name(&spans, "c").parent_id, by_name(&spans, "b").span_id);
}

/// Partial flush: with a threshold of 10, a big open trace sends its finished spans early.
#[test]
fn partial_flush_sends_big_open_traces_early() {
    let (tracer, collector) = flushing_at(10);
    let root = tracer.trace("long.running");
    for _ in 0..25 {
        let _s = tracer.trace("item");
    }
    let chunks = collector.chunks();
    assert_eq!(chunks.len(), 2, "two partial chunks of 10");
    assert!(chunks.iter().all(|c| c.len() == 10));
    // Each partial chunk carries the priority on its chunk root.
    for c in &chunks {
        assert_eq!(c[0].metrics.get("_sampling_priority_v1"), Some(&1.0));
        assert_eq!(
            c[0].meta.get("language"),
            None,
            "the local root is not there"
        );
    }
    drop(root);
    let chunks = collector.chunks();
    assert_eq!(chunks.len(), 3);
    assert_eq!(chunks[2].len(), 6, "the last 5 items and the root");
    assert_eq!(chunks[2][0].name, "long.running");
    assert_eq!(collector.spans().len(), 26);
}

/// Without partial flush a trace is sent whole, however big.
#[test]
fn no_partial_flush_sends_whole_trace() {
    let (tracer, collector) = tracer_with(Config::builder().partial_flush(false));
    {
        let _root = tracer.trace("root");
        for _ in 0..500 {
            let _s = tracer.trace("item");
        }
        assert!(collector.chunks().is_empty());
    }
    let chunks = collector.chunks();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].len(), 501);
}

/// A span that is never finished (leaked) cannot hold its trace's finished spans forever: they
/// are sent when its buffer reaches the partial-flush threshold, and what remains of a trace
/// whose spans were dropped unfinished is sent and counted.
#[test]
fn never_finished_spans_are_bounded_and_counted() {
    let (tracer, collector) = tracer_with(
        Config::builder()
            .partial_flush(true)
            .partial_flush_min_spans(50),
    );
    let leaked = tracer.span("leaked").start();
    let ctx = leaked.context().unwrap();
    std::mem::forget(leaked);
    for _ in 0..120 {
        let _s = tracer.span("child").child_of(&ctx).enter();
    }
    // 100 sent in two partial chunks, 20 held (below the threshold).
    assert_eq!(collector.spans().len(), 100);

    // A guard leaked on a thread that then exits: its span can never finish. When the thread's
    // stack goes, the trace notices, sends the span that did finish and counts the other.
    collector.clear();
    let t = tracer.clone();
    std::thread::spawn(move || {
        let root = t.trace("thread.root");
        drop(t.trace("done"));
        std::mem::forget(root);
    })
    .join()
    .unwrap();
    let spans = collector.spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "done");
    assert_eq!(tracer.unfinished_spans(), 1);
}

/// An exporter that hands back span buffers (as the agent writer does) gets them filled: the
/// chunk arrives in the very allocation it offered, so no buffer is freed across threads.
#[test]
fn buffers_an_exporter_hands_back_are_filled_with_the_next_chunks() {
    use std::sync::Mutex;

    use ddtrace_core::{Exporter, SpanData, TraceChunk, Tracer};

    #[derive(Default)]
    struct Shared {
        offered: Mutex<Vec<Vec<SpanData>>>,
        received: Mutex<Vec<TraceChunk>>,
    }
    struct Recycling(Arc<Shared>);
    impl Exporter for Recycling {
        fn export(&self, chunk: TraceChunk) {
            self.0.received.lock().unwrap().push(chunk);
        }
        fn reuse_buffer(&self) -> Option<Vec<SpanData>> {
            self.0.offered.lock().unwrap().pop()
        }
    }

    let exporter = Arc::new(Shared::default());
    // Handed back with their old spans still in them (the agent writer does that, so the
    // application thread frees them): none may reach a new chunk.
    let buffers: Vec<Vec<SpanData>> = (0..2)
        .map(|_| {
            let mut b = Vec::with_capacity(2);
            b.push(SpanData {
                name: "stale".into(),
                ..SpanData::default()
            });
            b
        })
        .collect();
    let addresses: Vec<*const SpanData> = buffers.iter().map(|b| b.as_ptr()).collect();
    *exporter.offered.lock().unwrap() = buffers;
    let tracer = Tracer::with_exporter(Config::builder().build(), Recycling(Arc::clone(&exporter)));
    for name in ["first", "second", "third"] {
        let _root = tracer.trace(name);
        let _child = tracer.trace("child");
    }
    let received = exporter.received.lock().unwrap();
    assert_eq!(received.len(), 3);
    let names: Vec<Vec<&str>> = received
        .iter()
        .map(|c| c.spans.iter().map(|s| &*s.name).collect())
        .collect();
    assert_eq!(
        names,
        // Spans started active on one thread keep their start order.
        [["first", "child"], ["second", "child"], ["third", "child"]]
    );
    // Offered last-in first-out; the third trace had none left and allocated its own.
    assert_eq!(received[0].spans.as_ptr(), addresses[1]);
    assert_eq!(received[1].spans.as_ptr(), addresses[0]);
    assert!(!addresses.contains(&received[2].spans.as_ptr()));
}

/// Spans started active on one thread share their trace's buffer: a partial flush takes the
/// finished ones out from between open ones, and the open ones keep their own data (a tag set
/// after the flush lands on the right span, nothing is sent twice or lost).
#[test]
fn partial_flush_between_open_spans_keeps_each_open_span_its_data() {
    let (tracer, collector) = flushing_at(3);
    let root = tracer.trace("root");
    drop(tracer.trace("early"));
    let outer = tracer.trace("outer");
    drop(tracer.trace("middle"));
    let inner = tracer.trace("inner");
    drop(tracer.trace("last")); // the third finished span: early, middle and last go now
    let chunks = collector.chunks();
    assert_eq!(chunks.len(), 1);
    let mut names: Vec<&str> = chunks[0].iter().map(|s| &*s.name).collect();
    names.sort_unstable();
    assert_eq!(names, ["early", "last", "middle"]);

    inner.set_tag("which", "inner");
    outer.set_tag("which", "outer");
    root.set_tag("which", "root");
    let after = tracer.trace("after.flush");
    after.set_tag("which", "after");
    drop(after);
    drop(outer); // out of order: inner is still open
    drop(inner);
    drop(root);

    let spans = collector.spans();
    assert_eq!(spans.len(), 7);
    for (name, tag) in [
        ("root", "root"),
        ("outer", "outer"),
        ("inner", "inner"),
        ("after.flush", "after"),
    ] {
        assert_eq!(
            by_name(&spans, name).meta.get("which").map(|v| &**v),
            Some(tag),
            "{name}"
        );
    }
    assert_eq!(
        by_name(&spans, "inner").parent_id,
        by_name(&spans, "outer").span_id
    );
    assert_eq!(
        by_name(&spans, "after.flush").parent_id,
        by_name(&spans, "inner").span_id
    );
    // after.flush, outer and inner make a second early batch; the root alone ends the trace.
    let sizes: Vec<usize> = collector.chunks().iter().map(Vec::len).collect();
    assert_eq!(sizes, [3, 3, 1]);
}

/// A trace whose local root finished on one thread while a child is still open there and
/// another runs on a second thread: the root's tags set from the second thread after the root
/// finished still reach it, and the trace is sent once, when its last span finishes.
#[test]
fn a_finished_root_waiting_in_its_thread_buffer_still_takes_late_changes() {
    let (tracer, collector) = tracer_with(Config::builder());
    let root = tracer.trace("root");
    let child = tracer.trace("child");
    let ctx = tracer.current_context().unwrap();
    let root_handle = ddtrace_core::current_root_span().unwrap();
    let barrier = Arc::new(Barrier::new(2));
    let (t, b) = (tracer.clone(), Arc::clone(&barrier));
    let worker = std::thread::spawn(move || {
        let remote = t.span("worker").child_of(&ctx).start();
        b.wait(); // the root finishes on the first thread
        b.wait();
        root_handle.set_tag("late", "from.worker");
        drop(remote);
    });
    barrier.wait();
    drop(root); // out of order: child is still open, so the root waits in this thread's buffer
    barrier.wait();
    worker.join().unwrap();
    assert!(collector.chunks().is_empty(), "child is still open");
    drop(child);
    let chunks = collector.chunks();
    assert_eq!(chunks.len(), 1);
    let spans = &chunks[0];
    assert_eq!(spans.len(), 3);
    assert_eq!(
        by_name(spans, "root").meta.get("late").map(|v| &**v),
        Some("from.worker")
    );
    assert_eq!(
        by_name(spans, "worker").parent_id,
        by_name(spans, "child").span_id
    );
}

/// `trace(name)` (the tracer's and the process-wide one) under each kind of active entry: a
/// guard, an entered owned span, an attached local context, an attached remote context, a
/// shared span, and nothing; each span lands under the parent it should, with its trace.
#[test]
fn trace_by_name_finds_its_parent_under_every_kind_of_active_entry() {
    let (tracer, collector) = tracer_with(Config::builder().service("svc"));
    let remote = ddtrace_core::SpanContext::remote(ddtrace_core::RemoteContext {
        trace_id: ddtrace_core::TraceId::from_parts(0, 77),
        span_id: 88,
        ..Default::default()
    });
    {
        let _alone = tracer.trace("alone");
    }
    {
        let _guard = tracer.trace("guard");
        let _under_guard = tracer.trace("under_guard");
        // The process-wide entry point joins the active trace too (no global tracer needed).
        drop(ddtrace_core::trace("global_under_under_guard"));
    }
    {
        let mut owned = tracer.span("owned").start();
        owned.in_scope(|| drop(tracer.trace("under_owned")));
        let ctx = owned.context().unwrap();
        owned.finish();
        let _attached = ctx.attach();
        drop(tracer.trace("under_local_context"));
    }
    {
        let _attached = remote.attach();
        drop(tracer.trace("under_remote_context"));
    }
    {
        let shared = tracer.span("shared").start().into_shared();
        let scope = shared.activate();
        drop(tracer.trace("under_shared"));
        drop(scope);
        shared.finish();
    }
    let spans = collector.spans();
    let span = |name| by_name(&spans, name);
    assert_eq!(span("alone").parent_id, 0);
    for (child, parent) in [
        ("under_guard", "guard"),
        ("global_under_under_guard", "under_guard"),
        ("under_owned", "owned"),
        ("under_local_context", "owned"),
        ("under_shared", "shared"),
    ] {
        assert_eq!(span(child).parent_id, span(parent).span_id, "{child}");
        assert_eq!(span(child).trace_id, span(parent).trace_id, "{child}");
        assert_eq!(span(child).service, "svc", "{child}");
    }
    // A remote parent: the span is the local root of the upstream trace.
    let continued = span("under_remote_context");
    assert_eq!((continued.trace_id.low(), continued.parent_id), (77, 88));
    assert_eq!(spans.len(), 10);
}

/// A span leaked on a thread that has exited is counted unfinished when the trace ends on
/// another thread, whichever thread lets go of the trace last.
#[test]
fn a_span_leaked_on_an_exited_thread_is_counted_when_the_trace_ends() {
    let (tracer, collector) = tracer_with(Config::builder());
    let root = tracer.trace("root");
    let worker = std::thread::spawn(ddtrace_core::with_current_context({
        let tracer = tracer.clone();
        move || {
            drop(tracer.trace("finished.there"));
            std::mem::forget(tracer.trace("leaked.there"));
        }
    }));
    worker.join().unwrap();
    drop(root);
    assert_eq!(tracer.unfinished_spans(), 1);
    let spans = collector.spans();
    let mut names: Vec<&str> = spans.iter().map(|s| &*s.name).collect();
    names.sort_unstable();
    assert_eq!(names, ["finished.there", "root"]);
}
