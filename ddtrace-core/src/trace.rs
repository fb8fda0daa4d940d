//! Trace assembly: the state one trace shares between its local spans, and the hand-over of
//! finished spans to the exporter.
//!
//! Every span of a trace holds an `Arc<TraceState>`. Starting a child bumps an atomic counter;
//! finishing takes the trace's own mutex (never a global lock) to append the span. When the last
//! open span finishes, the finished spans go to the exporter as one chunk. Partial flush sends the
//! finished spans of a big open trace early, so a long-running root, or a span that is never
//! finished, cannot hold memory without bound.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::config::MAX_BUFFERED_SPANS_PER_TRACE;
use crate::exporter::{ChunkInfo, SamplingRates, TraceChunk};
use crate::log::debug;
use crate::span_data::{SpanData, Str, TagMap, TraceId};
use crate::tag::Stored;
use crate::tracer::TracerInner;

/// The largest chunk length a thread remembers as the size to reserve for the next trace.
const MAX_CHUNK_LEN_HINT: usize = 64;

thread_local! {
    /// The length of the last chunk this thread exported (see `span_finished`).
    static LAST_CHUNK_LEN: Cell<usize> = const { Cell::new(0) };
    /// The propagated tags of traces that carry a decision maker alone, by its value, built
    /// when first needed on this thread (see `propagated_tags`).
    static DM_ONLY: RefCell<Vec<Option<Arc<TagMap<Str>>>>> = const { RefCell::new(Vec::new()) };
}

/// The propagated tags a trace continued from upstream keeps (all but `_dd.p.tid`, which its
/// id carries), `None` when there are none.
///
/// The usual set, a decision maker alone (`_dd.p.dm=-N`), is a map this thread shares between
/// all its traces with that value: nothing is allocated for the trace, and nothing is freed by
/// the exporter's thread, which drops each chunk's reference after the application thread has
/// dropped its own. Freeing another thread's memory in bulk takes that thread's allocator
/// lock, which the application thread then waits on (futex waits were a third of the time of
/// a span under a remote parent, in a profile).
pub(crate) fn propagated_tags(tags: &TagMap<Str>) -> Option<Arc<TagMap<Str>>> {
    use crate::propagation::{DECISION_MAKER_KEY, TID_KEY};
    let kept = || tags.iter().filter(|(k, _)| *k != TID_KEY);
    let mut first_two = kept();
    if let ((DECISION_MAKER_KEY, dm), None) = (first_two.next()?, first_two.next())
        && let Some(shared) = dm_only(dm)
    {
        return Some(shared);
    }
    // The keys as they are stored: the extractors' constants stay borrowed.
    Some(Arc::new(
        tags.entries()
            .filter(|(k, _)| k.as_ref() != TID_KEY)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    ))
}

/// This thread's shared map holding `_dd.p.dm` = `dm` alone, if `dm` is a valid decision
/// maker (`-0` to `-255`).
fn dm_only(dm: &str) -> Option<Arc<TagMap<Str>>> {
    let mechanism = crate::propagation::decision_maker(dm)?;
    let n = usize::from(mechanism);
    DM_ONLY
        .try_with(|maps| {
            let mut maps = maps.try_borrow_mut().ok()?;
            if maps.len() <= n {
                maps.resize(n + 1, None);
            }
            let map = maps[n].get_or_insert_with(|| {
                let mut map = TagMap::new();
                // A valid value is `-<n>` written one way only: the mechanism's constant.
                map.insert(
                    crate::propagation::DECISION_MAKER_KEY,
                    crate::propagation::mechanism_value(mechanism),
                );
                Arc::new(map)
            });
            Some(Arc::clone(map))
        })
        .ok()
        .flatten()
}

/// No decision maker recorded (the priority came from upstream).
const NO_MECHANISM: u8 = u8::MAX;
/// In `TraceState::decision`: the decision has left the process and no longer changes.
const DECISION_LOCKED: u64 = 1 << 40;
/// In `TraceState::decision`: a manual drop (with [`DECISION_REFUSED_KEEP`], a keep) came
/// after the decision was fixed and was ignored; reported when the trace is exported.
const DECISION_REFUSED: u64 = 1 << 41;
/// See [`DECISION_REFUSED`].
const DECISION_REFUSED_KEEP: u64 = 1 << 42;
/// In `TraceState::decision`: sampling rules are configured and have not decided yet. They
/// decide when the decision is first needed (see `TraceState::settle`), seeing the local root
/// as it is then, as the reference tracer does: a resource or tag set after the root started
/// counts. Cleared by the decision, or by a manual keep or drop first.
const DECISION_PENDING: u64 = 1 << 43;

