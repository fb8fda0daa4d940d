//! Fuzzes the `tracecontext` extractor (and re-injection of what it extracts).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::run(
        ddtrace_core::propagation::PropagationStyle::TraceContext,
        &["traceparent", "tracestate"],
        data,
    );
});
