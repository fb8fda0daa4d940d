//! The erased layer: any [`Tracer`] behind one type, [`BoxedTracer`], with its
//! [`BoxedSpan`] and [`BoxedSpanContext`].
//!
//! [`DynTracer`] is a dyn-compatible mirror of [`Tracer`], implemented for every tracer by a
//! blanket impl. [`BoxedTracer`] holds an `Arc<dyn DynTracer>` and implements [`Tracer`]
//! itself, so everything that works on a concrete tracer works on it; the
//! [global tracer](crate::global_tracer) is a `BoxedTracer`.
//!
//! A [`BoxedSpanContext`] (or [`BoxedSpan`]) handed back to a `BoxedTracer` (as a reference,
//! to `inject` or to `activate`) is downcast to the tracer's own context (or span) type. One
//! made by a tracer of another type (for example before
//! [`set_global_tracer`](crate::set_global_tracer) replaced a vendor tracer with another
//! vendor's) cannot be: such references are ignored, `inject` returns
//! [`InjectError::InvalidSpanContext`] and `activate` returns an empty scope. (Two tracers of
//! the same type accept each other's contexts, as the concrete tracers would.)

use std::any::{Any, type_name};
use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::{
    BaggageItems, ExtractCarrier, ExtractError, ExtractFormat, InjectCarrier, InjectError,
    InjectFormat, LogField, Scope, Span, SpanBuilder, SpanContext, StartSpanOptions, TagValue,
    Tracer,
};

/// Any tracer's span context, type-erased: the context of a [`BoxedSpan`].
///
/// Cloning it is cheap (an `Arc`).
#[derive(Clone)]
pub struct BoxedSpanContext(Arc<dyn SpanContext>);

impl BoxedSpanContext {
    /// Erases `context` (a `BoxedSpanContext` is not wrapped twice).
    pub fn new<C: SpanContext + Clone>(context: C) -> Self {
        if let Some(boxed) = (&context as &dyn Any).downcast_ref::<BoxedSpanContext>() {
            return boxed.clone();
        }
        BoxedSpanContext(Arc::new(context))
    }

    /// The tracer's own context, if it is a `C`.
    ///
    /// # Examples
    ///
    /// ```
    /// use opentracing_api::{BoxedSpanContext, NoopSpanContext};
    ///
    /// let ctx = BoxedSpanContext::new(NoopSpanContext);
    /// assert_eq!(ctx.downcast_ref::<NoopSpanContext>(), Some(&NoopSpanContext));
    /// assert_eq!(ctx.downcast_ref::<String>(), None);
    /// ```
    pub fn downcast_ref<C: Any>(&self) -> Option<&C> {
        let any: &dyn Any = &*self.0;
        any.downcast_ref::<C>()
    }

    /// The trace identifier. See [`SpanContext::trace_id`].
    pub fn trace_id(&self) -> String {
        self.0.trace_id()
    }

    /// The span identifier. See [`SpanContext::span_id`].
    pub fn span_id(&self) -> String {
        self.0.span_id()
    }

    /// The baggage items. See [`SpanContext::baggage_items`].
    pub fn baggage_items(&self) -> BaggageItems<'_> {
        self.0.baggage_items()
    }

    /// The value of a baggage item. See [`SpanContext::baggage_item`].
    pub fn baggage_item(&self, key: &str) -> Option<&str> {
        self.0.baggage_item(key)
    }
}

impl SpanContext for BoxedSpanContext {
    fn trace_id(&self) -> String {
        self.0.trace_id()
    }

    fn span_id(&self) -> String {
        self.0.span_id()
    }

    fn baggage_items(&self) -> BaggageItems<'_> {
        self.0.baggage_items()
    }

    fn baggage_item(&self, key: &str) -> Option<&str> {
        self.0.baggage_item(key)
    }
}

