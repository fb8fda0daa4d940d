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

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{OnceLock, PoisonError, RwLock};

use crate::boxed::WeakTracer;
use crate::{BoxedTracer, NoopTracer, Tracer};

static GLOBAL: RwLock<Option<BoxedTracer>> = RwLock::new(None);

/// How many times the global tracer was set; changed under [`GLOBAL`]'s write lock.
static GENERATION: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The global tracer as this thread last read it, and the generation it read it at. Kept
    /// weakly: a strong handle would keep a replaced tracer alive in threads that no longer
    /// trace.
    static CACHED: RefCell<Option<(u64, WeakTracer)>> = const { RefCell::new(None) };
}

fn noop() -> &'static BoxedTracer {
    static NOOP: OnceLock<BoxedTracer> = OnceLock::new();
    NOOP.get_or_init(|| BoxedTracer::new(NoopTracer::new()))
}

/// The global tracer: the last one given to [`set_global_tracer`], or a [`NoopTracer`].
///
/// The handle is a cheap clone (an `Arc`). Each thread keeps the tracer it last read, checked
/// against a counter of replacements, so calls take no lock until the tracer is replaced.
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
    // Read before the tracer: a replacement after this load is seen by the next call.
    let generation = GENERATION.load(Ordering::Acquire);
    let cached = CACHED
        .try_with(|c| {
            let c = c.try_borrow().ok()?;
            let (at, tracer) = c.as_ref()?;
            (*at == generation).then(|| tracer.upgrade())?
        })
        .ok()
        .flatten();
    if let Some(tracer) = cached {
        return tracer;
    }
    let tracer = GLOBAL
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .unwrap_or_else(|| noop())
        .clone();
    let _ = CACHED.try_with(|c| {
        if let Ok(mut c) = c.try_borrow_mut() {
            *c = Some((generation, tracer.downgrade()));
        }
    });
    tracer
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
    let mut global = GLOBAL.write().unwrap_or_else(PoisonError::into_inner);
    let previous = global.replace(tracer);
    // Under the lock, so a reader that sees the new count reads the new tracer.
    GENERATION.fetch_add(1, Ordering::Release);
    previous
}

/// Whether a tracer has been set with [`set_global_tracer`].
pub fn is_global_tracer_registered() -> bool {
    GLOBAL
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .is_some()
}