fn pack_decision(priority: i32, mechanism: u8) -> u64 {
    u64::from(priority as u32) | (u64::from(mechanism) << 32)
}

fn unpack_decision(word: u64) -> (i32, Option<u8>) {
    let mechanism = match (word >> 32) as u8 {
        NO_MECHANISM => None,
        m => Some(m),
    };
    (word as u32 as i32, mechanism)
}

/// Sampling priority: the user asked to drop the trace.
pub const USER_REJECT: i32 = -1;
/// Sampling priority: the sampler dropped the trace.
pub const AUTO_REJECT: i32 = 0;
/// Sampling priority: the sampler kept the trace.
pub const AUTO_KEEP: i32 = 1;
/// Sampling priority: the user asked to keep the trace.
pub const USER_KEEP: i32 = 2;

/// Decision maker: the default (no rule, no agent rate).
pub const MECHANISM_DEFAULT: u8 = 0;
/// Decision maker: a manual keep or drop.
pub const MECHANISM_MANUAL: u8 = 4;

/// What the trace knows about its sampling.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Decision {
    pub(crate) priority: i32,
    pub(crate) mechanism: Option<u8>,
    pub(crate) rates: SamplingRates,
}

impl Decision {
    /// The decision the sampler's hot path made (see `Sampler::decide_quietly`).
    pub(crate) fn from_quick(quick: crate::sampler::QuickDecision) -> Decision {
        let (priority, mechanism, rates) = quick.parts();
        Decision {
            priority,
            mechanism: Some(mechanism),
            rates,
        }
    }
}

/// Tags set on the local root through a [`RootSpan`](crate::RootSpan) handle while the root is
/// not on the caller's thread; applied when the root finishes, so over the root's own writes
/// of the same keys. One entry per key.
#[derive(Clone, Default)]
pub(crate) struct RootOverlay {
    tags: Vec<(Str, Stored)>,
    resource: Option<Str>,
    error: Option<bool>,
}

struct TraceBuf {
    finished: Vec<SpanData>,
    rates: SamplingRates,
    overlay: Option<Box<RootOverlay>>,
    /// While the decision is pending: the local root as it started, for a decision needed
    /// where the root is out of reach. Its allocation stays with the state (which a thread
    /// reuses for its next trace), emptied when the trace ends.
    root_at_start: Option<Box<RootSnapshot>>,
    /// The local root has finished (and may already have been sent).
    root_finished: bool,
}

impl TraceBuf {
    /// Appends finished spans (the local root among them when `root`).
    fn take_in(&mut self, mut spans: Vec<SpanData>, root: bool, local_root_id: u64) {
        if self.finished.is_empty() {
            std::mem::swap(&mut self.finished, &mut spans);
        } else {
            self.finished.append(&mut spans);
        }
        if root {
            self.root_arrived(local_root_id);
        }
    }

    /// The local root is now among the finished spans: changes made meanwhile from other
    /// threads (the overlay) apply to it.
    fn root_arrived(&mut self, local_root_id: u64) {
        self.root_finished = true;
        if let Some(overlay) = self.overlay.take()
            && let Some(root) = self
                .finished
                .iter_mut()
                .rev()
                .find(|s| s.span_id == local_root_id)
        {
            apply_overlay(root, *overlay);
        }
    }
}

thread_local! {
    /// A trace state whose trace is over, kept for this thread's next trace: a new trace then
    /// costs no allocation, and the last one no free. It refers to nothing (no tracer, no
    /// tags), so an idle thread's spare holds only its own memory.
    static SPARE: Cell<Option<Arc<TraceState>>> = const { Cell::new(None) };
}

/// The state one trace shares between its spans in this process.
pub(crate) struct TraceState {
    /// The tracer; `None` only in a thread's spare state (see [`SPARE`]), which no span reaches.
    tracer: Option<Arc<TracerInner>>,
    pub(crate) trace_id: TraceId,
    pub(crate) local_root_id: u64,
    pub(crate) origin: Option<Str>,
    pub(crate) propagation_tags: Option<Arc<TagMap<Str>>>,
    /// The upstream W3C tracestate, re-injected downstream (other vendors' members kept).
    pub(crate) tracestate: Option<String>,
    /// Baggage received from upstream, re-injected downstream.
    pub(crate) baggage: Option<Arc<TagMap<String>>>,
    /// The sampling decision in one word, so that it is read and changed whole: the priority
    /// (low 32 bits), the decision maker (the next 8, [`NO_MECHANISM`] for none) and
    /// [`DECISION_LOCKED`].
    decision: AtomicU64,
    open: AtomicUsize,
    buf: Mutex<TraceBuf>,
}

