//! Async: the active span follows a future across `.await`, and across `tokio::spawn` or a new
//! thread when asked.
//!
//! The active span is per thread, and a task may be polled on any thread of a runtime. So the
//! span travels *with the future*: [`Instrument::instrument`] wraps a future so that its span is
//! entered on every poll and left when the poll returns, whichever thread polls it; the span
//! finishes when the future completes (or is dropped). [`Instrument::in_current_context`] does
//! the same with the context active at the call, so a spawned task's spans join the trace.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::context::SpanContext;
use crate::span::Span;

pin_project_lite::pin_project! {
    /// A future whose span is active while it is polled. See [`Instrument::instrument`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F> {
        #[pin]
        inner: F,
        span: Span,
    }
}

pin_project_lite::pin_project! {
    /// A future that carries a span context into every poll. See
    /// [`Instrument::in_current_context`].
    #[must_use = "futures do nothing unless polled"]
    pub struct WithContext<F> {
        #[pin]
        inner: F,
        context: Option<SpanContext>,
    }
}

/// Extension methods for every future.
///
/// # Examples
///
/// ```
/// use ddtrace_core::{Collector, Config, Instrument, Tracer};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let collector = Collector::new();
/// let tracer = Tracer::with_exporter(Config::builder().build(), collector.clone());
/// let span = tracer.span("fetch").start();
/// async {
///     tokio::task::yield_now().await;
///     // Still inside "fetch" after the await.
///     ddtrace_core::current_span().unwrap().set_tag("after.await", true);
/// }
/// .instrument(span)
/// .await;
/// assert_eq!(collector.span("fetch").unwrap().metrics.get("after.await"), Some(&1.0));
/// # });
/// ```
pub trait Instrument: Sized {
    /// Makes `span` active during every poll of this future, and finishes it when the future
    /// completes or is dropped.
    fn instrument(self, span: Span) -> Instrumented<Self> {
        Instrumented { inner: self, span }
    }

    /// Makes the context active now (if any) the parent of spans this future starts, on
    /// whatever thread it is polled.
    fn in_current_context(self) -> WithContext<Self> {
        WithContext {
            inner: self,
            context: crate::current_context(),
        }
    }
}

impl<F: Future> Instrument for F {}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let entered = this.span.enter();
        let poll = this.inner.poll(cx);
        drop(entered);
        if poll.is_ready() {
            this.span.finish();
        }
        poll
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _attached = this.context.as_ref().map(SpanContext::attach);
        this.inner.poll(cx)
    }
}

/// Spawns a task on the current tokio runtime that continues the active trace: its spans are
/// children of the span active here. (`tokio::spawn` alone starts with no active span.)
///
/// Must be called within a tokio runtime, like `tokio::spawn`.
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.in_current_context())
}

/// Wraps a closure so that it runs with the context active here: for `std::thread::spawn`,
/// thread pools and callbacks.
///
/// ```
/// # use ddtrace_core::{Collector, Config, Tracer};
/// let collector = Collector::new();
/// let tracer = Tracer::with_exporter(Config::builder().build(), collector.clone());
/// let parent = tracer.trace("parent");
/// let worker = std::thread::spawn(ddtrace_core::with_current_context(move || {
///     let _child = ddtrace_core::trace("child");
/// }));
/// worker.join().unwrap();
/// let parent_id = parent.span_id();
/// drop(parent);
/// assert_eq!(collector.span("child").unwrap().parent_id, parent_id);
/// ```
pub fn with_current_context<R>(f: impl FnOnce() -> R) -> impl FnOnce() -> R {
    let context = crate::current_context();
    move || {
        let _attached = context.as_ref().map(SpanContext::attach);
        f()
    }
}
