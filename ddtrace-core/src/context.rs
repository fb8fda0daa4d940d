//! The active span: a per-thread stack of open spans and attached contexts, and the
//! [`SpanContext`] that carries a span's identity to other threads and processes.
//!
//! Guards remove their entry by key, so dropping guards out of order is handled.
//!
//! Spans started active ([`SpanGuard`](crate::SpanGuard)s) are this thread's own: the spans of
//! one trace on one thread form a *group*. A group holds the trace once, counts its open spans
//! in a plain integer, and keeps the data of all its spans, open and finished, in one buffer:
//! a span's data is written there when it starts and never moves again; the buffer itself is the
//! chunk handed to the trace when the group's last span finishes. The trace counts the whole
//! group as one open span, so a nested trace on one thread touches the trace's atomics and lock
//! once per group, not once per span, and setting a tag on the current span is a thread-local
//! access with no lock. A group that reaches the partial-flush size hands its finished spans over
//! early.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::SystemTime;

use crate::clock::Instant;

use crate::span::{OpenSpan, SpanMut, close, close_at};
use crate::span_data::{SpanData, SpanLink, Str, TagMap, TraceId};
use crate::trace::TraceState;

/// One entry of the per-thread active stack.
pub(crate) enum Entry {
    /// A span started active; its data is in its group's buffer.
    Local(LocalSpan),
    /// An entered [`Span`](crate::Span), handed back to it on exit; keyed by span id.
    Span(Box<OpenSpan>),
    /// A context attached to this thread (a parent for new spans, no data of its own).
    Context(u64, SpanContext),
    /// A span whose data is shared with a [`SharedSpan`](crate::SharedSpan) handle (how an
    /// OpenTracing span, activated by reference, becomes the active span); keyed by activation
    /// (the span may be active twice on one thread), its context naming the span.
    Shared(u64, SpanContext, SharedCell),
}

/// A span started active: where its data is, and when it started.
pub(crate) struct LocalSpan {
    /// The span id.
    key: u64,
    /// Its group (an index into `Stack::groups`).
    group: u32,
    /// Its data (an index into the group's `spans`).
    index: u32,
    started: Instant,
}

impl LocalSpan {
    /// The stack entry of span `key`, whose data is `spans[index]` of group `group`.
    fn entry(key: u64, group: usize, index: usize, started: Instant) -> Entry {
        Entry::Local(LocalSpan {
            key,
            group: group as u32,
            index: index as u32,
            started,
        })
    }
}

/// This thread's spans of one trace (see the module doc).
struct Group {
    trace: Arc<TraceState>,
    /// Open spans of the group; the trace counts the group as one while this is non-zero.
    open: usize,
    /// The data of the group's spans, open and finished, in start order.
    spans: Vec<SpanData>,
    /// Whether the local root is among the finished spans.
    root: bool,
}

/// The data of a shared span; `None` once finished.
pub(crate) type SharedCell = Arc<crate::span::SharedInner>;

impl Entry {
    fn key(&self) -> u64 {
        match self {
            Entry::Local(l) => l.key,
            Entry::Span(s) => s.data.span_id,
            Entry::Context(k, _) | Entry::Shared(k, ..) => *k,
        }
    }
}

#[derive(Default)]
struct Stack {
    entries: Vec<Entry>,
    /// Groups by index (`LocalSpan::group`); `None` slots are free.
    groups: Vec<Option<Group>>,
}

impl Stack {
    /// A local span's group (it lives as long as any of its spans).
    fn group(&self, index: u32) -> Option<&Group> {
        self.groups.get(index as usize)?.as_ref()
    }

    /// Makes a span of `trace` (its data and start) active in this thread's group for the
    /// trace, made if there is none (a new group counts as one open span of the trace); returns
    /// its key.
    fn push_span(&mut self, trace: Arc<TraceState>, data: SpanData, started: Instant) -> u64 {
        let Stack { entries, groups } = self;
        let found = groups.iter_mut().enumerate().find_map(|(i, slot)| {
            let group = slot.as_mut()?;
            Arc::ptr_eq(&group.trace, &trace).then_some((i, group))
        });
        let (g, group) = match found {
            Some((i, group)) => {
                group.open += 1;
                (i, group)
            }
            None => {
                trace.span_started();
                let group = Group {
                    spans: trace.span_buffer(1),
                    trace,
                    open: 1,
                    root: false,
                };
                insert_group(groups, group)
            }
        };
        let key = data.span_id;
        group.spans.push(data);
        entries.push(LocalSpan::entry(key, g, group.spans.len() - 1, started));
        key
    }

