//! Carrying the active context, OpenTracing baggage included, to other threads and tasks.
//!
//! [`ddtrace_core::with_current_context`] and [`ddtrace_core::Instrument::in_current_context`]
//! carry the Datadog context: spans started on the other side are children of the span active
//! here. OpenTracing baggage lives beside that context, in this thread's record of activated
//! spans, so it does not cross with them; these do the same and carry the baggage too.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use crate::context::{BaggageCell, BaggageGuard, baggage_for, push_baggage};

/// The context active where it was taken, with its baggage.
#[derive(Debug)]
struct Carried {
    core: ddtrace_core::SpanContext,
    baggage: BaggageCell,
}

impl Carried {
    fn here() -> Option<Carried> {
        let core = ddtrace_core::current_context()?;
        let baggage = Arc::new(Mutex::new(baggage_for(&core)));
        Some(Carried { core, baggage })
    }

    /// Makes the context active, its baggage with it, until the guards drop.
    fn enter(&self) -> (ddtrace_core::ContextGuard, Option<BaggageGuard>) {
        let context = self.core.attach();
        let baggage = push_baggage(
            self.core.trace_id(),
            self.core.span_id(),
            Arc::clone(&self.baggage),
        );
        (context, baggage)
    }
}

/// Wraps a closure so that it runs with the context active here and its OpenTracing baggage:
/// for `std::thread::spawn`, thread pools and callbacks. OpenTracing spans started in it
/// (with the active span as implicit parent) are children of the span active here and inherit
/// its baggage.
///
/// ```
/// use ddtrace_opentracer::{Config, Tracer};
/// use opentracing_api::{Span as _, Tracer as _};
///
/// let tracer = Tracer::new("svc", Config { enabled: Some(false), ..Default::default() });
/// let mut parent = tracer.start_span("parent");
/// parent.set_baggage_item("tenant", "acme");
/// let _scope = tracer.activate(&parent);
/// let worker = std::thread::spawn(ddtrace_opentracer::with_current_context({
///     let tracer = tracer.clone();
///     move || tracer.start_span("child").baggage_item("tenant").map(str::to_owned)
/// }));
/// # let _ = worker.join().unwrap(); // a disabled tracer has no context to carry
/// ```
pub fn with_current_context<R>(f: impl FnOnce() -> R) -> impl FnOnce() -> R {
    let carried = Carried::here();
    move || {
        let _entered = carried.as_ref().map(Carried::enter);
        f()
    }
}

/// Wraps a future so that every poll runs with the context active here and its OpenTracing
/// baggage, on whatever thread polls it: `tokio::spawn(in_current_context(fut))`.
pub fn in_current_context<F: Future>(future: F) -> InCurrentContext<F> {
    InCurrentContext {
        inner: Box::pin(future),
        carried: Carried::here(),
    }
}

/// A future made by [`in_current_context`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct InCurrentContext<F> {
    inner: Pin<Box<F>>,
    carried: Option<Carried>,
}

impl<F: Future> Future for InCurrentContext<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let _entered = this.carried.as_ref().map(Carried::enter);
        this.inner.as_mut().poll(cx)
    }
}
