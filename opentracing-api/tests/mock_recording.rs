//! What the `MockTracer` records: names, typed tags, logs with timestamps, references,
//! baggage, explicit start / finish times, and spans finished by being dropped.
#![cfg(feature = "mock")]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use opentracing_api::{
    LogField, LogRecord, MockTracer, Reference, Span, SpanContext, TagValue, Tracer, log_fields,
    tags,
};

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn every_typed_tag_value_is_recorded() {
    let tracer = MockTracer::new();
    let mut span = tracer
        .span_builder("tagged")
        .with_tag(tags::COMPONENT, "db-client")
        .with_tag("initial", 1_u8)
        .start();
    span.set_tag(tags::ERROR, true);
    span.set_tag("i8", -8_i8);
    span.set_tag("i16", -16_i16);
    span.set_tag("i32", -32_i32);
    span.set_tag("i64", i64::MIN);
    span.set_tag("isize", -1_isize);
    span.set_tag("u8", 8_u8);
    span.set_tag("u16", 16_u16);
    span.set_tag("u32", 32_u32);
    span.set_tag("u64", u64::MAX);
    span.set_tag("usize", 7_usize);
    span.set_tag("f32", 0.5_f32);
    span.set_tag("f64", -2.25_f64);
    span.set_tag("static str", "s");
    span.set_tag("string", String::from("owned"));
    span.set_tag(String::from("owned key"), Cow::Borrowed("cow"));
    span.set_tag("initial", 2_u8); // replaces the initial value
    span.finish();

    let record = tracer.finished_spans().remove(0);
    let expected: BTreeMap<Cow<'static, str>, TagValue> = [
        ("component", TagValue::String("db-client".into())),
        ("initial", TagValue::U64(2)),
        ("error", TagValue::Bool(true)),
        ("i8", TagValue::I64(-8)),
        ("i16", TagValue::I64(-16)),
        ("i32", TagValue::I64(-32)),
        ("i64", TagValue::I64(i64::MIN)),
        ("isize", TagValue::I64(-1)),
        ("u8", TagValue::U64(8)),
        ("u16", TagValue::U64(16)),
        ("u32", TagValue::U64(32)),
        ("u64", TagValue::U64(u64::MAX)),
        ("usize", TagValue::U64(7)),
        ("f32", TagValue::F64(0.5)),
        ("f64", TagValue::F64(-2.25)),
        ("static str", TagValue::String("s".into())),
        ("string", TagValue::String("owned".into())),
        ("owned key", TagValue::String("cow".into())),
    ]
    .into_iter()
    .map(|(k, v)| (Cow::Borrowed(k), v))
    .collect();
    assert_eq!(record.tags, expected);
    assert_eq!(record.tag(tags::ERROR), Some(&TagValue::Bool(true)));
}

#[test]
fn logs_are_recorded_with_their_timestamps() {
    let tracer = MockTracer::new();
    let mut span = tracer.start_span("logged");
    span.log_at(
        at(100),
        [
            LogField::new(log_fields::EVENT, "error"),
            LogField::new(log_fields::ERROR_KIND, "Timeout"),
            LogField::new("attempt", 3_u32),
        ],
    );
    let before = SystemTime::now();
    span.log([(log_fields::MESSAGE, "retrying")]);
    span.log_event("done");
    let after = SystemTime::now();
    span.finish();

    let logs = tracer.finished_spans().remove(0).logs;
    assert_eq!(logs.len(), 3);
    assert_eq!(
        logs[0],
        LogRecord {
            timestamp: at(100),
            fields: vec![
                LogField::new("event", "error"),
                LogField::new("error.kind", "Timeout"),
                LogField::new("attempt", TagValue::U64(3)),
            ],
        }
    );
    assert_eq!(logs[1].fields, [LogField::new("message", "retrying")]);
    assert_eq!(logs[2].fields, [LogField::new("event", "done")]);
    for log in &logs[1..] {
        assert!(before <= log.timestamp && log.timestamp <= after, "{log:?}");
    }
}

