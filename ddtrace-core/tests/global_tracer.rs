//! The process-wide tracer: replacing it takes effect on threads that already used the old one
//! (each thread keeps a copy, refreshed when the tracer is replaced), and those copies do not
//! keep the old one alive. Its own file: it sets global state.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use ddtrace_core::{Collector, Config, Exporter, TraceChunk, Tracer};

/// A collector that says when it is dropped (when its tracer is).
struct Flagged {
    collector: Collector,
    dropped: Arc<AtomicBool>,
}

impl Exporter for Flagged {
    fn export(&self, chunk: TraceChunk) {
        self.collector.export(chunk);
    }
}

impl Drop for Flagged {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

fn tracer(service: &str) -> (Tracer, Collector) {
    let collector = Collector::new();
    let config = Config::builder()
        .service(service)
        .build_from(&std::collections::HashMap::<&str, &str>::new());
    (Tracer::with_exporter(config, collector.clone()), collector)
}

#[test]
fn replacing_the_global_tracer_reaches_threads_that_used_the_old_one() {
    let first_spans = Collector::new();
    let first_dropped = Arc::new(AtomicBool::new(false));
    let first = Tracer::with_exporter(
        Config::builder()
            .service("first-svc")
            .build_from(&std::collections::HashMap::<&str, &str>::new()),
        Flagged {
            collector: first_spans.clone(),
            dropped: Arc::clone(&first_dropped),
        },
    );
    let (second, second_spans) = tracer("second-svc");
    assert!(ddtrace_core::set_global_tracer(first).is_none());

    let (go, wait) = mpsc::channel::<&'static str>();
    let (done, finished) = mpsc::channel::<()>();
    let worker = std::thread::spawn(move || {
        for name in wait {
            drop(ddtrace_core::trace(name));
            done.send(()).unwrap();
        }
    });
    for name in ["before.1", "before.2"] {
        go.send(name).unwrap();
        finished.recv().unwrap();
    }
    drop(ddtrace_core::trace("main.before"));

    let previous = ddtrace_core::set_global_tracer(second).unwrap();
    assert_eq!(previous.config().service(), "first-svc");
    // Both threads still hold their copy of the first tracer (the worker has not traced since),
    // and neither keeps it alive: dropping the last handle drops it.
    assert!(!first_dropped.load(Ordering::SeqCst));
    drop(previous);
    assert!(
        first_dropped.load(Ordering::SeqCst),
        "the replaced tracer outlived its last handle"
    );
    go.send("after").unwrap();
    finished.recv().unwrap();
    drop(ddtrace_core::trace("main.after"));
    drop(go);
    worker.join().unwrap();

    let names = |c: &Collector| {
        let mut n: Vec<String> = c.spans().iter().map(|s| s.name.to_string()).collect();
        n.sort();
        n
    };
    assert_eq!(names(&first_spans), ["before.1", "before.2", "main.before"]);
    assert_eq!(names(&second_spans), ["after", "main.after"]);
    assert!(
        second_spans
            .spans()
            .iter()
            .all(|s| s.service == "second-svc")
    );
    assert_eq!(ddtrace_core::tracer().config().service(), "second-svc");
}
