//! The kitchen library on the global tracer. Global state: its own process.

use examples::kitchen::{Order, make_sandwich_request_with_global_tracer};
use examples::tree::render;
use opentracing_api::{MockTracer, set_global_tracer};

#[test]
fn the_library_uses_whatever_tracer_the_application_installed() {
    // Before a tracer is set, the global no-op tracer records nothing and injects nothing.
    let receipt = make_sandwich_request_with_global_tracer(&Order::new("ada", "BLT", &[]));
    assert_eq!(receipt.supplier_status, 200);
    assert!(receipt.supplier_headers.is_empty());

    let tracer = MockTracer::new();
    set_global_tracer(tracer.clone());
    let receipt = make_sandwich_request_with_global_tracer(&Order::new("ada", "BLT", &["ham"]));
    assert_eq!(receipt.supplier_headers.len(), 3);
    assert_eq!(
        render(&tracer.finished_spans()),
        "\
trace 1
└── make_sandwich_request [span 1]
    │ tags: component=kitchen, sandwich=BLT, span.kind=server, toppings.count=1
    │ baggage: customer=ada
    │ log: event=sandwich ready
    ├── slice_bread [span 2, child_of 1]
    │     tags: slices=2
    ├── add_toppings [span 3, child_of 1]
    │     log: event=topping added, topping=ham
    ├── order_supplies [span 4, child_of 1]
    │   │ tags: http.method=POST, http.status_code=200, http.url=http://supplier.local/orders, peer.service=supplier, span.kind=client
    │   └── supplier.handle_order [span 5, child_of 4]
    │         tags: component=supplier, customer=ada, http.status_code=200, span.kind=server
    └── notify_customer [span 6, follows_from 1]
          tags: message_bus.destination=customer-notifications, span.kind=producer
          log: message=ada, your sandwich is ready
"
    );
}
