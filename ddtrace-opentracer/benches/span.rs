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

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ddtrace_opentracer::{Tracer, set_global_tracer};
use opentracing_api::global_tracer;

mod shapes;
#[path = "../../ddtrace-core/benches/support/mod.rs"]
mod support;

fn spans(c: &mut Criterion) {
    let tracer = Tracer::from_core(support::tracer());
    set_global_tracer(tracer.clone());
    let mut g = c.benchmark_group("opentracing");
    g.throughput(Throughput::Elements(1));
    g.bench_function("global_start_tag3_finish", |b| {
        b.iter(|| shapes::one_span(&global_tracer()))
    });
    g.bench_function("start_tag3_finish", |b| {
        b.iter(|| shapes::one_span(&tracer))
    });
    g.finish();

    let mut g = c.benchmark_group("opentracing_trace");
    g.throughput(Throughput::Elements(10));
    g.bench_function("nested_10_spans_activated", |b| {
        b.iter(|| shapes::nested_activated(&tracer))
    });
    g.finish();
}

criterion_group!(benches, spans);
criterion_main!(benches);
