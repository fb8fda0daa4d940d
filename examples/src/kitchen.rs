//! A sandwich shop, instrumented only against `opentracing-api`.
//!
//! [`make_sandwich_request`] traces one order through any [`Tracer`]:
//!
//! ```text
//! make_sandwich_request          server span; baggage `customer`
//! ├── slice_bread                child of the active span (implicit parent)
//! ├── add_toppings               explicit `child_of`, one log per topping
//! ├── order_supplies             client span; injects its context into HTTP headers
//! │   └── supplier.handle_order  the "remote" supplier: extracts the headers
//! └── notify_customer            `follows_from` the request, after it finished
//! ```
//!
//! The library never chooses a tracer: the application passes one, or calls
//! [`make_sandwich_request_with_global_tracer`] to use whatever
//! [`set_global_tracer`](opentracing_api::set_global_tracer) installed.

use opentracing_api::http::HeaderMap;
use opentracing_api::{
    BoxedTracer, HttpHeaders, LogField, Span, SpanContext, Tracer, global_tracer, log_fields, tags,
};

/// The `component` tag of the kitchen's spans.
pub const COMPONENT: &str = "kitchen";
/// The `component` tag of the supplier's spans.
pub const SUPPLIER_COMPONENT: &str = "supplier";
/// The URL the kitchen orders supplies from.
pub const SUPPLIER_URL: &str = "http://supplier.local/orders";
/// The baggage key carrying the customer's name to every span of the order.
pub const CUSTOMER_BAGGAGE: &str = "customer";
/// The topping the supplier never has.
pub const OUT_OF_STOCK: &str = "truffle";

/// A customer's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Who ordered (sent as baggage).
    pub customer: String,
    /// The sandwich.
    pub sandwich: String,
    /// The toppings, in the order they go on.
    pub toppings: Vec<String>,
}

impl Order {
    /// An order of `sandwich` with `toppings` for `customer`.
    pub fn new(customer: &str, sandwich: &str, toppings: &[&str]) -> Self {
        Order {
            customer: customer.to_string(),
            sandwich: sandwich.to_string(),
            toppings: toppings.iter().map(|t| t.to_string()).collect(),
        }
    }
}

/// What handling an order produced.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// The headers of the outgoing request to the supplier (with the injected context).
    pub supplier_headers: HeaderMap,
    /// The supplier's HTTP status.
    pub supplier_status: u16,
}

/// Handles an order, tracing it with `tracer`.
///
/// # Examples
///
/// ```
/// use examples::kitchen::{make_sandwich_request, Order};
/// use opentracing_api::MockTracer;
///
/// let tracer = MockTracer::new();
/// let receipt = make_sandwich_request(&tracer, &Order::new("ada", "BLT", &["bacon"]));
/// assert_eq!(receipt.supplier_status, 200);
/// assert_eq!(tracer.finished_spans().len(), 6);
/// ```
pub fn make_sandwich_request<T: Tracer>(tracer: &T, order: &Order) -> Receipt {
    let mut request = tracer
        .span_builder("make_sandwich_request")
        .with_tag(tags::SPAN_KIND, tags::SPAN_KIND_SERVER)
        .with_tag(tags::COMPONENT, COMPONENT)
        .start();
    request.set_tag("sandwich", order.sandwich.clone());
    request.set_tag("toppings.count", order.toppings.len());
    request.set_baggage_item(CUSTOMER_BAGGAGE, &order.customer);

    let receipt = {
        let _scope = tracer.activate(&request);
        slice_bread(tracer);
        add_toppings(tracer, request.context(), &order.toppings);
        order_supplies(tracer, &order.toppings)
    };
    if receipt.supplier_status != 200 {
        request.set_tag(tags::ERROR, true);
    }
    request.log_event("sandwich ready");
    let request_context = request.context().clone();
    request.finish();

    notify_customer(tracer, &request_context, &order.customer);
    receipt
}

/// Handles an order, tracing it with the [global tracer](opentracing_api::global_tracer).
pub fn make_sandwich_request_with_global_tracer(order: &Order) -> Receipt {
    let tracer: BoxedTracer = global_tracer();
    make_sandwich_request(&tracer, order)
}

