//! The OpenTracing tracer over a ddtrace-core tracer.

use std::sync::Arc;
use std::time::Duration;

use ddtrace_core::propagation::Propagator;
use ddtrace_core::{SpanLink, Str, TagMap};
use opentracing_api::Span as _;
use opentracing_api::{
    ExtractCarrier, ExtractError, InjectCarrier, InjectError, Reference, Scope, StartSpanOptions,
};

use crate::context::{Baggage, SpanContext, empty_baggage, push_baggage};
use crate::span::{SERVICE_NAME, SPAN_TYPE, Span};
use crate::{Config, binary, propagation};

/// The span-link attribute naming the OpenTracing reference type.
pub const REF_TYPE_ATTRIBUTE: &str = "opentracing.ref_type";

/// An OpenTracing tracer whose spans are Datadog spans: the reference's
/// `ddtrace.opentracer.Tracer`.
///
/// Cheap to clone (an `Arc`). It implements [`opentracing_api::Tracer`]; see the
/// [crate docs](crate) for the mapping of tags, references, logs and baggage, and for the
/// propagation formats.
///
/// # Examples
///
/// ```
/// use ddtrace_opentracer::{Config, Tracer};
/// use opentracing_api::{Span as _, Tracer as _};
///
/// let tracer = Tracer::new("svc", Config::default());
/// let mut span = tracer.start_span("op");
/// span.set_tag("k", "v");
/// span.finish();
/// ```
#[derive(Clone, Debug)]
pub struct Tracer {
    core: ddtrace_core::Tracer,
    propagator: Arc<Propagator>,
}

impl Tracer {
    /// A tracer for the service `service`, sending to the Datadog Agent as `config` says
    /// (the reference's `Tracer(service_name, config={...})`).
    pub fn new(service: impl Into<String>, config: Config) -> Self {
        Tracer::from_core(ddtrace_core::Tracer::new(
            config.to_core_builder(service).build(),
        ))
    }

    /// A tracer over an existing ddtrace-core tracer: any configuration, or a
    /// [`Collector`](ddtrace_core::Collector) in tests.
    ///
    /// ```
    /// use ddtrace_core::Collector;
    /// use ddtrace_opentracer::Tracer;
    /// use opentracing_api::Tracer as _;
    ///
    /// let collector = Collector::new();
    /// let core = ddtrace_core::Tracer::with_exporter(
    ///     ddtrace_core::Config::builder().service("svc").build(),
    ///     collector.clone(),
    /// );
    /// let tracer = Tracer::from_core(core);
    /// drop(tracer.start_span("op"));
    /// assert_eq!(collector.spans()[0].name, "op");
    /// ```
    pub fn from_core(core: ddtrace_core::Tracer) -> Self {
        let propagator = Arc::new(Propagator::new(core.config()));
        Tracer { core, propagator }
    }

    /// The propagator used for the `TextMap` and `HttpHeaders` formats (its styles come
    /// from `DD_TRACE_PROPAGATION_STYLE*`).
    pub fn propagator(&self) -> &Propagator {
        &self.propagator
    }

    /// The ddtrace-core tracer.
    pub fn core(&self) -> &ddtrace_core::Tracer {
        &self.core
    }

    /// Delivers every finished trace, waiting at most `timeout`; returns `true` when all the
    /// traces finished before the call and not yet sent were delivered in time, `false` when
    /// the time ran out or one of them was dropped (the agent refused it, sending failed, it
    /// was too large: [`ddtrace_core::Tracer::stats`] counts why).
    pub fn flush(&self, timeout: Duration) -> bool {
        self.core.flush(timeout)
    }

    /// Delivers every finished trace and stops sending, waiting at most `timeout`; returns
    /// `true` as [`flush`](Self::flush) does. Traces finished later are dropped and counted.
    pub fn shutdown(&self, timeout: Duration) -> bool {
        self.core.shutdown(timeout)
    }
}

/// A Datadog span link to `context`, tagged with the OpenTracing reference type. Its flags are
/// the linked trace's sampled bit when that trace is decided; a local trace that sampling rules
/// have yet to decide (they decide when it is needed) gives a link without flags, rather than
/// fixing the decision early.
fn link(context: &ddtrace_core::SpanContext, ref_type: &'static str) -> SpanLink {
    let mut attributes = TagMap::new();
    attributes.insert(REF_TYPE_ATTRIBUTE, Str::Borrowed(ref_type));
    SpanLink {
        trace_id: context.trace_id(),
        span_id: context.span_id(),
        attributes,
        tracestate: context
            .as_remote()
            .and_then(|r| r.tracestate.clone())
            .map_or(Str::Borrowed(""), Str::Owned),
        flags: context.sampling_priority().map(|p| u32::from(p > 0)),
    }
}

