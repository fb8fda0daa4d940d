//! A log sink is user code: one that calls back into the tracer, on the trace a debug line is
//! about, must not deadlock it. (Installs a process-wide log sink, so it lives in its own test
//! binary.)

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ddtrace_core::{Collector, Config, RootSpan, Tracer};

#[test]
fn a_sink_that_tags_the_trace_a_line_is_about_does_not_deadlock() {
    let root_handle: Arc<Mutex<Option<RootSpan>>> = Arc::default();
    let reentered = Arc::new(AtomicBool::new(false));
    {
        let root_handle = Arc::clone(&root_handle);
        let reentered = Arc::clone(&reentered);
        ddtrace_core::set_log_sink(move |_, line| {
            if line.contains("late change") && !reentered.swap(true, Ordering::SeqCst) {
                let root = root_handle.lock().unwrap().clone();
                if let Some(root) = root {
                    root.set_tag("from.the.sink", 1);
                }
            }
        });
    }
    let (done, finished) = crossbeam_channel::bounded(1);
    let worker = std::thread::spawn(move || {
        let collector = Collector::new();
        let config = Config::builder()
            .debug(true)
            .build_from(&HashMap::<&str, &str>::new());
        let tracer = Tracer::with_exporter(config, collector.clone());
        let root = tracer.trace("root");
        let handle = tracer.current_root_span().unwrap();
        *root_handle.lock().unwrap() = Some(handle.clone());
        drop(root);
        // The root was sent: this change is late, and logged (the sink then tags again).
        handle.set_tag("late", 1);
        done.send(collector.spans().len()).unwrap();
    });
    let sent = finished
        .recv_timeout(Duration::from_secs(30))
        .expect("the tracer deadlocked in a log sink's call");
    worker.join().unwrap();
    assert_eq!(sent, 1);
    assert!(reentered.load(Ordering::SeqCst), "the sink ran");
}
