//! Datadog APM tracing for Rust.
//!
//! The Rust counterpart of Datadog's `ddtrace` custom instrumentation: spans with a name,
//! service, resource and tags; an active span that follows your code (and your futures across
//! `.await`); errors and panics recorded on spans; traces assembled and sent to the Datadog Agent
//! off the application thread.
//!
//! # Quickstart
//!
//! ```no_run
//! use ddtrace_core::{trace, Config, Tracer};
//!
//! // `get_ingredients` becomes a span named `<module path>::get_ingredients`.
//! #[trace]
//! fn get_ingredients() -> Vec<&'static str> {
//!     vec!["bread", "cheese"]
//! }
//!
//! #[trace(name = "assemble_sandwich", service = "my-sandwich-making-svc")]
//! fn assemble_sandwich(ingredients: &[&str]) -> usize {
//!     ingredients.len()
//! }
//!
//! fn main() {
//!     // The process-wide tracer, configured here (or from DD_SERVICE, DD_ENV, ...).
//!     ddtrace_core::set_global_tracer(Tracer::new(Config::builder().service("sandwich-svc").build()));
//!     {
//!         // The seed's `with tracer.trace("sandwich.make") as span:`.
//!         let span = ddtrace_core::trace("sandwich.make");
//!         let ingredients = get_ingredients();
//!         span.set_tag("num_ingredients", ingredients.len()); // a metric
//!         assemble_sandwich(&ingredients);
//!     } // the span finishes here
//!     // Deliver everything before exiting.
//!     ddtrace_core::tracer().shutdown(std::time::Duration::from_secs(5));
//! }
//! ```
//!
//! # The pieces
//!
//! - [`Tracer`]: starts spans; [`tracer()`] is the process-wide one, [`set_global_tracer`]
//!   replaces it. [`trace()`] and [`span()`] start spans with it.
//! - [`SpanGuard`] (active until dropped), [`Span`] (owned, `Send`, entered on demand),
//!   [`ActiveSpan`] ([`current_span()`]), [`RootSpan`] ([`current_root_span()`]).
//! - [`Instrument`], [`spawn`] and [`with_current_context`]: context across `.await`, tasks and
//!   threads.
//! - [`Config`]: builder and `DD_*` environment variables.
//! - [`Exporter`] and [`Collector`]: where finished traces go; the collector keeps them for tests.
//! - [`SpanData`]: a finished span, as sent.
//! - [`log_correlation()`] ([`LogCorrelation`]): the ids that link a log line to its span;
//!   [`LogInjector`] adds them to every record of the `log` crate (`DD_LOGS_INJECTION`).

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod clock;
mod config;
mod context;
mod correlation;
pub mod encode;
mod error;
mod exporter;
pub mod finalize;
mod id;
mod instrument;
mod intern;
mod log;
#[cfg(feature = "log")]
mod logs;
mod prefetch;
pub mod propagation;
mod rates;
pub mod sampler;
mod span;
mod span_data;
mod tag;
mod trace;
mod tracer;
mod versioned;
mod writer;

pub use config::{
    AgentEndpoint, Config, ConfigBuilder, ConfigWarning, DEFAULT_AGENT_HOST, DEFAULT_AGENT_PORT,
    DEFAULT_AGENT_SOCKET, DEFAULT_AGENT_TIMEOUT, DEFAULT_ENABLED, DEFAULT_PARTIAL_FLUSH_ENABLED,
    DEFAULT_PARTIAL_FLUSH_MIN_SPANS, DEFAULT_SERVICE, DEFAULT_TRACE_ID_128, EnvSource,
    MAX_BUFFERED_SPANS_PER_TRACE, ProcessEnv,
};
pub use config::{
    DEFAULT_API_VERSION, DEFAULT_FLUSH_INTERVAL, DEFAULT_MAX_BUFFERED_SPANS,
    DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_SHUTDOWN_TIMEOUT, TraceOutput,
};
pub use context::{ContextGuard, RemoteContext, SpanContext};
pub use correlation::LogCorrelation;
pub use exporter::{
    ChunkInfo, Collector, DropCounts, Exporter, ExporterStats, NoopExporter, SamplingRates,
    TraceChunk,
};
pub use instrument::{Instrument, Instrumented, WithContext, spawn, with_current_context};
pub use log::{Level as LogLevel, set_log_sink};
#[cfg(feature = "log")]
pub use logs::LogInjector;
pub use rates::{AgentRates, DEFAULT_RATE_KEY};
pub use span::{
    ActiveSpan, Entered, MANUAL_DROP, MANUAL_KEEP, RootSpan, SharedScope, SharedSpan, Span,
    SpanGuard,
};
pub use span_data::{AttributeValue, SpanData, SpanEvent, SpanLink, Str, TagMap, TraceId};
pub use tag::TagValue;
pub use trace::{AUTO_KEEP, AUTO_REJECT, USER_KEEP, USER_REJECT};
pub use tracer::{SpanBuilder, Tracer, set_global_tracer};
pub use writer::{AgentWriter, JsonLinesWriter, WRITER_THREAD_NAME};

#[cfg(feature = "macros")]
pub use ddtrace_macros::trace;

/// The process-wide tracer (the reference's `from ddtrace import tracer`).
///
/// Built from the environment on first use unless [`set_global_tracer`] set one.
pub fn tracer() -> Tracer {
    tracer::global()
}