impl opentracing_api::Tracer for Tracer {
    type SpanContext = SpanContext;
    type Span = Span;

    fn start_span_with_options(&self, options: StartSpanOptions<SpanContext>) -> Span {
        let StartSpanOptions {
            operation_name,
            references,
            start_time,
            tags,
            ..
        } = options;

        // The parent: the first ChildOf, else the first FollowsFrom.
        let parent = references
            .iter()
            .position(|r| matches!(r, Reference::ChildOf(c) if c.core().is_some()))
            .or_else(|| references.iter().position(|r| r.context().core().is_some()));

        let mut builder = self.core.span(operation_name);
        builder = match parent.and_then(|i| references.get(i)?.context().core()) {
            Some(ctx) => builder.child_of(ctx),
            None => builder.root(),
        };
        for (i, r) in references.iter().enumerate() {
            let Some(ctx) = r.context().core() else {
                continue;
            };
            match r {
                Reference::FollowsFrom(_) => builder = builder.link(link(ctx, "follows_from")),
                Reference::ChildOf(_) if Some(i) != parent => {
                    builder = builder.link(link(ctx, "child_of"))
                }
                Reference::ChildOf(_) => {}
            }
        }
        if let Some(t) = start_time {
            builder = builder.start_time(t);
        }
        // Fields that matter at start (the service decides `_dd.top_level`).
        for (k, v) in &tags {
            match &**k {
                SERVICE_NAME => builder = builder.service(v.to_string()),
                SPAN_TYPE => builder = builder.span_type(v.to_string()),
                _ => {}
            }
        }

        // Baggage: the parent's, then the other references' for keys not yet present.
        let parent_first = parent
            .and_then(|i| references.get(i))
            .into_iter()
            .chain(
                references
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| Some(*i) != parent)
                    .map(|(_, r)| r),
            )
            .map(Reference::context);
        let baggage = merge_baggage(parent_first);

        let owned = builder.start();
        let context = SpanContext::new(owned.context(), baggage);
        let mut span = Span::new(owned, context);
        for (k, v) in tags {
            if k != SERVICE_NAME && k != SPAN_TYPE {
                span.apply_tag(k, v);
            }
        }
        span
    }

    fn inject_context(
        &self,
        context: &SpanContext,
        carrier: InjectCarrier<'_>,
    ) -> Result<(), InjectError> {
        match carrier {
            InjectCarrier::TextMap(c) | InjectCarrier::HttpHeaders(c) => {
                propagation::inject(&self.core, context, c)
            }
            InjectCarrier::Binary(bytes) => binary::inject(context, bytes),
            other => Err(InjectError::UnsupportedFormat(other.format())),
        }
    }

    fn extract_context(&self, carrier: ExtractCarrier<'_>) -> Result<SpanContext, ExtractError> {
        match carrier {
            ExtractCarrier::TextMap(c) => propagation::extract(&self.propagator, c, false),
            ExtractCarrier::HttpHeaders(c) => propagation::extract(&self.propagator, c, true),
            ExtractCarrier::Binary(bytes) => binary::extract(bytes),
            other => Err(ExtractError::UnsupportedFormat(other.format())),
        }
    }

    /// Makes the span ddtrace-core's active span ([`ddtrace_core::current_span`] returns it,
    /// `#[trace]` functions and guards become its children) until the scope drops.
    fn activate(&self, span: &Span) -> Scope {
        let shared = span.dd_span();
        let core_scope = shared.activate();
        let baggage = span.context().core().and_then(|ctx| {
            push_baggage(
                ctx.trace_id(),
                ctx.span_id(),
                Arc::clone(span.baggage_cell()),
            )
        });
        Scope::from_guard((baggage, core_scope))
    }

    /// The context of ddtrace-core's active span or attached context, whoever started it.
    fn active_span_context(&self) -> Option<SpanContext> {
        ddtrace_core::current_context().map(SpanContext::from_core)
    }
}

/// The union of the contexts' baggage, earlier contexts winning.
fn merge_baggage<'a>(contexts: impl Iterator<Item = &'a SpanContext>) -> Arc<Baggage> {
    let mut with_baggage = contexts.filter(|c| !c.baggage().is_empty());
    let Some(first) = with_baggage.next() else {
        return empty_baggage();
    };
    let mut merged = Arc::clone(first.baggage());
    for other in with_baggage {
        for (k, v) in other.baggage().iter() {
            if !merged.contains_key(k) {
                Arc::make_mut(&mut merged).insert(k.clone(), v.clone());
            }
        }
    }
    merged
}
