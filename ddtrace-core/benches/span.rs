//! What users feel on the application thread: one span start-to-finish with 2 string tags and
//! 1 numeric tag, and a 10-span nested trace.
//!
//! Run: `cargo bench -p ddtrace-core --bench span`
//!
//! The exporter is a bounded crossbeam channel drained by a background thread, the shape of the
//! agent writer's hand-over, so the cost of handing a trace over is the real one; like the agent
//! writer, the consumer hands the span buffers back (`Exporter::reuse_buffer`) rather
//! than freeing them on its thread.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::thread;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use ddtrace_core::{Config, Exporter, SpanData, TraceChunk, Tracer};

struct ChannelExporter {
    tx: Sender<TraceChunk>,
    recycled: Receiver<Vec<SpanData>>,
}

impl Exporter for ChannelExporter {
    fn export(&self, chunk: TraceChunk) {
        match self.tx.try_send(chunk) {
            Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
        }
    }

    fn reuse_buffer(&self) -> Option<Vec<SpanData>> {
        self.recycled.try_recv().ok()
    }
}

fn tracer() -> Tracer {
    let (tx, rx) = bounded::<TraceChunk>(4096);
    let (recycle, recycled) = bounded::<Vec<SpanData>>(2048);
    // Like the agent writer: the consumer drains on a timer instead of parking on the channel,
    // so a send never has to wake it with a system call, and hands small buffers back.
    thread::spawn(move || {
        loop {
            thread::sleep(std::time::Duration::from_millis(1));
            for chunk in rx.try_iter() {
                let spans = chunk.spans;
                if spans.capacity() <= 16 {
                    let _ = recycle.try_send(spans);
                }
            }
        }
    });
    let config = Config::builder()
        .service("bench-svc")
        .build_from(&std::collections::HashMap::<&str, &str>::new());
    Tracer::with_exporter(config, ChannelExporter { tx, recycled })
}

fn spans(c: &mut Criterion) {
    let tracer = tracer();
    let mut g = c.benchmark_group("span");
    g.throughput(Throughput::Elements(1));
    g.bench_function("start_tag3_finish", |b| {
        b.iter(|| {
            let span = tracer.trace(black_box("http.request"));
            span.set_tag("http.method", "GET");
            span.set_tag("http.route", "/users/:id");
            span.set_tag("http.status_code", 200);
        })
    });
    g.bench_function("start_tag3_finish_owned_strings", |b| {
        let route = String::from("/users/:id");
        b.iter(|| {
            let span = tracer.trace(black_box("http.request"));
            span.set_tag("http.method", "GET");
            span.set_tag("http.route", &route);
            span.set_tag("http.status_code", 200);
        })
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

criterion_group!(benches, spans);
criterion_main!(benches);