/// Installs a tracer built from `config` as the process-wide tracer and returns a guard that
/// delivers everything still buffered when it is dropped (at the end of `main`), waiting at most
/// the configured shutdown timeout.
///
/// ```no_run
/// // First thing in `main`:
/// let _tracing = ddtrace_core::init(ddtrace_core::Config::builder().service("svc").build());
/// // ... the application ...
/// // When `_tracing` goes out of scope at the end of `main`, buffered traces are delivered.
/// ```
pub fn init(config: Config) -> TracerGuard {
    let tracer = Tracer::new(config);
    set_global_tracer(tracer.clone());
    TracerGuard { tracer }
}

/// Shuts the process-wide tracer down when dropped: see [`init`].
#[must_use = "dropping the guard at once shuts the tracer down; bind it: `let _tracing = ...`"]
#[derive(Debug)]
pub struct TracerGuard {
    tracer: Tracer,
}

impl TracerGuard {
    /// The tracer this guard shuts down.
    pub fn tracer(&self) -> &Tracer {
        &self.tracer
    }
}

impl Drop for TracerGuard {
    fn drop(&mut self) {
        let timeout = self.tracer.config().shutdown_timeout();
        if !self.tracer.shutdown(timeout) {
            crate::log::log(
                crate::log::Level::Warn,
                format_args!("shutdown: not everything was delivered within {timeout:?}"),
            );
        }
    }
}

/// Starts a span active until the guard drops: a child of the active span, or the root of a new
/// trace of the process-wide tracer.
pub fn trace(name: impl Into<Str>) -> SpanGuard {
    tracer::trace_named(None, name.into())
}

/// A span builder: a child of the active span unless told otherwise; a new trace goes to the
/// process-wide tracer.
pub fn span(name: impl Into<Str>) -> SpanBuilder<'static> {
    SpanBuilder::global(tracer::SpanOptions::new(name.into()))
}

/// The span active on this thread (the reference's `tracer.current_span()`), if any.
///
/// ```
/// # use ddtrace_core::{Collector, Config, Tracer};
/// # let tracer = Tracer::with_exporter(Config::builder().build(), Collector::new());
/// let _outer = tracer.trace("sandwich.make");
/// ddtrace_core::current_span().unwrap().set_tag("step", "bread");
/// ```
pub fn current_span() -> Option<ActiveSpan> {
    tracer::active_span()
}

/// The local root of the trace active on this thread (the reference's
/// `tracer.current_root_span()`), if any.
pub fn current_root_span() -> Option<RootSpan> {
    tracer::active_root()
}

/// The context of the active span (or attached context), to carry to another thread or process.
pub fn current_context() -> Option<SpanContext> {
    context::active_context()
}

/// The identifiers that link a log line written now to the active span, for the process-wide
/// tracer (see [`Tracer::log_correlation`]).
///
/// It never builds that tracer: before it is set or first used (and while it is being built,
/// which may log through the code calling this), the ids are `0` and the service, env and
/// version empty.
///
/// ```
/// let _span = ddtrace_core::trace("sandwich.make");
/// log_line(&format!("[{}] two slices of bread", ddtrace_core::log_correlation()));
/// # fn log_line(_: &str) {}
/// ```
pub fn log_correlation() -> LogCorrelation {
    match tracer::global_if_set() {
        Some(tracer) => tracer.log_correlation(),
        None => LogCorrelation::new(
            None,
            Str::Borrowed(""),
            Str::Borrowed(""),
            Str::Borrowed(""),
        ),
    }
}

/// The exporter a tracer built with [`Tracer::new`] uses; it feeds the agent's sampling rates
/// into `rates`.
pub(crate) fn default_exporter(
    config: &Config,
    rates: std::sync::Arc<AgentRates>,
) -> Box<dyn Exporter> {
    writer::writer_for(config, rates).unwrap_or_else(|| Box::new(NoopExporter))
}

/// What `#[trace]` expands to. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::Instrument;
    pub use std::borrow::Cow;

    /// What `#[trace]` asks for.
    pub struct MacroSpan {
        /// Span name.
        pub name: Cow<'static, str>,
        /// Service, if given.
        pub service: Option<Cow<'static, str>>,
        /// Resource, if given.
        pub resource: Option<Cow<'static, str>>,
        /// Span type, if given.
        pub span_type: Option<Cow<'static, str>>,
    }

    fn builder(args: MacroSpan) -> crate::SpanBuilder<'static> {
        let mut b = crate::span(args.name);
        if let Some(s) = args.service {
            b = b.service(s);
        }
        if let Some(r) = args.resource {
            b = b.resource(r);
        }
        if let Some(t) = args.span_type {
            b = b.span_type(t);
        }
        b
    }

    /// Sync fns: an active span until the guard drops.
    pub fn enter(args: MacroSpan) -> crate::SpanGuard {
        builder(args).enter()
    }

    /// Async fns: a span to instrument the body's future with.
    pub fn span(args: MacroSpan) -> crate::Span {
        builder(args).start()
    }

    /// Marks the current span as an error from an `Err` value.
    pub fn record_error<E: ?Sized + std::fmt::Display>(err: &E) {
        if let Some(span) = crate::current_span() {
            span.set_error_message(err);
        }
    }
}
