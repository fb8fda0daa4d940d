//! `ddtrace_core::init` installs the process-wide tracer, and dropping its guard delivers what
//! is still buffered (here the flush interval is a minute, so only the guard can deliver), to
//! the real Datadog test agent. (Sets the global tracer: its own test binary.)

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::collections::HashMap;
use std::time::Duration;

use ddtrace_core::Config;
use ddtrace_test_agent::TestAgent;

#[test]
fn dropping_the_init_guard_delivers_everything() {
    let agent = TestAgent::start().unwrap_or_else(|e| panic!("the test agent must start: {e}"));
    let session = agent.session().unwrap();
    let config = Config::builder()
        .service("guard-svc")
        .agent_url(agent.url())
        .test_session_token(session.token())
        .flush_interval(Duration::from_secs(60))
        .build_from(&HashMap::<&str, &str>::new());
    let guard = ddtrace_core::init(config);
    for i in 0..3 {
        let span = ddtrace_core::trace("guarded.op");
        span.set_tag("i", i);
        let _child = ddtrace_core::trace("guarded.child");
    }
    assert_eq!(guard.tracer().stats().traces_sent, 0, "nothing sent yet");
    let tracer = guard.tracer().clone();
    drop(guard);
    let stats = tracer.stats();
    assert_eq!(stats.traces_sent, 3, "{stats:?}");
    assert_eq!(stats.spans_sent, 6);
    let traces = session.wait_for_traces(3, Duration::from_secs(20)).unwrap();
    let traces = traces.as_array().unwrap();
    assert_eq!(traces.len(), 3);
    let mut seen: Vec<f64> = traces
        .iter()
        .map(|t| {
            let t = t.as_array().unwrap();
            assert_eq!(t.len(), 2);
            let root = t.iter().find(|s| s["name"] == "guarded.op").unwrap();
            assert_eq!(root["service"], "guard-svc");
            root["metrics"]["i"].as_f64().unwrap()
        })
        .collect();
    seen.sort_by(f64::total_cmp);
    assert_eq!(seen, [0.0, 1.0, 2.0]);
    assert_eq!(session.trace_check_failures().unwrap(), None);
}
