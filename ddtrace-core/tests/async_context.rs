//! The active span follows futures across `.await` on a multi-thread runtime, into spawned tasks
//! when asked, and through `select!`.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

mod common;

use std::time::Duration;

use common::by_name;
use ddtrace_core::{Collector, Config, Instrument, Tracer};

fn tracer() -> (Tracer, Collector) {
    common::tracer_with(Config::builder().service("async-svc"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// Many tasks, each yielding many times (so they hop between worker threads): each task's
/// children always parent to its own span, never to another task's.
#[test]
fn span_follows_the_future_across_awaits_and_threads() {
    let (tracer, collector) = tracer();
    let rt = runtime();
    rt.block_on(async {
        let mut handles = Vec::new();
        for i in 0..32 {
            let tracer = tracer.clone();
            let span = tracer.span("task").root().tag("task.index", i).start();
            handles.push(tokio::spawn(
                async move {
                    for step in 0..10 {
                        tokio::task::yield_now().await;
                        {
                            let active = ddtrace_core::current_span().expect("task span active");
                            active.set_tag("last.step", step);
                            // A log line here names the task's span, whichever thread runs it.
                            let logged = tracer.log_correlation().span_id();
                            active.set_tag("logged.span_id", logged);
                        }
                        // A guard is !Send: it cannot be held across an .await in a spawned
                        // task (the compiler refuses); scope it, or instrument a sub-future.
                        drop(tracer.trace("step"));
                        tokio::task::yield_now().await;
                    }
                }
                .instrument(span),
            ));
        }
        for h in handles {
            h.await.unwrap();
        }
    });
    let chunks = collector.chunks();
    assert_eq!(chunks.len(), 32);
    for chunk in &chunks {
        assert_eq!(chunk.len(), 11);
        let root = by_name(chunk, "task");
        assert_eq!(root.metrics.get("last.step"), Some(&9.0));
        assert_eq!(
            common::meta(root, "logged.span_id"),
            Some(root.span_id.to_string().as_str())
        );
        for s in chunk.iter().filter(|s| s.name == "step") {
            assert_eq!(s.parent_id, root.span_id);
            assert_eq!(s.trace_id, root.trace_id);
        }
    }
    // Nothing leaked onto the test thread.
    assert!(ddtrace_core::current_span().is_none());
}

/// `tokio::spawn` alone starts a new trace; `ddtrace_core::spawn` continues the current one.
#[test]
fn spawn_continues_the_trace_only_when_asked() {
    let (tracer, collector) = tracer();
    let rt = runtime();
    rt.block_on(async {
        let parent = tracer.span("parent").start();
        let t2 = tracer.clone();
        async move {
            let joined = ddtrace_core::spawn(async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                let _s = ddtrace_core::trace("spawned.child");
            });
            let t3 = t2.clone();
            let plain = tokio::spawn(async move {
                let _s = t3.trace("plain.spawn");
            });
            joined.await.unwrap();
            plain.await.unwrap();
        }
        .instrument(parent)
        .await;
    });
    let spans = collector.spans();
    let parent = by_name(&spans, "parent");
    let child = by_name(&spans, "spawned.child");
    let plain = by_name(&spans, "plain.spawn");
    assert_eq!(child.parent_id, parent.span_id);
    assert_eq!(child.trace_id, parent.trace_id);
    assert_eq!(plain.parent_id, 0);
    assert_ne!(plain.trace_id, parent.trace_id);
}

/// `#[trace]`-style async fns nest correctly through `tokio::select!`; the losing branch's span
/// is finished when its future is dropped.
#[test]
fn select_keeps_each_branch_in_its_own_span() {
    let (tracer, collector) = tracer();
    let rt = runtime();
    rt.block_on(async {
        let root = tracer.span("request").start();
        let t = tracer.clone();
        async move {
            let fast = async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                ddtrace_core::current_span().unwrap().set_tag("won", true);
                "fast"
            }
            .instrument(t.span("fast").start());
            let slow = async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "slow"
            }
            .instrument(t.span("slow").start());
            let winner = tokio::select! {
                w = fast => w,
                w = slow => w,
            };
            assert_eq!(winner, "fast");
        }
        .instrument(root)
        .await;
    });
    let spans = collector.spans();
    let request = by_name(&spans, "request");
    let fast = by_name(&spans, "fast");
    let slow = by_name(&spans, "slow");
    assert_eq!(fast.parent_id, request.span_id);
    assert_eq!(slow.parent_id, request.span_id);
    assert_eq!(fast.metrics.get("won"), Some(&1.0));
    assert!(slow.duration < Duration::from_secs(30).as_nanos() as i64);
}

/// Polls a future and turns a panic into `Err`, as `FutureExt::catch_unwind` does: the
/// instrumented future is dropped after the panic was caught, not during the unwind.
struct CatchUnwind<F>(std::pin::Pin<Box<F>>);

impl<F: std::future::Future> std::future::Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(poll) => poll.map(Ok),
            Err(_) => std::task::Poll::Ready(Err(())),
        }
    }
}

/// A panic caught around the poll (the span finishes later, outside the unwind) still marks
/// the span it left; so does one caught around `in_scope`.
#[test]
fn a_panic_caught_around_the_poll_marks_the_span() {
    let (tracer, collector) = tracer();
    let rt = runtime();
    rt.block_on(async {
        let caught = CatchUnwind(Box::pin(
            async {
                tokio::task::yield_now().await;
                panic!("caught boom");
            }
            .instrument(tracer.span("async.caught").start()),
        ))
        .await;
        assert!(caught.is_err());
    });
    let mut span = tracer.span("scope.caught").start();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        span.in_scope(|| panic!("scoped boom"))
    }));
    assert!(caught.is_err());
    span.set_tag("after", 1);
    span.finish();
    for (name, message) in [
        ("async.caught", "caught boom"),
        ("scope.caught", "scoped boom"),
    ] {
        let s = collector.span(name).unwrap();
        assert!(s.error, "{name}");
        assert_eq!(s.meta.get("error.message").map(|v| &**v), Some(message));
    }
    assert_eq!(
        collector.span("scope.caught").unwrap().metrics.get("after"),
        Some(&1.0)
    );
}

/// A panic inside an instrumented future marks its span.
#[test]
fn panic_in_instrumented_future_marks_the_span() {
    let (tracer, collector) = tracer();
    let rt = runtime();
    let result = rt.block_on(async {
        tokio::spawn(
            async {
                tokio::task::yield_now().await;
                panic!("async boom");
            }
            .instrument(tracer.span("async.fail").start()),
        )
        .await
    });
    assert!(result.is_err());
    let s = collector.span("async.fail").unwrap();
    assert!(s.error);
    assert_eq!(
        s.meta.get("error.message").map(|v| &**v),
        Some("async boom")
    );
}
