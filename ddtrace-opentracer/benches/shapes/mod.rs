//! The OpenTracing span bench's shapes, shared by `benches/span.rs` and
//! `examples/ot_span_loop.rs` (which runs them in a loop for cachegrind), so both measure the
//! same code.

use std::hint::black_box;

use opentracing_api::{Span as _, Tracer};

/// One span: started (a child of the active span, if any), three tags, finished.
pub fn one_span(tracer: &impl Tracer) {
    let mut span = tracer.start_span(black_box("http.request"));
    span.set_tag("http.method", "GET");
    span.set_tag("http.route", "/users/:id");
    span.set_tag("http.status_code", 200);
    span.finish();
}

/// A 10-span trace whose spans are each activated while their children start, as OpenTracing
/// instrumentation does; each finishes when dropped, after its scope.
pub fn nested_activated(tracer: &impl Tracer) {
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
}
