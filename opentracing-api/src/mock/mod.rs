//! The `MockTracer`: a tracer that records finished spans, for testing instrumentation.

mod propagation;
mod span;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

pub use span::{MockSpan, MockSpanContext};

use crate::{
    ExtractCarrier, ExtractError, InjectCarrier, InjectError, LogRecord, Reference, Scope, Span,
    StartSpanOptions, TagValue, ThreadLocalScopeManager, Tracer,
};

/// A tracer that records every finished span in memory, so tests can assert on what
/// instrumented code did. Enabled by the `mock` feature.
///
/// * Span and trace identifiers are `u64` counters, each starting at 1 per tracer: the
///   first trace is trace 1, the first span is span 1.
/// * A span's trace is its first reference's trace (or a new one); its
///   [`parent_id`](MockSpanRecord::parent_id) is its first reference's span; its baggage is
///   the union of its references' baggage.
/// * Finished spans are recorded in finishing order; [`finished_spans`](Self::finished_spans)
///   returns them and [`clear`](Self::clear) forgets them. A span dropped unfinished is
///   recorded when dropped.
/// * [`inject`](Tracer::inject) / [`extract`](Tracer::extract) support all three formats:
///
/// | format | encoding |
/// |---|---|
/// | `TextMap` | keys [`TRACE_ID_KEY`](Self::TRACE_ID_KEY) and [`SPAN_ID_KEY`](Self::SPAN_ID_KEY) (decimal), and [`BAGGAGE_KEY_PREFIX`](Self::BAGGAGE_KEY_PREFIX)`<key>` per baggage item; keys compared exactly |
/// | `HttpHeaders` | the same keys, compared ignoring case; baggage values percent-encoded; baggage keys read back lowercase (header names are case-insensitive) |
/// | `Binary` | version byte `1`, trace id and span id (big-endian `u64`), baggage count (big-endian `u32`), then each key and value as a big-endian `u32` length and UTF-8 bytes |
///
/// Cloning a `MockTracer` is cheap; clones share the recorded spans and the active span.
///
/// # Examples
///
/// ```
/// use opentracing_api::{MockTracer, Reference, Span, TagValue, Tracer};
///
/// let tracer = MockTracer::new();
/// let mut parent = tracer.start_span("parent");
/// parent.set_tag("user", "ada");
/// let child = tracer.span_builder("child").child_of(parent.context()).start();
/// child.finish();
/// parent.finish();
///
/// let spans = tracer.finished_spans();
/// assert_eq!(spans.len(), 2);
/// assert_eq!(spans[0].operation_name, "child");
/// assert_eq!(spans[0].parent_id, Some(1));
/// assert_eq!(spans[0].references, [Reference::ChildOf(spans[1].context.clone())]);
/// assert_eq!(spans[1].tag("user"), Some(&TagValue::from("ada")));
/// ```
#[derive(Debug, Clone, Default)]
pub struct MockTracer {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    last_trace_id: AtomicU64,
    last_span_id: AtomicU64,
    finished: Mutex<Vec<MockSpanRecord>>,
    scopes: ThreadLocalScopeManager<MockSpanContext>,
}

impl MockTracer {
    /// The text-map / HTTP-header key of the trace id.
    pub const TRACE_ID_KEY: &'static str = "ot-mock-trace-id";
    /// The text-map / HTTP-header key of the span id.
    pub const SPAN_ID_KEY: &'static str = "ot-mock-span-id";
    /// The prefix of the text-map / HTTP-header keys of baggage items.
    pub const BAGGAGE_KEY_PREFIX: &'static str = "ot-mock-baggage-";

    /// A tracer with nothing recorded.
    pub fn new() -> Self {
        MockTracer::default()
    }

    /// The spans finished so far, in finishing order.
    pub fn finished_spans(&self) -> Vec<MockSpanRecord> {
        self.shared.finished().clone()
    }

    /// The spans finished so far, in finishing order, forgetting them.
    pub fn take_finished_spans(&self) -> Vec<MockSpanRecord> {
        std::mem::take(&mut *self.shared.finished())
    }

    /// Forgets the spans finished so far (identifiers keep counting).
    pub fn clear(&self) {
        self.shared.finished().clear();
    }

    fn next_trace_id(&self) -> u64 {
        self.shared.last_trace_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn next_span_id(&self) -> u64 {
        self.shared.last_span_id.fetch_add(1, Ordering::Relaxed) + 1
    }
}

impl Shared {
    fn finished(&self) -> std::sync::MutexGuard<'_, Vec<MockSpanRecord>> {
        self.finished.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, record: MockSpanRecord) {
        self.finished().push(record);
    }
}