/// What sampling rules match on, copied from a local root as it started (see
/// [`DECISION_PENDING`]).
pub(crate) struct RootSnapshot {
    name: Str,
    service: Str,
    resource: Str,
    /// Its tags, if it had any (most roots start without).
    tags: Option<Box<(TagMap<Str>, TagMap<f64>)>>,
}

impl RootSnapshot {
    const EMPTY: RootSnapshot = RootSnapshot {
        name: Str::Borrowed(""),
        service: Str::Borrowed(""),
        resource: Str::Borrowed(""),
        tags: None,
    };
}

/// The sampler's input for `trace_id`, whose local root has these fields.
fn rule_input<'a>(
    trace_id: TraceId,
    env: &'a str,
    (service, name, resource): (&'a str, &'a str, &'a str),
    meta: &'a TagMap<Str>,
    metrics: &'a TagMap<f64>,
) -> crate::sampler::SamplingInput<'a> {
    crate::sampler::SamplingInput {
        trace_id,
        service,
        name,
        resource,
        meta,
        metrics,
        env,
    }
}

/// A span holding only what sampling rules read of a local root with these fields.
fn rule_copy(
    (name, service, resource): (&Str, &Str, &Str),
    meta: &TagMap<Str>,
    metrics: &TagMap<f64>,
) -> SpanData {
    SpanData {
        name: name.clone(),
        service: service.clone(),
        resource: resource.clone(),
        meta: meta.clone(),
        metrics: metrics.clone(),
        ..SpanData::default()
    }
}

/// What a new trace starts from.
pub(crate) struct TraceSeed {
    pub(crate) trace_id: TraceId,
    pub(crate) local_root_id: u64,
    pub(crate) origin: Option<Str>,
    pub(crate) propagation_tags: Option<Arc<TagMap<Str>>>,
    pub(crate) tracestate: Option<String>,
    pub(crate) baggage: Option<Arc<TagMap<String>>>,
    pub(crate) decision: Decision,
}

impl TraceState {
    /// A new trace with its local root counted as open.
    pub(crate) fn new(tracer: Arc<TracerInner>, seed: TraceSeed) -> Arc<Self> {
        let state = TraceState {
            tracer: Some(tracer),
            trace_id: seed.trace_id,
            local_root_id: seed.local_root_id,
            origin: seed.origin,
            propagation_tags: seed.propagation_tags,
            tracestate: seed.tracestate,
            baggage: seed.baggage,
            decision: AtomicU64::new(pack_decision(
                seed.decision.priority,
                seed.decision.mechanism.unwrap_or(NO_MECHANISM),
            )),
            open: AtomicUsize::new(1),
            buf: Mutex::new(TraceBuf {
                finished: Vec::new(),
                rates: seed.decision.rates,
                overlay: None,
                root_at_start: None,
                root_finished: false,
            }),
        };
        // The thread's spare state, if it has one: its allocation is reused.
        if let Some(mut spare) = SPARE.try_with(Cell::take).ok().flatten()
            && let Some(slot) = Arc::get_mut(&mut spare)
        {
            // And its root snapshot's allocation, which the next trace may need.
            let kept = slot.buf_mut().root_at_start.take();
            *slot = state;
            slot.buf_mut().root_at_start = kept;
            return spare;
        }
        Arc::new(state)
    }

    /// The tracer (`None` only for a spare state, which no span reaches).
    pub(crate) fn tracer(&self) -> Option<&Arc<TracerInner>> {
        self.tracer.as_ref()
    }

    fn buf_mut(&mut self) -> &mut TraceBuf {
        self.buf.get_mut().unwrap_or_else(|p| p.into_inner())
    }

    fn buf(&self) -> MutexGuard<'_, TraceBuf> {
        // A panic while holding this lock cannot leave the buffer inconsistent (pushes and
        // takes only), so a poisoned lock is used as is.
        self.buf.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a new local span of this trace.
    pub(crate) fn span_started(&self) {
        self.open.fetch_add(1, Ordering::Relaxed);
    }

    /// The sampling priority and the decision maker (if this process decided), read together.
    pub(crate) fn decision(&self) -> (i32, Option<u8>) {
        unpack_decision(self.decision.load(Ordering::Relaxed))
    }

    /// The current sampling priority.
    pub(crate) fn priority(&self) -> i32 {
        self.decision().0
    }

    /// The sampling priority, `None` while the decision is pending (see [`DECISION_PENDING`]).
    pub(crate) fn decided_priority(&self) -> Option<i32> {
        (!self.is_pending()).then(|| self.priority())
    }