impl fmt::Debug for BoxedSpanContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The dyn-compatible span operations, implemented for every [`Span`].
trait DynSpan: Any + Send {
    fn dyn_context(&self) -> BoxedSpanContext;
    fn dyn_set_operation_name(&mut self, name: Cow<'static, str>);
    fn dyn_set_tag(&mut self, key: Cow<'static, str>, value: TagValue);
    fn dyn_log_fields(&mut self, timestamp: Option<SystemTime>, fields: Vec<LogField>);
    fn dyn_set_baggage_item(&mut self, key: &str, value: &str);
    fn dyn_finish(self: Box<Self>, finish_time: Option<SystemTime>);
}

impl<S: Span> DynSpan for S {
    fn dyn_context(&self) -> BoxedSpanContext {
        BoxedSpanContext::new(self.context().clone())
    }

    fn dyn_set_operation_name(&mut self, name: Cow<'static, str>) {
        self.set_operation_name(name);
    }

    fn dyn_set_tag(&mut self, key: Cow<'static, str>, value: TagValue) {
        self.set_tag(key, value);
    }

    fn dyn_log_fields(&mut self, timestamp: Option<SystemTime>, fields: Vec<LogField>) {
        self.log_fields(timestamp, fields);
    }

    fn dyn_set_baggage_item(&mut self, key: &str, value: &str) {
        self.set_baggage_item(key, value);
    }

    fn dyn_finish(self: Box<Self>, finish_time: Option<SystemTime>) {
        match finish_time {
            Some(t) => (*self).finish_at(t),
            None => (*self).finish(),
        }
    }
}

/// Any tracer's span, type-erased: what a [`BoxedTracer`] (so the
/// [global tracer](crate::global_tracer)) starts.
///
/// Its methods are inherent as well as [`Span`] methods, so no trait import is needed.
/// Dropping it unfinished finishes the underlying span (every [`Span`] does that).
///
/// # Examples
///
/// ```
/// use opentracing_api::global_tracer;
///
/// let mut span = global_tracer().start_span("op");
/// span.set_tag("k", "v");
/// span.log([("event", "started")]);
/// span.finish();
/// ```
pub struct BoxedSpan {
    inner: Box<dyn DynSpan>,
    /// The erased context, made when first asked for and again after anything that may change
    /// it (a tag, such as a tracer's service tag, or a baggage item).
    context: OnceCell<BoxedSpanContext>,
}

impl BoxedSpan {
    /// Erases `span`.
    pub fn new<S: Span>(span: S) -> Self {
        BoxedSpan {
            inner: Box::new(span),
            context: OnceCell::new(),
        }
    }

    /// The tracer's own span, if it is an `S`.
    pub fn downcast_ref<S: Span>(&self) -> Option<&S> {
        let any: &dyn Any = &*self.inner;
        any.downcast_ref::<S>()
    }

    /// The tracer's own span, mutably, if it is an `S`.
    pub fn downcast_mut<S: Span>(&mut self) -> Option<&mut S> {
        // The caller may change the span through it: the erased context is made again.
        self.context.take();
        let any: &mut dyn Any = &mut *self.inner;
        any.downcast_mut::<S>()
    }

    /// The span's context. See [`Span::context`].
    pub fn context(&self) -> &BoxedSpanContext {
        self.context.get_or_init(|| self.inner.dyn_context())
    }

    /// Renames the operation. See [`Span::set_operation_name`].
    pub fn set_operation_name(&mut self, name: impl Into<Cow<'static, str>>) {
        self.inner.dyn_set_operation_name(name.into());
    }

    /// Sets a tag. See [`Span::set_tag`].
    pub fn set_tag(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<TagValue>) {
        self.inner.dyn_set_tag(key.into(), value.into());
        self.context.take();
    }

    /// Records a log, timestamped now. See [`Span::log`].
    pub fn log<I>(&mut self, fields: I)
    where
        I: IntoIterator,
        I::Item: Into<LogField>,
    {
        self.inner
            .dyn_log_fields(None, fields.into_iter().map(Into::into).collect());
    }

    /// Records a log at an explicit time. See [`Span::log_at`].
    pub fn log_at<I>(&mut self, timestamp: SystemTime, fields: I)
    where
        I: IntoIterator,
        I::Item: Into<LogField>,
    {
        self.inner.dyn_log_fields(
            Some(timestamp),
            fields.into_iter().map(Into::into).collect(),
        );
    }

    /// Records a log with a single `event` field. See [`Span::log_event`].
    pub fn log_event(&mut self, event: impl Into<Cow<'static, str>>) {
        self.inner.dyn_log_fields(
            None,
            vec![LogField::new(crate::log_fields::EVENT, event.into())],
        );
    }

    /// Sets a baggage item. See [`Span::set_baggage_item`].
    pub fn set_baggage_item(&mut self, key: &str, value: &str) {
        self.inner.dyn_set_baggage_item(key, value);
        self.context.take();
    }

    /// The value of a baggage item. See [`Span::baggage_item`].
    pub fn baggage_item(&self, key: &str) -> Option<&str> {
        self.context().baggage_item(key)
    }

    /// Finishes the span now. See [`Span::finish`].
    pub fn finish(self) {
        self.inner.dyn_finish(None);
    }

    /// Finishes the span at `finish_time`. See [`Span::finish_at`].
    pub fn finish_at(self, finish_time: SystemTime) {
        self.inner.dyn_finish(Some(finish_time));
    }
}

impl fmt::Debug for BoxedSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxedSpan")
            .field("context", self.context())
            .finish_non_exhaustive()
    }
}

