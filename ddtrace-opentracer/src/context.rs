//! The span context: a ddtrace-core context plus OpenTracing baggage, and the per-thread
//! record of the baggage of activated spans.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};

use ddtrace_core::TraceId;
use opentracing_api::BaggageItems;

/// Baggage items, ordered by key.
pub(crate) type Baggage = BTreeMap<String, String>;

/// No baggage, shared: most contexts have none, and a new `Arc` for each is an allocation
/// and a free for every span. Adding an item copies it first (`Arc::make_mut`), so it stays
/// empty. One per thread, so its reference count is not a cache line all threads share.
pub(crate) fn empty_baggage() -> Arc<Baggage> {
    thread_local! {
        static EMPTY: Arc<Baggage> = Arc::default();
    }
    EMPTY.try_with(Arc::clone).unwrap_or_default()
}

/// The identity of a Datadog span as OpenTracing sees it: a [`ddtrace_core::SpanContext`]
/// (trace id, span id, sampling priority, origin, propagated tags) plus the span's baggage.
///
/// Cheap to clone (two `Arc`s). A context made by a disabled tracer has no Datadog context
/// ([`core`](SpanContext::core) is `None`) and empty identifiers.
///
/// The OpenTracing identifiers are formatted as Datadog correlates logs:
/// [`trace_id`](opentracing_api::SpanContext::trace_id) is the decimal 64-bit trace id, or 32
/// lowercase hex digits when the trace id has 128 bits;
/// [`span_id`](opentracing_api::SpanContext::span_id) is decimal.
///
/// # Examples
///
/// ```
/// use ddtrace_opentracer::{Config, Tracer};
/// use opentracing_api::{Span as _, SpanContext as _, Tracer as _};
///
/// let tracer = Tracer::new("svc", Config { enabled: Some(false), ..Default::default() });
/// let mut span = tracer.start_span("op");
/// span.set_baggage_item("tenant", "acme");
/// assert_eq!(span.context().baggage_item("tenant"), Some("acme"));
/// assert!(span.context().core().is_none()); // tracing is off
/// ```
#[derive(Clone, Debug, Default)]
pub struct SpanContext {
    core: Option<ddtrace_core::SpanContext>,
    baggage: Arc<Baggage>,
}

impl SpanContext {
    pub(crate) fn new(core: Option<ddtrace_core::SpanContext>, baggage: Arc<Baggage>) -> Self {
        SpanContext { core, baggage }
    }

    /// Wraps a ddtrace-core context (for example one from [`ddtrace_core::current_context`]).
    /// Its baggage is the remote context's baggage, or the baggage of the OpenTracing span
    /// of the same trace active on this thread, if any.
    pub fn from_core(core: ddtrace_core::SpanContext) -> Self {
        let baggage = baggage_for(&core);
        SpanContext {
            core: Some(core),
            baggage,
        }
    }

    /// The ddtrace-core context (`None` when tracing is disabled).
    pub fn core(&self) -> Option<&ddtrace_core::SpanContext> {
        self.core.as_ref()
    }

    /// The Datadog trace id (128 bits).
    pub fn dd_trace_id(&self) -> Option<TraceId> {
        self.core.as_ref().map(ddtrace_core::SpanContext::trace_id)
    }

    /// The Datadog span id.
    pub fn dd_span_id(&self) -> Option<u64> {
        self.core.as_ref().map(ddtrace_core::SpanContext::span_id)
    }

    /// The trace's sampling priority, if decided (-1 user reject, 0 auto reject, 1 auto
    /// keep, 2 user keep).
    pub fn sampling_priority(&self) -> Option<i32> {
        self.core.as_ref()?.sampling_priority()
    }

    /// The trace's origin (`x-datadog-origin`), if any.
    pub fn origin(&self) -> Option<&str> {
        self.core.as_ref()?.origin()
    }

    /// The same context with one more baggage item.
    pub fn with_baggage_item(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.baggage).insert(key.into(), value.into());
        self
    }

    pub(crate) fn baggage(&self) -> &Arc<Baggage> {
        &self.baggage
    }

    pub(crate) fn baggage_mut(&mut self) -> &mut Baggage {
        Arc::make_mut(&mut self.baggage)
    }

    pub(crate) fn set_core(&mut self, core: Option<ddtrace_core::SpanContext>) {
        self.core = core;
    }
}

impl opentracing_api::SpanContext for SpanContext {
    fn trace_id(&self) -> String {
        match self.dd_trace_id() {
            Some(id) if id.high() != 0 => id.to_hex(),
            Some(id) => id.low().to_string(),
            None => String::new(),
        }
    }

    fn span_id(&self) -> String {
        self.dd_span_id()
            .map(|id| id.to_string())
            .unwrap_or_default()
    }

