//! Encoding a 10-span trace chunk in v0.4 and v0.5.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ddtrace_core::encode::{ApiVersion, EncodeOptions, PayloadEncoder};
use ddtrace_core::{SpanData, TagMap, TraceId};

fn chunk() -> Vec<SpanData> {
    let trace_id = TraceId::from_parts(0x6500_0000_0000_0000, 0x1234_5678_9abc_def0);
    (0..10u64)
        .map(|i| {
            let mut meta: TagMap<_> = [
                ("env", "prod"),
                ("version", "1.2.3"),
                ("component", "http"),
                ("span.kind", "server"),
                ("http.method", "GET"),
                ("http.url", "https://example.com/api/v1/users/42"),
                ("http.status_code", "200"),
            ]
            .into_iter()
            .map(|(k, v)| (k, v.into()))
            .collect();
            if i == 0 {
                meta.insert("_dd.p.tid", "6500000000000000".into());
                meta.insert("language", "rust".into());
            }
            let mut metrics = TagMap::new();
            metrics.insert("_dd.top_level", 1.0);
            if i == 0 {
                metrics.insert("_sampling_priority_v1", 1.0);
                metrics.insert("process_id", 4242.0);
            }
            SpanData {
                trace_id,
                span_id: 0x1000 + i,
                parent_id: if i == 0 { 0 } else { 0x1000 },
                name: "http.request".into(),
                service: "web-frontend".into(),
                resource: "GET /api/v1/users/:id".into(),
                span_type: "web".into(),
                start: 1_700_000_000_000_000_000 + i as i64 * 1000,
                duration: 1_500_000,
                error: false,
                meta,
                metrics,
                links: Vec::new(),
                events: Vec::new(),
            }
        })
        .collect()
}

/// Chunks per payload in the steady-state case (the writer's payloads hold thousands).
const CHUNKS_PER_PAYLOAD: usize = 100;

fn bench_encode(c: &mut Criterion) {
    let spans = chunk();
    for version in [ApiVersion::V04, ApiVersion::V05] {
        let mut payload = PayloadEncoder::new(version, EncodeOptions::new());
        // A payload of one chunk: every string is new to a v0.5 string table.
        c.bench_function(&format!("encode_chunk_10_spans_{version}"), |b| {
            b.iter(|| {
                payload.push_chunk(black_box(&spans));
                black_box(payload.take())
            })
        });
        // Per chunk, in a payload of many (what the writer does): the table already holds
        // the strings.
        let mut g = c.benchmark_group(format!("encode_chunk_10_spans_{version}_in_a_payload"));
        g.throughput(Throughput::Elements(CHUNKS_PER_PAYLOAD as u64));
        g.bench_function(format!("{CHUNKS_PER_PAYLOAD}_chunks"), |b| {
            b.iter(|| {
                for _ in 0..CHUNKS_PER_PAYLOAD {
                    payload.push_chunk(black_box(&spans));
                }
                black_box(payload.take())
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench_encode);
criterion_main!(benches);
