//! What users feel on the application thread: one span start-to-finish with 2 string tags and
//! 1 numeric tag (with static strings, with an owned one, as a span that is not active,
//! sampled by the agent's rate, and sampled by a rule), a 10-span nested trace, and the
//! correlation ids of a log line.
//!
//! Run: `cargo bench -p ddtrace-core --bench span`
//!
//! The exporter (`support`) is a bounded crossbeam channel drained by a background thread, the
//! shape of the agent writer's hand-over, so the cost of handing a trace over is the real one;
//! like the agent writer, the consumer hands the span buffers back (`Exporter::reuse_buffer`)
//! rather than freeing them on its thread.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ddtrace_core::{Config, Tracer};

mod support;
use support::tracer;

fn spans(c: &mut Criterion) {
    let tracer = tracer();
    let mut g = c.benchmark_group("span");
    g.throughput(Throughput::Elements(1));
    g.bench_function("start_tag3_finish", |b| b.iter(|| one_span(&tracer)));
    g.bench_function("start_tag3_finish_owned_strings", |b| {
        let route = String::from("/users/:id");
        b.iter(|| {
            let span = tracer.trace(black_box("http.request"));
            span.set_tag("http.method", "GET");
            span.set_tag("http.route", &route);
            span.set_tag("http.status_code", 200);
        })
    });
    // A span that is not active (the manual style: any thread may finish it).
    g.bench_function("start_tag3_finish_manual", |b| {
        b.iter(|| {
            let mut span = tracer.span(black_box("http.request")).start();
            span.set_tag("http.method", "GET");
            span.set_tag("http.route", "/users/:id");
            span.set_tag("http.status_code", 200);
            span.finish();
        })
    });
    // As in production once the agent has answered: every new trace is sampled by the rate the
    // agent gives its service.
    let sampled = support::tracer_with_rates(support::agent_rates(true));
    g.bench_function("start_tag3_finish_agent_rates", |b| {
        b.iter(|| one_span(&sampled))
    });
    // With a sampling rule matching the span (and its rate limiter).
    let by_rule = support::tracer_with(support::config_with_rules(), Default::default());
    g.bench_function("start_tag3_finish_sampling_rule", |b| {
        b.iter(|| one_span(&by_rule))
    });
    g.finish();

    let mut g = c.benchmark_group("trace");
    g.throughput(Throughput::Elements(10));
    g.bench_function("nested_10_spans", |b| {
        b.iter(|| {
            let _root = tracer.trace("request");
            for _ in 0..3 {
                let _a = tracer.trace("service.call");
                let _b = tracer.trace("db.query");
                let _c = tracer.trace("cache.get");
            }
        })
    });
    g.finish();

    // What a log line written in a span pays for its correlation ids (`Tracer::log_correlation`),
    // and for their text form.
    let mut g = c.benchmark_group("log");
    g.bench_function("correlation_ids", |b| {
        let _span = tracer.trace("http.request");
        b.iter(|| black_box(tracer.log_correlation()))
    });
    g.bench_function("correlation_text", |b| {
        // Written into the line's buffer, as a logger does.
        use std::fmt::Write as _;
        let _span = tracer.trace("http.request");
        let mut line = String::with_capacity(256);
        b.iter(|| {
            line.clear();
            let _ = write!(line, "{}", tracer.log_correlation());
            black_box(&line);
        })
    });
    g.finish();

    let disabled = Tracer::with_exporter(
        Config::builder()
            .enabled(false)
            .build_from(&std::collections::HashMap::<&str, &str>::new()),
        ddtrace_core::NoopExporter,
    );
    c.bench_function("span/disabled_tracer", |b| {
        b.iter(|| {
            let span = disabled.trace(black_box("http.request"));
            span.set_tag("http.method", "GET");
        })
    });
}

/// One span start to finish, with 2 string tags and 1 numeric tag.
fn one_span(tracer: &Tracer) {
    let span = tracer.trace(black_box("http.request"));
    span.set_tag("http.method", "GET");
    span.set_tag("http.route", "/users/:id");
    span.set_tag("http.status_code", 200);
}

criterion_group!(benches, spans);
criterion_main!(benches);
