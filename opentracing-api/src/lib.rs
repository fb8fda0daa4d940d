//! The [OpenTracing](https://opentracing.io) 1.1 API for Rust: vendor-neutral traits that
//! libraries instrument themselves against, while applications choose the tracer.
//!
//! * [`Tracer`] starts [`Span`]s (through a [`SpanBuilder`] for references, start time,
//!   tags), propagates their [`SpanContext`] with [`inject`](Tracer::inject) /
//!   [`extract`](Tracer::extract) in the [`TextMap`], [`HttpHeaders`] and [`Binary`]
//!   formats, and tracks the active span ([`Tracer::activate`] returns a [`Scope`]).
//! * Spans carry typed tags ([`TagValue`]), structured logs ([`LogField`]) and baggage; the
//!   standard keys are in [`tags`] and [`log_fields`]. A span dropped unfinished is
//!   finished.
//! * [`global_tracer`] / [`set_global_tracer`]: the process-wide tracer, a [`NoopTracer`]
//!   until an application sets one.
//! * [`BoxedTracer`]: any tracer behind one type (the global tracer is one); generic code
//!   takes `&impl Tracer` instead and pays no dynamic dispatch.
//! * `MockTracer` (feature `mock`): records finished spans for tests.
//!
//! # Quickstart
//!
//! A library instruments itself with the global tracer:
//!
//! ```
//! use opentracing_api::http::HeaderMap;
//! use opentracing_api::{global_tracer, log_fields, tags, HttpHeaders, LogField};
//!
//! fn fetch_user(id: u64) -> HeaderMap {
//!     let tracer = global_tracer();
//!     let mut span = tracer.start_span("fetch_user");
//!     span.set_tag(tags::SPAN_KIND, tags::SPAN_KIND_CLIENT);
//!     span.set_tag("user.id", id);
//!     let _scope = tracer.activate(&span); // spans started below are its children
//!     tracer.start_span("check_cache").finish();
//!
//!     // Send the context with the outgoing request.
//!     let mut headers = HeaderMap::new();
//!     if let Err(e) = tracer.inject(span.context(), HttpHeaders, &mut headers) {
//!         span.set_tag(tags::ERROR, true);
//!         span.log([
//!             LogField::new(log_fields::EVENT, "error"),
//!             LogField::new(log_fields::ERROR_OBJECT, e.to_string()),
//!         ]);
//!     }
//!     headers
//! } // the span is finished when dropped
//!
//! fetch_user(42);
//! ```
//!
//! and the application installs a tracer at startup (here the no-op one; a vendor's in
//! practice):
//!
//! ```
//! opentracing_api::set_global_tracer(opentracing_api::NoopTracer::new());
//! ```
//!
//! # Static or erased
//!
//! [`Tracer`] has associated `Span` and `SpanContext` types, so code generic over
//! `T: Tracer` is monomorphised with no boxing. [`DynTracer`] is its dyn-compatible mirror,
//! implemented for every tracer; [`BoxedTracer`] wraps an `Arc<dyn DynTracer>` and
//! implements [`Tracer`] again with [`BoxedSpan`] and [`BoxedSpanContext`].
//!
//! # Implementing a tracer
//!
//! Implement [`SpanContext`], [`Span`] and the five required methods of [`Tracer`]. Scope
//! management belongs to the tracer: delegate [`Tracer::activate`] and
//! [`Tracer::active_span_context`] to a [`ThreadLocalScopeManager`], or to your own
//! active-span machinery, returning its guard through [`Scope::from_guard`].
//!
//! # Features
//!
//! * `mock`: the `MockTracer`, `MockSpan`, `MockSpanContext` and `MockSpanRecord`.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod boxed;
mod carrier;
mod error;
mod format;
mod global;
mod log;
pub mod log_fields;
#[cfg(feature = "mock")]
mod mock;
mod noop;
mod reference;
pub mod scope;
mod span;
mod span_builder;
mod span_context;
mod tag;
pub mod tags;
mod tracer;

/// The [`http`](https://docs.rs/http) crate, whose [`HeaderMap`](http::HeaderMap) is a
/// carrier; re-exported so that you use the same version.
pub use http;

pub use boxed::{BoxedSpan, BoxedSpanContext, BoxedTracer, DynTracer};
pub use carrier::{Extractor, Injector};
pub use error::{CarrierError, ExtractError, InjectError};
pub use format::{
    Binary, ExtractCarrier, ExtractFormat, Format, HttpHeaders, InjectCarrier, InjectFormat,
    TextMap,
};
pub use global::{global_tracer, is_global_tracer_registered, set_global_tracer};
pub use log::{LogField, LogRecord};
#[cfg(feature = "mock")]
pub use mock::{MockSpan, MockSpanContext, MockSpanRecord, MockTracer};
pub use noop::{NoopSpan, NoopSpanContext, NoopTracer};
pub use reference::{Reference, ReferenceType};
pub use scope::{Scope, ThreadLocalScopeManager};
pub use span::Span;
pub use span_builder::{SpanBuilder, StartSpanOptions};
pub use span_context::{BaggageItems, SpanContext};
pub use tag::TagValue;
pub use tracer::Tracer;