    /// Whether the sampling rules have yet to decide (see [`DECISION_PENDING`]).
    #[inline]
    pub(crate) fn is_pending(&self) -> bool {
        self.decision.load(Ordering::Relaxed) & DECISION_PENDING != 0
    }

    /// Leaves the decision to the sampling rules, when it is needed (see [`settle`]), keeping
    /// `root` as it starts for a decision needed where the root is out of reach. Called once,
    /// as the trace starts, before any other thread can reach it.
    ///
    /// [`settle`]: Self::settle
    pub(crate) fn defer_decision(&self, root: &SpanData) {
        let tags = (!root.meta.is_empty() || !root.metrics.is_empty())
            .then(|| Box::new((root.meta.clone(), root.metrics.clone())));
        let snapshot = RootSnapshot {
            name: root.name.clone(),
            service: root.service.clone(),
            resource: root.resource.clone(),
            tags,
        };
        match &mut self.buf().root_at_start {
            Some(kept) => **kept = snapshot,
            empty => *empty = Some(Box::new(snapshot)),
        }
        // Undecided: no decision maker to propagate yet.
        self.decision.store(
            pack_decision(AUTO_KEEP, NO_MECHANISM) | DECISION_PENDING,
            Ordering::Relaxed,
        );
    }

    /// Makes a pending decision (see [`DECISION_PENDING`]) now: from `root`, the local root's
    /// data as it is now, when the caller has it; else from the root as this thread holds it
    /// (active, or in one of its groups); else from the root as it started. Called holding no
    /// lock of the trace; concurrent calls decide once.
    pub(crate) fn settle(&self, root: Option<&SpanData>) {
        if !self.is_pending() {
            return;
        }
        let line = match root {
            Some(root) => self.settle_from(Some(root)),
            None => crate::context::with_span_of(self, self.local_root_id, |root| {
                self.settle_from(Some(root))
            })
            .unwrap_or_else(|| self.settle_from(None)),
        };
        // Written holding nothing: a log sink is user code, and may reach this trace.
        if let Some(line) = line {
            debug!("{line}");
        }
    }

    /// [`settle`](Self::settle) from `root`, else the root among the trace's finished spans,
    /// else the root as it started; returns the debug line.
    fn settle_from(&self, root: Option<&SpanData>) -> Option<String> {
        let tracer = self.tracer()?;
        // The lock makes concurrent calls decide once (the rate limiter counts each decision).
        let mut buf = self.buf();
        if !self.is_pending() {
            return None;
        }
        let env = tracer.env;
        let (priority, mechanism, rates, line) = {
            let finished = || {
                buf.finished
                    .iter()
                    .find(|s| s.span_id == self.local_root_id)
            };
            let no_tags = (TagMap::default(), TagMap::default());
            // Changes other threads made to the open root, which apply when it finishes,
            // count now too: on a copy of what the rules read.
            let overlaid = buf.overlay.as_deref().map(|overlay| {
                let mut copy = match (root.or_else(finished), buf.root_at_start.as_deref()) {
                    (Some(r), _) => {
                        rule_copy((&r.name, &r.service, &r.resource), &r.meta, &r.metrics)
                    }
                    (None, Some(r)) => {
                        let (meta, metrics) = r.tags.as_deref().unwrap_or(&no_tags);
                        rule_copy((&r.name, &r.service, &r.resource), meta, metrics)
                    }
                    (None, None) => SpanData::default(),
                };
                apply_overlay(&mut copy, overlay.clone());
                copy
            });
            let root = overlaid.as_ref().or(root);
            let input = match (root.or_else(finished), buf.root_at_start.as_deref()) {
                (Some(r), _) => rule_input(
                    self.trace_id,
                    env,
                    (&r.service, &r.name, &r.resource),
                    &r.meta,
                    &r.metrics,
                ),
                (None, Some(r)) => {
                    let (meta, metrics) = r.tags.as_deref().unwrap_or(&no_tags);
                    rule_input(
                        self.trace_id,
                        env,
                        (&r.service, &r.name, &r.resource),
                        meta,
                        metrics,
                    )
                }
                (None, None) => {
                    // Not reached: the snapshot stays until the decision is made.
                    self.decision
                        .fetch_and(!DECISION_PENDING, Ordering::Relaxed);
                    return None;
                }
            };
            tracer.sampler.decide_unlogged(&input)
        };
        let decided = pack_decision(priority, mechanism);
        let mut current = self.decision.load(Ordering::Relaxed);
        loop {
            if current & DECISION_PENDING == 0 {
                // A manual keep or drop came first: it stands.
                return None;
            }
            match self.decision.compare_exchange_weak(
                current,
                decided,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(seen) => current = seen,
            }
        }
        buf.rates = rates;
        line
    }

