//! Fuzzes the `b3multi` extractor (and re-injection of what it extracts).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::run(
        ddtrace_core::propagation::PropagationStyle::B3Multi,
        &["x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "x-b3-flags"],
        data,
    );
});
