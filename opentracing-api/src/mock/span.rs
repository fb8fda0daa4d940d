//! The `MockTracer`'s spans and span contexts.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use super::{MockSpanRecord, Shared};
use crate::{BaggageItems, LogField, LogRecord, Span, SpanContext, StartSpanOptions, TagValue};

/// The span context of a [`MockTracer`](super::MockTracer): `u64` identifiers and a sorted
/// baggage map.
///
/// The fields are public so tests can build contexts and compare them. The
/// [`SpanContext`] methods [`trace_id`](SpanContext::trace_id) and
/// [`span_id`](SpanContext::span_id) return the identifiers in decimal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MockSpanContext {
    /// The trace id.
    pub trace_id: u64,
    /// The span id.
    pub span_id: u64,
    /// The baggage items.
    pub baggage: BTreeMap<String, String>,
}

impl SpanContext for MockSpanContext {
    fn trace_id(&self) -> String {
        self.trace_id.to_string()
    }

    fn span_id(&self) -> String {
        self.span_id.to_string()
    }

    fn baggage_items(&self) -> BaggageItems<'_> {
        BaggageItems::new(self.baggage.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    fn baggage_item(&self, key: &str) -> Option<&str> {
        self.baggage.get(key).map(String::as_str)
    }
}

/// A span of a [`MockTracer`](super::MockTracer). Recorded when finished, or when dropped
/// unfinished.
#[derive(Debug)]
pub struct MockSpan {
    shared: Arc<Shared>,
    operation_name: Cow<'static, str>,
    context: MockSpanContext,
    parent_id: Option<u64>,
    references: Vec<crate::Reference<MockSpanContext>>,
    start_time: SystemTime,
    tags: BTreeMap<Cow<'static, str>, TagValue>,
    logs: Vec<LogRecord>,
    finished: bool,
}

impl MockSpan {
    pub(super) fn new(
        shared: Arc<Shared>,
        context: MockSpanContext,
        parent_id: Option<u64>,
        options: StartSpanOptions<MockSpanContext>,
    ) -> Self {
        MockSpan {
            shared,
            operation_name: options.operation_name,
            context,
            parent_id,
            references: options.references,
            start_time: options.start_time.unwrap_or_else(SystemTime::now),
            tags: options.tags.into_iter().collect(),
            logs: Vec::new(),
            finished: false,
        }
    }

    /// The current operation name.
    pub fn operation_name(&self) -> &str {
        &self.operation_name
    }

    /// The value of tag `key`, as set so far.
    pub fn tag(&self, key: &str) -> Option<&TagValue> {
        self.tags.get(key)
    }

    fn record(&mut self, finish_time: SystemTime) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.shared.record(MockSpanRecord {
            operation_name: std::mem::take(&mut self.operation_name),
            context: std::mem::take(&mut self.context),
            parent_id: self.parent_id,
            references: std::mem::take(&mut self.references),
            start_time: self.start_time,
            finish_time,
            tags: std::mem::take(&mut self.tags),
            logs: std::mem::take(&mut self.logs),
        });
    }
}

impl Span for MockSpan {
    type Context = MockSpanContext;

    fn context(&self) -> &MockSpanContext {
        &self.context
    }

    fn set_operation_name(&mut self, name: impl Into<Cow<'static, str>>) {
        self.operation_name = name.into();
    }

    fn set_tag(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<TagValue>) {
        self.tags.insert(key.into(), value.into());
    }

    fn log_fields(&mut self, timestamp: Option<SystemTime>, fields: Vec<LogField>) {
        self.logs.push(LogRecord {
            timestamp: timestamp.unwrap_or_else(SystemTime::now),
            fields,
        });
    }

    fn set_baggage_item(&mut self, key: &str, value: &str) {
        self.context
            .baggage
            .insert(key.to_string(), value.to_string());
    }

    fn finish_at(mut self, finish_time: SystemTime) {
        self.record(finish_time);
    }
}

/// A span dropped unfinished is recorded, finished at the time it is dropped.
impl Drop for MockSpan {
    fn drop(&mut self) {
        self.record(SystemTime::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MockTracer, Tracer};

    #[test]
    fn context_formats_ids_in_decimal() {
        let ctx = MockSpanContext {
            trace_id: 12,
            span_id: 345,
            baggage: BTreeMap::from([("b".into(), "2".into()), ("a".into(), "1".into())]),
        };
        assert_eq!(ctx.trace_id(), "12");
        assert_eq!(ctx.span_id(), "345");
        assert_eq!(
            ctx.baggage_items().collect::<Vec<_>>(),
            [("a", "1"), ("b", "2")]
        );
        assert_eq!(ctx.baggage_item("b"), Some("2"));
        assert_eq!(ctx.baggage_item("c"), None);
    }

    #[test]
    fn live_span_accessors() {
        let tracer = MockTracer::new();
        let mut span = tracer.span_builder("a").with_tag("k", 1_u8).start();
        span.set_operation_name("b");
        assert_eq!(span.operation_name(), "b");
        assert_eq!(span.tag("k"), Some(&TagValue::U64(1)));
        assert_eq!(span.tag("missing"), None);
    }

    #[test]
    fn finishing_records_once() {
        let tracer = MockTracer::new();
        let span = tracer.start_span("a");
        span.finish();
        assert_eq!(tracer.finished_spans().len(), 1);
    }
}
