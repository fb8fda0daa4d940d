//! Reading the test agent's trace listing: find spans by name, and the one root-and-child trace
//! that several tests send.

use serde_json::Value;

/// The span called `name` in `trace` (one trace of an agent's listing).
pub fn span<'a>(trace: &'a Value, name: &str) -> &'a Value {
    trace
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no span {name} in {trace}"))
}

/// The only trace in `traces`, which must hold exactly two spans: the root `(name, span id)` and
/// its child `(name, span id)`, linked by `parent_id` and sharing the trace id. Returns both.
pub fn root_and_child<'a>(
    traces: &'a Value,
    (root_name, root_id): (&str, u64),
    (child_name, child_id): (&str, u64),
) -> (&'a Value, &'a Value) {
    let traces = traces.as_array().unwrap();
    assert_eq!(traces.len(), 1, "{traces:?}");
    let trace = &traces[0];
    assert_eq!(trace.as_array().unwrap().len(), 2, "{trace}");
    let root = span(trace, root_name);
    let child = span(trace, child_name);
    assert_eq!(root["span_id"], root_id);
    // v0.4 leaves a root's zero parent_id out; v0.5 always has the field.
    assert_eq!(
        root.get("parent_id").and_then(Value::as_u64).unwrap_or(0),
        0
    );
    assert_eq!(child["span_id"], child_id);
    assert_eq!(child["parent_id"], root_id);
    assert_eq!(child["trace_id"], root["trace_id"]);
    (root, child)
}
