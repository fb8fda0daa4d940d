//! The main demo runs end to end: it starts the pinned test agent, runs the `sandwich` example
//! against it (a nested `cargo run`, which works inside `cargo test`: cargo releases the build
//! lock before running tests and sets `CARGO` for them), checks what the agent accepted and exits 0.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::process::{Command, Stdio};

#[test]
fn the_demo_runs_the_sandwich_example_against_the_test_agent() {
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
        .env_remove("DEMO_KEEP")
        .stdin(Stdio::null())
        .output()
        .expect("running the demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the demo failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    for expected in [
        "sandwich.make",
        "sandwich.create",
        "throws.an.error",
        "operation",
        "my-sandwich-making-svc",
        "examples::sandwich::get_ingredients",
        "Test agent web UI: http://127.0.0.1:",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from the demo's output:\n{stdout}"
        );
    }
    // Two `sandwich.create` traces, and nothing failed.
    assert_eq!(stdout.matches("── sandwich.create ").count(), 2, "{stdout}");
    assert!(stdout.contains("no trace check failed"), "{stdout}");
}
