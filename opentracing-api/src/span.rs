//! The `Span` trait: one timed operation.

use std::borrow::Cow;
use std::time::SystemTime;

use crate::{LogField, SpanContext, TagValue};

/// A named, timed operation: the building block of a trace.
///
/// A span is started by a [`Tracer`](crate::Tracer), decorated with tags, logs and baggage,
/// and finished once with [`finish`](Span::finish) or [`finish_at`](Span::finish_at), which
/// consume it.
///
/// # Dropping
///
/// **A span dropped without being finished is finished at the time it is dropped.**
/// Every implementation must do this (typically in `Drop`), so an early return or a `?` does
/// not lose the span. Call [`finish_at`](Span::finish_at) to give an explicit finish time.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use opentracing_api::{log_fields, tags, LogField, NoopTracer, Span, Tracer};
///
/// let tracer = NoopTracer::new();
/// let mut span = tracer.start_span("get_user");
/// span.set_tag(tags::SPAN_KIND, tags::SPAN_KIND_SERVER);
/// span.set_tag(tags::HTTP_STATUS_CODE, 200_u16);
/// span.log([(log_fields::EVENT, "cache miss")]);
/// span.log_at(
///     SystemTime::now(),
///     [LogField::new(log_fields::MESSAGE, "loaded from db"), LogField::new("rows", 1_u32)],
/// );
/// span.set_baggage_item("tenant", "acme");
/// span.finish_at(SystemTime::now() + Duration::from_millis(1));
/// ```
pub trait Span: Send + Sized + 'static {
    /// The tracer's span context type.
    type Context: SpanContext + Clone;

    /// The span's context (its identifiers and baggage).
    fn context(&self) -> &Self::Context;

    /// Renames the operation this span represents.
    fn set_operation_name(&mut self, name: impl Into<Cow<'static, str>>);

    /// Sets a tag, replacing any earlier value of the same key.
    ///
    /// Standard keys are in [`tags`](crate::tags).
    fn set_tag(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<TagValue>);

    /// Records a structured log with an optional timestamp (`None`: now).
    ///
    /// [`log`](Span::log) and [`log_at`](Span::log_at) are the convenient forms.
    fn log_fields(&mut self, timestamp: Option<SystemTime>, fields: Vec<LogField>);

    /// Sets a baggage item: a key/value pair that travels with this span's context to every
    /// descendant, in process and across process boundaries.
    ///
    /// Baggage is copied into every child and every injected carrier, so keep it small.
    fn set_baggage_item(&mut self, key: &str, value: &str);

    /// The value of the baggage item `key`, from this span's context.
    fn baggage_item(&self, key: &str) -> Option<&str> {
        self.context().baggage_item(key)
    }

    /// Finishes the span at `finish_time`.
    fn finish_at(self, finish_time: SystemTime);

    /// Finishes the span now.
    fn finish(self) {
        self.finish_at(SystemTime::now());
    }

    /// Records a structured log, timestamped now.
    ///
    /// Standard keys are in [`log_fields`](crate::log_fields).
    fn log<I>(&mut self, fields: I)
    where
        I: IntoIterator,
        I::Item: Into<LogField>,
    {
        self.log_fields(None, fields.into_iter().map(Into::into).collect());
    }

    /// Records a structured log at an explicit time.
    fn log_at<I>(&mut self, timestamp: SystemTime, fields: I)
    where
        I: IntoIterator,
        I::Item: Into<LogField>,
    {
        self.log_fields(
            Some(timestamp),
            fields.into_iter().map(Into::into).collect(),
        );
    }

    /// Records a log with a single [`event`](crate::log_fields::EVENT) field, timestamped
    /// now.
    fn log_event(&mut self, event: impl Into<Cow<'static, str>>) {
        self.log_fields(
            None,
            vec![LogField::new(crate::log_fields::EVENT, event.into())],
        );
    }
}
