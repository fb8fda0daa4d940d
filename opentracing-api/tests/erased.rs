//! The erased layer: `BoxedTracer` over a concrete tracer records exactly what the tracer
//! does, and generic instrumentation runs unchanged on both.
#![cfg(feature = "mock")]

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use opentracing_api::{
    BoxedSpan, BoxedTracer, HttpHeaders, InjectError, LogField, MockSpan, MockSpanContext,
    MockTracer, NoopTracer, Reference, Span, TagValue, TextMap, Tracer,
};

/// Instrumentation written once, generic over the tracer.
fn instrumented<T: Tracer>(tracer: &T) {
    let mut root = tracer.start_span("root");
    root.set_tag("static", true);
    let _scope = tracer.activate(&root);
    let mut child = tracer.start_span("child");
    child.log([("event", "work")]);
    child.finish_at(SystemTime::UNIX_EPOCH + Duration::from_secs(5));
}

fn shape(tracer: &MockTracer) -> Vec<(String, u64, Option<u64>)> {
    tracer
        .finished_spans()
        .iter()
        .map(|s| (s.operation_name.to_string(), s.span_id(), s.parent_id))
        .collect()
}

#[test]
fn generic_code_records_the_same_through_both_layers() {
    let direct = MockTracer::new();
    instrumented(&direct);
    let erased = MockTracer::new();
    instrumented(&BoxedTracer::new(erased.clone()));
    let expected = [
        ("child".to_string(), 2, Some(1)),
        ("root".to_string(), 1, None),
    ];
    assert_eq!(shape(&direct), expected);
    assert_eq!(shape(&erased), expected);
    let spans = erased.finished_spans();
    assert_eq!(
        spans[0].finish_time,
        SystemTime::UNIX_EPOCH + Duration::from_secs(5)
    );
    assert_eq!(spans[0].logs[0].fields, [LogField::new("event", "work")]);
    assert_eq!(spans[1].tag("static"), Some(&TagValue::Bool(true)));
}

#[test]
fn boxed_spans_forward_every_operation() {
    let mock = MockTracer::new();
    let tracer = BoxedTracer::new(mock.clone());
    let mut span: BoxedSpan = tracer
        .span_builder("first")
        .with_start_time(SystemTime::UNIX_EPOCH)
        .with_tag("initial", -1_i32)
        .start();
    span.set_operation_name("second");
    span.set_tag("k", 2.5_f64);
    span.log_at(SystemTime::UNIX_EPOCH, [("event", "a")]);
    span.log_event("b");
    span.set_baggage_item("bag", "gage");
    assert_eq!(span.baggage_item("bag"), Some("gage"));
    assert_eq!(span.context().baggage_item("bag"), Some("gage"));
    assert_eq!(span.context().trace_id(), "1");
    assert_eq!(span.context().span_id(), "1");
    assert_eq!(
        span.downcast_ref::<MockSpan>()
            .map(MockSpan::operation_name),
        Some("second")
    );
    span.finish_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1));

    let record = mock.finished_spans().remove(0);
    assert_eq!(record.operation_name, "second");
    assert_eq!(record.tag("initial"), Some(&TagValue::I64(-1)));
    assert_eq!(record.tag("k"), Some(&TagValue::F64(2.5)));
    assert_eq!(record.logs.len(), 2);
    assert_eq!(record.logs[0].timestamp, SystemTime::UNIX_EPOCH);
    assert_eq!(record.logs[1].fields, [LogField::new("event", "b")]);
    assert_eq!(record.baggage_item("bag"), Some("gage"));
    assert_eq!(record.start_time, SystemTime::UNIX_EPOCH);
    assert_eq!(record.duration(), Duration::from_secs(1));
}

#[test]
fn boxed_references_reach_the_tracer_as_its_own_contexts() {
    let mock = MockTracer::new();
    let tracer = BoxedTracer::new(mock.clone());
    let parent = tracer.start_span("parent");
    tracer
        .span_builder("follower")
        .follows_from(parent.context())
        .start()
        .finish();
    assert_eq!(
        mock.finished_spans()[0].references,
        [Reference::FollowsFrom(MockSpanContext {
            trace_id: 1,
            span_id: 1,
            baggage: Default::default(),
        })]
    );
}

#[test]
fn another_tracer_types_context_is_ignored_as_a_reference_and_rejected_by_inject() {
    let old = BoxedTracer::new(NoopTracer::new());
    let new_mock = MockTracer::new();
    let new = BoxedTracer::new(new_mock.clone());
    let old_span = old.start_span("old");

    new.span_builder("new")
        .child_of(old_span.context())
        .start()
        .finish();
    assert_eq!(new_mock.finished_spans()[0].references, []);
    assert_eq!(new_mock.finished_spans()[0].parent_id, None);

    let mut carrier: HashMap<String, String> = HashMap::new();
    assert_eq!(
        new.inject(old_span.context(), TextMap, &mut carrier),
        Err(InjectError::InvalidSpanContext)
    );
    // Activating another tracer's span activates nothing.
    let _scope = new.activate(&old_span);
    assert!(new.active_span_context().is_none());
}

#[test]
fn boxed_inject_and_extract_round_trip() {
    let tracer = BoxedTracer::new(MockTracer::new());
    let mut span = tracer.start_span("s");
    span.set_baggage_item("k", "v");
    let mut headers: HashMap<String, String> = HashMap::new();
    tracer
        .inject(span.context(), HttpHeaders, &mut headers)
        .unwrap();
    let extracted = tracer.extract(HttpHeaders, &headers).unwrap();
    assert_eq!(
        extracted.downcast_ref::<MockSpanContext>(),
        Some(span.context().downcast_ref::<MockSpanContext>().unwrap())
    );
    assert_eq!(extracted.baggage_items().collect::<Vec<_>>(), [("k", "v")]);
}
