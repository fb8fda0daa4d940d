//! The no-op tracer: records nothing, costs next to nothing.

use std::borrow::Cow;
use std::time::SystemTime;

use crate::{
    BaggageItems, ExtractCarrier, ExtractError, InjectCarrier, InjectError, LogField, Scope, Span,
    SpanContext, StartSpanOptions, TagValue, ThreadLocalScopeManager, Tracer,
};

/// A tracer that records nothing: the [global tracer](crate::global_tracer) until one is
/// set, and a tracer for code that takes a [`Tracer`] when tracing is off.
///
/// * Its spans ignore tags, logs and baggage; finishing them does nothing.
/// * Its contexts have empty identifiers and no baggage.
/// * [`inject`](Tracer::inject) writes nothing and succeeds, for every format;
///   [`extract`](Tracer::extract) always returns [`ExtractError::SpanContextNotFound`].
/// * Activation is tracked (with a [`ThreadLocalScopeManager`]), so
///   [`active_span_context`](Tracer::active_span_context) is `Some` while a scope is alive.
///
/// # Examples
///
/// ```
/// use opentracing_api::{NoopTracer, Span, SpanContext, Tracer};
///
/// let tracer = NoopTracer::new();
/// let mut span = tracer.start_span("op");
/// span.set_baggage_item("k", "v");
/// assert_eq!(span.baggage_item("k"), None);
/// assert_eq!(span.context().span_id(), "");
/// span.finish();
/// ```
#[derive(Debug, Clone, Default)]
pub struct NoopTracer {
    scopes: ThreadLocalScopeManager<NoopSpanContext>,
}

impl NoopTracer {
    /// A no-op tracer.
    pub fn new() -> Self {
        NoopTracer::default()
    }
}

/// The span of a [`NoopTracer`].
#[derive(Debug, Clone, Default)]
pub struct NoopSpan {
    context: NoopSpanContext,
}

/// The span context of a [`NoopTracer`]: no identifiers, no baggage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoopSpanContext;

impl SpanContext for NoopSpanContext {
    fn trace_id(&self) -> String {
        String::new()
    }

    fn span_id(&self) -> String {
        String::new()
    }

    fn baggage_items(&self) -> BaggageItems<'_> {
        BaggageItems::empty()
    }

    fn baggage_item(&self, _key: &str) -> Option<&str> {
        None
    }
}

impl Span for NoopSpan {
    type Context = NoopSpanContext;

    fn context(&self) -> &NoopSpanContext {
        &self.context
    }

    fn set_operation_name(&mut self, _name: impl Into<Cow<'static, str>>) {}

    fn set_tag(&mut self, _key: impl Into<Cow<'static, str>>, _value: impl Into<TagValue>) {}

    fn log_fields(&mut self, _timestamp: Option<SystemTime>, _fields: Vec<LogField>) {}

    fn set_baggage_item(&mut self, _key: &str, _value: &str) {}

    fn finish_at(self, _finish_time: SystemTime) {}

    fn finish(self) {}
}

impl Tracer for NoopTracer {
    type SpanContext = NoopSpanContext;
    type Span = NoopSpan;

    fn start_span_with_options(&self, _options: StartSpanOptions<NoopSpanContext>) -> NoopSpan {
        NoopSpan::default()
    }

    fn inject_context(
        &self,
        _context: &NoopSpanContext,
        _carrier: InjectCarrier<'_>,
    ) -> Result<(), InjectError> {
        Ok(())
    }

    fn extract_context(
        &self,
        _carrier: ExtractCarrier<'_>,
    ) -> Result<NoopSpanContext, ExtractError> {
        Err(ExtractError::SpanContextNotFound)
    }

    fn activate(&self, span: &NoopSpan) -> Scope {
        self.scopes.activate(span.context)
    }

    fn active_span_context(&self) -> Option<NoopSpanContext> {
        self.scopes.active()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use super::*;
    use crate::{Binary, HttpHeaders, TextMap};

    #[test]
    fn spans_record_nothing() {
        let tracer = NoopTracer::new();
        let mut span = tracer
            .span_builder("op")
            .with_tag("k", 1_u8)
            .with_start_time(SystemTime::UNIX_EPOCH)
            .start();
        span.set_operation_name("renamed");
        span.set_tag("k", "v");
        span.log([("event", "e")]);
        span.log_event("e");
        span.set_baggage_item("b", "v");
        assert_eq!(span.baggage_item("b"), None);
        assert_eq!(span.context().trace_id(), "");
        assert_eq!(span.context().span_id(), "");
        assert_eq!(span.context().baggage_items().count(), 0);
        span.finish_at(SystemTime::UNIX_EPOCH);
    }

    #[test]
    fn inject_writes_nothing_and_extract_finds_nothing() {
        let tracer = NoopTracer::new();
        let ctx = *tracer.start_span("op").context();
        let mut map: HashMap<String, String> = HashMap::new();
        let mut tree: BTreeMap<String, String> = BTreeMap::new();
        let mut bytes = vec![1_u8];
        assert_eq!(tracer.inject(&ctx, TextMap, &mut map), Ok(()));
        assert_eq!(tracer.inject(&ctx, HttpHeaders, &mut tree), Ok(()));
        assert_eq!(tracer.inject(&ctx, Binary, &mut bytes), Ok(()));
        assert!(map.is_empty());
        assert!(tree.is_empty());
        assert_eq!(bytes, [1]);
        assert_eq!(
            tracer.extract(TextMap, &map),
            Err(ExtractError::SpanContextNotFound)
        );
        assert_eq!(
            tracer.extract(Binary, &bytes),
            Err(ExtractError::SpanContextNotFound)
        );
    }

    #[test]
    fn activation_is_tracked() {
        let tracer = NoopTracer::new();
        let span = tracer.start_span("op");
        assert_eq!(tracer.active_span_context(), None);
        let scope = tracer.activate(&span);
        assert_eq!(tracer.active_span_context(), Some(NoopSpanContext));
        drop(scope);
        assert_eq!(tracer.active_span_context(), None);
    }
}
