//! Datadog APM tracing for Rust (filled by the ddtrace-core issues).

mod span_data;

pub use span_data::{AttributeValue, SpanData, SpanEvent, SpanLink, Str, TagMap, TraceId};
