//! Renders the traces the agent returns as an indented tree, for test failure messages and demos.

use std::collections::HashSet;
use std::fmt::Write as _;

use serde_json::Value;

/// Span fields shown in a span's title line, or deliberately left out (timing).
const TITLE_FIELDS: &[&str] = &[
    "trace_id",
    "span_id",
    "parent_id",
    "name",
    "service",
    "resource",
    "type",
    "start",
    "duration",
    "error",
    "meta",
    "metrics",
];

/// Renders traces (a JSON array of traces, each an array of spans, as
/// [`Session::traces`](crate::Session::traces) returns them) as a tree: children under their
/// parent, ordered by `start` then `span_id`; each span's `meta` (sorted), `metrics` (sorted) and
/// any other field (e.g. `span_links`, compact JSON) below it. `start` and `duration` are left out.
/// A span whose parent is not in its trace is shown as a root with its `parent_id`.
///
/// ```
/// use ddtrace_test_agent::render_trace_tree;
///
/// let traces = serde_json::json!([[
///     {"trace_id": 1, "span_id": 1, "parent_id": 0, "name": "web.request", "service": "web",
///      "resource": "GET /", "start": 0, "duration": 9, "error": 0,
///      "meta": {"http.method": "GET"}, "metrics": {}},
///     {"trace_id": 1, "span_id": 2, "parent_id": 1, "name": "db.query", "service": "db",
///      "resource": "SELECT 1", "start": 1, "duration": 2, "error": 1,
///      "meta": {"error.message": "boom"}, "metrics": {}},
/// ]]);
/// assert_eq!(
///     render_trace_tree(&traces),
///     "trace 1 (2 spans)\n\
///      └── web.request  service=web  resource=\"GET /\"  span_id=1\n\
///      \x20   │   meta.http.method = GET\n\
///      \x20   └── db.query  service=db  resource=\"SELECT 1\"  span_id=2  ERROR\n\
///      \x20           meta.error.message = boom\n"
/// );
/// ```
pub fn render_trace_tree(traces: &Value) -> String {
    let Some(traces) = traces.as_array() else {
        return format!("(not an array of traces: {traces})\n");
    };
    let mut out = String::new();
    for trace in traces {
        let spans: Vec<&Value> = match trace.as_array() {
            Some(spans) => spans.iter().collect(),
            None => {
                let _ = writeln!(out, "(not a trace: {trace})");
                continue;
            }
        };
        let trace_id = spans
            .first()
            .and_then(|s| s.get("trace_id"))
            .map_or_else(|| "?".to_owned(), display_value);
        let plural = if spans.len() == 1 { "" } else { "s" };
        let _ = writeln!(out, "trace {trace_id} ({} span{plural})", spans.len());

        let ids: HashSet<u64> = spans
            .iter()
            .filter_map(|s| u64_field(s, "span_id"))
            .collect();
        let mut roots: Vec<&Value> = spans
            .iter()
            .copied()
            .filter(|s| match u64_field(s, "parent_id") {
                None | Some(0) => true,
                Some(parent) => !ids.contains(&parent) || u64_field(s, "span_id") == Some(parent),
            })
            .collect();
        sort_spans(&mut roots);
        let mut visited = HashSet::new();
        let count = roots.len();
        for (i, root) in roots.into_iter().enumerate() {
            render_span(
                &mut out,
                &spans,
                root,
                "",
                i + 1 == count,
                &ids,
                &mut visited,
            );
        }
        // Spans only reachable through a parent cycle: show them rather than lose them.
        let mut rest: Vec<&Value> = spans
            .iter()
            .copied()
            .filter(|s| !visited.contains(&(*s as *const Value)))
            .collect();
        sort_spans(&mut rest);
        let count = rest.len();
        for (i, span) in rest.into_iter().enumerate() {
            if !visited.contains(&(span as *const Value)) {
                render_span(
                    &mut out,
                    &spans,
                    span,
                    "",
                    i + 1 == count,
                    &ids,
                    &mut visited,
                );
            }
        }
    }
    out
}