/// A finished span as the [`MockTracer`] recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct MockSpanRecord {
    /// The operation name (the last one set).
    pub operation_name: Cow<'static, str>,
    /// The span's context at finish: its identifiers and baggage.
    pub context: MockSpanContext,
    /// The span id of the first reference, if any.
    pub parent_id: Option<u64>,
    /// The references the span was started with, in order.
    pub references: Vec<Reference<MockSpanContext>>,
    /// The start time.
    pub start_time: SystemTime,
    /// The finish time.
    pub finish_time: SystemTime,
    /// The tags (initial and set later; a later value replaces an earlier one).
    pub tags: BTreeMap<Cow<'static, str>, TagValue>,
    /// The logs, in order.
    pub logs: Vec<LogRecord>,
}

impl MockSpanRecord {
    /// The trace id.
    pub fn trace_id(&self) -> u64 {
        self.context.trace_id
    }

    /// The span id.
    pub fn span_id(&self) -> u64 {
        self.context.span_id
    }

    /// The value of tag `key`.
    pub fn tag(&self, key: &str) -> Option<&TagValue> {
        self.tags.get(key)
    }

    /// The value of baggage item `key`.
    pub fn baggage_item(&self, key: &str) -> Option<&str> {
        self.context.baggage.get(key).map(String::as_str)
    }

    /// Finish time minus start time (zero if the clock went backwards).
    pub fn duration(&self) -> Duration {
        self.finish_time
            .duration_since(self.start_time)
            .unwrap_or_default()
    }
}

impl Tracer for MockTracer {
    type SpanContext = MockSpanContext;
    type Span = MockSpan;

    fn start_span_with_options(&self, options: StartSpanOptions<MockSpanContext>) -> MockSpan {
        let first = options.references.first().map(Reference::context);
        let trace_id = match first {
            Some(parent) => parent.trace_id,
            None => self.next_trace_id(),
        };
        let parent_id = first.map(|parent| parent.span_id);
        let mut baggage = BTreeMap::new();
        for reference in &options.references {
            baggage.extend(
                reference
                    .context()
                    .baggage
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
        let context = MockSpanContext {
            trace_id,
            span_id: self.next_span_id(),
            baggage,
        };
        MockSpan::new(Arc::clone(&self.shared), context, parent_id, options)
    }

    fn inject_context(
        &self,
        context: &MockSpanContext,
        carrier: InjectCarrier<'_>,
    ) -> Result<(), InjectError> {
        propagation::inject(context, carrier)
    }

    fn extract_context(
        &self,
        carrier: ExtractCarrier<'_>,
    ) -> Result<MockSpanContext, ExtractError> {
        propagation::extract(carrier)
    }

    fn activate(&self, span: &MockSpan) -> Scope {
        self.shared.scopes.activate(span.context().clone())
    }

    fn active_span_context(&self) -> Option<MockSpanContext> {
        self.shared.scopes.active()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_count_from_one() {
        let tracer = MockTracer::new();
        let a = tracer.start_span("a");
        let b = tracer.span_builder("b").child_of(a.context()).start();
        let c = tracer.start_span("c");
        assert_eq!((a.context().trace_id, a.context().span_id), (1, 1));
        assert_eq!((b.context().trace_id, b.context().span_id), (1, 2));
        assert_eq!((c.context().trace_id, c.context().span_id), (2, 3));
    }

    #[test]
    fn clear_and_take_forget_spans() {
        let tracer = MockTracer::new();
        tracer.start_span("a").finish();
        assert_eq!(tracer.finished_spans().len(), 1);
        tracer.clear();
        assert!(tracer.finished_spans().is_empty());
        tracer.start_span("b").finish();
        let taken = tracer.take_finished_spans();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].operation_name, "b");
        assert_eq!(taken[0].span_id(), 2);
        assert!(tracer.finished_spans().is_empty());
    }

    #[test]
    fn clones_share_records() {
        let tracer = MockTracer::new();
        tracer.clone().start_span("a").finish();
        assert_eq!(tracer.finished_spans()[0].operation_name, "a");
    }

    #[test]
    fn duration_is_finish_minus_start() {
        let tracer = MockTracer::new();
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(10);
        tracer
            .span_builder("a")
            .with_start_time(start)
            .start()
            .finish_at(start + Duration::from_millis(250));
        let record = &tracer.finished_spans()[0];
        assert_eq!(record.duration(), Duration::from_millis(250));
        assert_eq!(record.trace_id(), 1);
    }
}
