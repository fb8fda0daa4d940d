//! The process-wide tracer.
//!
//! Applications install their vendor's tracer once at startup with [`set_global_tracer`];
//! libraries instrument themselves with [`global_tracer`] and never set it. Until a tracer
//! is set, the global tracer is a [`NoopTracer`].
//!
//! Following OpenTracing, setting the global tracer again **replaces** it: spans started
//! afterwards go to the new tracer, spans already started stay with the old one. Handles
//! obtained from [`global_tracer`] before the replacement keep using the old tracer (they
//! are clones of it), so get a fresh handle rather than caching one for the life of the
//! process if the tracer may be replaced.
//!
//! All functions here are safe to call from any thread.

use std::sync::{OnceLock, PoisonError, RwLock};

use crate::{BoxedTracer, NoopTracer, Tracer};

static GLOBAL: RwLock<Option<BoxedTracer>> = RwLock::new(None);

fn noop() -> &'static BoxedTracer {
    static NOOP: OnceLock<BoxedTracer> = OnceLock::new();
    NOOP.get_or_init(|| BoxedTracer::new(NoopTracer::new()))
}

/// The global tracer: the last one given to [`set_global_tracer`], or a [`NoopTracer`].
///
/// The handle is a cheap clone (an `Arc`); calling this takes an uncontended read lock.
///
/// # Examples
///
/// ```
/// use opentracing_api::global_tracer;
///
/// let mut span = global_tracer().start_span("op");
/// span.set_tag("k", "v");
/// span.finish();
/// ```
pub fn global_tracer() -> BoxedTracer {
    GLOBAL
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .unwrap_or_else(|| noop())
        .clone()
}

/// Makes `tracer` the global tracer, replacing any earlier one, and returns the earlier one
/// (`None` if none was set).
///
/// Applications call this once at startup; libraries never call it.
///
/// Following OpenTracing, setting the global tracer again **replaces** it: spans started
/// afterwards go to the new tracer; spans already started stay with the old one, and so do
/// handles obtained from [`global_tracer`] before (they are clones of it). Get a fresh
/// handle rather than caching one for the life of the process if the tracer may be
/// replaced. Safe to call from any thread.
///
/// # Examples
///
/// ```
/// use opentracing_api::{global_tracer, set_global_tracer, NoopTracer};
///
/// // At startup; returns the tracer it replaced, if any.
/// let _previous = set_global_tracer(NoopTracer::new());
/// assert!(global_tracer().downcast_ref::<NoopTracer>().is_some());
/// ```
pub fn set_global_tracer<T: Tracer>(tracer: T) -> Option<BoxedTracer> {
    let tracer = BoxedTracer::new(tracer);
    GLOBAL
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .replace(tracer)
}

/// Whether a tracer has been set with [`set_global_tracer`].
pub fn is_global_tracer_registered() -> bool {
    GLOBAL
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .is_some()
}