    /// A local span's trace and data.
    fn local(&self, l: &LocalSpan) -> Option<(&Arc<TraceState>, &SpanData)> {
        let group = self.group(l.group)?;
        Some((&group.trace, group.spans.get(l.index as usize)?))
    }

    /// Takes the finished spans out of group `g` (the open ones stay, their entries renumbered).
    fn take_finished(&mut self, g: u32) -> Vec<SpanData> {
        let Stack { entries, groups } = self;
        let Some(group) = groups.get_mut(g as usize).and_then(Option::as_mut) else {
            return Vec::new();
        };
        let mut open: Vec<&mut LocalSpan> = entries
            .iter_mut()
            .filter_map(|e| match e {
                Entry::Local(l) if l.group == g => Some(l),
                _ => None,
            })
            .collect();
        open.sort_unstable_by_key(|l| l.index);
        let mut finished = Vec::with_capacity(group.spans.len() - open.len());
        let mut kept = Vec::with_capacity(open.len().max(1));
        let mut next_open = open.iter_mut().peekable();
        for (i, span) in std::mem::take(&mut group.spans).into_iter().enumerate() {
            match next_open.peek_mut() {
                Some(l) if l.index as usize == i => {
                    l.index = kept.len() as u32;
                    kept.push(span);
                    next_open.next();
                }
                _ => finished.push(span),
            }
        }
        group.spans = kept;
        finished
    }
}

/// Puts `group` in the first free slot; returns its index and the group.
fn insert_group(groups: &mut Vec<Option<Group>>, group: Group) -> (usize, &mut Group) {
    let i = match groups.iter().position(Option::is_none) {
        Some(i) => i,
        None => {
            groups.push(None);
            groups.len() - 1
        }
    };
    (i, groups[i].insert(group))
}

impl Drop for Stack {
    fn drop(&mut self) {
        // The thread is exiting with spans still active (their guards were leaked): they will
        // never finish. Their groups hand over what did finish, and leave the rest counted open
        // so the trace reports them as unfinished.
        for g in 0..self.groups.len() {
            let finished = self.take_finished(g as u32);
            if let Some(group) = self.groups[g].take() {
                group.trace.add_open(group.open);
                group.trace.absorb(finished, true, group.root);
            }
        }
    }
}

thread_local! {
    static STACK: RefCell<Stack> = const {
        RefCell::new(Stack {
            entries: Vec::new(),
            groups: Vec::new(),
        })
    };
}

/// Pushes an entry (it becomes the active one).
pub(crate) fn push(entry: Entry) {
    let mut entry = Some(entry);
    let _ = STACK.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            s.entries.extend(entry.take());
        }
    });
    // The thread is being torn down: finish right away so nothing is lost.
    if let Some(Entry::Span(open)) = entry {
        open.finish(Instant::now());
    }
}

/// Removes the entry with `key`, searching from the top. Not for local spans: they finish
/// through [`finish_local`].
pub(crate) fn remove(key: u64) -> Option<Entry> {
    STACK
        .try_with(|s| {
            let mut s = s.try_borrow_mut().ok()?;
            let pos = s.entries.iter().rposition(|e| e.key() == key)?;
            Some(s.entries.remove(pos))
        })
        .ok()
        .flatten()
}

/// What a child of the active local span is built from.
pub(crate) struct LocalParent<'a> {
    pub(crate) trace: &'a Arc<TraceState>,
    pub(crate) span_id: u64,
    pub(crate) service: Str,
}

/// What [`start_in_group`] gives back when the span does not join a group.
pub(crate) enum NotInGroup<O> {
    /// Nothing is active on this thread: the span is a new trace's root.
    Root(O),
    /// Something other than a local span is active (or the stack is unavailable).
    Other(O),
}

impl<O> NotInGroup<O> {
    /// What was given, whatever the reason.
    pub(crate) fn into_inner(self) -> O {
        match self {
            NotInGroup::Root(o) | NotInGroup::Other(o) => o,
        }
    }
}

