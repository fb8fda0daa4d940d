//! Fuzzes the `b3` extractor (and re-injection of what it extracts).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::run(
        ddtrace_core::propagation::PropagationStyle::B3,
        &["b3"],
        data,
    );
});
