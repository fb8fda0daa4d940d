//! The propagate example: incoming headers → one child span at the agent → outgoing headers.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use ddtrace_core::propagation::PropagationStyle;
use ddtrace_core::{Config, Tracer};
use ddtrace_test_agent::TestAgent;

const INPUT: &str = r#"{
    "X-Datadog-Trace-Id": "1234",
    "x-datadog-parent-id": "5678",
    "x-datadog-sampling-priority": "2",
    "x-datadog-origin": "synthetics"
}"#;

#[test]
fn continues_the_trace_and_writes_outgoing_headers() {
    let agent = TestAgent::start().unwrap_or_else(|e| panic!("the test agent must start: {e}"));
    let session = agent.session().unwrap();
    let config = Config::builder()
        .service("propagate")
        .agent_url(agent.url())
        .test_session_token(session.token())
        .propagation_style(vec![
            PropagationStyle::Datadog,
            PropagationStyle::TraceContext,
        ])
        .build_from(&HashMap::<&str, &str>::new());
    let tracer = Tracer::new(config);

    let out = examples::propagate::propagate(&tracer, INPUT).unwrap();
    assert!(tracer.flush(Duration::from_secs(10)));

    let traces = session.wait_for_traces(1, Duration::from_secs(20)).unwrap();
    let span = &traces[0][0];
    assert_eq!(span["name"], "propagate.child");
    assert_eq!(span["service"], "propagate");
    assert_eq!(span["trace_id"], 1234);
    assert_eq!(span["parent_id"], 5678);
    assert_eq!(span["metrics"]["_sampling_priority_v1"], 2.0);
    assert_eq!(span["meta"]["_dd.origin"], "synthetics");
    let child_id = span["span_id"].as_u64().unwrap();

    assert_eq!(out["x-datadog-trace-id"], "1234");
    assert_eq!(out["x-datadog-parent-id"], child_id.to_string());
    assert_eq!(out["x-datadog-sampling-priority"], "2");
    assert_eq!(out["x-datadog-origin"], "synthetics");
    assert_eq!(
        out["traceparent"],
        format!("00-{:032x}-{child_id:016x}-01", 1234)
    );
    assert!(out["tracestate"].contains("s:2"), "{}", out["tracestate"]);
    assert!(
        out["tracestate"].contains("o:synthetics"),
        "{}",
        out["tracestate"]
    );
    assert!(!out.contains_key("b3"), "only the configured styles");
    assert_eq!(session.trace_check_failures().unwrap(), None);
}

#[test]
fn rejects_input_that_is_not_a_json_object_of_strings() {
    let tracer = Tracer::with_exporter(
        Config::builder().build_from(&HashMap::<&str, &str>::new()),
        ddtrace_core::Collector::new(),
    );
    for bad in ["[]", "not json", r#"{"x-datadog-trace-id": 5}"#] {
        let err = examples::propagate::propagate(&tracer, bad).unwrap_err();
        assert!(err.to_string().contains("JSON object"), "{err}");
    }
}

/// The example program itself: stdin JSON in, stdout JSON out.
#[test]
fn the_example_binary_reads_stdin_and_prints_json() {
    let agent = TestAgent::start().unwrap_or_else(|e| panic!("the test agent must start: {e}"));
    let session = agent.session().unwrap();
    #[allow(clippy::disallowed_methods)] // cargo's own variable, not tracer configuration
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(cargo)
        .args(["run", "--quiet", "-p", "examples", "--example", "propagate"])
        .current_dir(ddtrace_test_agent::workspace_root())
        .env("DD_TRACE_AGENT_URL", agent.url())
        .env("DD_TEST_SESSION_TOKEN", session.token())
        .env("DD_TRACE_PROPAGATION_STYLE", "datadog")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(INPUT.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed: HashMap<String, String> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["x-datadog-trace-id"], "1234");
    assert_eq!(printed["x-datadog-sampling-priority"], "2");
    assert!(
        !printed.contains_key("traceparent"),
        "datadog style only: {printed:?}"
    );
    let traces = session.wait_for_traces(1, Duration::from_secs(20)).unwrap();
    assert_eq!(traces[0][0]["name"], "propagate.child");
    assert_eq!(
        traces[0][0]["span_id"].as_u64().unwrap().to_string(),
        printed["x-datadog-parent-id"]
    );
}
