//! The kitchen library on a `MockTracer`: the exact recorded structure.

use std::borrow::Cow;
use std::collections::BTreeMap;

use examples::kitchen::{Order, make_sandwich_request};
use examples::tree::render;
use opentracing_api::{
    LogField, MockSpanContext, MockSpanRecord, MockTracer, Reference, TagValue, tags,
};

fn blt() -> Order {
    Order::new("ada", "BLT", &["bacon", "lettuce", "tomato"])
}

fn ctx(span_id: u64, trace_id: u64, customer: &str) -> MockSpanContext {
    MockSpanContext {
        trace_id,
        span_id,
        baggage: BTreeMap::from([("customer".to_string(), customer.to_string())]),
    }
}

fn tag_map(pairs: &[(&'static str, TagValue)]) -> BTreeMap<Cow<'static, str>, TagValue> {
    pairs
        .iter()
        .map(|(k, v)| (Cow::Borrowed(*k), v.clone()))
        .collect()
}

// Marked as test code so that clippy allows its `panic!`.
#[cfg(test)]
fn by_name<'a>(spans: &'a [MockSpanRecord], name: &str) -> &'a MockSpanRecord {
    spans
        .iter()
        .find(|s| s.operation_name == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

const BLT_TREE: &str = "\
trace 1
└── make_sandwich_request [span 1]
    │ tags: component=kitchen, sandwich=BLT, span.kind=server, toppings.count=3
    │ baggage: customer=ada
    │ log: event=sandwich ready
    ├── slice_bread [span 2, child_of 1]
    │     tags: slices=2
    ├── add_toppings [span 3, child_of 1]
    │     log: event=topping added, topping=bacon
    │     log: event=topping added, topping=lettuce
    │     log: event=topping added, topping=tomato
    ├── order_supplies [span 4, child_of 1]
    │   │ tags: http.method=POST, http.status_code=200, http.url=http://supplier.local/orders, peer.service=supplier, span.kind=client
    │   └── supplier.handle_order [span 5, child_of 4]
    │         tags: component=supplier, customer=ada, http.status_code=200, span.kind=server
    └── notify_customer [span 6, follows_from 1]
          tags: message_bus.destination=customer-notifications, span.kind=producer
          log: message=ada, your sandwich is ready
";

#[test]
fn the_recorded_tree_is_exact() {
    let tracer = MockTracer::new();
    make_sandwich_request(&tracer, &blt());
    assert_eq!(render(&tracer.finished_spans()), BLT_TREE);
}

#[test]
fn spans_finish_children_first() {
    let tracer = MockTracer::new();
    make_sandwich_request(&tracer, &blt());
    let order: Vec<_> = tracer
        .finished_spans()
        .iter()
        .map(|s| (s.operation_name.to_string(), s.span_id()))
        .collect();
    let expected = [
        ("slice_bread", 2),
        ("add_toppings", 3),
        ("supplier.handle_order", 5),
        ("order_supplies", 4),
        ("make_sandwich_request", 1),
        ("notify_customer", 6),
    ]
    .map(|(n, id)| (n.to_string(), id));
    assert_eq!(order, expected);
}

#[test]
fn references_and_baggage_are_exact() {
    let tracer = MockTracer::new();
    make_sandwich_request(&tracer, &blt());
    let spans = tracer.finished_spans();
    let root = ctx(1, 1, "ada");
    assert_eq!(by_name(&spans, "make_sandwich_request").references, []);
    assert_eq!(by_name(&spans, "make_sandwich_request").context, root);
    assert_eq!(
        by_name(&spans, "slice_bread").references,
        [Reference::ChildOf(root.clone())]
    );
    assert_eq!(
        by_name(&spans, "add_toppings").references,
        [Reference::ChildOf(root.clone())]
    );
    assert_eq!(
        by_name(&spans, "order_supplies").references,
        [Reference::ChildOf(root.clone())]
    );
    // The supplier's parent came through the HTTP headers, baggage included.
    assert_eq!(
        by_name(&spans, "supplier.handle_order").references,
        [Reference::ChildOf(ctx(4, 1, "ada"))]
    );
    assert_eq!(
        by_name(&spans, "notify_customer").references,
        [Reference::FollowsFrom(root)]
    );
    for span in &spans {
        assert_eq!(span.trace_id(), 1, "{}", span.operation_name);
        assert_eq!(
            span.baggage_item("customer"),
            Some("ada"),
            "{}",
            span.operation_name
        );
    }
}

#[test]
fn typed_tags_and_logs_are_exact() {
    let tracer = MockTracer::new();
    make_sandwich_request(&tracer, &blt());
    let spans = tracer.finished_spans();
    assert_eq!(
        by_name(&spans, "make_sandwich_request").tags,
        tag_map(&[
            (tags::SPAN_KIND, TagValue::from("server")),
            (tags::COMPONENT, TagValue::from("kitchen")),
            ("sandwich", TagValue::from("BLT")),
            ("toppings.count", TagValue::U64(3)),
        ])
    );
    assert_eq!(
        by_name(&spans, "slice_bread").tags,
        tag_map(&[("slices", TagValue::U64(2))])
    );
    assert_eq!(
        by_name(&spans, "order_supplies").tags,
        tag_map(&[
            (tags::SPAN_KIND, TagValue::from("client")),
            (tags::HTTP_METHOD, TagValue::from("POST")),
            (
                tags::HTTP_URL,
                TagValue::from("http://supplier.local/orders")
            ),
            (tags::PEER_SERVICE, TagValue::from("supplier")),
            (tags::HTTP_STATUS_CODE, TagValue::U64(200)),
        ])
    );
    let toppings = &by_name(&spans, "add_toppings").logs;
    let fields: Vec<_> = toppings.iter().map(|l| l.fields.clone()).collect();
    assert_eq!(
        fields,
        ["bacon", "lettuce", "tomato"].map(|t| vec![
            LogField::new("event", "topping added"),
            LogField::new("topping", t),
        ])
    );
    assert!(toppings[0].timestamp <= toppings[1].timestamp);
    assert!(toppings[1].timestamp <= toppings[2].timestamp);
    let add = by_name(&spans, "add_toppings");
    assert!(add.start_time <= toppings[0].timestamp && toppings[2].timestamp <= add.finish_time);
}

#[test]
fn the_outgoing_request_carries_the_client_span() {
    let tracer = MockTracer::new();
    let receipt = make_sandwich_request(&tracer, &blt());
    assert_eq!(receipt.supplier_status, 200);
    let headers: Vec<_> = receipt
        .supplier_headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
        .collect();
    assert_eq!(
        headers,
        [
            ("ot-mock-trace-id", "1"),
            ("ot-mock-span-id", "4"),
            ("ot-mock-baggage-customer", "ada"),
        ]
    );
}

#[test]
fn an_out_of_stock_topping_is_an_error_on_three_spans() {
    let tracer = MockTracer::new();
    let receipt = make_sandwich_request(&tracer, &Order::new("grace", "melt", &["truffle"]));
    assert_eq!(receipt.supplier_status, 503);
    let spans = tracer.finished_spans();
    let errored: Vec<_> = spans
        .iter()
        .filter(|s| s.tag(tags::ERROR) == Some(&TagValue::Bool(true)))
        .map(|s| s.operation_name.to_string())
        .collect();
    assert_eq!(
        errored,
        [
            "supplier.handle_order",
            "order_supplies",
            "make_sandwich_request"
        ]
    );
    let supplier = by_name(&spans, "supplier.handle_order");
    assert_eq!(
        supplier.logs[0].fields,
        [
            LogField::new("event", "error"),
            LogField::new("error.kind", "OutOfStock"),
            LogField::new("message", "no truffle today"),
        ]
    );
    assert_eq!(
        supplier.tag(tags::HTTP_STATUS_CODE),
        Some(&TagValue::U64(503))
    );
}

#[test]
fn each_order_is_its_own_trace() {
    let tracer = MockTracer::new();
    make_sandwich_request(&tracer, &blt());
    make_sandwich_request(&tracer, &Order::new("grace", "melt", &[]));
    let mut traces: Vec<_> = tracer
        .finished_spans()
        .iter()
        .map(|s| (s.trace_id(), s.baggage_item("customer").map(str::to_string)))
        .collect();
    traces.dedup();
    assert_eq!(
        traces,
        [(1, Some("ada".to_string())), (2, Some("grace".to_string()))]
    );
}
