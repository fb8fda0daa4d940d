//! What users of the OpenTracing API feel on the application thread: the seed's
//! `global_tracer().start_span("op")` with 2 string tags and 1 numeric tag, the same on the
//! tracer itself, and a 10-span nested trace whose spans are activated as OpenTracing
//! instrumentation does.
//!
//! Run: `cargo bench -p ddtrace-opentracer --bench span`
//!
//! The exporter is ddtrace-core's bench exporter (`ddtrace-core/benches/support`): finished
//! traces go to another thread through a bounded channel, as they go to the agent writer.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ddtrace_opentracer::{Tracer, set_global_tracer};
use opentracing_api::{Span as _, Tracer as _, global_tracer};

#[path = "../../ddtrace-core/benches/support/mod.rs"]
mod support;

fn spans(c: &mut Criterion) {
    let tracer = Tracer::from_core(support::tracer());
    set_global_tracer(tracer.clone());
    let mut g = c.benchmark_group("opentracing");
    g.throughput(Throughput::Elements(1));
    g.bench_function("global_start_tag3_finish", |b| {
        b.iter(|| {
            let mut span = global_tracer().start_span(black_box("http.request"));
            span.set_tag("http.method", "GET");
            span.set_tag("http.route", "/users/:id");
            span.set_tag("http.status_code", 200);
            span.finish();
        })
    });
    g.bench_function("start_tag3_finish", |b| {
        b.iter(|| {
            let mut span = tracer.start_span(black_box("http.request"));
            span.set_tag("http.method", "GET");
            span.set_tag("http.route", "/users/:id");
            span.set_tag("http.status_code", 200);
            span.finish();
        })
    });
    g.finish();

    let mut g = c.benchmark_group("opentracing_trace");
    g.throughput(Throughput::Elements(10));
    g.bench_function("nested_10_spans_activated", |b| {
        b.iter(|| {
            let root = tracer.start_span("request");
            let _root = tracer.activate(&root);
            for _ in 0..3 {
                let a = tracer.start_span("service.call");
                let _a = tracer.activate(&a);
                let b = tracer.start_span("db.query");
                let _b = tracer.activate(&b);
                let c = tracer.start_span("cache.get");
                let _c = tracer.activate(&c);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, spans);
criterion_main!(benches);
