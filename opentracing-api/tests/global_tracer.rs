//! The global tracer: no-op by default, set, replaced, used from many threads. Global state:
//! this file runs in its own process, and as one test so the phases run in order.
#![cfg(feature = "mock")]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

use opentracing_api::{
    ExtractCarrier, ExtractError, InjectCarrier, InjectError, MockTracer, NoopTracer, Scope,
    StartSpanOptions, TextMap, Tracer, global_tracer, is_global_tracer_registered,
    set_global_tracer,
};

fn names(tracer: &MockTracer) -> Vec<String> {
    tracer
        .finished_spans()
        .iter()
        .map(|s| s.operation_name.to_string())
        .collect()
}

#[test]
fn default_set_replace_and_threads() {
    // 1. Until set, the global tracer is the no-op tracer.
    assert!(!is_global_tracer_registered());
    let default = global_tracer();
    assert!(default.downcast_ref::<NoopTracer>().is_some());
    let mut span = global_tracer().start_span("op");
    span.set_tag("k", "v");
    assert_eq!(span.context().span_id(), "");
    span.finish();
    let empty: HashMap<String, String> = HashMap::new();
    assert_eq!(
        global_tracer().extract(TextMap, &empty).unwrap_err(),
        ExtractError::SpanContextNotFound
    );

    // 2. Setting it: spans go to the new tracer, from any thread.
    let first = MockTracer::new();
    assert!(set_global_tracer(first.clone()).is_none());
    assert!(is_global_tracer_registered());
    global_tracer().start_span("main thread").finish();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| global_tracer().start_span("worker").finish());
        }
    });
    assert_eq!(
        names(&first),
        ["main thread", "worker", "worker", "worker", "worker"]
    );

    // 3. Setting it again replaces it and returns the old one; handles taken before keep
    //    the old tracer, spans started before stay with it.
    let old_handle = global_tracer();
    let started_before = global_tracer().start_span("started before");
    let second = MockTracer::new();
    let previous = set_global_tracer(second.clone()).unwrap();
    assert!(previous.downcast_ref::<MockTracer>().is_some());
    global_tracer().start_span("after replace").finish();
    old_handle.start_span("old handle").finish();
    started_before.finish();
    assert_eq!(names(&second), ["after replace"]);
    assert_eq!(
        names(&first)[5..],
        ["old handle".to_string(), "started before".to_string()]
    );

    // A context made by the no-op tracer we started with is not a MockTracer context.
    let stale = default.start_span("stale");
    let mut carrier: HashMap<String, String> = HashMap::new();
    assert_eq!(
        global_tracer().inject(stale.context(), TextMap, &mut carrier),
        Err(InjectError::InvalidSpanContext)
    );
    assert!(carrier.is_empty());
    drop(stale);

    // 4. Replacing it while other threads use it: every span lands in one of the two
    //    tracers, none is lost.
    let third = MockTracer::new();
    let barrier = Arc::new(Barrier::new(5));
    std::thread::scope(|s| {
        for _ in 0..4 {
            let barrier = Arc::clone(&barrier);
            s.spawn(move || {
                barrier.wait();
                for _ in 0..100 {
                    global_tracer().start_span("racing").finish();
                }
            });
        }
        barrier.wait();
        set_global_tracer(third.clone());
    });
    let racing = |t: &MockTracer| names(t).iter().filter(|n| *n == "racing").count();
    assert_eq!(racing(&second) + racing(&third), 400);
    assert!(global_tracer().downcast_ref::<MockTracer>().is_some());

    // 5. Each thread keeps the tracer it last read, checked against a count of replacements:
    //    a thread that read the tracer sees its replacement at once, and an idle thread that
    //    read it does not keep a replaced tracer alive.
    let dropped = Arc::new(AtomicBool::new(false));
    set_global_tracer(Watched {
        noop: NoopTracer::new(),
        dropped: Arc::clone(&dropped),
    });
    let (read, replaced) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let idle = {
        let (read, replaced) = (Arc::clone(&read), Arc::clone(&replaced));
        std::thread::spawn(move || {
            global_tracer().start_span("cached").finish();
            assert!(global_tracer().downcast_ref::<Watched>().is_some());
            read.wait();
            replaced.wait();
            // Read again after the replacement: the new tracer.
            global_tracer().downcast_ref::<MockTracer>().is_some()
        })
    };
    read.wait();
    assert!(global_tracer().downcast_ref::<Watched>().is_some());
    let fourth = MockTracer::new();
    drop(set_global_tracer(fourth.clone()));
    assert!(
        dropped.load(Ordering::SeqCst),
        "the idle thread's cache kept the replaced tracer alive"
    );
    replaced.wait();
    assert!(idle.join().unwrap(), "a thread saw the replaced tracer");
    global_tracer().start_span("fourth").finish();
    assert_eq!(names(&fourth), ["fourth"]);
}

/// A no-op tracer that says when it is dropped.
struct Watched {
    noop: NoopTracer,
    dropped: Arc<AtomicBool>,
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

impl Tracer for Watched {
    type SpanContext = <NoopTracer as Tracer>::SpanContext;
    type Span = <NoopTracer as Tracer>::Span;

    fn start_span_with_options(&self, options: StartSpanOptions<Self::SpanContext>) -> Self::Span {
        self.noop.start_span_with_options(options)
    }

    fn inject_context(
        &self,
        context: &Self::SpanContext,
        carrier: InjectCarrier<'_>,
    ) -> Result<(), InjectError> {
        self.noop.inject_context(context, carrier)
    }

    fn extract_context(
        &self,
        carrier: ExtractCarrier<'_>,
    ) -> Result<Self::SpanContext, ExtractError> {
        self.noop.extract_context(carrier)
    }

    fn activate(&self, span: &Self::Span) -> Scope {
        self.noop.activate(span)
    }

    fn active_span_context(&self) -> Option<Self::SpanContext> {
        self.noop.active_span_context()
    }
}
