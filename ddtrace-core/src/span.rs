//! Spans: the open-span state, and the handles users hold.
//!
//! - [`SpanGuard`]: from [`Tracer::trace`](crate::Tracer::trace); the span is *active* (new spans
//!   on this thread become its children, [`current_span`](crate::current_span) returns it) until
//!   the guard is dropped, which finishes it. `!Send`: it belongs to the thread it was made on.
//! - [`Span`]: from [`SpanBuilder::start`](crate::SpanBuilder::start); an owned, `Send` span that
//!   is active only while entered ([`Span::enter`], [`Span::in_scope`], or
//!   [`Instrument`](crate::Instrument) for futures). Dropping it finishes it.
//! - [`ActiveSpan`]: a handle to a span active on this thread ([`current_span`](crate::current_span)).
//! - [`RootSpan`]: a handle to the local root of the current trace
//!   ([`current_root_span`](crate::current_root_span)).
//!
//! All of them set tags with the same methods: strings go to `meta`, numbers and booleans to
//! `metrics`, as the reference tracer does.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::clock::Instant;

use crate::context::{self, Entry, SpanContext};
use crate::error::{self, ErrorInfo};
use crate::log::debug;
use crate::span_data::{AttributeValue, SpanData, SpanEvent, SpanLink, Str, TagMap, TraceId};
use crate::tag::{Stored, TagValue};
use crate::trace::{MECHANISM_MANUAL, TraceState, USER_KEEP, USER_REJECT};

/// Tag that keeps the whole trace (priority 2, decision maker `-4`).
pub const MANUAL_KEEP: &str = "manual.keep";
/// Tag that drops the whole trace (priority -1, decision maker `-4`).
pub const MANUAL_DROP: &str = "manual.drop";

/// A span between start and finish, owned by a [`Span`] (or a [`SharedSpan`]).
///
/// Spans started active ([`SpanGuard`]) keep their data in their thread's group of their trace
/// instead (see [`context`]); both are reached through a [`SpanMut`].
pub(crate) struct OpenSpan {
    pub(crate) data: SpanData,
    pub(crate) started: Instant,
    pub(crate) trace: Arc<TraceState>,
}

/// An open span, wherever it lives: its data and its trace.
pub(crate) struct SpanMut<'a> {
    pub(crate) data: &'a mut SpanData,
    pub(crate) trace: &'a Arc<TraceState>,
}

impl SpanMut<'_> {
    #[inline]
    pub(crate) fn set_tag(&mut self, key: Str, value: TagValue) {
        if !self.manual(&key) {
            store_tag(self.data, key, value.into_stored());
        }
    }

    /// [`set_tag`](Self::set_tag) for a `'static` key and string value.
    #[inline(always)]
    pub(crate) fn set_static_meta(&mut self, key: &'static str, value: &'static str) {
        if !self.manual(key) {
            let data = &mut *self.data;
            if !data.metrics.is_empty() {
                data.metrics.remove(key);
            }
            data.meta.insert_static(key, Str::Borrowed(value));
        }
    }

    /// [`set_tag`](Self::set_tag) for a `'static` key and a value that is a metric.
    #[inline(always)]
    pub(crate) fn set_static_metric(&mut self, key: &'static str, value: f64) {
        if !self.manual(key) {
            let data = &mut *self.data;
            if !data.meta.is_empty() {
                data.meta.remove(key);
            }
            data.metrics.insert_static(key, value);
        }
    }

    /// Applies `manual.keep` / `manual.drop` (whatever the value); says whether `key` was one.
    #[inline]
    fn manual(&mut self, key: &str) -> bool {
        // Most keys are not `manual.*`: one byte rules them out.
        if key.as_bytes().first() != Some(&b'm') {
            return false;
        }
        let priority = match key {
            MANUAL_KEEP => USER_KEEP,
            MANUAL_DROP => USER_REJECT,
            _ => return false,
        };
        self.trace.set_priority(priority, MECHANISM_MANUAL);
        true
    }

    pub(crate) fn set_error(&mut self, info: ErrorInfo) {
        mark_error(self.data, info);
    }

    pub(crate) fn as_ref(&self) -> SpanRef<'_> {
        SpanRef {
            data: self.data,
            trace: self.trace,
        }
    }
}