/// A child of the active span (the parent is implicit).
fn slice_bread<T: Tracer>(tracer: &T) {
    let mut span = tracer.start_span("slice_bread");
    span.set_tag("slices", 2_u8);
    span.finish();
}

/// A child of `parent`, given explicitly, with one log per topping.
fn add_toppings<T: Tracer>(tracer: &T, parent: &T::SpanContext, toppings: &[String]) {
    let mut span = tracer.span_builder("add_toppings").child_of(parent).start();
    for topping in toppings {
        span.log([
            LogField::new(log_fields::EVENT, "topping added"),
            LogField::new("topping", topping.clone()),
        ]);
    }
    // Dropped here: a span dropped unfinished is finished.
}

/// An outgoing HTTP call: a client span whose context travels in the request headers.
fn order_supplies<T: Tracer>(tracer: &T, toppings: &[String]) -> Receipt {
    let mut span = tracer
        .span_builder("order_supplies")
        .with_tag(tags::SPAN_KIND, tags::SPAN_KIND_CLIENT)
        .with_tag(tags::HTTP_METHOD, "POST")
        .with_tag(tags::HTTP_URL, SUPPLIER_URL)
        .with_tag(tags::PEER_SERVICE, SUPPLIER_COMPONENT)
        .start();
    let mut headers = HeaderMap::new();
    if let Err(e) = tracer.inject(span.context(), HttpHeaders, &mut headers) {
        span.set_tag(tags::ERROR, true);
        span.log([
            LogField::new(log_fields::EVENT, "error"),
            LogField::new(log_fields::ERROR_OBJECT, e.to_string()),
        ]);
    }

    let status = supplier::handle_order(tracer, &headers, toppings);
    span.set_tag(tags::HTTP_STATUS_CODE, status);
    if status != 200 {
        span.set_tag(tags::ERROR, true);
    }
    span.finish();
    Receipt {
        supplier_headers: headers,
        supplier_status: status,
    }
}

/// Follow-up work the request does not wait for: `FollowsFrom` the request.
fn notify_customer<T: Tracer>(tracer: &T, request: &T::SpanContext, customer: &str) {
    let mut span = tracer
        .span_builder("notify_customer")
        .follows_from(request)
        .with_tag(tags::SPAN_KIND, tags::SPAN_KIND_PRODUCER)
        .with_tag(tags::MESSAGE_BUS_DESTINATION, "customer-notifications")
        .start();
    span.log([LogField::new(
        log_fields::MESSAGE,
        format!("{customer}, your sandwich is ready"),
    )]);
    span.finish();
}

/// The supplier: a "remote" service that continues the trace from the request headers.
pub mod supplier {
    use super::*;

    /// Handles an order for `toppings`, continuing the trace found in `headers`; returns
    /// the HTTP status (`503` if a topping is out of stock).
    pub fn handle_order<T: Tracer>(tracer: &T, headers: &HeaderMap, toppings: &[String]) -> u16 {
        // A remote service does not share the caller's active span: only the headers count.
        let mut builder = tracer
            .span_builder("supplier.handle_order")
            .ignore_active_span()
            .with_tag(tags::SPAN_KIND, tags::SPAN_KIND_SERVER)
            .with_tag(tags::COMPONENT, SUPPLIER_COMPONENT);
        let extracted = tracer.extract(HttpHeaders, headers);
        if let Ok(parent) = &extracted {
            builder = builder.child_of(parent);
        }
        let mut span = builder.start();
        if let Err(e) = extracted {
            span.log([LogField::new(log_fields::MESSAGE, e.to_string())]);
        }
        if let Some(customer) = span.context().baggage_item(CUSTOMER_BAGGAGE) {
            let customer = customer.to_string();
            span.set_tag("customer", customer);
        }

        let status = match toppings.iter().find(|t| *t == OUT_OF_STOCK) {
            Some(missing) => {
                span.set_tag(tags::ERROR, true);
                span.log([
                    LogField::new(log_fields::EVENT, "error"),
                    LogField::new(log_fields::ERROR_KIND, "OutOfStock"),
                    LogField::new(log_fields::MESSAGE, format!("no {missing} today")),
                ]);
                503_u16
            }
            None => 200,
        };
        span.set_tag(tags::HTTP_STATUS_CODE, status);
        span.finish();
        status
    }
}