impl Span for BoxedSpan {
    type Context = BoxedSpanContext;

    fn context(&self) -> &BoxedSpanContext {
        BoxedSpan::context(self)
    }

    fn set_operation_name(&mut self, name: impl Into<Cow<'static, str>>) {
        BoxedSpan::set_operation_name(self, name);
    }

    fn set_tag(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<TagValue>) {
        BoxedSpan::set_tag(self, key, value);
    }

    fn log_fields(&mut self, timestamp: Option<SystemTime>, fields: Vec<LogField>) {
        self.inner.dyn_log_fields(timestamp, fields);
    }

    fn set_baggage_item(&mut self, key: &str, value: &str) {
        BoxedSpan::set_baggage_item(self, key, value);
    }

    fn baggage_item(&self, key: &str) -> Option<&str> {
        BoxedSpan::baggage_item(self, key)
    }

    fn finish_at(self, finish_time: SystemTime) {
        BoxedSpan::finish_at(self, finish_time);
    }

    fn finish(self) {
        BoxedSpan::finish(self);
    }
}

/// The dyn-compatible form of [`Tracer`], implemented for every tracer by a blanket impl:
/// what a [`BoxedTracer`] holds. You never implement it; implement [`Tracer`].
pub trait DynTracer: Any + Send + Sync {
    /// [`Tracer::start_span_with_options`], erased. References to contexts of another
    /// tracer type are dropped.
    fn start_span_boxed(&self, options: StartSpanOptions<BoxedSpanContext>) -> BoxedSpan;

    /// [`Tracer::inject_context`], erased.
    ///
    /// # Errors
    ///
    /// As [`Tracer::inject`]; [`InjectError::InvalidSpanContext`] if `context` is of another
    /// tracer type.
    fn inject_boxed(
        &self,
        context: &BoxedSpanContext,
        carrier: InjectCarrier<'_>,
    ) -> Result<(), InjectError>;

    /// [`Tracer::extract_context`], erased.
    ///
    /// # Errors
    ///
    /// As [`Tracer::extract`].
    fn extract_boxed(&self, carrier: ExtractCarrier<'_>) -> Result<BoxedSpanContext, ExtractError>;

    /// [`Tracer::activate`], erased. A span of another tracer type is not activated (the
    /// scope is empty).
    fn activate_boxed(&self, span: &BoxedSpan) -> Scope;

    /// [`Tracer::active_span_context`], erased.
    fn active_span_context_boxed(&self) -> Option<BoxedSpanContext>;
}

impl<T: Tracer> DynTracer for T {
    fn start_span_boxed(&self, options: StartSpanOptions<BoxedSpanContext>) -> BoxedSpan {
        let options =
            options.filter_map_references(|c| c.downcast_ref::<T::SpanContext>().cloned());
        BoxedSpan::new(self.start_span_with_options(options))
    }

    fn inject_boxed(
        &self,
        context: &BoxedSpanContext,
        carrier: InjectCarrier<'_>,
    ) -> Result<(), InjectError> {
        let context = context
            .downcast_ref::<T::SpanContext>()
            .ok_or(InjectError::InvalidSpanContext)?;
        self.inject_context(context, carrier)
    }

    fn extract_boxed(&self, carrier: ExtractCarrier<'_>) -> Result<BoxedSpanContext, ExtractError> {
        self.extract_context(carrier).map(BoxedSpanContext::new)
    }

    fn activate_boxed(&self, span: &BoxedSpan) -> Scope {
        match span.downcast_ref::<T::Span>() {
            Some(span) => self.activate(span),
            None => Scope::empty(),
        }
    }

