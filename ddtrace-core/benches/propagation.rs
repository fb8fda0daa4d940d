//! What a service pays per request to continue and pass on traces: extracting an upstream
//! context from a request's headers and serving the request in a span under it, and injecting
//! the active span into an outgoing request's headers.
//!
//! Run: `cargo bench -p ddtrace-core --bench propagation`
//!
//! The headers are what an upstream Datadog tracer sends by default (`datadog` and
//! `tracecontext` styles, 128-bit trace id, a decision and its maker) among a browser's usual
//! ones, in an `http::HeaderMap`.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::HeaderMap;

mod support;
use support::{incoming, tracer};

fn propagation(c: &mut Criterion) {
    let tracer = tracer();
    let headers = incoming();
    let mut g = c.benchmark_group("propagation");
    g.throughput(Throughput::Elements(1));
    g.bench_function("extract", |b| {
        b.iter(|| tracer.extract(black_box(&headers)))
    });
    g.bench_function("extract_and_serve_in_a_span", |b| {
        b.iter(|| {
            let parent = tracer.extract(black_box(&headers));
            let mut span = tracer.span("http.request");
            if let Some(parent) = &parent {
                span = span.child_of(parent);
            }
            let _span = span.enter();
        })
    });
    g.bench_function("inject_current", |b| {
        let _active = tracer.trace("http.request");
        b.iter(|| {
            let mut out = HeaderMap::new();
            tracer.inject_current(&mut out);
            out
        })
    });
    g.finish();
}

criterion_group!(benches, propagation);
criterion_main!(benches);
