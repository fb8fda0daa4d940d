//! The `opentracing` example program against the real test agent: service, names, tags,
//! parents, span links, span events and baggage after an inject / extract round trip in
//! each format. Installs the global tracers: its own process.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::time::Duration;

use ddtrace_opentracer::{Config, Tracer};
use ddtrace_test_agent::{TestAgent, render_trace_tree};
use serde_json::Value;

#[allow(dead_code)] // its `main` is not called here
#[path = "../../examples/opentracing.rs"]
mod program;

const WAIT: Duration = Duration::from_secs(30);

fn span<'a>(spans: &'a [Value], name: &str) -> &'a Value {
    spans
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

fn parent_id(span: &Value) -> u64 {
    span.get("parent_id").and_then(Value::as_u64).unwrap_or(0)
}

/// Event names and attributes, from native `span_events` or the `events` meta JSON.
fn events(span: &Value) -> Vec<Value> {
    if let Some(native) = span.get("span_events").and_then(Value::as_array) {
        return native.clone();
    }
    span["meta"]
        .get("events")
        .and_then(Value::as_str)
        .map(|json| serde_json::from_str::<Vec<Value>>(json).unwrap())
        .unwrap_or_default()
}

#[test]
fn the_opentracing_program_reaches_the_agent() {
    let agent = TestAgent::start().expect("the test agent must install and start");
    let session = agent.session().unwrap();
    let tracer = Tracer::new(
        program::SERVICE,
        Config {
            agent_url: Some(agent.url()),
            test_session_token: Some(session.token().to_string()),
            ..Default::default()
        },
    );
    ddtrace_opentracer::set_global_tracer(tracer.clone());

    program::my_operation();
    assert!(tracer.flush(WAIT), "the tracer must deliver");

    let traces = session.wait_for_spans(6, WAIT).unwrap();
    let tree = render_trace_tree(&traces);
    println!("{tree}");
    let traces = traces.as_array().unwrap();
    assert_eq!(traces.len(), 1, "one trace across the round trips:\n{tree}");
    let spans = traces[0].as_array().unwrap().clone();
    assert_eq!(spans.len(), 6, "{tree}");

    let root = span(&spans, program::OPERATION);
    let root_id = root["span_id"].as_u64().unwrap();
    assert_eq!(parent_id(root), 0);
    assert_eq!(root["meta"][program::TAG.0], program::TAG.1);
    for s in &spans {
        assert_eq!(s["service"], program::SERVICE, "{tree}");
        assert_eq!(s["trace_id"], root["trace_id"], "{tree}");
    }

    let child = span(&spans, "my_operation.child");
    assert_eq!(parent_id(child), root_id);
    assert!(child["duration"].as_u64().unwrap() >= 50_000_000);
    let child_events = events(child);
    assert_eq!(child_events.len(), 1, "{child}");
    assert_eq!(child_events[0]["name"], "cache miss");
    assert!(
        child_events[0]["attributes"].to_string().contains("bread"),
        "{child}"
    );

    for format in ["text_map", "http_headers", "binary"] {
        let remote = span(&spans, &format!("remote.{format}"));
        assert_eq!(parent_id(remote), root_id, "{format}: {tree}");
        assert_eq!(remote["meta"]["propagation.format"], format);
        assert_eq!(remote["meta"]["span.kind"], "server");
        // The baggage crossed the "process boundary".
        assert_eq!(
            remote["meta"][program::BAGGAGE.0],
            program::BAGGAGE.1,
            "{format}"
        );
    }

    let follow_up = span(&spans, "my_operation.follow_up");
    assert_eq!(parent_id(follow_up), root_id);
    let links = follow_up["span_links"].as_array().unwrap_or_else(|| {
        panic!("span links expected on {follow_up}");
    });
    assert_eq!(links.len(), 1);
    assert_eq!(links[0]["span_id"], root_id);
    assert_eq!(
        links[0]["attributes"]["opentracing.ref_type"],
        "follows_from"
    );
    assert_eq!(events(follow_up)[0]["name"], "receipt sent");

    assert_eq!(session.trace_check_failures().unwrap(), None);
}
