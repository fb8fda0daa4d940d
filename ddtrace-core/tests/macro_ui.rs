//! UI tests of the `#[trace]` attribute macro (ddtrace-macros), run against
//! this crate's `__private` support module.
#![cfg(feature = "macros")]

#[test]
fn trace_macro_ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail_*.rs");
    cases.pass("tests/ui/pass_*.rs");
}