    /// The decision maker, if this process decided.
    pub(crate) fn mechanism(&self) -> Option<u8> {
        self.decision().1
    }

    /// Overrides the sampling decision (manual keep / drop), unless it has left the process
    /// already (see [`lock_decision`](Self::lock_decision)): then the change is refused (a
    /// debug line says so when the trace is exported), so that every chunk and every
    /// downstream service see one decision.
    pub(crate) fn set_priority(&self, priority: i32, mechanism: u8) {
        let new = pack_decision(priority, mechanism);
        let mut current = self.decision.load(Ordering::Relaxed);
        loop {
            if current & DECISION_LOCKED != 0 {
                // Said when the trace is exported: a span's lock may be held here, and a log
                // sink is user code that may reach that span.
                let keep = if priority > 0 {
                    DECISION_REFUSED_KEEP
                } else {
                    0
                };
                self.decision
                    .fetch_or(DECISION_REFUSED | keep, Ordering::Relaxed);
                return;
            }
            match self.decision.compare_exchange_weak(
                current,
                new,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(seen) => current = seen,
            }
        }
    }

    /// The debug line for a manual keep or drop that came too late (see
    /// [`set_priority`](Self::set_priority)), once; called holding no lock.
    fn report_refused_decision(&self) {
        let word = self.decision.fetch_and(
            !(DECISION_REFUSED | DECISION_REFUSED_KEEP),
            Ordering::Relaxed,
        );
        if word & DECISION_REFUSED != 0 {
            let asked = if word & DECISION_REFUSED_KEEP != 0 {
                "keep"
            } else {
                "drop"
            };
            debug!(
                "trace {}: a manual {asked} was ignored: the sampling decision (priority {}) \
                 had already been propagated or sent",
                self.trace_id,
                unpack_decision(word).0
            );
        }
    }

    /// Fixes the decision for good: it is about to leave the process (injected into outgoing
    /// headers, or sent with a partial chunk). Makes it first if it is pending. Returns it.
    pub(crate) fn lock_decision(&self) -> (i32, Option<u8>) {
        self.settle(None);
        unpack_decision(self.decision.fetch_or(DECISION_LOCKED, Ordering::Relaxed))
    }

    /// Records the sampler's decision: priority, decision maker and the rates it used.
    pub(crate) fn set_decision(&self, d: &crate::sampler::SamplingDecision) {
        self.record_decision(
            d.priority,
            d.mechanism,
            SamplingRates {
                agent: d.agent_psr,
                rule: d.rule_psr,
                limit: d.limit_psr,
            },
        );
    }

    /// Records a decision the sampler's hot path made (see `Sampler::decide_quietly`).
    pub(crate) fn set_quick_decision(&self, quick: crate::sampler::QuickDecision) {
        let (priority, mechanism, rates) = quick.parts();
        self.record_decision(priority, mechanism, rates);
    }

    /// Priority, decision maker and, if any, the rates the decision used.
    fn record_decision(&self, priority: i32, mechanism: u8, rates: SamplingRates) {
        // Without rules the sampler decides when the trace starts, before anything can have
        // locked it (with rules, `settle_from` decides).
        self.decision
            .store(pack_decision(priority, mechanism), Ordering::Relaxed);
        if rates.agent.is_some() || rates.rule.is_some() || rates.limit.is_some() {
            self.buf().rates = rates;
        }
    }

