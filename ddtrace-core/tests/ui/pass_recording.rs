//! End to end: the spans `#[trace]` produces through the process-wide tracer
//! (names, options, parent/child links, sync and async, error marking).
#![deny(warnings)]

use ddtrace_core::{Collector, Config, SpanData, Tracer, trace};
use std::collections::HashMap;
use std::future::Future;
use std::task::{Context, Poll, Waker};

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

#[derive(Debug)]
struct NoBread;

impl std::fmt::Display for NoBread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("out of bread")
    }
}

#[trace("sandwich.make", service = "my-sandwich-making-svc", resource = format!("order {id}"))]
fn make(id: u32) -> Result<u32, NoBread> {
    let slices = slice(id)?;
    ingredients();
    Ok(slices)
}

#[trace(span_type = "custom")]
fn slice(id: u32) -> Result<u32, NoBread> {
    if id == 0 {
        return Err(NoBread);
    }
    Ok(2)
}

#[trace]
fn ingredients() {}

#[trace(err = false)]
fn quiet() -> Result<(), NoBread> {
    Err(NoBread)
}

#[trace("sandwich.deliver")]
async fn deliver(id: u32) -> Result<u32, NoBread> {
    yield_now().await;
    let n = make(id)?;
    yield_now().await;
    Ok(n)
}

fn find<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

/// `#[track_caller]` still works where no closure is needed: no `Result`, or `err = false`.
#[trace]
#[track_caller]
fn called_from() -> u32 {
    std::panic::Location::caller().line()
}

#[trace(err = false)]
#[track_caller]
fn checked_from() -> Result<u32, NoBread> {
    Ok(std::panic::Location::caller().line())
}

fn main() {
    let collector = Collector::new();
    let config = Config::builder()
        .service("default-svc")
        .build_from(&HashMap::<&str, &str>::new());
    ddtrace_core::set_global_tracer(Tracer::with_exporter(config, collector.clone()));

    assert_eq!(make(1).unwrap(), 2);
    let spans = collector.spans();
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let root = find(&spans, "sandwich.make");
    let sliced = find(&spans, concat!(module_path!(), "::slice"));
    let ingredients = find(&spans, concat!(module_path!(), "::ingredients"));
    assert_eq!(root.service, "my-sandwich-making-svc");
    assert_eq!(root.resource, "order 1");
    assert_eq!(sliced.span_type, "custom");
    assert_eq!(sliced.parent_id, root.span_id);
    assert_eq!(ingredients.parent_id, root.span_id);
    assert!(spans.iter().all(|s| !s.error));

    collector.clear();
    assert!(make(0).is_err());
    let spans = collector.spans();
    let root = find(&spans, "sandwich.make");
    let sliced = find(&spans, concat!(module_path!(), "::slice"));
    assert!(root.error && sliced.error, "{spans:#?}");
    assert_eq!(
        sliced.meta.get("error.message").map(|m| &**m),
        Some("out of bread")
    );
    assert!(
        sliced
            .meta
            .get("error.type")
            .is_some_and(|t| t.ends_with("NoBread"))
    );
    assert_eq!(spans.len(), 2, "ingredients() is never reached");

    collector.clear();
    assert!(quiet().is_err());
    assert!(!collector.spans()[0].error, "err = false");

    collector.clear();
    assert_eq!(block_on(deliver(1)).unwrap(), 2);
    let spans = collector.spans();
    let delivered = find(&spans, "sandwich.deliver");
    assert_eq!(find(&spans, "sandwich.make").parent_id, delivered.span_id);
    assert!(!delivered.error);

    collector.clear();
    assert!(block_on(deliver(0)).is_err());
    let spans = collector.spans();
    assert!(find(&spans, "sandwich.deliver").error, "{spans:#?}");

    collector.clear();
    assert_eq!(called_from(), line!());
    assert_eq!(checked_from().unwrap(), line!());
    assert_eq!(collector.spans().len(), 2);
}
