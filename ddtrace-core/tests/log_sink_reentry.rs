//! A log sink is user code: one that calls back into the tracer, on the trace a debug line is
//! about, must not deadlock it. (Installs a process-wide log sink, so it lives in its own test
//! binary.)

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ddtrace_core::{Collector, Config, RootSpan, Tracer};

/// Runs `f` on another thread and returns what it returns; fails if that takes 30 s (the
/// tracer deadlocked in the sink's call).
fn within_30s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = crossbeam_channel::bounded(1);
    let worker = std::thread::spawn(move || done.send(f()).unwrap());
    let value = finished
        .recv_timeout(Duration::from_secs(30))
        .expect("the tracer deadlocked in a log sink's call");
    worker.join().unwrap();
    value
}

/// The sink is process-wide: the tests take turns.
static SINK: Mutex<()> = Mutex::new(());

#[test]
fn a_sink_that_tags_the_trace_a_line_is_about_does_not_deadlock() {
    let _turn = SINK.lock().unwrap_or_else(|p| p.into_inner());
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
    let sent = within_30s(move || {
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
        collector.spans().len()
    });
    assert_eq!(sent, 1);
    assert!(reentered.load(Ordering::SeqCst), "the sink ran");
}

/// A decision the rules make when it is needed (here, to inject) is explained once the
/// tracer holds nothing: a sink that tags the active span then reaches it.
#[test]
fn a_sink_reaches_the_active_span_from_a_deferred_decision_line() {
    let _turn = SINK.lock().unwrap_or_else(|p| p.into_inner());
    let tracer_slot: Arc<Mutex<Option<Tracer>>> = Arc::default();
    let explained = Arc::new(AtomicBool::new(false));
    {
        let tracer_slot = Arc::clone(&tracer_slot);
        let explained = Arc::clone(&explained);
        ddtrace_core::set_log_sink(move |_, line| {
            if line.starts_with("sampler: trace") && !explained.swap(true, Ordering::SeqCst) {
                let tracer = tracer_slot.lock().unwrap().clone();
                if let Some(span) = tracer.and_then(|t| t.current_span()) {
                    span.set_tag("from.the.sink", 1);
                }
            }
        });
    }
    let client = within_30s(move || {
        let collector = Collector::new();
        let config = Config::builder()
            .debug(true)
            .sampling_rules_json(r#"[{"resource": "GET /health", "sample_rate": 0.0}]"#)
            .build_from(&HashMap::<&str, &str>::new());
        let tracer = Tracer::with_exporter(config, collector.clone());
        *tracer_slot.lock().unwrap() = Some(tracer.clone());
        {
            let root = tracer.trace("root");
            root.set_resource("GET /health");
            let _client = tracer.trace("client");
            let mut out = HashMap::new();
            tracer.inject_current(&mut out);
            assert_eq!(out["x-datadog-sampling-priority"], "-1");
        }
        collector.span("client")
    });
    assert!(
        explained.load(Ordering::SeqCst),
        "the decision was explained"
    );
    let client = client.expect("the client span");
    assert_eq!(client.metrics.get("from.the.sink"), Some(&1.0));
}

/// A chunk holding the root, taken while the decision was pending and exported after another
/// caller made it (here, an injection from the sink, on the line sent between the two), still
/// carries the rates of the decision.
#[test]
fn a_root_chunk_decided_while_in_flight_carries_the_rates() {
    let _turn = SINK.lock().unwrap_or_else(|p| p.into_inner());
    let inject_from: Arc<Mutex<Option<(Tracer, ddtrace_core::SpanContext)>>> = Arc::default();
    {
        let inject_from = Arc::clone(&inject_from);
        ddtrace_core::set_log_sink(move |_, line| {
            if line.contains("sent early while others are open")
                && let Some((tracer, context)) = inject_from.lock().unwrap().take()
            {
                tracer.inject(&context, &mut HashMap::new());
            }
        });
    }
    let span = within_30s(move || {
        let collector = Collector::new();
        let config = Config::builder()
            .debug(true)
            .partial_flush(false)
            .sampling_rules_json(r#"[{"sample_rate": 1.0}]"#)
            .build_from(&HashMap::<&str, &str>::new());
        let tracer = Tracer::with_exporter(config, collector.clone());
        {
            let root = tracer.trace("root");
            let open = tracer.span("open").start();
            *inject_from.lock().unwrap() = Some((tracer.clone(), open.context().unwrap()));
            // With partial flush off, the 10,000th finished span (the root) sends a chunk
            // early, while `open` is still open.
            for _ in 0..9_999 {
                drop(tracer.trace("x"));
            }
            drop(root);
            drop(open);
        }
        collector.span("root")
    });
    let root = span.expect("the root");
    assert_eq!(root.metrics.get("_sampling_priority_v1"), Some(&2.0));
    assert_eq!(root.meta.get("_dd.p.dm").map(|v| &**v), Some("-3"));
    assert_eq!(root.metrics.get("_dd.rule_psr"), Some(&1.0));
    assert_eq!(root.metrics.get("_dd.limit_psr"), Some(&1.0));
}

/// The process-wide tracer is built from the environment on first use, and building it logs
/// (here its startup line, `DD_TRACE_STARTUP_LOGS=true`). A log sink is user code: one that
/// uses the tracer (a span, the correlation ids), holds a lock that another thread using the
/// tracer needs, or panics, must not deadlock the tracer or leave it unusable. Each case runs
/// in a process of its own (this test binary again), whose tracer is still to be built.
#[test]
fn a_sink_may_use_hold_up_or_fail_the_process_wide_tracer_as_it_is_built() {
    const HELPER: &str = "DDTRACE_TEST_SINK_CASE";
    #[allow(clippy::disallowed_methods)] // this test's own variable, not tracer configuration
    let case = std::env::var(HELPER).ok();
    match case.as_deref() {
        Some("uses") => {
            let lines: Arc<Mutex<Vec<String>>> = Arc::default();
            let sink = Arc::clone(&lines);
            ddtrace_core::set_log_sink(move |_, line| {
                let ids = ddtrace_core::log_correlation();
                drop(ddtrace_core::trace("in.the.sink"));
                sink.lock().unwrap().push(format!("[{ids}] {line}"));
            });
            assert!(ddtrace_core::tracer().config().enabled());
            let lines = lines.lock().unwrap();
            assert!(lines.iter().any(|l| l.contains("\"lang\"")), "{lines:?}");
            return;
        }
        Some("holds") => {
            // Another thread holds the sink's lock; once the building thread is in the sink
            // (waiting on that lock), the other thread uses the tracer.
            let gate: Arc<Mutex<()>> = Arc::default();
            let sink_gate = Arc::clone(&gate);
            let (entered, in_sink) = crossbeam_channel::bounded(1);
            ddtrace_core::set_log_sink(move |_, _| {
                let _ = entered.try_send(());
                drop(sink_gate.lock().unwrap());
            });
            let (holding, held) = crossbeam_channel::bounded(0);
            let other = std::thread::spawn(move || {
                let _held = gate.lock().unwrap();
                holding.send(()).unwrap();
                in_sink
                    .recv_timeout(Duration::from_secs(30))
                    .expect("the building thread reaches the sink");
                ddtrace_core::tracer().config().enabled()
            });
            held.recv().unwrap();
            assert!(ddtrace_core::tracer().config().enabled());
            assert!(other.join().unwrap());
            return;
        }
        Some("panics") => {
            ddtrace_core::set_log_sink(|_, _| panic!("a sink that fails"));
            let first = std::panic::catch_unwind(ddtrace_core::tracer);
            assert!(first.is_err(), "the sink's panic reaches the caller");
            // The tracer was built and stays in place.
            ddtrace_core::set_log_sink(|_, _| {});
            assert!(ddtrace_core::tracer().config().enabled());
            return;
        }
        Some(other) => panic!("unknown case {other}"),
        None => {}
    }
    let _turn = SINK.lock().unwrap_or_else(|p| p.into_inner());
    for case in ["uses", "holds", "panics"] {
        let errors = std::env::temp_dir().join(format!(
            "ddtrace-sink-case-{case}-{}.stderr",
            std::process::id()
        ));
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_sink_may_use_hold_up_or_fail_the_process_wide_tracer_as_it_is_built",
            ])
            .env(HELPER, case)
            .env("DD_TRACE_STARTUP_LOGS", "true")
            .env("DD_TRACE_AGENT_URL", "http://127.0.0.1:9")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&errors).unwrap())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = std::fs::read_to_string(&errors).unwrap_or_default();
        let _ = std::fs::remove_file(&errors);
        match status {
            None => panic!("{case}: the tracer deadlocked; its stderr:\n{stderr}"),
            Some(status) => assert!(
                status.success(),
                "{case}: the helper failed ({status}); its stderr:\n{stderr}"
            ),
        }
    }
}

/// A sink may replace itself (or log) from within a line: it is called holding no lock.
#[test]
fn a_sink_may_replace_itself_from_a_line() {
    let _turn = SINK.lock().unwrap_or_else(|p| p.into_inner());
    let replaced = Arc::new(AtomicBool::new(false));
    let later: Arc<Mutex<Vec<String>>> = Arc::default();
    {
        let (replaced, later) = (Arc::clone(&replaced), Arc::clone(&later));
        ddtrace_core::set_log_sink(move |_, _| {
            let later = Arc::clone(&later);
            ddtrace_core::set_log_sink(move |_, line| later.lock().unwrap().push(line.to_owned()));
            replaced.store(true, Ordering::SeqCst);
        });
    }
    let startup = || {
        let config = Config::builder()
            .startup_logs(true)
            .build_from(&HashMap::<&str, &str>::new());
        drop(Tracer::with_exporter(config, Collector::new()));
    };
    within_30s(move || {
        startup(); // the first sink's line: it replaces itself
        startup(); // the second sink's
    });
    assert!(replaced.load(Ordering::SeqCst));
    assert_eq!(
        later.lock().unwrap().len(),
        1,
        "{:?}",
        later.lock().unwrap()
    );
}