    /// Applies a root-span change made from a thread that does not hold the root.
    pub(crate) fn update_root(&self, f: impl FnOnce(&mut RootUpdate<'_>)) {
        let late = {
            let mut buf = self.buf();
            let buf = &mut *buf;
            if let Some(root) = buf
                .finished
                .iter_mut()
                .find(|s| s.span_id == self.local_root_id)
            {
                f(&mut RootUpdate::Finished(root));
                false
            } else if buf.root_finished {
                true
            } else {
                let overlay = buf.overlay.get_or_insert_with(Box::default);
                f(&mut RootUpdate::Pending(overlay));
                false
            }
        };
        // Logged without the lock: a log sink is user code, and may reach this trace.
        if late {
            debug!(
                "trace {}: the local root was already sent; a late change to it is dropped",
                self.trace_id
            );
        }
    }

    /// A buffer for the spans of this trace, `open` of them open now: one the exporter is
    /// done with if it is big enough (see `Exporter::reuse_buffer`; a smaller one would be
    /// reallocated, its old bytes copied, so a new one costs less), else a new one. The old
    /// spans of a recycled buffer are dropped here, on the application thread.
    pub(crate) fn span_buffer(&self, open: usize) -> Vec<SpanData> {
        // Room for the spans open now, or for as many as the last chunk this thread exported
        // if more: traces of one shape then get their buffer once, not by doubling, and a
        // one-span trace one small allocation.
        let hint = LAST_CHUNK_LEN.try_with(Cell::get).unwrap_or(0);
        // Never more than a chunk holds before it is sent early (100,000 open futures of one
        // trace must not reserve room for 100,000 finished spans each time).
        let want = open.max(hint).clamp(1, self.flush_threshold().max(1));
        let mut spans = match self.tracer().and_then(|t| t.exporter.reuse_buffer()) {
            Some(mut recycled) if recycled.capacity() >= want => {
                recycled.clear();
                // Its memory was last touched by the exporter's thread (see `prefetch`).
                crate::prefetch::prefetch_for_write(&recycled, want);
                recycled
            }
            _ => Vec::new(),
        };
        spans.reserve_exact(want);
        spans
    }

    /// How many finished spans of an open trace are sent early.
    pub(crate) fn flush_threshold(&self) -> usize {
        match self.tracer() {
            Some(t) if t.config.partial_flush_enabled => t.config.partial_flush_min_spans,
            _ => MAX_BUFFERED_SPANS_PER_TRACE,
        }
    }

    /// Takes a finished span; hands a chunk to the exporter when the trace is complete or big.
    pub(crate) fn span_finished(&self, data: SpanData) {
        let root = data.span_id == self.local_root_id;
        let chunk = {
            let mut buf = self.buf();
            if buf.finished.capacity() == 0 {
                buf.finished = self.span_buffer(self.open.load(Ordering::Relaxed));
            }
            buf.finished.push(data);
            if root {
                buf.root_arrived(self.local_root_id);
            }
            let remaining = self.open.fetch_sub(1, Ordering::AcqRel).saturating_sub(1);
            self.ready(&mut buf, remaining)
        };
        self.send(chunk);
    }

    /// Takes the finished spans of one thread's group of spans of this trace (see
    /// `context::Group`): all of them when `group_done` (the group, counted as one open span,
    /// is closed), else an early batch of a big group. `root` says whether the local root is
    /// among them.
    pub(crate) fn absorb(&self, spans: Vec<SpanData>, group_done: bool, root: bool) {
        let chunk = {
            let mut buf = self.buf();
            buf.take_in(spans, root, self.local_root_id);
            let remaining = if group_done {
                self.open.fetch_sub(1, Ordering::AcqRel).saturating_sub(1)
            } else {
                self.open.load(Ordering::Acquire)
            };
            self.ready(&mut buf, remaining)
        };
        self.send(chunk);
    }

    /// Exports what [`ready`](Self::ready) took, once the lock is released (the debug line
    /// goes to a log sink, user code that may reach this trace).
    fn send(&self, chunk: Option<(Vec<SpanData>, SamplingRates, bool)>) {
        let Some((spans, rates, partial)) = chunk else {
            return;
        };
        if partial
            && !self
                .tracer()
                .is_some_and(|t| t.config.partial_flush_enabled)
        {
            debug!(
                "trace {}: {} finished spans sent early while others are open (partial flush \
                 is off; an open trace holds at most {MAX_BUFFERED_SPANS_PER_TRACE})",
                self.trace_id,
                spans.len()
            );
        }
        self.export(spans, rates, partial);
    }

    /// Closes a thread's group of this trace that holds the last reference to the trace. Then
    /// nothing else can reach the trace: no other span is open, and the chunk goes out without
    /// the lock or the atomics. Otherwise the spans are absorbed as usual.
    pub(crate) fn close_group(mut trace: Arc<Self>, spans: Vec<SpanData>, root: bool) {
        let Some(state) = Arc::get_mut(&mut trace) else {
            return trace.absorb(spans, true, root);
        };
        // The group is the trace's last open span, but for spans that threads which exited
        // left open (leaked): those can never finish now.
        let leaked = std::mem::replace(state.open.get_mut(), 0).saturating_sub(1);
        let buf = state.buf.get_mut().unwrap_or_else(|p| p.into_inner());
        buf.take_in(spans, root, state.local_root_id);
        let (finished, rates) = (std::mem::take(&mut buf.finished), buf.rates);
        state.report_unfinished(leaked, finished.len());
        state.export(finished, rates, leaked > 0);
        state.clear();
        Self::keep_spare(trace);
    }

    /// Counts and reports `unfinished` spans the trace ends without (leaked, or never
    /// finished), `sent` being the finished ones it sends anyway. Called holding no lock.
    fn report_unfinished(&self, unfinished: usize, sent: usize) {
        if unfinished == 0 {
            return;
        }
        if let Some(t) = self.tracer() {
            t.stats.record_unfinished(unfinished as u64);
        }
        debug!(
            "trace {}: {unfinished} span(s) were never finished; sending the {sent} that did",
            self.trace_id
        );
    }

    /// Drops a handle on the state; when it was the last and the trace is over, the state
    /// becomes this thread's spare for its next trace.
    #[inline]
    pub(crate) fn recycle(mut trace: Arc<Self>) {
        let Some(state) = Arc::get_mut(&mut trace) else {
            return;
        };
        if *state.open.get_mut() != 0 {
            // Spans never finished: dropping it reports them (see `Drop`).
            return;
        }
        state.clear();
        Self::keep_spare(trace);
    }

    /// Lets go of what the state of a finished trace refers to: an idle thread's spare keeps
    /// no tracer alive, and no tags.
    fn clear(&mut self) {
        self.tracer = None;
        self.origin = None;
        self.propagation_tags = None;
        self.tracestate = None;
        self.baggage = None;
        let buf = self.buf.get_mut().unwrap_or_else(|p| p.into_inner());
        buf.overlay = None;
        if let Some(root) = &mut buf.root_at_start {
            // What it refers to goes; the allocation stays for the next trace.
            **root = RootSnapshot::EMPTY;
        }
    }

    /// Keeps `trace` (cleared, and held by nothing else) as this thread's spare.
    fn keep_spare(trace: Arc<Self>) {
        let _ = SPARE.try_with(|s| s.set(Some(trace)));
    }

    /// Counts `n` more local spans open (spans a closing group leaves unfinished).
    pub(crate) fn add_open(&self, n: usize) {
        self.open.fetch_add(n, Ordering::Relaxed);
    }

    /// The chunk to export, if the trace is complete (`remaining` open spans is 0) or holds
    /// enough finished spans for an early flush.
    fn ready(
        &self,
        buf: &mut TraceBuf,
        remaining: usize,
    ) -> Option<(Vec<SpanData>, SamplingRates, bool)> {
        if remaining == 0 {
            return Some((std::mem::take(&mut buf.finished), buf.rates, false));
        }
        if buf.finished.len() < self.flush_threshold() {
            return None;
        }
        Some((std::mem::take(&mut buf.finished), buf.rates, true))
    }

    fn export(&self, mut spans: Vec<SpanData>, mut rates: SamplingRates, partial: bool) {
        let _ = LAST_CHUNK_LEN.try_with(|n| n.set(spans.len().min(MAX_CHUNK_LEN_HINT)));
        // The buffer grew by doubling; give back the unused tail (an in-place shrink for the
        // allocator) so a buffered chunk costs what it holds.
        if spans.capacity() - spans.len() > spans.len() / 4 {
            spans.shrink_to_fit();
        }
        let Some(tracer) = self.tracer() else {
            return;
        };
        if tracer.sampler.has_rules() {
            // The decision may be pending: it is needed now, from the root as it finished when
            // it is in this chunk (the last chunk, or a partial one sent after the root
            // finished). The rates that go with the root are read after it is made, here or
            // by another thread since the chunk was taken.
            let root = spans.iter().find(|s| s.span_id == self.local_root_id);
            if root.is_some() || self.is_pending() {
                self.settle(root);
                rates = self.buf().rates;
            }
        }
        if crate::log::debug_enabled() {
            self.report_refused_decision();
        }
        // A partial chunk sends the decision while the trace goes on: it may not change after.
        let (priority, mechanism) = if partial {
            self.lock_decision()
        } else {
            self.decision()
        };
        tracer.exporter.export(TraceChunk {
            spans,
            info: ChunkInfo {
                trace_id: self.trace_id,
                local_root_id: self.local_root_id,
                priority,
                mechanism,
                origin: self.origin.clone(),
                propagation_tags: self.propagation_tags.clone(),
                rates,
                partial,
            },
            finalizer: Arc::clone(&tracer.finalizer),
        });
    }
}

impl Drop for TraceState {
    fn drop(&mut self) {
        // Every span handle holds the trace: when the last goes, nothing can finish any more.
        // Spans still counted open were leaked (mem::forget) or never finished; send what did
        // finish rather than lose it, and say so.
        let open = *self.open.get_mut();
        let buf = self.buf.get_mut().unwrap_or_else(|p| p.into_inner());
        let spans = std::mem::take(&mut buf.finished);
        let rates = buf.rates;
        self.report_unfinished(open, spans.len());
        if !spans.is_empty() {
            self.export(spans, rates, open > 0);
        }
    }
}

/// A change to the local root, wherever the root is.
pub(crate) enum RootUpdate<'a> {
    Finished(&'a mut SpanData),
    Pending(&'a mut RootOverlay),
}

impl RootUpdate<'_> {
    pub(crate) fn tag(&mut self, key: Str, stored: Stored) {
        match self {
            RootUpdate::Finished(span) => crate::span::store_tag(span, key, stored),
            // The last change of a key wins and replaces the earlier one: a tag updated in a
            // loop from another thread does not grow the overlay.
            RootUpdate::Pending(o) => match o.tags.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = stored,
                None => o.tags.push((key, stored)),
            },
        }
    }