fn render_span(
    out: &mut String,
    spans: &[&Value],
    span: &Value,
    prefix: &str,
    last: bool,
    ids: &HashSet<u64>,
    visited: &mut HashSet<*const Value>,
) {
    visited.insert(span as *const Value);
    let span_id = u64_field(span, "span_id");
    let mut children: Vec<&Value> = match span_id {
        Some(id) => spans
            .iter()
            .copied()
            .filter(|s| {
                u64_field(s, "parent_id") == Some(id)
                    && u64_field(s, "span_id") != Some(id)
                    && !visited.contains(&(*s as *const Value))
            })
            .collect(),
        None => Vec::new(),
    };
    sort_spans(&mut children);

    let mut title = str_field(span, "name").unwrap_or("?").to_owned();
    let _ = write!(
        title,
        "  service={}",
        str_field(span, "service").unwrap_or("")
    );
    let _ = write!(
        title,
        "  resource={:?}",
        str_field(span, "resource").unwrap_or("")
    );
    if let Some(kind) = str_field(span, "type").filter(|t| !t.is_empty()) {
        let _ = write!(title, "  type={kind}");
    }
    let _ = write!(
        title,
        "  span_id={}",
        span.get("span_id")
            .map_or_else(|| "?".to_owned(), display_value)
    );
    if let Some(parent) = u64_field(span, "parent_id").filter(|p| *p != 0 && !ids.contains(p)) {
        let _ = write!(title, "  parent_id={parent} (not in this trace)");
    }
    if span
        .get("error")
        .and_then(Value::as_i64)
        .is_some_and(|e| e != 0)
    {
        title.push_str("  ERROR");
    }
    let connector = if last { "└── " } else { "├── " };
    let _ = writeln!(out, "{prefix}{connector}{title}");

    let child_prefix = format!("{prefix}{}", if last { "    " } else { "│   " });
    let detail_prefix = format!(
        "{child_prefix}{}",
        if children.is_empty() {
            "    "
        } else {
            "│   "
        }
    );
    for map in ["meta", "metrics"] {
        if let Some(entries) = span.get(map).and_then(Value::as_object) {
            let mut keys: Vec<&String> = entries.keys().collect();
            keys.sort();
            for key in keys {
                let value = entries.get(key).map_or_else(String::new, display_value);
                let _ = writeln!(out, "{detail_prefix}{map}.{key} = {value}");
            }
        }
    }
    if let Some(fields) = span.as_object() {
        let mut keys: Vec<&String> = fields
            .keys()
            .filter(|k| !TITLE_FIELDS.contains(&k.as_str()))
            .collect();
        keys.sort();
        for key in keys {
            if let Some(value) = fields.get(key) {
                let _ = writeln!(out, "{detail_prefix}{key} = {value}");
            }
        }
    }

    let count = children.len();
    for (i, child) in children.into_iter().enumerate() {
        if !visited.contains(&(child as *const Value)) {
            render_span(
                out,
                spans,
                child,
                &child_prefix,
                i + 1 == count,
                ids,
                visited,
            );
        }
    }
}

fn sort_spans(spans: &mut [&Value]) {
    spans.sort_by_key(|s| {
        (
            s.get("start").and_then(Value::as_i64).unwrap_or(0),
            u64_field(s, "span_id").unwrap_or(0),
        )
    });
}

fn u64_field(span: &Value, key: &str) -> Option<u64> {
    span.get(key).and_then(Value::as_u64)
}

fn str_field<'a>(span: &'a Value, key: &str) -> Option<&'a str> {
    span.get(key).and_then(Value::as_str)
}

/// A string as is; anything else as compact JSON.
fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_a_fixed_trace_exactly() {
        let traces = json!([
            [
                {"trace_id": 77, "span_id": 30, "parent_id": 10, "name": "cache.get", "service": "web",
                 "resource": "cache.get", "start": 300, "duration": 5, "error": 0, "meta": {}, "metrics": {}},
                {"trace_id": 77, "span_id": 10, "parent_id": 0, "name": "web.request", "service": "web",
                 "resource": "GET /users", "type": "web", "start": 100, "duration": 500, "error": 0,
                 "meta": {"language": "rust", "env": "test"},
                 "metrics": {"_sampling_priority_v1": 1, "_dd.top_level": 1.0}},
                {"trace_id": 77, "span_id": 20, "parent_id": 10, "name": "db.query", "service": "db",
                 "resource": "SELECT 1", "start": 200, "duration": 50, "error": 1,
                 "meta": {"error.message": "boom"}, "metrics": {},
                 "span_links": [{"span_id": 6, "trace_id": 5}]},
                {"trace_id": 77, "span_id": 40, "parent_id": 20, "name": "db.row", "service": "db",
                 "resource": "row", "start": 210, "duration": 1, "error": 0, "meta": {}, "metrics": {}}
            ],
            [
                {"trace_id": 88, "span_id": 2, "parent_id": 999, "name": "orphan", "service": "svc",
                 "resource": "orphan", "start": 1, "duration": 1, "error": 0}
            ]
        ]);
        let expected = "\
trace 77 (4 spans)
└── web.request  service=web  resource=\"GET /users\"  type=web  span_id=10
    │   meta.env = test
    │   meta.language = rust
    │   metrics._dd.top_level = 1.0
    │   metrics._sampling_priority_v1 = 1
    ├── db.query  service=db  resource=\"SELECT 1\"  span_id=20  ERROR
    │   │   meta.error.message = boom
    │   │   span_links = [{\"span_id\":6,\"trace_id\":5}]
    │   └── db.row  service=db  resource=\"row\"  span_id=40
    └── cache.get  service=web  resource=\"cache.get\"  span_id=30
trace 88 (1 span)
└── orphan  service=svc  resource=\"orphan\"  span_id=2  parent_id=999 (not in this trace)
";
        assert_eq!(render_trace_tree(&traces), expected);
    }

    #[test]
    fn survives_odd_input() {
        assert_eq!(render_trace_tree(&json!([])), "");
        assert_eq!(
            render_trace_tree(&json!({})),
            "(not an array of traces: {})\n"
        );
        // A parent cycle: both spans are still shown.
        let cycle = json!([[
            {"trace_id": 1, "span_id": 1, "parent_id": 2, "name": "a", "service": "s", "resource": "a"},
            {"trace_id": 1, "span_id": 2, "parent_id": 1, "name": "b", "service": "s", "resource": "b"}
        ]]);
        let text = render_trace_tree(&cycle);
        assert!(text.contains("── a ") && text.contains("── b "), "{text}");
    }
}
