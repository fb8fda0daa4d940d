//! The active span: a per-thread stack of open spans and attached contexts, and the
//! [`SpanContext`] that carries a span's identity to other threads and processes.
//!
//! The stack owns the data of the spans active on this thread, so setting a tag on the current
//! span is a thread-local access, with no lock and no allocation. Guards remove their entry by
//! key, so dropping guards out of order is handled.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::span::OpenSpan;
use crate::span_data::{SpanLink, Str, TagMap, TraceId};
use crate::trace::TraceState;

/// One entry of the per-thread active stack.
pub(crate) enum Entry {
    /// An open span owned by the stack while active; its key is its span id. Boxed so that
    /// pushing and popping moves a pointer, not the span.
    Span(Box<OpenSpan>),
    /// A context attached to this thread (a parent for new spans, no data of its own).
    Context(u64, SpanContext),
    /// A span whose data is shared with a [`SharedSpan`](crate::SharedSpan) handle (how an
    /// OpenTracing span, activated by reference, becomes the active span); keyed by span id.
    Shared(u64, SpanContext, SharedCell),
}

/// The data of a shared span; `None` once finished.
pub(crate) type SharedCell = Arc<crate::span::SharedInner>;

impl Entry {
    fn key(&self) -> u64 {
        match self {
            Entry::Span(s) => s.data.span_id,
            Entry::Context(k, _) | Entry::Shared(k, ..) => *k,
        }
    }
}

thread_local! {
    static STACK: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

/// Pushes an entry (it becomes the active one).
pub(crate) fn push(entry: Entry) {
    let mut entry = Some(entry);
    let _ = STACK.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            s.extend(entry.take());
        }
    });
    // The thread is being torn down: finish right away so nothing is lost.
    if let Some(Entry::Span(open)) = entry {
        open.finish(std::time::Instant::now());
    }
}

/// Removes the entry with `key`, searching from the top.
pub(crate) fn remove(key: u64) -> Option<Entry> {
    STACK
        .try_with(|s| {
            let mut s = s.try_borrow_mut().ok()?;
            let pos = s.iter().rposition(|e| e.key() == key)?;
            Some(s.remove(pos))
        })
        .ok()
        .flatten()
}

/// Runs `f` on the open span with `key`, if it is active on this thread.
pub(crate) fn with_span<R>(key: u64, f: impl FnOnce(&mut OpenSpan) -> R) -> Option<R> {
    STACK
        .try_with(|s| {
            let mut s = s.try_borrow_mut().ok()?;
            match s.iter_mut().rev().find(|e| e.key() == key)? {
                Entry::Span(open) => Some(f(open)),
                Entry::Shared(_, _, cell) => cell.with(f),
                Entry::Context(..) => None,
            }
        })
        .ok()
        .flatten()
}

/// What a new span's parent is.
pub(crate) enum Parent {
    /// A local span: join its trace.
    Local {
        trace: Arc<TraceState>,
        span_id: u64,
        service: Str,
    },
    /// A remote context: start a local root that continues it.
    Remote(Arc<RemoteContext>),
}

/// The parent a new span gets from this thread's active stack.
pub(crate) fn active_parent() -> Option<Parent> {
    STACK
        .try_with(|s| {
            let s = s.try_borrow().ok()?;
            Some(match s.last()? {
                Entry::Span(open) => Parent::Local {
                    trace: Arc::clone(&open.trace),
                    span_id: open.data.span_id,
                    service: open.data.service.clone(),
                },
                Entry::Context(_, ctx) | Entry::Shared(_, ctx, _) => ctx.to_parent(),
            })
        })
        .ok()
        .flatten()
}

/// The key of the active span, if the top of the stack is a span.
pub(crate) fn active_span_key() -> Option<u64> {
    STACK
        .try_with(|s| match s.try_borrow().ok()?.last()? {
            Entry::Span(open) => Some(open.data.span_id),
            Entry::Shared(key, ..) => Some(*key),
            Entry::Context(..) => None,
        })
        .ok()
        .flatten()
}

/// The trace of the active entry.
pub(crate) fn active_trace() -> Option<Arc<TraceState>> {
    STACK
        .try_with(|s| match s.try_borrow().ok()?.last()? {
            Entry::Span(open) => Some(Arc::clone(&open.trace)),
            Entry::Context(_, ctx) | Entry::Shared(_, ctx, _) => match &ctx.inner {
                CtxInner::Local { trace, .. } => Some(Arc::clone(trace)),
                CtxInner::Remote(_) => None,
            },
        })
        .ok()
        .flatten()
}

/// The context of the active entry.
pub(crate) fn active_context() -> Option<SpanContext> {
    STACK
        .try_with(|s| match s.try_borrow().ok()?.last()? {
            Entry::Span(open) => Some(open.context()),
            Entry::Context(_, ctx) | Entry::Shared(_, ctx, _) => Some(ctx.clone()),
        })
        .ok()
        .flatten()
}

