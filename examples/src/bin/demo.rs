//! The main demo: runs the vendor-neutral kitchen library on a `MockTracer` and prints what
//! was recorded as a tree (names, tags, logs, references, baggage).

use examples::kitchen::{Order, make_sandwich_request};
use examples::tree::render;
use opentracing_api::MockTracer;

fn main() {
    let tracer = MockTracer::new();
    let orders = [
        Order::new("ada", "BLT", &["bacon", "lettuce", "tomato"]),
        Order::new("grace", "truffle melt", &["cheese", "truffle"]),
    ];
    for order in &orders {
        let receipt = make_sandwich_request(&tracer, order);
        println!(
            "{} ordered a {}: supplier answered {}, request headers:",
            order.customer, order.sandwich, receipt.supplier_status
        );
        for (name, value) in &receipt.supplier_headers {
            println!("    {name}: {}", value.to_str().unwrap_or("<binary>"));
        }
    }
    let spans = tracer.finished_spans();
    println!("\nThe MockTracer recorded {} spans:\n", spans.len());
    print!("{}", render(&spans));
}
