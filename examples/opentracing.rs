//! `cargo run -p examples --example opentracing`: the seed's OpenTracing program on the
//! Datadog tracer, sent to the Datadog Agent at `DD_TRACE_AGENT_URL` (or `DD_AGENT_HOST` /
//! `DD_TRACE_AGENT_PORT`, default localhost:8126).
//!
//! Beyond the seed's single span, [`my_operation`] shows a child span, a log, baggage, an
//! inject / extract round trip in each format (`TextMap`, `HttpHeaders`, `Binary`) to a
//! simulated remote service, and a `FollowsFrom` span:
//!
//! ```text
//! my_operation                 tag sandwich.kind=BLT, baggage customer=ada
//! ├── my_operation.child       a log (span event "cache miss"), 50 ms
//! ├── remote.text_map          continued from a TextMap carrier (baggage → tag customer)
//! ├── remote.http_headers      continued from HTTP headers
//! ├── remote.binary            continued from the Binary encoding
//! └── my_operation.follow_up   FollowsFrom my_operation (a span link)
//! ```

use std::collections::HashMap;
use std::time::Duration;

use opentracing_api::http::HeaderMap;
use opentracing_api::{
    Binary, BoxedSpanContext, ExtractError, Format, HttpHeaders, LogField, TextMap, global_tracer,
    log_fields, tags,
};

/// The service the program reports as.
pub const SERVICE: &str = "opentracing-svc";
/// The seed's `<OPERATION_NAME>`.
pub const OPERATION: &str = "my_operation";
/// The seed's `<TAG_KEY>` / `<TAG_VALUE>`.
pub const TAG: (&str, &str) = ("sandwich.kind", "BLT");
/// The baggage item every span of the trace carries.
pub const BAGGAGE: (&str, &str) = ("customer", "ada");

/// The seed's `init_tracer(service_name)`: a Datadog tracer configured from the
/// environment, installed as the global tracer (OpenTracing's and ddtrace-core's).
pub fn init_tracer(service_name: &str) -> ddtrace_opentracer::Tracer {
    ddtrace_opentracer::init_tracer(service_name)
}

/// The seed's `my_operation()` with the global tracer, plus the additions listed in the
/// module docs.
pub fn my_operation() {
    let tracer = global_tracer();
    let mut span = tracer.start_span(OPERATION);
    span.set_tag(TAG.0, TAG.1);
    span.set_baggage_item(BAGGAGE.0, BAGGAGE.1);
    {
        let _scope = tracer.activate(&span);
        let mut child = tracer.start_span("my_operation.child");
        child.log([
            LogField::new(log_fields::EVENT, "cache miss"),
            LogField::new("cache.key", "bread"),
        ]);
        std::thread::sleep(Duration::from_millis(50));
        child.finish();

        for format in [Format::TextMap, Format::HttpHeaders, Format::Binary] {
            match round_trip(span.context(), format) {
                Ok(remote) => remote_service(&remote, format),
                Err(e) => span.log([
                    LogField::new(log_fields::EVENT, "error"),
                    LogField::new(log_fields::ERROR_OBJECT, e),
                ]),
            }
        }
    }
    let context = span.context().clone();
    span.finish();

    let mut follow_up = tracer
        .span_builder("my_operation.follow_up")
        .follows_from(&context)
        .with_tag(tags::SPAN_KIND, tags::SPAN_KIND_PRODUCER)
        .start();
    follow_up.log_event("receipt sent");
    follow_up.finish();
}

/// Injects `context` in `format` and extracts it back, as the receiving process would.
fn round_trip(context: &BoxedSpanContext, format: Format) -> Result<BoxedSpanContext, String> {
    let tracer = global_tracer();
    let extracted: Result<BoxedSpanContext, ExtractError> = match format {
        Format::TextMap => {
            let mut carrier: HashMap<String, String> = HashMap::new();
            tracer
                .inject(context, TextMap, &mut carrier)
                .map_err(|e| e.to_string())?;
            tracer.extract(TextMap, &carrier)
        }
        Format::HttpHeaders => {
            let mut headers = HeaderMap::new();
            tracer
                .inject(context, HttpHeaders, &mut headers)
                .map_err(|e| e.to_string())?;
            tracer.extract(HttpHeaders, &headers)
        }
        _ => {
            let mut bytes = Vec::new();
            tracer
                .inject(context, Binary, &mut bytes)
                .map_err(|e| e.to_string())?;
            tracer.extract(Binary, &bytes[..])
        }
    };
    extracted.map_err(|e| e.to_string())
}

/// The "remote" side: a server span continuing the extracted context.
fn remote_service(parent: &BoxedSpanContext, format: Format) {
    let tracer = global_tracer();
    let mut span = tracer
        .span_builder(format!("remote.{format}"))
        .child_of(parent)
        .with_tag(tags::SPAN_KIND, tags::SPAN_KIND_SERVER)
        .with_tag("propagation.format", format.as_str())
        .start();
    if let Some(customer) = span.context().baggage_item(BAGGAGE.0) {
        let customer = customer.to_string();
        span.set_tag(BAGGAGE.0, customer);
    }
    span.finish();
}

fn main() {
    let tracer = init_tracer(SERVICE);
    my_operation();
    let delivered = tracer.shutdown(Duration::from_secs(10));
    let stats = tracer.core().stats();
    println!(
        "opentracing: {} traces ({} spans) sent, {} dropped{}",
        stats.traces_sent,
        stats.spans_sent,
        stats.traces_dropped.total(),
        if delivered {
            ""
        } else {
            " (shutdown timed out)"
        }
    );
    if !delivered {
        std::process::exit(1);
    }
}
