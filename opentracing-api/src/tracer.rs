//! The `Tracer` trait: starting spans, propagation and the active span.

use std::borrow::Cow;

use crate::{
    ExtractCarrier, ExtractError, ExtractFormat, InjectCarrier, InjectError, InjectFormat, Scope,
    Span, SpanBuilder, SpanContext, StartSpanOptions,
};

/// A tracer: starts spans, propagates their contexts across process boundaries and tracks
/// the active span.
///
/// This is the static (generic, unboxed) form: a library can take `&impl Tracer` and pay no
/// dynamic dispatch. Every `Tracer` is also usable behind the erased
/// [`BoxedTracer`](crate::BoxedTracer), which is what the
/// [global tracer](crate::global_tracer) is.
///
/// # Implementing a tracer
///
/// Implement the five required methods; the provided ones ([`start_span`](Tracer::start_span),
/// [`span_builder`](Tracer::span_builder), [`inject`](Tracer::inject) and
/// [`extract`](Tracer::extract)) build on them.
///
/// * [`start_span_with_options`](Tracer::start_span_with_options) receives fully resolved
///   options: the [`SpanBuilder`] has already made the active span the `ChildOf` parent when
///   the user gave no reference (and did not call
///   [`ignore_active_span`](SpanBuilder::ignore_active_span)). An implementation must not
///   consult the active span again: no references means a new trace.
/// * [`inject_context`](Tracer::inject_context) / [`extract_context`](Tracer::extract_context)
///   match on the carrier; formats the tracer does not support return `UnsupportedFormat`.
/// * [`activate`](Tracer::activate) / [`active_span_context`](Tracer::active_span_context)
///   are the tracer's scope management. Use a
///   [`ThreadLocalScopeManager`](crate::ThreadLocalScopeManager), or plug in your own
///   active-span machinery and return its guard in a [`Scope::from_guard`].
///
/// # Examples
///
/// Instrumenting a function for any tracer:
///
/// ```
/// use opentracing_api::{tags, NoopTracer, Span, Tracer};
///
/// fn handle<T: Tracer>(tracer: &T) {
///     let mut span = tracer.start_span("handle");
///     span.set_tag(tags::COMPONENT, "my-lib");
///     let _scope = tracer.activate(&span);
///     // The active span is the parent of spans started here.
///     tracer.start_span("step").finish();
/// } // `span` is finished here, when dropped
///
/// handle(&NoopTracer::new());
/// ```
pub trait Tracer: Send + Sync + 'static {
    /// The tracer's span context type.
    type SpanContext: SpanContext + Clone;

    /// The tracer's span type.
    type Span: Span<Context = Self::SpanContext>;

    /// Starts a span from fully resolved options (see the trait docs). Users call
    /// [`start_span`](Tracer::start_span) or [`span_builder`](Tracer::span_builder) instead.
    fn start_span_with_options(&self, options: StartSpanOptions<Self::SpanContext>) -> Self::Span;

    /// Writes `context` into `carrier`. Users call [`inject`](Tracer::inject) instead.
    ///
    /// # Errors
    ///
    /// See [`inject`](Tracer::inject).
    fn inject_context(
        &self,
        context: &Self::SpanContext,
        carrier: InjectCarrier<'_>,
    ) -> Result<(), InjectError>;

    /// Reads a span context from `carrier`. Users call [`extract`](Tracer::extract) instead.
    ///
    /// # Errors
    ///
    /// See [`extract`](Tracer::extract).
    fn extract_context(
        &self,
        carrier: ExtractCarrier<'_>,
    ) -> Result<Self::SpanContext, ExtractError>;

    /// Makes `span` the active span of the current thread until the returned [`Scope`] is
    /// dropped; then the previously active span is active again.
    ///
    /// The span stays owned by the caller, who still tags and finishes it; the scope does
    /// not finish it. Spans started while it is active are its children unless they give
    /// references or call [`ignore_active_span`](SpanBuilder::ignore_active_span). See
    /// [`scope`](crate::scope) for nesting and out-of-order drops.
    fn activate(&self, span: &Self::Span) -> Scope;

    /// The context of the current thread's active span, if any.
    fn active_span_context(&self) -> Option<Self::SpanContext>;

    /// A builder for a span named `operation_name`, to give references, a start time,
    /// tags, or to ignore the active span.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use opentracing_api::{NoopTracer, Span, Tracer};
    ///
    /// let tracer = NoopTracer::new();
    /// let parent = tracer.start_span("parent");
    /// let child = tracer
    ///     .span_builder("child")
    ///     .child_of(parent.context())
    ///     .with_start_time(SystemTime::now())
    ///     .with_tag("retry", 2_u8)
    ///     .start();
    /// child.finish();
    /// ```
    fn span_builder(&self, operation_name: impl Into<Cow<'static, str>>) -> SpanBuilder<'_, Self>
    where
        Self: Sized,
    {
        SpanBuilder::new(self, operation_name.into())
    }

    /// Starts a span named `operation_name`, now, as a child of the active span if there is
    /// one.
    fn start_span(&self, operation_name: impl Into<Cow<'static, str>>) -> Self::Span
    where
        Self: Sized,
    {
        self.span_builder(operation_name).start()
    }

    /// Writes `context` into `carrier` in `format` ([`TextMap`](crate::TextMap),
    /// [`HttpHeaders`](crate::HttpHeaders) or [`Binary`](crate::Binary)), typically to send
    /// it with an outgoing request.
    ///
    /// # Errors
    ///
    /// * [`InjectError::UnsupportedFormat`] if the tracer does not implement `format`;
    /// * [`InjectError::InvalidCarrier`] if the carrier refused a key or value;
    /// * [`InjectError::InvalidSpanContext`] (erased tracers only) if `context` was created
    ///   by a tracer of another type.
    ///
    /// # Examples
    ///
    /// ```
    /// use opentracing_api::http::HeaderMap;
    /// use opentracing_api::{NoopTracer, Span, Tracer, HttpHeaders};
    ///
    /// let tracer = NoopTracer::new();
    /// let span = tracer.start_span("call");
    /// let mut headers = HeaderMap::new();
    /// tracer.inject(span.context(), HttpHeaders, &mut headers)?;
    /// # Ok::<(), opentracing_api::InjectError>(())
    /// ```
    fn inject<F, C>(
        &self,
        context: &Self::SpanContext,
        format: F,
        carrier: &mut C,
    ) -> Result<(), InjectError>
    where
        Self: Sized,
        F: InjectFormat<C>,
        C: ?Sized,
    {
        self.inject_context(context, format.inject_carrier(carrier))
    }

    /// Reads a span context from `carrier` in `format`, typically from an incoming request,
    /// to be the parent of the span handling it.
    ///
    /// # Errors
    ///
    /// * [`ExtractError::SpanContextNotFound`] if the carrier holds no context (a request
    ///   that starts a new trace);
    /// * [`ExtractError::SpanContextCorrupted`] if it holds one that cannot be decoded;
    /// * [`ExtractError::UnsupportedFormat`] if the tracer does not implement `format`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use opentracing_api::{NoopTracer, ExtractError, TextMap, Tracer};
    ///
    /// let tracer = NoopTracer::new();
    /// let incoming: HashMap<String, String> = HashMap::new();
    /// let mut builder = tracer.span_builder("handle");
    /// match tracer.extract(TextMap, &incoming) {
    ///     Ok(parent) => builder = builder.child_of(&parent),
    ///     Err(ExtractError::SpanContextNotFound) => {} // a new trace
    ///     Err(_corrupted) => {}                         // log it, start a new trace
    /// }
    /// let span = builder.start();
    /// ```
    fn extract<F, C>(&self, format: F, carrier: &C) -> Result<Self::SpanContext, ExtractError>
    where
        Self: Sized,
        F: ExtractFormat<C>,
        C: ?Sized,
    {
        self.extract_context(format.extract_carrier(carrier))
    }
}
