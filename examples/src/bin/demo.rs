//! The main demo (`cargo run -p examples --bin demo`).
//!
//! 1. Installs (first run only) and starts the pinned Datadog test agent (`ddapm-test-agent`) on
//!    loopback, with its web UI on a free port.
//! 2. Runs the `sandwich` example (`examples/sandwich.rs`, the seed's examples on `ddtrace-core`)
//!    as a child process, `cargo run --quiet -p examples --example sandwich`, pointed at that
//!    agent with `DD_TRACE_AGENT_URL`, `DD_TEST_SESSION_TOKEN` and `DD_ENV=demo`.
//! 3. Waits for the traces the agent accepted, checks them (5 traces, the expected root spans, no
//!    failed trace checks) and prints them as a tree, with the web UI's address.
//! 4. Briefly shows the vendor-neutral `kitchen` library traced through a `MockTracer`.
//!
//! With `--keep` (or `DEMO_KEEP=1`) the agent keeps running after that, so its web UI can be
//! browsed, until Enter is pressed (or Ctrl-C). Without it the demo never reads stdin.
//!
//! Exits 0 when everything checked out, 1 with a message saying what failed otherwise.

use std::ffi::OsString;
use std::fmt;
use std::io::BufRead;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use ddtrace_test_agent::{
    TEST_AGENT_VERSION, TestAgent, render_trace_tree, span_count, workspace_root,
};
use examples::kitchen::{Order, make_sandwich_request};
use examples::tree::render;
use opentracing_api::MockTracer;
use serde_json::Value;

/// The root spans the `sandwich` example produces, one per trace, in order.
const EXPECTED_ROOTS: [&str; 5] = [
    "sandwich.make",
    "sandwich.create",
    "sandwich.create",
    "throws.an.error",
    "operation",
];

/// How long to wait for the agent to hold every trace once the example has exited (it flushes
/// before exiting, so they are normally there already).
const TRACE_TIMEOUT: Duration = Duration::from_secs(30);

/// What went wrong, for the final message.
#[derive(Debug)]
struct DemoError(String);

impl fmt::Display for DemoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DemoError {}

/// Shorthand for a failure with a message.
fn fail<T>(message: impl Into<String>) -> Result<T, DemoError> {
    Err(DemoError(message.into()))
}

/// Command-line options.
#[derive(Debug, Default)]
struct Options {
    /// Keep the agent (and its web UI) running until Enter or Ctrl-C.
    keep: bool,
}

const USAGE: &str = "usage: demo [--keep]\n\
    \n\
    Starts the pinned Datadog test agent, runs the sandwich example against it and prints the\n\
    traces the agent accepted.\n\
    \n\
    --keep   keep the test agent and its web UI running until Enter is pressed (or Ctrl-C);\n\
    \x20        also DEMO_KEEP=1";

// DEMO_KEEP is the demo's own option, not tracer configuration.
#[allow(clippy::disallowed_methods)]
fn parse_args() -> Result<Option<Options>, DemoError> {
    let mut options = Options {
        keep: std::env::var("DEMO_KEEP")
            .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes" | "on")),
    };
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--keep" => options.keep = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => return fail(format!("unknown argument {other:?}\n\n{USAGE}")),
        }
    }
    Ok(Some(options))
}

