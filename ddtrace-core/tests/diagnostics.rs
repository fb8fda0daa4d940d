//! The tracer's own diagnostics: an invalid configuration value is reported once, naming the
//! variable and the value; DD_TRACE_STARTUP_LOGS prints the effective configuration as JSON;
//! DD_TRACE_DEBUG reports spans that never finished. (Installs a process-wide log sink, so it
//! lives in its own test binary.)

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ddtrace_core::{Collector, Config, LogLevel, Tracer};

#[test]
fn diagnostics() {
    let lines: Arc<Mutex<Vec<(LogLevel, String)>>> = Arc::default();
    let sink = Arc::clone(&lines);
    ddtrace_core::set_log_sink(move |level, line| {
        sink.lock().unwrap().push((level, line.to_owned()))
    });
    let take = || std::mem::take(&mut *lines.lock().unwrap());

    // An invalid value: warned once per process, however many configurations read it.
    let env: HashMap<&str, &str> = [("DD_TRACE_PARTIAL_FLUSH_MIN_SPANS", "lots")].into();
    for _ in 0..3 {
        let config = Config::builder().build_from(&env);
        assert_eq!(
            config.partial_flush_min_spans(),
            300,
            "falls back to the default"
        );
    }
    let warned = take();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0].0, LogLevel::Warn);
    assert!(
        warned[0].1.contains("DD_TRACE_PARTIAL_FLUSH_MIN_SPANS") && warned[0].1.contains("lots"),
        "{}",
        warned[0].1
    );

    // Two bad entries of one variable are two problems: each is warned (once).
    let env: HashMap<&str, &str> = [("DD_TAGS", ":a,team:kitchen,:b")].into();
    for _ in 0..2 {
        let config = Config::builder().build_from(&env);
        assert_eq!(config.global_tags().len(), 1, "the good entry is kept");
    }
    let warned = take();
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert!(warned[0].1.contains("\":a\""), "{}", warned[0].1);
    assert!(warned[1].1.contains("\":b\""), "{}", warned[1].1);

    // A number of seconds too large for a duration is refused, not a panic.
    let env: HashMap<&str, &str> = [("DD_TRACE_WRITER_INTERVAL_SECONDS", "1e20")].into();
    let config = Config::builder().build_from(&env);
    assert_eq!(config.flush_interval(), std::time::Duration::from_secs(1));
    let warned = take();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(warned[0].1.contains("1e20"), "{}", warned[0].1);

    // The startup line: the effective configuration as JSON; both switches from the
    // environment (DD_TRACE_DEBUG turns debug lines on for the whole process).
    let env: HashMap<&str, &str> = [
        ("DD_TRACE_STARTUP_LOGS", "true"),
        ("DD_TRACE_DEBUG", "true"),
    ]
    .into();
    let config = Config::builder()
        .service("diag-svc")
        .env("staging")
        .build_from(&env);
    assert!(config.debug() && config.startup_logs());
    let collector = Collector::new();
    let tracer = Tracer::with_exporter(config, collector.clone());
    let startup = take();
    let line = startup
        .iter()
        .find(|(level, _)| *level == LogLevel::Info)
        .map(|(_, l)| l.clone())
        .expect("a startup line");
    let json = line
        .strip_prefix("DATADOG TRACER CONFIGURATION - ")
        .expect("the startup prefix");
    let parsed: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(parsed["service"], "diag-svc");
    assert_eq!(parsed["env"], "staging");
    assert_eq!(parsed["lang"], "rust");

    // Debug: a span that can never finish is reported, and what did finish is still sent.
    let t = tracer.clone();
    std::thread::spawn(move || {
        let root = t.trace("never.finished");
        drop(t.trace("finished.child"));
        std::mem::forget(root);
    })
    .join()
    .unwrap();
    let debug = take();
    assert!(
        debug
            .iter()
            .any(|(level, l)| *level == LogLevel::Debug
                && l.contains("1 span(s) were never finished")),
        "{debug:?}"
    );
    assert_eq!(tracer.unfinished_spans(), 1);
    assert_eq!(collector.spans().len(), 1);

    // Debug: a manual keep after the decision was propagated is ignored, and said so (when
    // the trace is sent, holding no lock).
    {
        let root = tracer.trace("propagated");
        let mut headers: HashMap<String, String> = HashMap::new();
        assert!(tracer.inject_current(&mut headers));
        root.keep_trace();
        let _ = take();
    }
    let debug = take();
    assert!(
        debug.iter().any(|(level, l)| *level == LogLevel::Debug
            && l.contains("a manual keep was ignored")
            && l.contains("priority 1")),
        "{debug:?}"
    );
}