/// An open span, read only.
pub(crate) struct SpanRef<'a> {
    pub(crate) data: &'a SpanData,
    pub(crate) trace: &'a Arc<TraceState>,
}

impl SpanRef<'_> {
    pub(crate) fn context(&self) -> SpanContext {
        SpanContext::local(
            Arc::clone(self.trace),
            self.data.span_id,
            self.data.service.clone(),
        )
    }
}

/// Marks `data` as an error with `error.type`, `error.message` and, if known, `error.stack`.
pub(crate) fn mark_error(data: &mut SpanData, info: ErrorInfo) {
    data.error = true;
    data.meta.insert("error.type", info.kind);
    data.meta.insert("error.message", Str::Owned(info.message));
    if let Some(stack) = info.stack {
        data.meta.insert("error.stack", Str::Owned(stack));
    }
}

/// The duration from `started` to `end` in nanoseconds, marking the span as an error if it
/// ends while the thread unwinds from a panic, unless the span started during that unwind
/// (code a `Drop` runs: the panic is not leaving its scope).
pub(crate) fn close(data: &mut SpanData, started: Instant, end: Instant) {
    if std::thread::panicking()
        && !data.error
        && let Some(info) = error::panic_through(data.span_id, true)
    {
        mark_error(data, info);
    }
    data.duration = end.nanos_since(started).min(i64::MAX as u64) as i64;
}

/// Marks `open` if a panic is leaving a scope it was active in: the span is marked even if
/// the panic is caught before it finishes (a `catch_unwind` around a poll or an `in_scope`).
fn mark_if_panic_leaves(open: &mut OpenSpan) {
    if std::thread::panicking()
        && !open.data.error
        && let Some(info) = error::panic_through(open.data.span_id, false)
    {
        mark_error(&mut open.data, info);
    }
}

/// The duration up to an explicit wall-clock end.
pub(crate) fn close_at(data: &mut SpanData, end: SystemTime) {
    data.duration = unix_ns(end).saturating_sub(data.start).max(0);
}

impl OpenSpan {
    pub(crate) fn view(&mut self) -> SpanMut<'_> {
        SpanMut {
            data: &mut self.data,
            trace: &self.trace,
        }
    }

    pub(crate) fn as_ref(&self) -> SpanRef<'_> {
        SpanRef {
            data: &self.data,
            trace: &self.trace,
        }
    }

    pub(crate) fn context(&self) -> SpanContext {
        self.as_ref().context()
    }

    /// Finishes at the monotonic instant `end`.
    pub(crate) fn finish(self: Box<Self>, end: Instant) {
        let OpenSpan {
            mut data,
            started,
            trace,
        } = *self;
        close(&mut data, started, end);
        trace.span_finished(data);
        TraceState::recycle(trace);
    }

    /// Finishes at an explicit wall-clock time.
    pub(crate) fn finish_at(self: Box<Self>, end: SystemTime) {
        let OpenSpan {
            mut data, trace, ..
        } = *self;
        close_at(&mut data, end);
        trace.span_finished(data);
        TraceState::recycle(trace);
    }
}

