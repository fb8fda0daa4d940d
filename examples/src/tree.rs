//! Renders the spans a `MockTracer` recorded as a tree, one per trace.
//!
//! Each span is placed under the span of its first reference (when that span was recorded
//! too); siblings are in start order. Tags, logs and references are shown; baggage is shown
//! where it differs from the parent's (where it was set or changed). Times are left out so
//! the output is deterministic.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use opentracing_api::{LogRecord, MockSpanRecord, Reference};

/// Renders `spans` (in any order) as trees, one per trace, in trace-id order.
///
/// # Examples
///
/// ```
/// use examples::tree::render;
/// use opentracing_api::{MockTracer, Span, Tracer};
///
/// let tracer = MockTracer::new();
/// let mut parent = tracer.start_span("parent");
/// parent.set_tag("k", 1_u8);
/// tracer.span_builder("child").child_of(parent.context()).start().finish();
/// parent.finish();
///
/// let expected = "\
/// trace 1
/// └── parent [span 1]
///     │ tags: k=1
///     └── child [span 2, child_of 1]
/// ";
/// assert_eq!(render(&tracer.finished_spans()), expected);
/// ```
pub fn render(spans: &[MockSpanRecord]) -> String {
    let ids: BTreeSet<u64> = spans.iter().map(MockSpanRecord::span_id).collect();
    let mut children: BTreeMap<u64, Vec<&MockSpanRecord>> = BTreeMap::new();
    let mut roots: BTreeMap<u64, Vec<&MockSpanRecord>> = BTreeMap::new();
    for span in spans {
        match span.parent_id.filter(|p| ids.contains(p)) {
            Some(parent) => children.entry(parent).or_default().push(span),
            None => roots.entry(span.trace_id()).or_default().push(span),
        }
    }
    for list in children.values_mut().chain(roots.values_mut()) {
        list.sort_by_key(|s| s.span_id());
    }
    let by_id: BTreeMap<u64, &MockSpanRecord> = spans.iter().map(|s| (s.span_id(), s)).collect();

    let mut out = String::new();
    for (trace_id, trace_roots) in &roots {
        let _ = writeln!(out, "trace {trace_id}");
        let tree = Tree {
            children: &children,
            by_id: &by_id,
        };
        for (i, root) in trace_roots.iter().enumerate() {
            tree.node(&mut out, root, "", i + 1 == trace_roots.len());
        }
    }
    out
}

struct Tree<'a> {
    children: &'a BTreeMap<u64, Vec<&'a MockSpanRecord>>,
    by_id: &'a BTreeMap<u64, &'a MockSpanRecord>,
}

impl Tree<'_> {
    fn node(&self, out: &mut String, span: &MockSpanRecord, prefix: &str, last: bool) {
        let connector = if last { "└── " } else { "├── " };
        let _ = writeln!(
            out,
            "{prefix}{connector}{} [{}]",
            span.operation_name,
            describe_ids(span)
        );
        let child_prefix = format!("{prefix}{}", if last { "    " } else { "│   " });
        let kids = self
            .children
            .get(&span.span_id())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let detail_prefix = format!(
            "{child_prefix}{}",
            if kids.is_empty() { "  " } else { "│ " }
        );
        for line in self.details(span) {
            let _ = writeln!(out, "{detail_prefix}{line}");
        }
        for (i, kid) in kids.iter().enumerate() {
            self.node(out, kid, &child_prefix, i + 1 == kids.len());
        }
    }

    fn details(&self, span: &MockSpanRecord) -> Vec<String> {
        let mut lines = Vec::new();
        if !span.tags.is_empty() {
            let tags: Vec<String> = span.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            lines.push(format!("tags: {}", tags.join(", ")));
        }
        let parent_baggage = span
            .parent_id
            .and_then(|p| self.by_id.get(&p))
            .map(|p| &p.context.baggage);
        if !span.context.baggage.is_empty() && parent_baggage != Some(&span.context.baggage) {
            let items: Vec<String> = span
                .context
                .baggage
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            lines.push(format!("baggage: {}", items.join(", ")));
        }
        lines.extend(span.logs.iter().map(describe_log));
        lines
    }
}

fn describe_ids(span: &MockSpanRecord) -> String {
    let mut parts = vec![format!("span {}", span.span_id())];
    for reference in &span.references {
        let kind = reference.reference_type();
        let target = match reference {
            Reference::ChildOf(c) | Reference::FollowsFrom(c) => c.span_id,
        };
        parts.push(format!("{kind} {target}"));
    }
    parts.join(", ")
}

fn describe_log(log: &LogRecord) -> String {
    let fields: Vec<String> = log
        .fields
        .iter()
        .map(|f| format!("{}={}", f.key, f.value))
        .collect();
    format!("log: {}", fields.join(", "))
}
