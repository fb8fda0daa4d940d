//! The vendor-neutral kitchen library on the Datadog tracer, checked against the real test
//! agent: the same tree (names, parents, tags, logs) as on a `MockTracer`.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::collections::BTreeMap;
use std::time::Duration;

use ddtrace_opentracer::{Config, Tracer};
use ddtrace_test_agent::{TestAgent, render_trace_tree};
use examples::kitchen::{Order, make_sandwich_request};
use opentracing_api::{MockSpanRecord, MockTracer, TagValue, log_fields};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

/// One span's shape: its parent's name, its kitchen tags (as strings), its error flag and
/// its log / event names.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    parent: Option<String>,
    tags: BTreeMap<String, String>,
    error: bool,
    events: Vec<String>,
}

/// The shapes of a `MockTracer`'s spans, by name. The `error` tag is the error flag.
fn mock_shapes(spans: &[MockSpanRecord]) -> BTreeMap<String, Shape> {
    let names: BTreeMap<u64, String> = spans
        .iter()
        .map(|s| (s.span_id(), s.operation_name.to_string()))
        .collect();
    spans
        .iter()
        .map(|s| {
            let shape = Shape {
                parent: s.parent_id.and_then(|p| names.get(&p).cloned()),
                tags: s
                    .tags
                    .iter()
                    .filter(|(k, _)| *k != "error")
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                error: s.tags.get("error") == Some(&TagValue::Bool(true)),
                events: s
                    .logs
                    .iter()
                    .map(|l| match l.field(log_fields::EVENT) {
                        Some(TagValue::String(e)) => e.to_string(),
                        _ => ddtrace_opentracer::DEFAULT_EVENT_NAME.to_string(),
                    })
                    .collect(),
            };
            (s.operation_name.to_string(), shape)
        })
        .collect()
}

/// The shapes of the agent's spans, by name, with the tag keys the mock recorded.
fn agent_shapes(spans: &[Value], keys: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, Shape> {
    let names: BTreeMap<u64, String> = spans
        .iter()
        .map(|s| {
            (
                s["span_id"].as_u64().unwrap(),
                s["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    spans
        .iter()
        .map(|s| {
            let name = s["name"].as_str().unwrap().to_string();
            let tags = keys[&name]
                .iter()
                .filter_map(|k| {
                    let v = match (s["meta"].get(k), s["metrics"].get(k)) {
                        (Some(m), _) => m.as_str().unwrap().to_string(),
                        (None, Some(n)) => n.as_f64().unwrap().to_string(),
                        (None, None) => return None,
                    };
                    Some((k.clone(), v))
                })
                .collect();
            let events = s
                .get("span_events")
                .and_then(Value::as_array)
                .cloned()
                .or_else(|| {
                    let json = s["meta"].get("events")?.as_str()?;
                    serde_json::from_str(json).ok()
                })
                .unwrap_or_default()
                .iter()
                .map(|e| e["name"].as_str().unwrap().to_string())
                .collect();
            let shape = Shape {
                parent: s
                    .get("parent_id")
                    .and_then(Value::as_u64)
                    .and_then(|p| names.get(&p).cloned()),
                tags,
                error: s.get("error").and_then(Value::as_i64) == Some(1),
                events,
            };
            (name, shape)
        })
        .collect()
}

#[test]
fn the_kitchen_has_the_same_shape_on_mock_and_datadog() {
    let orders = [
        Order::new("ada", "BLT", &["bacon", "lettuce", "tomato"]),
        Order::new("grace", "Deluxe", &["truffle"]), // out of stock: error path
    ];

    let agent = TestAgent::start().expect("the test agent must install and start");
    let session = agent.session().unwrap();
    let datadog = Tracer::new(
        "kitchen-svc",
        Config {
            agent_url: Some(agent.url()),
            test_session_token: Some(session.token().to_string()),
            ..Default::default()
        },
    );

    for order in &orders {
        let mock = MockTracer::new();
        let mock_receipt = make_sandwich_request(&mock, order);
        let receipt = make_sandwich_request(&datadog, order);
        assert_eq!(receipt.supplier_status, mock_receipt.supplier_status);
        assert!(receipt.supplier_headers.contains_key("x-datadog-trace-id"));
        assert!(receipt.supplier_headers.contains_key("ot-baggage-customer"));

        let expected = mock_shapes(&mock.finished_spans());
        let keys: BTreeMap<String, Vec<String>> = expected
            .iter()
            .map(|(name, shape)| (name.clone(), shape.tags.keys().cloned().collect()))
            .collect();

        assert!(datadog.flush(WAIT));
        let traces = session.wait_for_traces(1, WAIT).unwrap();
        let tree = render_trace_tree(&traces);
        let traces = traces.as_array().unwrap();
        assert_eq!(traces.len(), 1, "one trace per order:\n{tree}");
        let spans = traces[0].as_array().unwrap();
        assert_eq!(spans.len(), expected.len(), "{tree}");
        assert_eq!(agent_shapes(spans, &keys), expected, "{tree}");
        for s in spans {
            assert_eq!(s["service"], "kitchen-svc");
        }
        if order.toppings.iter().any(|t| t == "truffle") {
            let supplier = spans
                .iter()
                .find(|s| s["name"] == "supplier.handle_order")
                .unwrap();
            assert_eq!(supplier["meta"]["error.type"], "OutOfStock", "{tree}");
            assert_eq!(supplier["meta"]["error.message"], "no truffle today");
        }
        assert_eq!(session.trace_check_failures().unwrap(), None);
        session.clear().unwrap();
    }
}
