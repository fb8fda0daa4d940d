//! The process-wide tracer: replacing it takes effect on threads that already used the old one
//! (each thread keeps a copy, refreshed when the tracer is replaced). Its own file: it sets
//! global state.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::sync::mpsc;

use ddtrace_core::{Collector, Config, Tracer};

fn tracer(service: &str) -> (Tracer, Collector) {
    let collector = Collector::new();
    let config = Config::builder()
        .service(service)
        .build_from(&std::collections::HashMap::<&str, &str>::new());
    (Tracer::with_exporter(config, collector.clone()), collector)
}

#[test]
fn replacing_the_global_tracer_reaches_threads_that_used_the_old_one() {
    let (first, first_spans) = tracer("first-svc");
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