/// Unix epoch nanoseconds of a wall-clock time (0 before the epoch).
pub(crate) fn unix_ns(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Stores a tag where it belongs; a key lives in `meta` or in `metrics`, never both.
#[inline]
pub(crate) fn store_tag(span: &mut SpanData, key: Str, stored: Stored) {
    match stored {
        Stored::Meta(v) => {
            if !span.metrics.is_empty() {
                span.metrics.remove(&key);
            }
            span.meta.insert(key, v);
        }
        Stored::Metric(v) => {
            if !span.meta.is_empty() {
                span.meta.remove(&key);
            }
            span.metrics.insert(key, v);
        }
        Stored::Rejected(why) => debug!("tag {key:?} on span {:?} ignored: {why}", span.name),
    }
}

/// The tag, error and metadata methods shared by every span handle, written once.
macro_rules! span_methods {
    (ref) => { span_methods!(@gen self [&]); span_methods!(@static_tags self [&]); };
    (mut) => { span_methods!(@gen self [&mut]); span_methods!(@static_tags self [&mut]); };
    // The handle sets `'static` tags its own way (`put_static_meta`, `put_static_metric`).
    (ref, tag_static_with_context) => { span_methods!(@gen self [&]); };
    (@static_tags $self:tt [$($ref:tt)*]) => {
        fn put_static_meta($($ref)* $self, key: &'static str, value: &'static str) {
            $self.with_open(move |s| s.set_static_meta(key, value));
        }

        fn put_static_metric($($ref)* $self, key: &'static str, value: f64) {
            $self.with_open(move |s| s.set_static_metric(key, value));
        }
    };
    (@gen $self:tt [$($ref:tt)*]) => {
        fn put_tag($($ref)* $self, key: Str, value: TagValue) {
            $self.with_open(move |s| s.set_tag(key, value));
        }

        /// Sets a tag: strings go to `meta`; integers, floats and booleans to `metrics`.
        /// `manual.keep` / `manual.drop` keep or drop the whole trace instead.
        #[inline]
        pub fn set_tag($($ref)* $self, key: impl Into<Str>, value: impl Into<TagValue>) {
            // Inlined into the caller, where the kinds of key and value are known: the common
            // `'static` key with a `'static` string or a number travels in registers (moving a
            // `Str` or a `TagValue` goes through memory).
            match (key.into(), value.into()) {
                (Str::Borrowed(k), TagValue::Str(Str::Borrowed(v))) => $self.put_static_meta(k, v),
                (Str::Borrowed(k), value) => match value.as_metric() {
                    Some(m) => $self.put_static_metric(k, m),
                    None => $self.put_tag(Str::Borrowed(k), value),
                },
                (key, value) => $self.put_tag(key, value),
            }
        }

        /// Sets the resource (what the span acted on: a route, a query, ...).
        pub fn set_resource($($ref)* $self, resource: impl Into<Str>) {
            let resource = resource.into();
            $self.with_open(move |s| s.data.resource = resource);
        }

        /// Sets the operation name.
        pub fn set_name($($ref)* $self, name: impl Into<Str>) {
            let name = name.into();
            $self.with_open(move |s| s.data.name = name);
        }

        /// Sets the service.
        pub fn set_service($($ref)* $self, service: impl Into<Str>) {
            let service = service.into();
            $self.with_open(move |s| s.data.service = service);
        }

        /// Sets the span type (`web`, `http`, `db`, `cache`, ...).
        pub fn set_span_type($($ref)* $self, span_type: impl Into<Str>) {
            let span_type = span_type.into();
            $self.with_open(move |s| s.data.span_type = span_type);
        }

        /// Marks the span as an error from `err`: `error.type` is the error's type name,
        /// `error.message` its `Display`, `error.stack` its source chain (and a backtrace when
        /// `RUST_BACKTRACE` enables capture).
        pub fn set_error<E: std::error::Error + ?Sized>($($ref)* $self, err: &E) {
            let info = ErrorInfo::from_error(err);
            $self.with_open(move |s| s.set_error(info));
        }

        /// Marks the span as an error from any displayable value (`error.type` is its type name).
        pub fn set_error_message<E: std::fmt::Display + ?Sized>($($ref)* $self, err: &E) {
            let info = ErrorInfo::from_display(err);
            $self.with_open(move |s| s.set_error(info));
        }

        /// Marks the span as an error from explicit parts: `error.type`, `error.message` and,
        /// when given, `error.stack` (what OpenTracing's `error.kind` / `message` / `stack` log
        /// fields carry).
        pub fn set_error_details(
            $($ref)* $self,
            kind: impl Into<Str>,
            message: impl Into<String>,
            stack: Option<String>,
        ) {
            let info = ErrorInfo {
                kind: kind.into(),
                message: message.into(),
                stack,
            };
            $self.with_open(move |s| s.set_error(info));
        }

        /// Sets or clears the error flag alone, like the reference's `span.error = 1`.
        pub fn set_error_flag($($ref)* $self, error: bool) {
            $self.with_open(move |s| s.data.error = error);
        }

        /// Adds a link to another span context.
        pub fn add_link($($ref)* $self, link: SpanLink) {
            $self.with_open(move |s| s.data.links.push(link));
        }

        /// Adds a timestamped event (now) with attributes. An array attribute whose values
        /// are not all of one scalar type is sent as its JSON text (the agent takes arrays of
        /// one type only).
        pub fn add_event<K: Into<Str>>(
            $($ref)* $self,
            name: impl Into<Str>,
            attributes: impl IntoIterator<Item = (K, AttributeValue)>,
        ) {
            let event = SpanEvent {
                name: name.into(),
                time_unix_nano: unix_ns(SystemTime::now()) as u64,
                attributes: attributes.into_iter().collect::<TagMap<AttributeValue>>(),
            };
            $self.with_open(move |s| s.data.events.push(event));
        }

        /// Adds an event with attributes at an explicit time (OpenTracing logs with a timestamp).
        pub fn add_event_at<K: Into<Str>>(
            $($ref)* $self,
            name: impl Into<Str>,
            time: SystemTime,
            attributes: impl IntoIterator<Item = (K, AttributeValue)>,
        ) {
            let event = SpanEvent {
                name: name.into(),
                time_unix_nano: unix_ns(time) as u64,
                attributes: attributes.into_iter().collect::<TagMap<AttributeValue>>(),
            };
            $self.with_open(move |s| s.data.events.push(event));
        }

        /// Keeps the whole trace (priority 2, like the `manual.keep` tag). Ignored once the
        /// decision has left the process (the context injected, or a partial chunk sent).
        pub fn keep_trace($($ref)* $self) {
            $self.with_open(|s| s.trace.set_priority(USER_KEEP, MECHANISM_MANUAL));
        }

        /// Drops the whole trace (priority -1, like the `manual.drop` tag). Ignored once the
        /// decision has left the process (the context injected, or a partial chunk sent).
        pub fn drop_trace($($ref)* $self) {
            $self.with_open(|s| s.trace.set_priority(USER_REJECT, MECHANISM_MANUAL));
        }

        /// The span's context, to parent spans on other threads or to propagate.
        /// `None` when tracing is disabled or the span has finished.
        pub fn context(& $self) -> Option<SpanContext> {
            $self.with_ref(|s| s.context())
        }

        /// The span id (0 when tracing is disabled or the span has finished).
        pub fn span_id(& $self) -> u64 {
            $self.with_ref(|s| s.data.span_id).unwrap_or(0)
        }

        /// The trace id (zero when tracing is disabled or the span has finished).
        pub fn trace_id(& $self) -> TraceId {
            $self.with_ref(|s| s.data.trace_id).unwrap_or_default()
        }
    };
}

/// A handle to a span that is active on this thread (see [`current_span`](crate::current_span)).
///
/// It names the span rather than owning it: once the span has finished, every method does
/// nothing. `!Send`: an active span belongs to its thread.
#[derive(Clone, Copy, Debug)]
pub struct ActiveSpan {
    key: u64,
    _not_send: PhantomData<*const ()>,
}

impl ActiveSpan {
    pub(crate) fn new(key: u64) -> Self {
        ActiveSpan {
            key,
            _not_send: PhantomData,
        }
    }

    fn with_open<R>(&self, f: impl FnOnce(&mut SpanMut<'_>) -> R) -> Option<R> {
        if self.key == 0 {
            return None;
        }
        context::with_span(self.key, f)
    }

    fn with_ref<R>(&self, f: impl FnOnce(&SpanRef<'_>) -> R) -> Option<R> {
        self.with_open(|s| f(&s.as_ref()))
    }

    #[inline]
    fn put_static_meta(&self, key: &'static str, value: &'static str) {
        if self.key != 0 {
            context::set_static_meta(self.key, key, value);
        }
    }

    #[inline]
    fn put_static_metric(&self, key: &'static str, value: f64) {
        if self.key != 0 {
            context::set_static_metric(self.key, key, value);
        }
    }

    span_methods!(ref, tag_static_with_context);
}

/// An active span that finishes when dropped: what [`Tracer::trace`](crate::Tracer::trace)
/// returns, like the reference's `with tracer.trace("name") as span:`.
///
/// It dereferences to [`ActiveSpan`] for tags and errors. Spans started while it lives are its
/// children. A panic unwinding through it marks the span with `error.message`, `error.type` and
/// `error.stack`, and the panic goes on.
///
/// A guard cannot move to another thread (the active span is per thread):
///
/// ```compile_fail
/// let tracer = ddtrace_core::Tracer::with_exporter(
///     ddtrace_core::Config::builder().build(),
///     ddtrace_core::Collector::new(),
/// );
/// let guard = tracer.trace("op");
/// std::thread::spawn(move || drop(guard));
/// ```
///
/// Do not hold one across an `.await`: in a future that need not be `Send` (a current-thread
/// runtime, `spawn_local`) the compiler allows it, and while the future waits the span stays
/// active for the other tasks polled on the thread. Use [`Instrument`](crate::Instrument) or
/// `#[trace]` on the `async fn`.
#[must_use = "the span finishes as soon as the guard is dropped; bind it: `let _span = ...`"]
#[derive(Debug)]
pub struct SpanGuard {
    span: ActiveSpan,
}

impl SpanGuard {
    pub(crate) fn new(key: u64) -> Self {
        SpanGuard {
            span: ActiveSpan::new(key),
        }
    }

    /// A guard that does nothing (tracing disabled).
    pub(crate) fn noop() -> Self {
        SpanGuard::new(0)
    }

    /// Finishes the span now (dropping the guard does the same).
    pub fn finish(self) {}

    /// Finishes the span at an explicit wall-clock time.
    pub fn finish_at(self, end: SystemTime) {
        if self.span.key != 0 {
            context::finish_local(self.span.key, context::End::Wall(end));
        }
        std::mem::forget(self);
    }
}

impl std::ops::Deref for SpanGuard {
    type Target = ActiveSpan;
    fn deref(&self) -> &ActiveSpan {
        &self.span
    }
}

impl Drop for SpanGuard {
    fn drop(&mut self) {
        if self.span.key == 0 {
            return;
        }
        context::finish_local(self.span.key, context::End::Now(Instant::now()));
    }
}

/// An owned span that can move between threads; active only while entered.
///
/// Dropping it finishes it; [`finish`](Span::finish) does the same and may be called any number
/// of times.
#[must_use = "the span finishes as soon as it is dropped"]
pub struct Span {
    open: Option<Box<OpenSpan>>,
}

impl std::fmt::Debug for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.open {
            Some(o) => f
                .debug_struct("Span")
                .field("name", &o.data.name)
                .field("span_id", &o.data.span_id)
                .finish(),
            None => f.write_str("Span(finished or disabled)"),
        }
    }
}

impl Span {
    pub(crate) fn new(open: Option<Box<OpenSpan>>) -> Self {
        Span { open }
    }

    /// A span that records nothing (what a disabled tracer returns).
    pub fn none() -> Self {
        Span { open: None }
    }

    fn with_open<R>(&mut self, f: impl FnOnce(&mut SpanMut<'_>) -> R) -> Option<R> {
        self.open.as_deref_mut().map(|s| f(&mut s.view()))
    }

    fn with_ref<R>(&self, f: impl FnOnce(&SpanRef<'_>) -> R) -> Option<R> {
        self.open.as_deref().map(|s| f(&s.as_ref()))
    }

    span_methods!(mut);

    /// Whether the span records anything (false once finished, or when tracing is disabled).
    pub fn is_recording(&self) -> bool {
        self.open.is_some()
    }

    /// Makes the span active on this thread until the returned guard drops.
    pub fn enter(&mut self) -> Entered<'_> {
        let key = match self.open.take() {
            Some(open) => {
                let key = open.data.span_id;
                context::push(Entry::Span(open));
                key
            }
            None => 0,
        };
        Entered {
            span: self,
            active: ActiveSpan::new(key),
        }
    }

    /// Runs `f` with the span active.
    pub fn in_scope<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let _entered = self.enter();
        f()
    }

    /// Finishes the span now. Finishing again does nothing.
    pub fn finish(&mut self) {
        if let Some(open) = self.open.take() {
            open.finish(Instant::now());
        }
    }

    /// Finishes the span at an explicit wall-clock time. Finishing again does nothing.
    pub fn finish_at(&mut self, end: SystemTime) {
        if let Some(open) = self.open.take() {
            open.finish_at(end);
        }
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Span {
    /// Turns this span into a [`SharedSpan`]: a cloneable handle that can be activated by
    /// reference (what the OpenTracing bridge needs).
    pub fn into_shared(mut self) -> SharedSpan {
        let open = self.open.take();
        let context = open.as_deref().map(OpenSpan::context);
        SharedSpan {
            cell: Arc::new(SharedInner(Mutex::new(open))),
            context,
        }
    }
}

/// The data of a shared span, finished when the last handle (user's or active stack's) goes.
pub(crate) struct SharedInner(Mutex<Option<Box<OpenSpan>>>);

impl SharedInner {
    /// Runs `f` on the span if it is still open.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut OpenSpan) -> R) -> Option<R> {
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_deref_mut().map(f)
    }

    /// [`with`](Self::with), unless the span is locked now (by the caller, maybe).
    pub(crate) fn try_with<R>(&self, f: impl FnOnce(&OpenSpan) -> R) -> Option<R> {
        let guard = match self.0.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        guard.as_deref().map(f)
    }

    fn take(&self) -> Option<Box<OpenSpan>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Drop for SharedInner {
    fn drop(&mut self) {
        let open = self.0.get_mut().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(open) = open {
            open.finish(Instant::now());
        }
    }
}

/// A span shared between handles: cloneable, `Send` and `Sync`, activated by reference
/// ([`activate`](SharedSpan::activate)) rather than entered by value. Tags and errors go through a
/// small per-span lock. It finishes on [`finish`](SharedSpan::finish), or when the last handle
/// and the last activation are gone.
///
/// This is how a span owned by another API (an OpenTracing span) becomes the active span that
/// [`current_span`](crate::current_span) returns.
#[derive(Clone)]
pub struct SharedSpan {
    cell: Arc<SharedInner>,
    context: Option<SpanContext>,
}

impl std::fmt::Debug for SharedSpan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSpan")
            .field("context", &self.context)
            .field("recording", &self.is_recording())
            .finish()
    }
}

impl SharedSpan {
    fn with_open<R>(&self, f: impl FnOnce(&mut SpanMut<'_>) -> R) -> Option<R> {
        self.cell.with(|s| f(&mut s.view()))
    }

    fn with_ref<R>(&self, f: impl FnOnce(&SpanRef<'_>) -> R) -> Option<R> {
        self.cell.with(|s| f(&s.as_ref()))
    }

    span_methods!(ref);

    /// Whether the span still records (false once finished, or when tracing is disabled).
    pub fn is_recording(&self) -> bool {
        self.cell.with(|_| ()).is_some()
    }

    /// The span's context, even after it has finished (`None` only when tracing is disabled).
    pub fn span_context(&self) -> Option<&SpanContext> {
        self.context.as_ref()
    }

    /// Makes the span active on this thread until the returned scope drops. Closing the scope
    /// does not finish the span.
    pub fn activate(&self) -> SharedScope {
        // The live context while the span is open (its service may have changed since start),
        // else the one captured when it became shared.
        let live = self.cell.with(|s| s.context());
        let key = match live.as_ref().or(self.context.as_ref()) {
            Some(ctx) => {
                // A key of this activation, not the span id: the span may be active twice on
                // this thread, and either scope may close first.
                let key = crate::id::span_id();
                context::push(Entry::Shared(key, ctx.clone(), Arc::clone(&self.cell)));
                key
            }
            None => 0,
        };
        SharedScope {
            key,
            _not_send: PhantomData,
        }
    }

    /// Finishes the span now; later calls do nothing.
    pub fn finish(&self) {
        if let Some(open) = self.cell.take() {
            open.finish(Instant::now());
        }
    }

    /// Finishes the span at an explicit wall-clock time; later calls do nothing.
    pub fn finish_at(&self, end: SystemTime) {
        if let Some(open) = self.cell.take() {
            open.finish_at(end);
        }
    }
}

/// An activation of a [`SharedSpan`]; dropping it restores the previously active span. `!Send`.
#[must_use = "the span is active only while this scope lives"]
#[derive(Debug)]
pub struct SharedScope {
    key: u64,
    _not_send: PhantomData<*const ()>,
}

impl Drop for SharedScope {
    fn drop(&mut self) {
        if self.key == 0 {
            return;
        }
        if let Some(Entry::Shared(_, _, cell)) = context::remove(self.key)
            && std::thread::panicking()
        {
            cell.with(mark_if_panic_leaves);
        }
    }
}

/// A [`Span`] entered on this thread; leaving (dropping this) makes the previous span active
/// again. Dereferences to [`ActiveSpan`].
#[must_use = "the span is active only while this guard lives"]
pub struct Entered<'a> {
    span: &'a mut Span,
    active: ActiveSpan,
}

impl std::ops::Deref for Entered<'_> {
    type Target = ActiveSpan;
    fn deref(&self) -> &ActiveSpan {
        &self.active
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        if self.active.key == 0 {
            return;
        }
        if let Some(Entry::Span(mut open)) = context::remove(self.active.key) {
            mark_if_panic_leaves(&mut open);
            self.span.open = Some(open);
        }
    }
}

/// A handle to the local root span of a trace (the reference's `current_root_span()`).
///
/// Changes apply to the root wherever it is: directly when the root is active on this thread,
/// otherwise when the root finishes (or at once if it has finished but not been sent yet). A
/// change made from another thread while the root is open is applied last, so it wins over a
/// write of the same tag through the root's own handle, whichever came first.
#[derive(Clone)]
pub struct RootSpan {
    trace: Arc<TraceState>,
}

impl std::fmt::Debug for RootSpan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootSpan")
            .field("trace_id", &self.trace.trace_id)
            .field("span_id", &self.trace.local_root_id)
            .finish()
    }
}