/// Starts a child of the active span when that is a local span, in one borrow of the stack:
/// `make` pushes the child's data onto the group's buffer (where it stays until the group is
/// handed over) and returns its start. Gives `options` back, saying whether anything is active,
/// otherwise. `options` is moved in and out, so the common `trace(name)` passes just the name.
pub(crate) fn start_in_group<O>(
    options: O,
    make: impl FnOnce(O, LocalParent<'_>, &mut Vec<SpanData>) -> Instant,
) -> Result<u64, NotInGroup<O>> {
    let mut options = Some(options);
    let mut idle = false;
    let key = STACK
        .try_with(|cell| {
            let mut stack = cell.try_borrow_mut().ok()?;
            let Stack { entries, groups } = &mut *stack;
            let Some(Entry::Local(top)) = entries.last() else {
                idle = entries.is_empty();
                return None;
            };
            let (g, index) = (top.group, top.index);
            let Group {
                trace, open, spans, ..
            } = groups[g as usize].as_mut()?;
            let parent = spans.get(index as usize)?;
            let parent = LocalParent {
                trace,
                span_id: parent.span_id,
                service: parent.service.clone(),
            };
            let started = make(options.take()?, parent, spans);
            *open += 1;
            let key = spans.last().map_or(0, |s| s.span_id);
            entries.push(LocalSpan::entry(key, g as usize, spans.len() - 1, started));
            Some(key)
        })
        .ok()
        .flatten();
    match (key, options) {
        (Some(key), _) => Ok(key),
        (None, Some(options)) if idle => Err(NotInGroup::Root(options)),
        (None, Some(options)) => Err(NotInGroup::Other(options)),
        // Not reached: the options are taken only on the way to a push that cannot fail.
        (None, None) => Ok(0),
    }
}

/// Makes `open` (a span not yet counted open in its trace) active as a local span; returns
/// its key. With no stack (the thread is being torn down) it is finished at once, so nothing
/// is lost, and the key is 0.
pub(crate) fn push_local(open: OpenSpan) -> u64 {
    let mut pending = Some(open);
    let key = STACK
        .try_with(|cell| {
            let mut stack = cell.try_borrow_mut().ok()?;
            let OpenSpan {
                data,
                started,
                trace,
            } = pending.take()?;
            Some(stack.push_span(trace, data, started))
        })
        .ok()
        .flatten();
    if let Some(open) = pending {
        open.trace.span_started();
        Box::new(open).finish(Instant::now());
    }
    key.unwrap_or(0)
}

/// Makes the local root of a new trace active: `spans` holds just the root, and becomes its
/// group's buffer. Returns its key; 0 if the thread is being torn down (the root is then
/// finished at once).
pub(crate) fn push_root(spans: Vec<SpanData>, started: Instant, trace: Arc<TraceState>) -> u64 {
    let mut pending = Some((spans, trace));
    let key = STACK
        .try_with(|cell| {
            let mut stack = cell.try_borrow_mut().ok()?;
            let Stack { entries, groups } = &mut *stack;
            let (spans, trace) = pending.take()?;
            let key = spans.first().map_or(0, |s| s.span_id);
            let group = Group {
                trace,
                open: 1,
                spans,
                root: false,
            };
            let g = insert_group(groups, group).0;
            entries.push(LocalSpan::entry(key, g, 0, started));
            Some(key)
        })
        .ok()
        .flatten();
    if let Some((mut spans, trace)) = pending
        && let Some(data) = spans.pop()
    {
        Box::new(OpenSpan {
            data,
            started,
            trace,
        })
        .finish(Instant::now());
    }
    key.unwrap_or(0)
}

/// When a local span ends.
pub(crate) enum End {
    /// At this monotonic instant.
    Now(Instant),
    /// At an explicit wall-clock time.
    Wall(SystemTime),
}

/// Finishes the local span with `key`; when it is the last open span of its group, the
/// group's spans go to the trace.
pub(crate) fn finish_local(key: u64, end: End) {
    let handover = STACK
        .try_with(|cell| {
            let mut stack = cell.try_borrow_mut().ok()?;
            let stack = &mut *stack;
            let span = match stack.entries.last() {
                // Guards usually drop in reverse order: the span is on top.
                Some(Entry::Local(l)) if l.key == key => match stack.entries.pop() {
                    Some(Entry::Local(span)) => span,
                    _ => return None,
                },
                _ => {
                    let pos = stack
                        .entries
                        .iter()
                        .rposition(|e| matches!(e, Entry::Local(l) if l.key == key))?;
                    let Entry::Local(span) = stack.entries.remove(pos) else {
                        return None;
                    };
                    span
                }
            };
            let slot = stack.groups.get_mut(span.group as usize)?;
            let group = slot.as_mut()?;
            let data = group.spans.get_mut(span.index as usize)?;
            match end {
                End::Now(end) => close(data, span.started, end),
                End::Wall(end) => close_at(data, end),
            }
            if data.span_id == group.trace.local_root_id {
                group.root = true;
            }
            group.open -= 1;
            if group.open == 0 {
                let group = slot.take()?;
                return Some((group.trace, group.spans, true, group.root));
            }
            let threshold = group.trace.flush_threshold();
            if group.spans.len() - group.open >= threshold {
                let trace = Arc::clone(&group.trace);
                let root = std::mem::replace(&mut group.root, false);
                let finished = stack.take_finished(span.group);
                return Some((trace, finished, false, root));
            }
            None
        })
        .ok()
        .flatten();
    // Handed over outside the borrow: the exporter runs, and may look at the active span.
    match handover {
        Some((trace, spans, true, root)) => TraceState::close_group(trace, spans, root),
        Some((trace, spans, false, root)) => trace.absorb(spans, false, root),
        None => {}
    }
}

/// Sets a tag with a `'static` key and string value on the open span with `key`, if it is
/// active on this thread. The key and value come in registers, and the span lookup
/// ([`with_span`]'s) is inlined here, so they are written into the span without a round trip
/// through the stack (where a value stored in parts and loaded whole stalls the load).
pub(crate) fn set_static_meta(key: u64, tag: &'static str, value: &'static str) {
    find_span(key, |s| s.set_static_meta(tag, value));
}

/// [`set_static_meta`] for a metric.
pub(crate) fn set_static_metric(key: u64, tag: &'static str, value: f64) {
    find_span(key, |s| s.set_static_metric(tag, value));
}

/// Runs `f` on the open span with `key`, if it is active on this thread.
pub(crate) fn with_span<R>(key: u64, f: impl FnOnce(&mut SpanMut<'_>) -> R) -> Option<R> {
    find_span(key, f)
}

/// [`with_span`], inlined.
#[inline(always)]
fn find_span<R>(key: u64, f: impl FnOnce(&mut SpanMut<'_>) -> R) -> Option<R> {
    STACK
        .try_with(|s| {
            let mut s = s.try_borrow_mut().ok()?;
            let Stack { entries, groups } = &mut *s;
            match entries.iter_mut().rev().find(|e| e.key() == key)? {
                Entry::Local(l) => {
                    let group = groups.get_mut(l.group as usize)?.as_mut()?;
                    Some(f(&mut SpanMut {
                        data: group.spans.get_mut(l.index as usize)?,
                        trace: &group.trace,
                    }))
                }
                Entry::Span(open) => Some(f(&mut open.view())),
                Entry::Shared(_, _, cell) => cell.with(|s| f(&mut s.view())),
                Entry::Context(..) => None,
            }
        })
        .ok()
        .flatten()
}

/// Runs `f` on the data of span `span_id` of `trace` if this thread holds it: in one of its
/// groups (open or finished), or active as an entered or shared span. `None` when it does not,
/// or cannot look now (its stack is borrowed, or the shared span is locked, by the caller).
pub(crate) fn with_span_of<R>(
    trace: &TraceState,
    span_id: u64,
    f: impl FnOnce(&SpanData) -> R,
) -> Option<R> {
    let same = |t: &Arc<TraceState>| std::ptr::eq(Arc::as_ptr(t), trace);
    STACK
        .try_with(|s| {
            let s = s.try_borrow().ok()?;
            let in_group = s
                .groups
                .iter()
                .flatten()
                .filter(|g| same(&g.trace))
                .find_map(|g| g.spans.iter().find(|d| d.span_id == span_id));
            if let Some(data) = in_group {
                return Some(f(data));
            }
            let entry = s.entries.iter().rev().find(|e| match e {
                Entry::Span(open) => open.data.span_id == span_id && same(&open.trace),
                // Keyed by activation: the context names the span.
                Entry::Shared(_, context, _) => context.span_id() == span_id,
                Entry::Local(_) | Entry::Context(..) => false,
            })?;
            match entry {
                Entry::Span(open) => Some(f(&open.data)),
                Entry::Shared(_, _, cell) => cell
                    .try_with(|open| same(&open.trace).then(|| f(&open.data)))
                    .flatten(),
                Entry::Local(_) | Entry::Context(..) => None,
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
            Some(match s.entries.last()? {
                Entry::Local(l) => {
                    let (trace, data) = s.local(l)?;
                    Parent::Local {
                        trace: Arc::clone(trace),
                        span_id: data.span_id,
                        service: data.service.clone(),
                    }
                }
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

/// `f` on the top entry of this thread's stack (and the stack, for its groups), if there is
/// one and the stack is not borrowed.
#[inline]
fn on_top<R>(f: impl FnOnce(&Stack, &Entry) -> Option<R>) -> Option<R> {
    STACK
        .try_with(|s| {
            let s = s.try_borrow().ok()?;
            f(&s, s.entries.last()?)
        })
        .ok()
        .flatten()
}

/// The key of the active span, if the top of the stack is a span.
pub(crate) fn active_span_key() -> Option<u64> {
    on_top(|_, top| match top {
        Entry::Local(l) => Some(l.key),
        Entry::Span(open) => Some(open.data.span_id),
        Entry::Shared(key, ..) => Some(*key),
        Entry::Context(..) => None,
    })
}

/// The trace of the active entry.
pub(crate) fn active_trace() -> Option<Arc<TraceState>> {
    on_top(|s, top| match top {
        Entry::Local(l) => Some(Arc::clone(&s.group(l.group)?.trace)),
        Entry::Span(open) => Some(Arc::clone(&open.trace)),
        Entry::Context(_, ctx) | Entry::Shared(_, ctx, _) => match &ctx.inner {
            CtxInner::Local { trace, .. } => Some(Arc::clone(trace)),
            CtxInner::Remote(_) => None,
        },
    })
}

/// The trace id and span id of the active entry, copied (nothing cloned).
pub(crate) fn active_ids() -> Option<(TraceId, u64)> {
    on_top(|s, top| match top {
        Entry::Local(l) => {
            let (trace, data) = s.local(l)?;
            Some((trace.trace_id, data.span_id))
        }
        Entry::Span(open) => Some((open.trace.trace_id, open.data.span_id)),
        Entry::Context(_, ctx) | Entry::Shared(_, ctx, _) => Some((ctx.trace_id(), ctx.span_id())),
    })
}

/// The context of the active entry.
pub(crate) fn active_context() -> Option<SpanContext> {
    on_top(|s, top| match top {
        Entry::Local(l) => {
            let (trace, data) = s.local(l)?;
            Some(SpanContext::local(
                Arc::clone(trace),
                data.span_id,
                data.service.clone(),
            ))
        }
        Entry::Span(open) => Some(open.context()),
        Entry::Context(_, ctx) | Entry::Shared(_, ctx, _) => Some(ctx.clone()),
    })
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

    /// The sampling priority of the trace, if decided. With sampling rules configured, a
    /// trace is decided when the decision is needed: when its context is injected (or
    /// [fixed](Self::fix_sampling_decision)), when a chunk of it is sent, or when it ends;
    /// until then this is `None`.
    pub fn sampling_priority(&self) -> Option<i32> {
        match &self.inner {
            CtxInner::Local { trace, .. } => trace.decided_priority(),
            CtxInner::Remote(r) => r.sampling_priority,
        }
    }

    /// Fixes the trace's sampling decision for good, as [`Tracer::inject`](crate::Tracer::inject)
    /// does, for a carrier format of one's own that sends it to another process: a manual keep
    /// or drop afterwards is ignored, so this process and the downstream ones agree. If the
    /// sampling rules have not decided yet, they decide now (see
    /// [`sampling_priority`](Self::sampling_priority)). Returns the priority to send.
    pub fn fix_sampling_decision(&self) -> Option<i32> {
        match &self.inner {
            CtxInner::Local { trace, .. } => Some(trace.lock_decision().0),
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
                    tags.insert("_dd.p.dm", crate::propagation::mechanism_value(m));
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
