//! Fuzzes the `datadog` extractor (and re-injection of what it extracts).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::run(
        ddtrace_core::propagation::PropagationStyle::Datadog,
        &[
            "x-datadog-trace-id",
            "x-datadog-parent-id",
            "x-datadog-sampling-priority",
            "x-datadog-origin",
            "x-datadog-tags",
        ],
        data,
    );
});
