//! Runnable examples, and a small vendor-neutral library instrumented only against
//! `opentracing-api`.
//!
//! * [`kitchen`]: a sandwich shop whose request handling is traced through any
//!   [`Tracer`](opentracing_api::Tracer): a parent span, implicit and explicit child spans,
//!   a `FollowsFrom` span, tags, logs, baggage, and an HTTP-header inject / extract across a
//!   simulated remote call.
//! * [`sandwich`]: the seed document's Python examples in Rust, on `ddtrace-core` (the
//!   `sandwich` example runs them against a Datadog Agent).
//! * [`propagate`]: continue a trace from incoming headers and produce the outgoing ones (the
//!   `propagate` example).
//! * [`tree`]: renders the spans a `MockTracer` recorded as a readable tree (what the
//!   `demo` binary prints).
//!
//! Run the demo with `cargo run -p examples --bin demo`.

pub mod kitchen;
pub mod propagate;
pub mod sandwich;
pub mod tree;

/// The README's Rust snippets, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