/// A span context received from another process (what a propagator extracts).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RemoteContext {
    /// The trace id.
    pub trace_id: TraceId,
    /// The upstream span id (the parent of the local root).
    pub span_id: u64,
    /// The upstream sampling decision, if any; honoured, not redone.
    pub sampling_priority: Option<i32>,
    /// The origin (`x-datadog-origin`, tracestate `o:`).
    pub origin: Option<String>,
    /// Propagated `_dd.p.*` tags.
    pub propagation_tags: TagMap<Str>,
    /// The W3C tracestate, when received.
    pub tracestate: Option<String>,
    /// Links to other contexts received at the same time (conflicting propagation styles).
    pub links: Vec<SpanLink>,
    /// Baggage items.
    pub baggage: TagMap<String>,
    /// Meta tags for the local root that continues this context (`_dd.propagation_error`,
    /// `_dd.parent_id`), as extraction reported them.
    pub local_root_tags: TagMap<String>,
}

#[derive(Clone)]
pub(crate) enum CtxInner {
    Local {
        trace: Arc<TraceState>,
        span_id: u64,
        service: Str,
    },
    Remote(Arc<RemoteContext>),
}

/// The identity of a span: what a child needs to join its trace, on any thread or in another
/// process. Cheap to clone, `Send` and `Sync`.
#[derive(Clone)]
pub struct SpanContext {
    pub(crate) inner: CtxInner,
}

impl std::fmt::Debug for SpanContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpanContext")
            .field("trace_id", &self.trace_id())
            .field("span_id", &self.span_id())
            .field("remote", &self.is_remote())
            .finish()
    }
}

impl SpanContext {
    pub(crate) fn local(trace: Arc<TraceState>, span_id: u64, service: Str) -> Self {
        SpanContext {
            inner: CtxInner::Local {
                trace,
                span_id,
                service,
            },
        }
    }

    /// A context continuing a trace from another process.
    pub fn remote(remote: RemoteContext) -> Self {
        SpanContext {
            inner: CtxInner::Remote(Arc::new(remote)),
        }
    }

    pub(crate) fn to_parent(&self) -> Parent {
        match &self.inner {
            CtxInner::Local {
                trace,
                span_id,
                service,
            } => Parent::Local {
                trace: Arc::clone(trace),
                span_id: *span_id,
                service: service.clone(),
            },
            CtxInner::Remote(r) => Parent::Remote(Arc::clone(r)),
        }
    }

    /// The trace id.
    pub fn trace_id(&self) -> TraceId {
        match &self.inner {
            CtxInner::Local { trace, .. } => trace.trace_id,
            CtxInner::Remote(r) => r.trace_id,
        }
    }

    /// The span id.
    pub fn span_id(&self) -> u64 {
        match &self.inner {
            CtxInner::Local { span_id, .. } => *span_id,
            CtxInner::Remote(r) => r.span_id,
        }
    }

    /// Whether the context came from another process.
    pub fn is_remote(&self) -> bool {
        matches!(self.inner, CtxInner::Remote(_))
    }

    /// The sampling priority of the trace, if decided.
    pub fn sampling_priority(&self) -> Option<i32> {
        match &self.inner {
            CtxInner::Local { trace, .. } => Some(trace.priority()),
            CtxInner::Remote(r) => r.sampling_priority,
        }
    }

    /// The trace's origin, if any.
    pub fn origin(&self) -> Option<&str> {
        match &self.inner {
            CtxInner::Local { trace, .. } => trace.origin.as_deref(),
            CtxInner::Remote(r) => r.origin.as_deref(),
        }
    }

    /// The propagated `_dd.p.*` tags of the trace (including the decision maker when decided here).
    pub fn propagation_tags(&self) -> TagMap<Str> {
        match &self.inner {
            CtxInner::Local { trace, .. } => {
                let mut tags = trace
                    .propagation_tags
                    .as_deref()
                    .cloned()
                    .unwrap_or_default();
                if let Some(m) = trace.mechanism() {
                    tags.insert("_dd.p.dm", Str::Owned(format!("-{m}")));
                }
                tags
            }
            CtxInner::Remote(r) => r.propagation_tags.clone(),
        }
    }

    /// The remote context this was built from, if it is remote.
    pub fn as_remote(&self) -> Option<&RemoteContext> {
        match &self.inner {
            CtxInner::Remote(r) => Some(r),
            CtxInner::Local { .. } => None,
        }
    }

    /// Makes this context the parent of spans started on this thread until the guard drops,
    /// without making any span active: how a trace continues on another thread when asked.
    pub fn attach(&self) -> ContextGuard {
        let key = crate::id::span_id();
        push(Entry::Context(key, self.clone()));
        ContextGuard {
            key,
            _not_send: PhantomData,
        }
    }
}

/// An attached [`SpanContext`]; dropping it detaches it. `!Send`.
#[must_use = "the context is attached only while this guard lives"]
#[derive(Debug)]
pub struct ContextGuard {
    key: u64,
    _not_send: PhantomData<*const ()>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        let _ = remove(self.key);
    }
}