    fn active_span_context_boxed(&self) -> Option<BoxedSpanContext> {
        self.active_span_context().map(BoxedSpanContext::new)
    }
}

/// Any tracer, type-erased and shareable: what the [global tracer](crate::global_tracer)
/// is, and what to store when the tracer type should not be a type parameter.
///
/// Cloning it is cheap (an `Arc`). It implements [`Tracer`] with [`BoxedSpan`] and
/// [`BoxedSpanContext`]; its main methods are also inherent, so
/// `global_tracer().start_span("op")` needs no trait import.
///
/// # Contexts of another tracer type
///
/// A [`BoxedSpanContext`] (or [`BoxedSpan`]) handed back to a `BoxedTracer` (as a reference,
/// to `inject` or to `activate`) is downcast to the tracer's own context (or span) type. One
/// made by a tracer of another type (for example before
/// [`set_global_tracer`](crate::set_global_tracer) replaced one vendor's tracer with
/// another's) cannot be: such references are ignored, `inject` returns
/// [`InjectError::InvalidSpanContext`] and `activate` returns an empty scope. Two tracers of
/// the same type accept each other's contexts, as the concrete tracers would.
///
/// # Examples
///
/// ```
/// use opentracing_api::{BoxedTracer, NoopTracer};
///
/// let tracer = BoxedTracer::new(NoopTracer::new());
/// let mut span = tracer.start_span("op");
/// span.set_tag("k", 1_u8);
/// span.finish();
/// assert!(tracer.downcast_ref::<NoopTracer>().is_some());
/// ```
#[derive(Clone)]
pub struct BoxedTracer {
    inner: Arc<dyn DynTracer>,
    type_name: &'static str,
}

/// A [`BoxedTracer`] that does not keep its tracer alive.
pub(crate) struct WeakTracer {
    inner: std::sync::Weak<dyn DynTracer>,
    type_name: &'static str,
}

impl WeakTracer {
    /// The tracer, if it is still alive.
    pub(crate) fn upgrade(&self) -> Option<BoxedTracer> {
        Some(BoxedTracer {
            inner: self.inner.upgrade()?,
            type_name: self.type_name,
        })
    }
}

impl BoxedTracer {
    /// Erases `tracer` (a `BoxedTracer` is not wrapped twice).
    pub fn new<T: Tracer>(tracer: T) -> Self {
        if let Some(boxed) = (&tracer as &dyn Any).downcast_ref::<BoxedTracer>() {
            return boxed.clone();
        }
        BoxedTracer {
            inner: Arc::new(tracer),
            type_name: type_name::<T>(),
        }
    }

    /// A weak handle to the same tracer (see [`global_tracer`](crate::global_tracer)'s
    /// per-thread cache), and the way back.
    pub(crate) fn downgrade(&self) -> WeakTracer {
        WeakTracer {
            inner: Arc::downgrade(&self.inner),
            type_name: self.type_name,
        }
    }

    /// The type name of the tracer inside.
    pub fn tracer_type_name(&self) -> &'static str {
        self.type_name
    }

    /// The tracer inside, if it is a `T`.
    pub fn downcast_ref<T: Tracer>(&self) -> Option<&T> {
        let any: &dyn Any = &*self.inner;
        any.downcast_ref::<T>()
    }

    /// Starts a span. See [`Tracer::start_span`].
    pub fn start_span(&self, operation_name: impl Into<Cow<'static, str>>) -> BoxedSpan {
        SpanBuilder::new(self, operation_name).start()
    }