impl RootSpan {
    pub(crate) fn new(trace: Arc<TraceState>) -> Self {
        RootSpan { trace }
    }

    /// Applies `local` if the root is active on this thread, else `remote` through the trace.
    fn update(
        &self,
        local: impl FnOnce(&mut SpanMut<'_>),
        remote: impl FnOnce(&mut crate::trace::RootUpdate<'_>),
    ) {
        let key = self.trace.local_root_id;
        let on_this_thread = context::with_span(key, |s| {
            Arc::ptr_eq(s.trace, &self.trace)
                .then(|| local(s))
                .is_some()
        });
        if on_this_thread != Some(true) {
            self.trace.update_root(remote);
        }
    }

    /// Sets a tag on the root (strings to `meta`, numbers and booleans to `metrics`).
    pub fn set_tag(&self, key: impl Into<Str>, value: impl Into<TagValue>) {
        let (key, value) = (key.into(), value.into());
        match &*key {
            MANUAL_KEEP => return self.trace.set_priority(USER_KEEP, MECHANISM_MANUAL),
            MANUAL_DROP => return self.trace.set_priority(USER_REJECT, MECHANISM_MANUAL),
            _ => {}
        }
        let stored = value.into_stored();
        if let Stored::Rejected(why) = stored {
            // Said here, holding no lock (a log sink is user code).
            debug!("tag {key:?} on the local root ignored: {why}");
            return;
        }
        let stored2 = stored.clone();
        let key2 = key.clone();
        self.update(
            move |s| store_tag(s.data, key, stored),
            move |r| r.tag(key2, stored2),
        );
    }

    /// Sets the root's resource.
    pub fn set_resource(&self, resource: impl Into<Str>) {
        let resource = resource.into();
        let r2 = resource.clone();
        self.update(move |s| s.data.resource = resource, move |r| r.resource(r2));
    }

    /// Sets or clears the root's error flag.
    pub fn set_error_flag(&self, error: bool) {
        self.update(move |s| s.data.error = error, move |r| r.error(error));
    }

    /// The root's span id.
    pub fn span_id(&self) -> u64 {
        self.trace.local_root_id
    }

    /// The trace id.
    pub fn trace_id(&self) -> TraceId {
        self.trace.trace_id
    }
}