fn main() -> ExitCode {
    let result = parse_args().and_then(|options| match options {
        Some(options) => run(&options),
        None => Ok(()),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\ndemo FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: &Options) -> Result<(), DemoError> {
    println!("== 1. The Datadog test agent (ddapm-test-agent {TEST_AGENT_VERSION}) on loopback");
    println!(
        "   (installed into target/ddapm-test-agent-venv on first run; this can take a minute)"
    );
    let agent = TestAgent::builder()
        .web_ui()
        .label("demo")
        .start()
        .or_else(|e| fail(format!("could not install or start the test agent: {e}")))?;
    let session = agent
        .session()
        .or_else(|e| fail(format!("could not start a test agent session: {e}")))?;
    let web_ui = agent
        .web_ui_url()
        .unwrap_or_else(|| "(web UI disabled)".to_owned());
    println!("   trace intake: {}", agent.url());
    println!("   session token: {}", session.token());

    println!("\n== 2. The sandwich example (examples/sandwich.rs), sending to the test agent");
    run_sandwich_example(&agent.url(), session.token())?;

    println!("\n== 3. What the test agent accepted");
    let traces = session
        .wait_for_traces(EXPECTED_ROOTS.len(), TRACE_TIMEOUT)
        .or_else(|e| fail(format!("the test agent did not get the traces: {e}")))?;
    print!("{}", render_trace_tree(&traces));
    check_traces(&traces)?;
    match session.trace_check_failures() {
        Ok(None) => {}
        Ok(Some(failures)) => return fail(format!("the test agent's checks failed:\n{failures}")),
        Err(e) => return fail(format!("could not read the test agent's trace checks: {e}")),
    }
    println!(
        "\n== 4. The vendor-neutral kitchen library (examples/src/kitchen.rs) on a MockTracer"
    );
    mock_tracer_section();

    println!(
        "\nDone: the test agent accepted the {} traces ({} spans) expected; no trace check failed.",
        EXPECTED_ROOTS.len(),
        span_count(&traces)
    );
    if options.keep {
        println!("Test agent web UI: {web_ui}");
        keep_running(&web_ui);
    } else {
        println!("Test agent web UI: {web_ui} (stops with the demo: run with --keep to browse it)");
    }
    Ok(())
}

/// Runs `cargo run --quiet -p examples --example sandwich` against the agent; its output goes to
/// ours.
// CARGO locates cargo; it is not tracer configuration.
#[allow(clippy::disallowed_methods)]
fn run_sandwich_example(agent_url: &str, token: &str) -> Result<(), DemoError> {
    // Cargo sets CARGO for the programs it runs (`cargo run`, `cargo test`).
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(&cargo);
    command.args(["run", "--quiet", "-p", "examples", "--example", "sandwich"]);
    if !cfg!(debug_assertions) {
        // The demo was built optimised: build the example the same way (no second build).
        command.arg("--release");
    }
    println!(
        "   $ DD_TRACE_AGENT_URL={agent_url} DD_TEST_SESSION_TOKEN={token} DD_ENV=demo \\\n     \
         cargo run --quiet -p examples --example sandwich{}",
        if cfg!(debug_assertions) {
            ""
        } else {
            " --release"
        }
    );
    // CARGO_TARGET_DIR and the rest of the environment are inherited.
    let status = command
        .current_dir(workspace_root())
        .env("DD_TRACE_AGENT_URL", agent_url)
        .env("DD_TEST_SESSION_TOKEN", token)
        .env("DD_ENV", "demo")
        .stdin(Stdio::null())
        .status()
        .or_else(|e| {
            fail(format!(
                "could not run {} (set CARGO to cargo's path): {e}",
                cargo.to_string_lossy()
            ))
        })?;
    if !status.success() {
        return fail(format!("the sandwich example failed ({status})"));
    }
    Ok(())
}

/// The traces are exactly the example's: one per expected root span.
fn check_traces(traces: &Value) -> Result<(), DemoError> {
    let Some(traces) = traces.as_array() else {
        return fail(format!("the test agent answered a non-array: {traces}"));
    };
    let mut roots: Vec<String> = traces
        .iter()
        .map(|trace| {
            trace
                .as_array()
                .and_then(|spans| {
                    spans
                        .iter()
                        .find(|s| s.get("parent_id").and_then(Value::as_u64).unwrap_or(0) == 0)
                })
                .and_then(|root| root.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("<no root span>")
                .to_owned()
        })
        .collect();
    roots.sort();
    let mut expected: Vec<String> = EXPECTED_ROOTS.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    if roots != expected {
        return fail(format!(
            "expected {} traces with the root spans {expected:?}, the agent holds {} with {roots:?}",
            expected.len(),
            traces.len()
        ));
    }
    Ok(())
}

/// One order through the kitchen library, recorded by a `MockTracer`.
fn mock_tracer_section() {
    let tracer = MockTracer::new();
    let order = Order::new("ada", "BLT", &["bacon", "lettuce", "tomato"]);
    let receipt = make_sandwich_request(&tracer, &order);
    println!(
        "{} ordered a {}; the supplier answered {}. The MockTracer recorded:",
        order.customer, order.sandwich, receipt.supplier_status
    );
    print!("{}", render(&tracer.finished_spans()));
}

/// Waits for Enter (or end of input) on stdin; Ctrl-C ends the demo and the agent with it (both
/// are in the terminal's foreground process group).
fn keep_running(web_ui: &str) {
    println!(
        "\n--keep: the test agent keeps running. Open {web_ui} in a browser;\n\
         press Enter (or Ctrl-C) to stop it."
    );
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) => println!("(stdin is closed: stopping)"),
        Ok(_) => {}
        Err(e) => println!("(cannot read stdin: {e}; stopping)"),
    }
}
