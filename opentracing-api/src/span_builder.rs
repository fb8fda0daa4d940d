//! Starting a span: [`SpanBuilder`] and the [`StartSpanOptions`] a tracer receives.

use std::borrow::Cow;
use std::time::SystemTime;

use crate::{Reference, TagValue, Tracer};

/// Everything a span is started with, as a [`Tracer`] implementation receives it in
/// [`Tracer::start_span_with_options`].
///
/// The options are resolved: the active span, if it is to be the parent, is already the
/// first `ChildOf` reference.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StartSpanOptions<C> {
    /// The operation name.
    pub operation_name: Cow<'static, str>,
    /// References to other spans, in the order given.
    pub references: Vec<Reference<C>>,
    /// The start time; `None` means now.
    pub start_time: Option<SystemTime>,
    /// Initial tags, in the order given.
    pub tags: Vec<(Cow<'static, str>, TagValue)>,
}

impl<C> StartSpanOptions<C> {
    /// Options for a span named `operation_name` with no references, tags or start time.
    pub fn new(operation_name: impl Into<Cow<'static, str>>) -> Self {
        StartSpanOptions {
            operation_name: operation_name.into(),
            references: Vec::new(),
            start_time: None,
            tags: Vec::new(),
        }
    }

    /// The same options with each reference's context mapped by `f`; references for which
    /// `f` returns `None` are dropped.
    pub fn filter_map_references<D>(
        self,
        mut f: impl FnMut(C) -> Option<D>,
    ) -> StartSpanOptions<D> {
        StartSpanOptions {
            operation_name: self.operation_name,
            references: self
                .references
                .into_iter()
                .filter_map(|r| r.filter_map(&mut f))
                .collect(),
            start_time: self.start_time,
            tags: self.tags,
        }
    }
}

/// A span about to be started: from [`Tracer::span_builder`].
///
/// # Parenting
///
/// With no reference given, [`start`](SpanBuilder::start) makes the tracer's active span
/// (see [`Tracer::activate`]) the `ChildOf` parent, unless
/// [`ignore_active_span`](SpanBuilder::ignore_active_span) was called. With any reference
/// given, the active span is not used.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use opentracing_api::{NoopTracer, Span, Tracer};
///
/// let tracer = NoopTracer::new();
/// let request = tracer.start_span("request");
/// let audit = tracer
///     .span_builder("audit")
///     .follows_from(request.context())
///     .with_start_time(SystemTime::now() - Duration::from_millis(5))
///     .with_tag("audit.kind", "login")
///     .start();
/// let background = tracer.span_builder("gc").ignore_active_span().start();
/// ```
#[must_use = "the span is started only by `start()`"]
#[derive(Debug)]
pub struct SpanBuilder<'a, T: Tracer> {
    tracer: &'a T,
    options: StartSpanOptions<T::SpanContext>,
    ignore_active_span: bool,
}

impl<'a, T: Tracer> SpanBuilder<'a, T> {
    /// A builder for a span of `tracer` (what [`Tracer::span_builder`] returns).
    pub fn new(tracer: &'a T, operation_name: impl Into<Cow<'static, str>>) -> Self {
        SpanBuilder {
            tracer,
            options: StartSpanOptions::new(operation_name),
            ignore_active_span: false,
        }
    }

    /// Adds a `ChildOf` reference to `parent`.
    pub fn child_of(self, parent: &T::SpanContext) -> Self {
        self.add_reference(Reference::ChildOf(parent.clone()))
    }

    /// Adds a `FollowsFrom` reference to `context`.
    pub fn follows_from(self, context: &T::SpanContext) -> Self {
        self.add_reference(Reference::FollowsFrom(context.clone()))
    }

    /// Adds a reference.
    pub fn add_reference(mut self, reference: Reference<T::SpanContext>) -> Self {
        self.options.references.push(reference);
        self
    }

    /// Sets an explicit start time (default: when [`start`](SpanBuilder::start) is
    /// called).
    pub fn with_start_time(mut self, start_time: SystemTime) -> Self {
        self.options.start_time = Some(start_time);
        self
    }

    /// Adds an initial tag.
    pub fn with_tag(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<TagValue>,
    ) -> Self {
        self.options.tags.push((key.into(), value.into()));
        self
    }

    /// Does not make the active span the implicit parent: with no reference given, the span
    /// starts a new trace.
    pub fn ignore_active_span(mut self) -> Self {
        self.ignore_active_span = true;
        self
    }

    /// The options as they stand (before the active span is resolved).
    pub fn options(&self) -> &StartSpanOptions<T::SpanContext> {
        &self.options
    }

    /// Starts the span.
    pub fn start(mut self) -> T::Span {
        if !self.ignore_active_span
            && self.options.references.is_empty()
            && let Some(active) = self.tracer.active_span_context()
        {
            self.options.references.push(Reference::ChildOf(active));
        }
        self.tracer.start_span_with_options(self.options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_options_are_empty() {
        let o = StartSpanOptions::<u8>::new("op");
        assert_eq!(o.operation_name, "op");
        assert!(o.references.is_empty());
        assert_eq!(o.start_time, None);
        assert!(o.tags.is_empty());
    }

    #[test]
    fn filter_map_references_keeps_everything_else() {
        let mut o = StartSpanOptions::new("op");
        o.references = vec![
            Reference::ChildOf(1_u8),
            Reference::FollowsFrom(2),
            Reference::ChildOf(3),
        ];
        o.start_time = Some(SystemTime::UNIX_EPOCH);
        o.tags.push(("k".into(), TagValue::Bool(true)));
        let mapped = o.filter_map_references(|c| (c != 2).then(|| u32::from(c) * 10));
        assert_eq!(
            mapped.references,
            [Reference::ChildOf(10_u32), Reference::ChildOf(30)]
        );
        assert_eq!(mapped.operation_name, "op");
        assert_eq!(mapped.start_time, Some(SystemTime::UNIX_EPOCH));
        assert_eq!(mapped.tags, [("k".into(), TagValue::Bool(true))]);
    }
}