    pub(crate) fn resource(&mut self, resource: Str) {
        match self {
            RootUpdate::Finished(span) => span.resource = resource,
            RootUpdate::Pending(o) => o.resource = Some(resource),
        }
    }

    pub(crate) fn error(&mut self, error: bool) {
        match self {
            RootUpdate::Finished(span) => span.error = error,
            RootUpdate::Pending(o) => o.error = Some(error),
        }
    }
}

fn apply_overlay(span: &mut SpanData, overlay: RootOverlay) {
    for (k, v) in overlay.tags {
        crate::span::store_tag(span, k, v);
    }
    if let Some(r) = overlay.resource {
        span.resource = r;
    }
    if let Some(e) = overlay.error {
        span.error = e;
    }
}

/// Span counters of one tracer (the writer counts what it sends and drops).
#[derive(Default)]
pub(crate) struct SpanStats {
    /// Spans whose trace ended while they were still open (never finished).
    pub(crate) unfinished: AtomicU64,
}

impl SpanStats {
    fn record_unfinished(&self, n: u64) {
        self.unfinished.fetch_add(n, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&'static str, &'static str)]) -> TagMap<Str> {
        pairs.iter().map(|&(k, v)| (k, Str::Borrowed(v))).collect()
    }

    fn entries(map: &TagMap<Str>) -> Vec<(&str, &str)> {
        map.iter().map(|(k, v)| (k, v.as_ref())).collect()
    }

    #[test]
    fn a_root_overlay_keeps_one_entry_per_key_and_the_last_value() {
        let mut overlay = RootOverlay::default();
        for i in 0..1000 {
            RootUpdate::Pending(&mut overlay)
                .tag(Str::Borrowed("count"), Stored::Metric(f64::from(i)));
        }
        RootUpdate::Pending(&mut overlay).tag(Str::Borrowed("k"), Stored::Metric(1.0));
        RootUpdate::Pending(&mut overlay).tag(Str::Borrowed("k"), Stored::Meta(Str::Borrowed("v")));
        assert_eq!(overlay.tags.len(), 2);
        let mut root = SpanData::default();
        root.metrics.insert("k", 5.0);
        apply_overlay(&mut root, overlay);
        assert_eq!(root.metrics.get("count"), Some(&999.0));
        assert_eq!(root.meta.get("k").map(|v| v.as_ref()), Some("v"));
        assert_eq!(root.metrics.get("k"), None);
    }

    #[test]
    fn a_decision_maker_alone_is_shared_by_value_and_the_rest_kept_as_is() {
        let tid = ("_dd.p.tid", "66c0ffee00000000");
        let one = propagated_tags(&tags(&[("_dd.p.dm", "-1")])).unwrap();
        let again = propagated_tags(&tags(&[tid, ("_dd.p.dm", "-1")])).unwrap();
        assert!(Arc::ptr_eq(&one, &again), "the same map for the same value");
        assert_eq!(entries(&one), [("_dd.p.dm", "-1")]);
        let other = propagated_tags(&tags(&[("_dd.p.dm", "-255")])).unwrap();
        assert!(!Arc::ptr_eq(&one, &other));
        assert_eq!(entries(&other), [("_dd.p.dm", "-255")]);
        // Anything else is the trace's own copy, without `_dd.p.tid`.
        let more = tags(&[("_dd.p.dm", "-1"), tid, ("_dd.p.usr.id", "u")]);
        let own = propagated_tags(&more).unwrap();
        assert!(!Arc::ptr_eq(&one, &own));
        assert_eq!(entries(&own), [("_dd.p.dm", "-1"), ("_dd.p.usr.id", "u")]);
        let odd = propagated_tags(&tags(&[("_dd.p.dm", "-01")])).unwrap();
        assert_eq!(entries(&odd), [("_dd.p.dm", "-01")]);
        assert!(propagated_tags(&tags(&[tid])).is_none());
        assert!(propagated_tags(&TagMap::new()).is_none());
    }
}