    /// A span builder. See [`Tracer::span_builder`].
    pub fn span_builder(
        &self,
        operation_name: impl Into<Cow<'static, str>>,
    ) -> SpanBuilder<'_, Self> {
        SpanBuilder::new(self, operation_name)
    }

    /// Injects a context. See [`Tracer::inject`].
    ///
    /// # Errors
    ///
    /// As [`Tracer::inject`]; [`InjectError::InvalidSpanContext`] if `context` is of another
    /// tracer type.
    pub fn inject<F, C>(
        &self,
        context: &BoxedSpanContext,
        format: F,
        carrier: &mut C,
    ) -> Result<(), InjectError>
    where
        F: InjectFormat<C>,
        C: ?Sized,
    {
        self.inner
            .inject_boxed(context, format.inject_carrier(carrier))
    }

    /// Extracts a context. See [`Tracer::extract`].
    ///
    /// # Errors
    ///
    /// As [`Tracer::extract`].
    pub fn extract<F, C>(&self, format: F, carrier: &C) -> Result<BoxedSpanContext, ExtractError>
    where
        F: ExtractFormat<C>,
        C: ?Sized,
    {
        self.inner.extract_boxed(format.extract_carrier(carrier))
    }

    /// Activates a span. See [`Tracer::activate`].
    pub fn activate(&self, span: &BoxedSpan) -> Scope {
        self.inner.activate_boxed(span)
    }

    /// The active span's context. See [`Tracer::active_span_context`].
    pub fn active_span_context(&self) -> Option<BoxedSpanContext> {
        self.inner.active_span_context_boxed()
    }
}

impl fmt::Debug for BoxedTracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BoxedTracer").field(&self.type_name).finish()
    }
}

impl Tracer for BoxedTracer {
    type SpanContext = BoxedSpanContext;
    type Span = BoxedSpan;

    fn start_span_with_options(&self, options: StartSpanOptions<BoxedSpanContext>) -> BoxedSpan {
        self.inner.start_span_boxed(options)
    }

    fn inject_context(
        &self,
        context: &BoxedSpanContext,
        carrier: InjectCarrier<'_>,
    ) -> Result<(), InjectError> {
        self.inner.inject_boxed(context, carrier)
    }

    fn extract_context(
        &self,
        carrier: ExtractCarrier<'_>,
    ) -> Result<BoxedSpanContext, ExtractError> {
        self.inner.extract_boxed(carrier)
    }

    fn activate(&self, span: &BoxedSpan) -> Scope {
        self.inner.activate_boxed(span)
    }

    fn active_span_context(&self) -> Option<BoxedSpanContext> {
        self.inner.active_span_context_boxed()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::{NoopSpan, NoopSpanContext, NoopTracer, TextMap};

    #[test]
    fn boxing_twice_does_not_nest() {
        let once = BoxedTracer::new(NoopTracer::new());
        let twice = BoxedTracer::new(once.clone());
        assert!(Arc::ptr_eq(&once.inner, &twice.inner));
        assert!(twice.downcast_ref::<NoopTracer>().is_some());
        assert!(twice.tracer_type_name().ends_with("NoopTracer"));
        let ctx = BoxedSpanContext::new(NoopSpanContext);
        let again = BoxedSpanContext::new(ctx.clone());
        assert!(Arc::ptr_eq(&ctx.0, &again.0));
    }

    #[test]
    fn boxed_spans_downcast_to_the_tracer_span() {
        let tracer = BoxedTracer::new(NoopTracer::new());
        let mut span = tracer.start_span("op");
        assert!(span.downcast_ref::<NoopSpan>().is_some());
        assert!(span.downcast_mut::<NoopSpan>().is_some());
        assert!(span.downcast_ref::<BoxedSpan>().is_none());
        assert_eq!(
            span.context().downcast_ref::<NoopSpanContext>(),
            Some(&NoopSpanContext)
        );
    }

    #[test]
    fn foreign_contexts_are_rejected() {
        #[derive(Debug, Clone)]
        struct Foreign;
        impl SpanContext for Foreign {
            fn trace_id(&self) -> String {
                "f".into()
            }
            fn span_id(&self) -> String {
                "f".into()
            }
            fn baggage_items(&self) -> BaggageItems<'_> {
                BaggageItems::empty()
            }
        }
        let tracer = BoxedTracer::new(NoopTracer::new());
        let foreign = BoxedSpanContext::new(Foreign);
        assert_eq!(foreign.trace_id(), "f");
        let mut carrier: HashMap<String, String> = HashMap::new();
        assert_eq!(
            tracer.inject(&foreign, TextMap, &mut carrier),
            Err(InjectError::InvalidSpanContext)
        );
    }

    #[test]
    fn debug_output() {
        let tracer = BoxedTracer::new(NoopTracer::new());
        assert_eq!(
            format!("{tracer:?}"),
            r#"BoxedTracer("opentracing_api::noop::NoopTracer")"#
        );
        let span = tracer.start_span("op");
        assert_eq!(
            format!("{span:?}"),
            "BoxedSpan { context: NoopSpanContext, .. }"
        );
    }
}