    fn baggage_items(&self) -> BaggageItems<'_> {
        BaggageItems::new(self.baggage.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    fn baggage_item(&self, key: &str) -> Option<&str> {
        self.baggage.get(key).map(String::as_str)
    }
}

/// The live baggage of a span, shared with the activation record so that baggage set while
/// the span is active reaches spans started under it.
pub(crate) type BaggageCell = Arc<Mutex<Arc<Baggage>>>;

/// One activated OpenTracing span on this thread.
struct Activation {
    key: u64,
    trace_id: TraceId,
    span_id: u64,
    baggage: BaggageCell,
}

thread_local! {
    static ACTIVE: RefCell<Vec<Activation>> = const { RefCell::new(Vec::new()) };
}

thread_local! {
    /// The key of this thread's next activation record (the records are per thread).
    static NEXT_KEY: Cell<u64> = const { Cell::new(1) };
}

/// Records the baggage of a span activated on this thread until the guard drops.
pub(crate) fn push_baggage(
    trace_id: TraceId,
    span_id: u64,
    baggage: BaggageCell,
) -> Option<BaggageGuard> {
    let key = NEXT_KEY.try_with(|k| k.replace(k.get() + 1)).unwrap_or(0);
    let entry = Activation {
        key,
        trace_id,
        span_id,
        baggage,
    };
    let pushed = ACTIVE
        .try_with(|a| match a.try_borrow_mut() {
            Ok(mut a) => {
                a.push(entry);
                true
            }
            Err(_) => false,
        })
        .unwrap_or(false);
    pushed.then_some(BaggageGuard {
        key,
        _not_send: PhantomData,
    })
}

/// Removes its activation record when dropped. `!Send`, like the scope that owns it.
pub(crate) struct BaggageGuard {
    key: u64,
    _not_send: PhantomData<*const ()>,
}

impl Drop for BaggageGuard {
    fn drop(&mut self) {
        let removed = ACTIVE
            .try_with(|a| {
                let mut a = a.try_borrow_mut().ok()?;
                let pos = a.iter().rposition(|e| e.key == self.key)?;
                Some(a.remove(pos))
            })
            .ok()
            .flatten();
        drop(removed);
    }
}

/// The baggage that belongs with `core`: a remote context's own baggage; for a local one, the
/// baggage of the activated OpenTracing span with that id, else of the most recently
/// activated OpenTracing span of the same trace (the nearest OpenTracing ancestor of a span
/// ddtrace-core started under it).
pub(crate) fn baggage_for(core: &ddtrace_core::SpanContext) -> Arc<Baggage> {
    if let Some(remote) = core.as_remote() {
        if remote.baggage.is_empty() {
            return empty_baggage();
        }
        return Arc::new(
            remote
                .baggage
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        );
    }
    let (trace_id, span_id) = (core.trace_id(), core.span_id());
    ACTIVE
        .try_with(|a| {
            let a = a.try_borrow().ok()?;
            let same_trace = || a.iter().rev().find(|e| e.trace_id == trace_id);
            let entry = a
                .iter()
                .rev()
                .find(|e| e.span_id == span_id && e.trace_id == trace_id)
                .or_else(same_trace)?;
            Some(Arc::clone(
                &entry.baggage.lock().unwrap_or_else(PoisonError::into_inner),
            ))
        })
        .ok()
        .flatten()
        .unwrap_or_else(empty_baggage)
}

#[cfg(test)]
mod tests {
    use opentracing_api::SpanContext as _;

    use super::*;

    #[test]
    fn contexts_without_baggage_share_one_empty_map_that_adding_to_one_leaves_alone() {
        use opentracing_api::Span as _;
        let (a, b) = (empty_baggage(), empty_baggage());
        assert!(Arc::ptr_eq(&a, &b), "one per thread");
        let with_item = SpanContext::new(None, a).with_baggage_item("k", "v");
        assert_eq!(with_item.baggage_item("k"), Some("v"));
        assert!(b.is_empty() && empty_baggage().is_empty());
        // Through spans: baggage set on one reaches neither a sibling nor a later span.
        let tracer = crate::Tracer::new(
            "svc",
            crate::Config {
                enabled: Some(false),
                ..Default::default()
            },
        );
        let mut first = opentracing_api::Tracer::start_span(&tracer, "first");
        let second = opentracing_api::Tracer::start_span(&tracer, "second");
        first.set_baggage_item("tenant", "acme");
        let third = opentracing_api::Tracer::start_span(&tracer, "third");
        assert_eq!(first.context().baggage_item("tenant"), Some("acme"));
        assert_eq!(second.context().baggage_items().count(), 0);
        assert_eq!(third.context().baggage_items().count(), 0);
    }

    #[test]
    fn an_empty_context_has_empty_ids() {
        let ctx = SpanContext::default();
        assert_eq!(ctx.trace_id(), "");
        assert_eq!(ctx.span_id(), "");
        assert_eq!(ctx.baggage_items().count(), 0);
        assert_eq!(ctx.sampling_priority(), None);
        assert_eq!(ctx.origin(), None);
    }

    #[test]
    fn ids_are_formatted_as_datadog_correlates_logs() {
        let remote = |trace_id| {
            SpanContext::from_core(ddtrace_core::SpanContext::remote(
                ddtrace_core::RemoteContext {
                    trace_id,
                    span_id: 42,
                    ..Default::default()
                },
            ))
        };
        let short = remote(TraceId::from_parts(0, 7));
        assert_eq!(short.trace_id(), "7");
        assert_eq!(short.span_id(), "42");
        let long = remote(TraceId::from_parts(1, 2));
        assert_eq!(long.trace_id(), "00000000000000010000000000000002");
    }

    #[test]
    fn remote_contexts_bring_their_baggage() {
        let mut baggage = ddtrace_core::TagMap::new();
        baggage.insert("k", "v".to_string());
        let ctx = SpanContext::from_core(ddtrace_core::SpanContext::remote(
            ddtrace_core::RemoteContext {
                trace_id: TraceId::from_parts(0, 1),
                span_id: 2,
                baggage,
                ..Default::default()
            },
        ));
        assert_eq!(ctx.baggage_item("k"), Some("v"));
        let ctx = ctx.with_baggage_item("k2", "v2");
        assert_eq!(
            ctx.baggage_items().collect::<Vec<_>>(),
            [("k", "v"), ("k2", "v2")]
        );
    }
}