#[test]
fn explicit_start_and_finish_times_are_recorded() {
    let tracer = MockTracer::new();
    tracer
        .span_builder("timed")
        .with_start_time(at(10))
        .start()
        .finish_at(at(12));
    let record = tracer.finished_spans().remove(0);
    assert_eq!(record.start_time, at(10));
    assert_eq!(record.finish_time, at(12));
    assert_eq!(record.duration(), Duration::from_secs(2));
}

#[test]
fn implicit_times_are_now() {
    let tracer = MockTracer::new();
    let before = SystemTime::now();
    tracer.start_span("now").finish();
    let after = SystemTime::now();
    let record = tracer.finished_spans().remove(0);
    assert!(before <= record.start_time);
    assert!(record.start_time <= record.finish_time);
    assert!(record.finish_time <= after);
}

#[test]
fn a_dropped_span_is_finished() {
    let tracer = MockTracer::new();
    let before = SystemTime::now();
    {
        let mut span = tracer.start_span("dropped");
        span.set_tag("k", "v");
        assert!(tracer.finished_spans().is_empty());
    }
    let after = SystemTime::now();
    let spans = tracer.finished_spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].operation_name, "dropped");
    assert_eq!(spans[0].tag("k"), Some(&TagValue::from("v")));
    assert!(before <= spans[0].finish_time && spans[0].finish_time <= after);
}

#[test]
fn a_span_finished_early_by_an_error_path_is_recorded_once() {
    fn fallible(tracer: &MockTracer, fail: bool) -> Result<(), &'static str> {
        let mut span = tracer.start_span("fallible");
        if fail {
            span.set_tag(tags::ERROR, true);
            return Err("boom");
        }
        span.finish();
        Ok(())
    }
    let tracer = MockTracer::new();
    assert_eq!(fallible(&tracer, true), Err("boom"));
    assert_eq!(fallible(&tracer, false), Ok(()));
    let spans = tracer.finished_spans();
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0].tag(tags::ERROR), Some(&TagValue::Bool(true)));
    assert_eq!(spans[1].tag(tags::ERROR), None);
}

#[test]
fn names_references_and_baggage_are_recorded() {
    let tracer = MockTracer::new();
    let mut parent = tracer.start_span("parent");
    parent.set_baggage_item("request", "r-1");
    let mut child = tracer
        .span_builder("first name")
        .child_of(parent.context())
        .start();
    child.set_operation_name("renamed");
    child.set_baggage_item("step", "2");
    assert_eq!(child.baggage_item("request"), Some("r-1"));
    assert_eq!(child.baggage_item("step"), Some("2"));
    assert_eq!(
        child.context().baggage_items().collect::<Vec<_>>(),
        [("request", "r-1"), ("step", "2")]
    );
    assert_eq!(child.context().trace_id(), "1");
    assert_eq!(child.context().span_id(), "2");
    let parent_context = parent.context().clone();
    child.finish();
    parent.finish();

    let spans = tracer.finished_spans();
    assert_eq!(spans[0].operation_name, "renamed");
    assert_eq!(spans[0].references, [Reference::ChildOf(parent_context)]);
    assert_eq!(spans[0].baggage_item("request"), Some("r-1"));
    assert_eq!(spans[0].baggage_item("step"), Some("2"));
    // Baggage flows to children, not back to the parent.
    assert_eq!(spans[1].baggage_item("step"), None);
    assert_eq!(
        spans[1].context.baggage,
        BTreeMap::from([("request".to_string(), "r-1".to_string())])
    );
}

#[test]
fn spans_are_recorded_in_finishing_order_from_any_thread() {
    let tracer = MockTracer::new();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let tracer = tracer.clone();
            std::thread::spawn(move || {
                let mut span = tracer.start_span("worker");
                span.set_tag("i", i as u64);
                span.finish();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut ids: Vec<_> = tracer
        .finished_spans()
        .iter()
        .map(|s| s.span_id())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3, 4]);
    let mut is: Vec<_> = tracer
        .finished_spans()
        .iter()
        .map(|s| s.tag("i").and_then(TagValue::as_u64))
        .collect();
    is.sort_unstable();
    assert_eq!(is, [Some(0), Some(1), Some(2), Some(3)]);
}
