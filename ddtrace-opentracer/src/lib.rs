//! An [OpenTracing](https://opentracing.io) tracer whose spans are Datadog spans: the Rust
//! counterpart of `ddtrace.opentracer`.
//!
//! [`Tracer`] implements [`opentracing_api::Tracer`] on top of a [`ddtrace_core::Tracer`]:
//! spans are ddtrace-core spans (sent to the Datadog Agent by its writer), OpenTracing's
//! active span *is* ddtrace-core's active span, and contexts travel in Datadog headers, W3C
//! and OpenTracing baggage headers, or a compact binary encoding.
//!
//! Unlike the Datadog OpenTracing layers of other languages, `FollowsFrom` is kept (as a
//! span link), logs are kept (as span events), and the `Binary` format is supported.
//!
//! # Quickstart
//!
//! The seed's program:
//!
//! ```no_run
//! use std::time::Duration;
//! use ddtrace_opentracer::{set_global_tracer, Config, Tracer};
//! use opentracing_api::{global_tracer, Span as _, Tracer as _};
//!
//! fn init_tracer(service_name: &str) -> Tracer {
//!     let config = Config {
//!         agent_hostname: Some("localhost".into()),
//!         agent_port: Some(8126),
//!         ..Default::default()
//!     };
//!     let tracer = Tracer::new(service_name, config);
//!     set_global_tracer(tracer.clone());
//!     tracer
//! }
//!
//! fn my_operation() {
//!     let mut span = global_tracer().start_span("<OPERATION_NAME>");
//!     span.set_tag("<TAG_KEY>", "<TAG_VALUE>");
//!     std::thread::sleep(Duration::from_millis(50));
//!     span.finish();
//! }
//!
//! let tracer = init_tracer("<SERVICE_NAME>");
//! my_operation();
//! tracer.shutdown(Duration::from_secs(5)); // deliver before exiting
//! ```
//!
//! [`init_tracer`] does the same with the configuration taken from the environment
//! (`DD_TRACE_AGENT_URL`, `DD_AGENT_HOST`, ...).
//!
//! # Mapping
//!
//! | OpenTracing | Datadog |
//! |---|---|
//! | operation name | span name (and the resource, until a resource is given) |
//! | tag `service.name` | service (given at start, it also decides `_dd.top_level`) |
//! | tag `resource.name` | resource |
//! | tag `span.type` | span type |
//! | tag `sampling.priority` | above 0: keep the trace (`keep_trace`, priority 2); 0 or below: drop it (`drop_trace`, priority -1); a manual decision |
//! | tag `error` | the error flag (booleans; numbers: non-zero; `"true"`/`"false"`) |
//! | tag `db.statement` | the resource, unless `resource.name` was given; also kept as `meta` |
//! | tags `span.kind`, `peer.service` | `meta`, as strings |
//! | other tags | strings to `meta`; numbers and booleans to `metrics` (`manual.keep` / `manual.drop` decide the trace) |
//! | `ChildOf` | the parent (the first one); other `ChildOf`s become span links |
//! | `FollowsFrom` | a span link (attribute `opentracing.ref_type=follows_from`), and the parent when there is no `ChildOf` |
//! | no reference | a new trace (the active span is resolved by the builder, not here) |
//! | `log(...)` | a span event named by the `event` field (else `log`), the other fields as attributes |
//! | log with `event=error`, `error.kind` or `error.object` | also the error: `error.type` = `error.kind` (else `error`), `error.message` = `message` (else `error.object`), `error.stack` = `stack` |
//! | baggage | kept in the [`SpanContext`]; children inherit their references' baggage |
//! | [`Tracer::activate`](opentracing_api::Tracer::activate) | [`SharedSpan::activate`](ddtrace_core::SharedSpan::activate): ddtrace-core's active span (a span is an owned [`ddtrace_core::Span`] until its first activation, then a [`SharedSpan`](ddtrace_core::SharedSpan)) |
//! | [`Tracer::active_span_context`](opentracing_api::Tracer::active_span_context) | [`ddtrace_core::current_context`], whoever started the span |
//!
//! A link's `flags` carry the linked trace's sampled bit when that trace is decided: an
//! upstream context, or a local trace already decided (with sampling rules, a local trace is
//! decided when it is needed; until then its links have no flags).
//!
//! Span events are sent as native `span_events` when the agent supports them, else as the
//! `events` meta JSON (ddtrace-core's writer decides).
//!
//! # Propagation
//!
//! * `TextMap` and `HttpHeaders`: the headers of the configured propagation styles
//!   (`DD_TRACE_PROPAGATION_STYLE*`; by default `datadog,tracecontext,baggage`: the
//!   `x-datadog-*` headers with `_dd.p.tid`, `traceparent`/`tracestate`, W3C `baggage`), plus
//!   every baggage item as `ot-baggage-<key>`, percent-encoded. A carrier in which no extracted
//!   style finds a context gives `SpanContextNotFound`; one whose trace header of an extracted
//!   style is present but invalid gives `SpanContextCorrupted`.
//! * `Binary`: the versioned encoding documented in [`binary`].
//!
//! # Global tracers
//!
//! [`set_global_tracer`] installs the tracer both as OpenTracing's
//! [global tracer](opentracing_api::global_tracer) and as ddtrace-core's
//! [process-wide tracer](ddtrace_core::tracer), as the reference does.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod binary;
mod carry;
mod config;
mod context;
mod propagation;
mod span;
mod tracer;

pub use carry::{InCurrentContext, in_current_context, with_current_context};
pub use config::Config;
pub use context::SpanContext;
pub use span::{
    DEFAULT_ERROR_KIND, DEFAULT_EVENT_NAME, RESOURCE_NAME, SERVICE_NAME, SPAN_TYPE, Span,
};
pub use tracer::{REF_TYPE_ATTRIBUTE, Tracer};

/// Installs `tracer` as the process-wide tracer of both worlds: OpenTracing's
/// [global tracer](opentracing_api::global_tracer) and ddtrace-core's
/// [process-wide tracer](ddtrace_core::tracer) (so `#[trace]` and
/// [`ddtrace_core::trace`](fn@ddtrace_core::trace) use it too). Returns the OpenTracing tracer it replaced, if any.
///
/// # Examples
///
/// ```
/// use ddtrace_opentracer::{set_global_tracer, Config, Tracer};
///
/// set_global_tracer(Tracer::new("svc", Config::default()));
/// assert_eq!(ddtrace_core::tracer().config().service(), "svc");
/// assert!(opentracing_api::global_tracer().downcast_ref::<Tracer>().is_some());
/// ```
pub fn set_global_tracer(tracer: Tracer) -> Option<opentracing_api::BoxedTracer> {
    ddtrace_core::set_global_tracer(tracer.core().clone());
    opentracing_api::set_global_tracer(tracer)
}

/// Builds a tracer for `service` configured from the environment alone (`DD_TRACE_AGENT_URL`,
/// `DD_AGENT_HOST`, `DD_TRACE_AGENT_PORT`, ...; default `localhost:8126`), installs it with
/// [`set_global_tracer`] and returns it: the seed's `init_tracer(service_name)`.
///
/// ```no_run
/// let tracer = ddtrace_opentracer::init_tracer("my-service");
/// // ... traced work ...
/// tracer.shutdown(std::time::Duration::from_secs(5));
/// ```
pub fn init_tracer(service: &str) -> Tracer {
    let tracer = Tracer::new(service, Config::default());
    set_global_tracer(tracer.clone());
    tracer
}
